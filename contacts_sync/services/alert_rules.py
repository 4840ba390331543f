"""Per-sync alert rules: thresholds the health decisions read, channel routing, mute/snooze, re-notify.

A sync without an AlertRule row behaves as before (the defaults of contacts_sync.alerts.rules, every enabled
channel, no reminders). Every change is audited with what it was and what it became.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from contacts_sync.alerts import rules
from contacts_sync.models import AlertChannel, AlertRule, Sync
from contacts_sync.services.audit import audit_record

# The knobs and their limits (forms show them; the service refuses anything outside).
FAILED_SHARE_RANGE = (0, 100)  # percent; 0 = any failed record degrades the sync
FAILING_AFTER_RANGE = (1, 100)  # failed runs in a row
HOURS_RANGE = (1, 24 * 90)  # stale-after and re-notify hours: an hour to a quarter
SLOW_MINUTES_RANGE = (1, 24 * 60)  # a run longer than a day is stuck, not slow
# A mute longer than this is a disabled alert in disguise: pause the sync or route it to no channel instead.
MUTE_MAX_DAYS = 90


class AlertRuleError(ValueError):
    """A value outside its range, or a channel that does not exist; nothing was saved."""


def rule_for(sync: Sync | int) -> AlertRule | None:
    sync_id = sync if isinstance(sync, int) else sync.pk
    return AlertRule.objects.filter(sync_id=sync_id).first()


def thresholds_for(sync: Sync | int) -> rules.Thresholds:
    """What the health decisions of this sync use (the defaults when it has no rule)."""
    rule = rule_for(sync)
    return thresholds_of(rule)


thresholds_of = rules.thresholds_of


def _check(name: str, value: int | None, bounds: tuple[int, int], *, optional: bool) -> None:
    if value is None:
        if not optional:
            raise AlertRuleError(f"{name}: enter a number")
        return
    low, high = bounds
    if not low <= value <= high:
        raise AlertRuleError(f"{name}: between {low} and {high}")


def _snapshot(rule: AlertRule) -> dict[str, Any]:
    return {
        "failed_share_percent": rule.failed_share_percent,
        "failing_after_runs": rule.failing_after_runs,
        "stale_after_hours": rule.stale_after_hours,
        "slow_run_minutes": rule.slow_run_minutes,
        "renotify_hours": rule.renotify_hours,
        "channels": sorted(rule.channels.values_list("name", flat=True)) if rule.pk else [],
    }


@transaction.atomic
def alert_rule_update(
    *,
    sync: Sync,
    user: Any,
    failed_share_percent: int,
    failing_after_runs: int,
    stale_after_hours: int | None,
    slow_run_minutes: int | None,
    renotify_hours: int | None,
    channels: QuerySet[AlertChannel] | list[AlertChannel],
) -> AlertRule:
    """Create or change the sync's rule (audited as alert_rule.update with before/after)."""
    _check("Failed share", failed_share_percent, FAILED_SHARE_RANGE, optional=False)
    _check("Failed runs in a row", failing_after_runs, FAILING_AFTER_RANGE, optional=False)
    _check("No successful run for", stale_after_hours, HOURS_RANGE, optional=True)
    _check("Slow run", slow_run_minutes, SLOW_MINUTES_RANGE, optional=True)
    _check("Remind every", renotify_hours, HOURS_RANGE, optional=True)
    chosen = list(channels)
    known = set(AlertChannel.objects.filter(pk__in=[c.pk for c in chosen]).values_list("pk", flat=True))
    if len(known) != len({c.pk for c in chosen}):
        raise AlertRuleError("a chosen channel no longer exists")
    rule, _ = AlertRule.objects.select_for_update().get_or_create(sync=sync)
    before = _snapshot(rule)
    rule.failed_share_percent, rule.failing_after_runs = failed_share_percent, failing_after_runs
    rule.stale_after_hours, rule.slow_run_minutes = stale_after_hours, slow_run_minutes
    rule.renotify_hours = renotify_hours
    rule.updated_by = user if getattr(user, "is_authenticated", False) else None
    rule.save()
    rule.channels.set(chosen)
    after = _snapshot(rule)
    changes = {k: {"from": before[k], "to": after[k]} for k in after if before[k] != after[k]}
    if changes:
        audit_record(actor=user, action="alert_rule.update", obj=sync, changes=changes, object_type="sync")
    return rule


@transaction.atomic
def alert_rule_mute(*, sync: Sync, until: datetime, user: Any) -> AlertRule:
    """Send nothing about this sync before `until` (alerts still open and show on the pages)."""
    now = timezone.now()
    if until <= now:
        raise AlertRuleError("Mute until a moment in the future.")
    if (until - now).days >= MUTE_MAX_DAYS:
        raise AlertRuleError(f"Mute for less than {MUTE_MAX_DAYS} days; pause the sync to silence it for longer.")
    rule, _ = AlertRule.objects.select_for_update().get_or_create(sync=sync)
    rule.muted_until = until
    rule.muted_by = user if getattr(user, "is_authenticated", False) else None
    rule.save(update_fields=["muted_until", "muted_by", "updated_at"])
    audit_record(
        actor=user, action="alert_rule.mute", obj=sync, object_type="sync", changes={"muted_until": until.isoformat()}
    )
    return rule


@transaction.atomic
def alert_rule_unmute(*, sync: Sync, user: Any) -> AlertRule | None:
    """End a mute now; an open alert held by it is announced by the next alert sweep."""
    rule = AlertRule.objects.select_for_update().filter(sync=sync).first()
    if rule is None or rule.muted_until is None:
        return rule
    was = rule.muted_until
    rule.muted_until, rule.muted_by = None, None
    rule.save(update_fields=["muted_until", "muted_by", "updated_at"])
    audit_record(
        actor=user,
        action="alert_rule.unmute",
        obj=sync,
        object_type="sync",
        changes={"muted_until": {"from": was.isoformat(), "to": None}},
    )
    return rule


def channels_for_sync(sync_id: int | None) -> list[AlertChannel]:
    """The enabled channels a sync's alerts go to: its rule's choice, else every enabled channel. A connection's
    alerts (sync_id None) go to every enabled channel."""
    enabled = AlertChannel.objects.filter(enabled=True).order_by("pk")
    if sync_id is not None:
        rule = AlertRule.objects.filter(sync_id=sync_id).prefetch_related("channels").first()
        if rule is not None and rule.channels.exists():
            return list(enabled.filter(rules=rule))
    return list(enabled)


def muted_until(sync_id: int | None) -> datetime | None:
    if sync_id is None:
        return None
    return AlertRule.objects.filter(sync_id=sync_id).values_list("muted_until", flat=True).first()
