"""The demo's agency, so the Fleet and Templates pages show something: a GHL agency in the emulator with three
sub-accounts, connected by its agency private integration token (each sub-account with its own token, as
HighLevel asks of private tokens), and one sync template applied to all three.

Runs in demo_start_task (the sandbox must be up: connecting tries the tokens). Idempotent: the emulator keeps
its agency while it runs and is fresh after a restart; our rows are found again by company id, location id and
template name (services/agencies.py and services/sync_templates.py do the connecting and the applying).
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

import requests
from django.contrib.auth import get_user_model
from django.utils import timezone

from contacts_sync.models import Connection, Provider, RecordLink, SyncTemplate
from contacts_sync.services.agencies import (
    agency_connect_private_token,
    agency_location_connect_private_token,
)
from contacts_sync.services.demo import demo_first_run, sandbox_admin
from contacts_sync.services.sync_templates import sync_template_apply, sync_template_create
from contacts_sync.services.syncs import sync_go_live

log = logging.getLogger(__name__)

AGENCY_ID = "demo-agency"
AGENCY_NAME = "Demo Agency (sandbox)"
AGENCY_TOKEN = "pit-demo-agency"
# (location id, name, its private integration token) of the agency's sub-accounts in the emulator
AGENCY_LOCATIONS = (
    ("demo-agency-berlin", "Bäckerei Sonnenschein, Berlin", "pit-demo-agency-berlin"),
    ("demo-agency-zurich", "Hotel Zürich Lobby", "pit-demo-agency-zurich"),
    ("demo-agency-austin", "Austin Dental Care", "pit-demo-agency-austin"),
)
TEMPLATE_NAME = "UpGuard vendor contacts for every client"
TEMPLATE_RECIPE = "upguard_vendor_to_ghl_contact"
COUNTERPART = "Demo UpGuard account (sandbox)"  # a demo.DEMO_CONNECTIONS name


def _emulator_agency() -> None:
    """The agency and its sub-accounts in the GHL emulator, app installed everywhere (kept while it runs)."""
    body = {
        "id": AGENCY_ID,
        "name": AGENCY_NAME,
        "token": AGENCY_TOKEN,
        "installed": True,
        "locations": [{"id": lid, "name": name, "token": token} for lid, name, token in AGENCY_LOCATIONS],
    }
    try:
        sandbox_admin("POST", "/ghl/_admin/agencies", json=body)
    except requests.HTTPError as exc:  # 400 "already exists": this sandbox has it since an earlier start
        if "already exists" not in (exc.response.text if exc.response is not None else ""):
            raise


def demo_agency_seed() -> list[int | None]:
    """Connect the demo agency and its sub-accounts, apply the template; returns the first runs enqueued."""
    from django.conf import settings

    _emulator_agency()
    user = get_user_model().objects.filter(is_superuser=True).order_by("pk").first()
    base = f"{settings.SANDBOX_URL.rstrip('/')}/ghl"
    agency = agency_connect_private_token(
        name=AGENCY_NAME, company_id=AGENCY_ID, token=AGENCY_TOKEN, user=user, base_url=base
    )
    locations = [
        agency_location_connect_private_token(agency=agency, location_id=lid, token=token, user=user)
        for lid, _name, token in AGENCY_LOCATIONS
    ]
    counterpart = Connection.objects.get(name=COUNTERPART, provider=Provider.UPGUARD)
    template = SyncTemplate.objects.filter(name=TEMPLATE_NAME).first()
    if template is None:
        template = sync_template_create(
            name=TEMPLATE_NAME,
            recipe=TEMPLATE_RECIPE,
            counterpart=counterpart,
            locations=locations,
            user=user,
            agency=agency,
        )
    else:
        sync_template_apply(template=template, locations=locations, user=user)
    return [_first_run(member.sync, user) for member in template.members.select_related("sync")]


def _first_run(sync: Any, user: Any) -> int | None:
    RecordLink.objects.filter(sync=sync).delete()  # the emulator's locations are fresh after a restart
    if sync.went_live_at is None:  # a template's syncs start paused; the demo's go live at once
        run = sync_go_live(sync=sync, user=user)
        if sync.poll_interval_seconds:
            type(sync).objects.filter(pk=sync.pk).update(
                next_run_at=timezone.now() + timedelta(seconds=sync.poll_interval_seconds)
            )
        return run.pk if run is not None else None
    return demo_first_run(sync)
