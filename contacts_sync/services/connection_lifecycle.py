"""A connection's life beyond its credentials: connect (tested before it is stored), find duplicates, clone,
archive, delete.

Choice for a failed "Connect and test": nothing is saved (no draft). A connection whose credentials never
worked has no history and no syncs worth keeping; stored, it is junk in every list and picker and a secret at
rest that was never valid. The form keeps every non-secret field, so trying again costs the secret only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables

from contacts_sync.connectors import registry
from contacts_sync.models import (
    Alert,
    AuthKind,
    Connection,
    ConnectionStatus,
    InboundEvent,
    Provider,
    StatusChange,
    Sync,
)
from contacts_sync.services.audit import audit_record
from contacts_sync.services.connections import (
    ConnectionActionError,
    _provider_message,
    connection_create,
    create_fields,
    record_success,
)
from contacts_sync.services.credentials import connector_trial, status_set


@sensitive_variables()
def connection_connect(
    *, provider: str, auth_kind: str, name: str, secrets: dict[str, Any], user: Any, **fields: Any
) -> Connection:
    """ "Connect and test": try the credentials on an unsaved row; store the connection only if the app accepts
    them. A refusal (or an unreachable app) raises ConnectionActionError with the app's words; nothing is
    stored. So does an account that is already connected (a second connection to it only makes duplicates).
    A provider that rotates a token on first use (Hubstaff) has its rotated token stored, not the used-up one."""
    checked = create_fields(provider=provider, auth_kind=auth_kind, fields=fields)
    twin = connection_duplicate_of(
        provider=provider,
        external_account_id=checked.get("external_account_id", ""),
        base_url=checked.get("base_url", ""),
    )
    if twin is not None:
        raise ConnectionActionError(
            f"This account is already connected as “{twin.name}”. Open it and use Edit / rotate key to change its "
            "credentials; a second connection to one account only makes duplicates."
        )
    clean = {k: v for k, v in secrets.items() if v not in (None, "")}
    probe = Connection(
        provider=provider,
        auth_kind=auth_kind,
        name=name.strip(),
        external_account_id=checked.get("external_account_id", ""),
        company_id=checked.get("company_id", ""),
        base_url=checked.get("base_url", ""),
        config=dict(checked.get("config", {})),
    )
    try:
        trial, store = connector_trial(probe, clean)
        description = str(trial.test())
    except ConnectionActionError:
        raise
    except Exception as exc:  # noqa: BLE001 - the app's refusal is the form's error, never a 500
        label = registry.spec(provider).title
        raise ConnectionActionError(
            f"{label} did not accept the connection, so nothing was saved: {_provider_message(exc)}"
        ) from None
    kept = {k: v for k, v in fields.items() if k != "token_expires_at"}
    connection = connection_create(
        provider=provider,
        auth_kind=auth_kind,
        name=name,
        secrets=store.secrets,
        user=user,
        test=False,
        token_expires_at=store.expires_at,
        **kept,
    )
    record_success(connection, trial, description)
    connection.refresh_from_db()
    return connection


def connection_duplicate_of(
    *, provider: str, external_account_id: str, base_url: str = "", exclude_pk: int | None = None
) -> Connection | None:
    """The connection that already holds this account of this app (same base URL), if any. Accounts without an
    id (a custom app) cannot be compared and never count as duplicates."""
    if not (external_account_id or "").strip():
        return None
    qs = Connection.objects.filter(
        provider=provider,
        external_account_id=external_account_id.strip(),
        base_url=(base_url or "").strip().rstrip("/"),
        archived_at__isnull=True,
    )
    if exclude_pk is not None:
        qs = qs.exclude(pk=exclude_pk)
    return qs.order_by("pk").first()


def syncs_using(connection: Connection) -> list[Sync]:
    return list(Sync.objects.filter(Q(source_connection=connection) | Q(target_connection=connection)).order_by("name"))


@dataclass
class DeletePreview:
    """What deleting a connection removes, and what refuses it."""

    blocking_syncs: list[Sync] = field(default_factory=list)
    status_changes: int = 0
    alerts: int = 0
    webhook_events: int = 0  # kept, but no longer linked to the connection

    @property
    def allowed(self) -> bool:
        return not self.blocking_syncs


def connection_delete_preview(connection: Connection) -> DeletePreview:
    return DeletePreview(
        blocking_syncs=syncs_using(connection),
        status_changes=StatusChange.objects.filter(connection=connection).count(),
        alerts=Alert.objects.filter(connection=connection).count(),
        webhook_events=InboundEvent.objects.filter(connection=connection).count(),
    )


def _refuse_while_used(connection: Connection, what: str) -> None:
    used = syncs_using(connection)
    if used:
        names = ", ".join(f"“{s.name}”" for s in used[:5]) + (f" and {len(used) - 5} more" if len(used) > 5 else "")
        raise ConnectionActionError(
            f"{connection.name} cannot be {what} while {len(used)} sync{'s' if len(used) > 1 else ''} use"
            f"{'' if len(used) > 1 else 's'} it: {names}. Delete those syncs or move them to another connection "
            "first."
        )


@transaction.atomic
def connection_delete(*, connection: Connection, user: Any, confirm: str) -> None:
    """Delete the connection, its secrets, status changes and alerts; refused while a sync uses it, and unless
    `confirm` is its exact name. The audit entries stay (with what was deleted)."""
    locked = Connection.objects.select_for_update().get(pk=connection.pk)
    if confirm.strip() != locked.name:
        raise ConnectionActionError("Type the connection's name exactly to delete it.")
    _refuse_while_used(locked, "deleted")
    preview = connection_delete_preview(locked)
    audit_record(
        actor=user,
        action="connection.delete",
        obj=locked,
        changes={
            "provider": locked.provider,
            "auth_kind": locked.auth_kind,
            "name": locked.name,
            "external_account_id": locked.external_account_id,
            "secrets_deleted": sorted(locked.secrets),
            "status_changes_deleted": preview.status_changes,
            "alerts_deleted": preview.alerts,
            "webhook_events_unlinked": preview.webhook_events,
        },
    )
    locked.delete()


def connection_archive(*, connection: Connection, user: Any) -> Connection:
    """Delete the secrets, disable it, and hide it from the lists and the New-sync picker; its history stays.
    Refused while a sync uses it."""
    with transaction.atomic():
        locked = Connection.objects.select_for_update().get(pk=connection.pk)
        if locked.archived_at is not None:
            return locked
        _refuse_while_used(locked, "archived")
        had = sorted(locked.secrets)
        locked.secrets, locked.token_expires_at = {}, None
        locked.archived_at, locked.updated_by = timezone.now(), user
        locked.save(update_fields=["secrets", "token_expires_at", "archived_at", "updated_by", "updated_at"])
        audit_record(actor=user, action="connection.archive", obj=locked, changes={"secrets_deleted": had})
    status_set(locked, ConnectionStatus.DISABLED, f"archived by {getattr(user, 'email', 'system')}")
    connection.refresh_from_db()
    return connection


def connection_unarchive(*, connection: Connection, user: Any) -> Connection:
    """Show it again; it stays disconnected until someone connects it again (Edit / Reconnect)."""
    with transaction.atomic():
        locked = Connection.objects.select_for_update().get(pk=connection.pk)
        if locked.archived_at is None:
            return locked
        locked.archived_at, locked.updated_by = None, user
        locked.save(update_fields=["archived_at", "updated_by", "updated_at"])
        audit_record(actor=user, action="connection.unarchive", obj=locked)
    connection.refresh_from_db()
    return connection


@dataclass(frozen=True)
class CloneStart:
    """Where cloning continues: the Connect form of `kind` prefilled with `initial` (no secret, ever), or
    HighLevel's consent screen for an OAuth connection."""

    kind: str  # a ConnectOption key, or "ghl_oauth"
    initial: dict[str, Any]


def connection_clone_start(connection: Connection) -> CloneStart:
    """The settings a copy starts from: the app, base URL and phone region; a new name; no account id and no
    secret (a copy is for another account; copying the credentials would make a duplicate)."""
    initial = {
        "name": f"{connection.name} (copy)"[:200],
        "base_url": connection.base_url,
        "default_region": connection.config.get("default_region", ""),
    }
    if connection.provider == Provider.GHL and connection.auth_kind == AuthKind.OAUTH2:
        return CloneStart("ghl_oauth", initial)
    option = next((o for o in registry.spec(connection.provider).connect if o.auth_kind == connection.auth_kind), None)
    if option is None:
        raise ConnectionActionError(f"{connection.get_provider_display()} connections cannot be cloned")
    return CloneStart(option.key, initial)
