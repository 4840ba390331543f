"""Build a connector (or its ConnectionInfo) from a Connection row. The one place ORM meets connectors."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.conf import settings

from contacts_sync.connectors.base import ConnectionInfo, TokenStore
from contacts_sync.connectors.registry import get_connector
from contacts_sync.models import Connection


def token_store_for(connection: Connection) -> TokenStore | None:
    """The persistence of rotating credentials (single-flight Redis lease, atomic save): the connections service.

    None for an unsaved connection (a trial of new credentials brings its own in-memory store).
    """
    from contacts_sync.services.connections import ConnectionTokenStore

    return ConnectionTokenStore(connection.pk) if connection.pk else None


def connection_info(connection: Connection, *, on_call: Callable[[Any], None] | None = None) -> ConnectionInfo:
    return ConnectionInfo(
        provider=connection.provider,
        connection_id=connection.pk,
        account_id=connection.external_account_id,
        base_url=connection.base_url,
        secrets=dict(connection.secrets),
        config=dict(connection.config),
        token_store=token_store_for(connection),
        on_call=on_call,
        redis_url=settings.REDIS_URL,
    )


def connector_for(connection: Connection, *, on_call: Callable[[Any], None] | None = None) -> Any:
    return get_connector(connection_info(connection, on_call=on_call))
