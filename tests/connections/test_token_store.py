"""ConnectionTokenStore: a Redis lease per connection (with a TTL), fresh reads, atomic merged saves."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from contacts_sync.models import AuditEntry
from contacts_sync.services import credentials as svc
from tests.factories import ConnectionFactory

pytestmark = pytest.mark.django_db


def test_the_lease_is_exclusive_expires_by_itself_and_is_freed_on_exit(redis_client, monkeypatch):
    monkeypatch.setattr(svc, "REFRESH_LOCK_WAIT_SECONDS", 0.3)
    connection = ConnectionFactory()
    first, second = svc.ConnectionTokenStore(connection.pk), svc.ConnectionTokenStore(connection.pk)
    redis_client.delete(first.lock_key)
    with first.lock():
        ttl_ms = redis_client.pttl(first.lock_key)
        assert 0 < ttl_ms <= svc.REFRESH_LOCK_TTL_SECONDS * 1000  # a crashed holder cannot block forever
        with pytest.raises(svc.ConnectionActionError, match="another worker has held the token refresh"):
            with second.lock():
                pass
    assert redis_client.exists(first.lock_key) == 0
    with second.lock():  # free again
        assert redis_client.exists(second.lock_key) == 1


def test_leases_of_different_connections_do_not_block_each_other(redis_client, monkeypatch):
    monkeypatch.setattr(svc, "REFRESH_LOCK_WAIT_SECONDS", 0.3)
    a, b = ConnectionFactory(), ConnectionFactory()
    with svc.ConnectionTokenStore(a.pk).lock(), svc.ConnectionTokenStore(b.pk).lock():
        assert (
            redis_client.exists(svc.ConnectionTokenStore(a.pk).lock_key, svc.ConnectionTokenStore(b.pk).lock_key) == 2
        )


def test_save_merges_the_new_pair_with_the_expiry_and_load_reads_it_back(redis_client):
    connection = ConnectionFactory(secrets={"access_token": "old-at", "refresh_token": "old-rt", "extra": "kept"})
    store = svc.ConnectionTokenStore(connection.pk)
    expires = timezone.now() + timedelta(hours=24)
    store.save(
        {"access_token": "new-at", "refresh_token": "new-rt", "expires_at": expires.isoformat()},
        expires_at=expires,
    )
    connection.refresh_from_db()
    assert connection.secrets == {"access_token": "new-at", "refresh_token": "new-rt", "extra": "kept"}
    assert connection.token_expires_at == expires
    loaded = store.load()
    assert loaded["refresh_token"] == "new-rt" and loaded["expires_at"] == expires
    entry = AuditEntry.objects.get(action="connection.token_refresh")
    assert "new-at" not in str(entry.changes) and entry.actor is None


def test_loading_a_deleted_connection_says_so(redis_client):
    connection = ConnectionFactory()
    store = svc.ConnectionTokenStore(connection.pk)
    connection.delete()
    with pytest.raises(svc.ConnectionActionError, match="no longer exists"):
        store.load()
