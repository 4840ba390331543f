"""factory-boy factories shared by the suite. Add yours at the end; keep them minimal and valid."""

from __future__ import annotations

import factory
from django.utils import timezone

from contacts_sync import models as m


class ConnectionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = m.Connection

    name = factory.Sequence(lambda n: f"Connection {n}")
    provider = m.Provider.GHL
    auth_kind = m.AuthKind.PRIVATE_TOKEN
    external_account_id = factory.Sequence(lambda n: f"loc{n:04d}")
    secrets = factory.LazyFunction(lambda: {"access_token": "pit-test-token"})
    status = m.ConnectionStatus.CONNECTED


class SyncFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = m.Sync

    name = factory.Sequence(lambda n: f"Sync {n}")
    recipe = "hubstaff_client_to_ghl_contact"
    source_connection = factory.SubFactory(
        ConnectionFactory, provider=m.Provider.HUBSTAFF, auth_kind=m.AuthKind.API_KEY
    )
    source_object = m.ObjectKind.CONTACT
    target_connection = factory.SubFactory(ConnectionFactory)
    target_object = m.ObjectKind.CONTACT
    poll_interval_seconds = 900
    went_live_at = factory.LazyFunction(timezone.now)  # a sync that went live (new ones wait for "Go live")


class MappingVersionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = m.MappingVersion

    sync = factory.SubFactory(SyncFactory)
    number = factory.Sequence(lambda n: n + 1)
    rules = factory.LazyFunction(list)


class RunFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = m.Run

    sync = factory.SubFactory(SyncFactory)
    status = m.RunStatus.SUCCEEDED
    trigger = m.RunTrigger.SCHEDULE
    started_at = factory.LazyFunction(timezone.now)
    finished_at = factory.LazyFunction(timezone.now)


class RunItemFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = m.RunItem

    run = factory.SubFactory(RunFactory)
    source_id = factory.Sequence(lambda n: str(1000 + n))
    action = m.ItemAction.CREATED


class ApiCallFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = m.ApiCall

    run = factory.SubFactory(RunFactory)
    provider = "ghl"
    method = "POST"
    path_template = "/contacts/upsert"
    status = 200
    duration_ms = 120
