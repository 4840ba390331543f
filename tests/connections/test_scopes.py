"""The scopes asked for on "Connect HighLevel" are the fewest the configured syncs need, read/write marked."""

from __future__ import annotations

import pytest
from django.urls import reverse

from contacts_sync.services.ghl_oauth import ghl_scopes_needed, scope_rows
from tests.factories import ConnectionFactory, SyncFactory

pytestmark = pytest.mark.django_db


def test_with_no_syncs_it_asks_for_contact_read_and_write_and_custom_fields():
    assert ghl_scopes_needed() == ["contacts.readonly", "contacts.write", "locations/customFields.readonly"]


def test_a_sync_that_only_reads_ghl_asks_for_no_write_scope():
    ghl = ConnectionFactory(provider="ghl")
    other = ConnectionFactory(provider="hubstaff", auth_kind="oauth2")
    SyncFactory(source_connection=ghl, source_object="contact", target_connection=other, target_object="task")
    assert ghl_scopes_needed() == ["contacts.readonly", "locations/customFields.readonly"]


def test_writing_businesses_and_reading_appointments_add_exactly_their_scopes():
    ghl = ConnectionFactory(provider="ghl")
    hs = ConnectionFactory(provider="hotspotsystem", auth_kind="api_key")
    SyncFactory(source_connection=hs, source_object="business", target_connection=ghl, target_object="business")
    SyncFactory(source_connection=ghl, source_object="appointment", target_connection=hs, target_object="note")
    assert ghl_scopes_needed() == [
        "contacts.readonly",
        "contacts.write",
        "locations/customFields.readonly",
        "businesses.write",
        "calendars/events.readonly",
    ]


def test_the_connect_page_preselects_them_and_marks_read_only_and_write(client, admin_user, settings):
    settings.GHL_CLIENT_ID, settings.GHL_CLIENT_SECRET = "id", "secret"
    client.force_login(admin_user)
    page = client.get(reverse("dashboard:ghl_connect")).content.decode()
    assert 'value="contacts.write" checked' in page
    assert 'value="businesses.write">' in page  # offered, not pre-selected
    assert page.count("access-write") >= 3 and page.count("access-read") >= 5


def test_unknown_granted_scopes_are_shown_with_a_guess_from_their_name():
    rows = scope_rows(["contacts.readonly", "opportunities.write"])
    assert [(r.scope, r.write) for r in rows] == [("contacts.readonly", False), ("opportunities.write", True)]
