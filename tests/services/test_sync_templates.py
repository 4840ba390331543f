"""Sync templates: one recipe and mapping for many GHL locations (emulator locations, real custom fields); editing
the template writes a new mapping version on every location's sync, each location's overrides kept."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from contacts_sync import models as m
from contacts_sync.exceptions import ConfigurationError
from contacts_sync.services import sync_templates as svc
from contacts_sync.services.mappings import MappingRulesInvalid
from tests.factories import ConnectionFactory
from tests.sandbox.ghl_support import Loc

pytestmark = pytest.mark.django_db
RECIPE = "hubstaff_client_to_ghl_contact"


def location(sandbox: Any, name: str) -> m.Connection:
    loc = Loc(sandbox, name=name)
    return ConnectionFactory(
        name=name, external_account_id=loc.id, base_url=sandbox.ghl_url, secrets={"access_token": loc.token}
    )


@pytest.fixture
def three(sandbox: Any, editor: Any) -> dict[str, Any]:
    hub = ConnectionFactory(
        name="Hubstaff", provider=m.Provider.HUBSTAFF, auth_kind=m.AuthKind.API_KEY, external_account_id="1001"
    )
    locations = [location(sandbox, n) for n in ("Berlin", "Köln", "Wien")]
    template = svc.sync_template_create(
        name="Clients", recipe=RECIPE, counterpart=hub, locations=locations, user=editor, poll_interval_seconds=900
    )
    return {"hub": hub, "locations": locations, "template": template}


def versions(template: m.SyncTemplate) -> dict[str, tuple[int, list[dict[str, Any]]]]:
    out = {}
    for member in template.members.select_related("sync__mapping_version", "location"):
        v = member.sync.mapping_version
        out[member.location.name] = (v.number, v.rules)
    return out


def rule_for(rules: list[dict[str, Any]], target: str) -> dict[str, Any]:
    return next(r for r in rules if r.get("target") == target)


def test_a_template_gives_every_location_its_own_sync_with_the_templates_mapping(three: dict[str, Any]) -> None:
    template, hub = three["template"], three["hub"]
    syncs = m.Sync.objects.filter(template_member__template=template).order_by("name")
    assert [s.name for s in syncs] == ["Clients · Berlin", "Clients · Köln", "Clients · Wien"]
    assert {s.source_connection_id for s in syncs} == {hub.pk}
    assert {s.target_connection_id for s in syncs} == {c.pk for c in three["locations"]}
    assert all(s.poll_interval_seconds == 900 and s.recipe == RECIPE for s in syncs)
    assert {name: number for name, (number, _rules) in versions(template).items()} == {
        "Berlin": 1,
        "Köln": 1,
        "Wien": 1,
    }
    assert all(rules == template.rules for _n, rules in versions(template).values())
    assert set(template.members.values_list("applied_revision", flat=True)) == {1}


def test_editing_the_template_writes_a_new_version_everywhere_and_keeps_a_locations_overrides(
    three: dict[str, Any], editor: Any
) -> None:
    template = three["template"]
    koeln = template.members.get(location__name="Köln")
    own_first = {**rule_for(template.rules, "firstName"), "source": "user.name", "default": "Kunde"}
    edited = [own_first if r.get("target") == "firstName" else r for r in template.rules if r.get("target") != "phone"]
    svc.sync_template_location_rules_set(member=koeln, rules=edited, user=editor)
    koeln.refresh_from_db()
    assert koeln.overrides == {"rules": [own_first], "omit": ["phone"]}

    new_rules = copy.deepcopy(template.rules)
    rule_for(new_rules, "email")["required"] = True
    rule_for(new_rules, "firstName")["transforms"] = [{"name": "trim", "args": {}}, {"name": "title", "args": {}}]
    written = svc.sync_template_rules_set(template=template, rules=new_rules, note="email required", user=editor)
    assert written == 3 and template.revision == 2
    after = versions(template)
    assert {n: v for n, (v, _r) in after.items()} == {"Berlin": 2, "Köln": 3, "Wien": 2}
    assert after["Berlin"][1] == new_rules == after["Wien"][1]
    koeln_rules = after["Köln"][1]
    assert rule_for(koeln_rules, "email")["required"] is True  # the template's change arrived ...
    assert rule_for(koeln_rules, "firstName") == own_first  # ... its own rule stayed ...
    assert all(r.get("target") != "phone" for r in koeln_rules)  # ... and so did the field it leaves out
    assert set(template.members.values_list("applied_revision", flat=True)) == {2}
    newest = m.MappingVersion.objects.get(sync=koeln.sync, number=3)
    assert newest.note == "Template Clients r2: email required" and newest.author == editor
    saved = m.AuditEntry.objects.filter(action="mapping.save", changes__version__gte=2, actor=editor)
    assert saved.count() == 4  # Köln's override (v2) and the template edit on all three (v2, v3, v2)
    assert any("email" in " ".join(a.changes["diff"]) for a in saved)


def test_a_change_a_locations_overrides_cover_writes_no_version_there(three: dict[str, Any], editor: Any) -> None:
    template = three["template"]
    wien = template.members.get(location__name="Wien")
    own = {**rule_for(template.rules, "companyName"), "transforms": [{"name": "trim", "args": {}}]}
    svc.sync_template_overrides_set(member=wien, rules=[own], omit=[], user=editor)
    new_rules = copy.deepcopy(template.rules)
    rule_for(new_rules, "companyName")["default"] = "n/a"
    assert svc.sync_template_rules_set(template=template, rules=new_rules, note="", user=editor) == 2
    assert versions(template)["Wien"][0] == 2  # v2 = its override; the template change did not touch it
    assert svc.sync_template_rules_set(template=template, rules=new_rules, note="again", user=editor) == 0


def test_rules_with_problems_are_refused_and_no_location_changes(three: dict[str, Any], editor: Any) -> None:
    template = three["template"]
    before = versions(template)
    bad = [
        *template.rules,
        {"source": "x", "target": "noSuchField", "transforms": []},
        {"source": "y", "target": "customField.not-in-this-location", "transforms": []},
    ]
    with pytest.raises(MappingRulesInvalid) as refused:
        svc.sync_template_rules_set(template=template, rules=bad, note="", user=editor)
    reasons = " ".join(str(p) for p in refused.value.problems)
    assert "noSuchField" in reasons and "customField.not-in-this-location" in reasons
    template.refresh_from_db()
    assert template.revision == 1 and versions(template) == before
    koeln = template.members.get(location__name="Köln")
    with pytest.raises(MappingRulesInvalid):
        svc.sync_template_overrides_set(member=koeln, rules=[{"source": "z", "target": "nope"}], omit=[], user=editor)
    koeln.refresh_from_db()
    assert koeln.overrides == {}


def test_settings_reach_every_location_and_pause_resume_work_for_all_or_one(three: dict[str, Any], editor: Any) -> None:
    template = three["template"]
    svc.sync_template_settings_set(
        template=template,
        user=editor,
        webhook_trigger=False,
        poll_interval_seconds=1800,
        options={"include_archived": False},
    )
    syncs = m.Sync.objects.filter(template_member__template=template)
    assert {(s.poll_interval_seconds, s.webhook_trigger) for s in syncs} == {(1800, False)}
    assert all(s.options["include_archived"] is False for s in syncs)
    # Like any new sync, each location's starts paused and not live; resuming all is the fleet's go-live.
    assert set(syncs.values_list("enabled", "went_live_at")) == {(False, None)}
    assert svc.sync_template_paused_set(template=template, paused=False, user=editor) == 3
    assert all(s.enabled and s.went_live_at for s in syncs.all())
    assert m.Run.objects.filter(sync__in=syncs, dry_run=False).count() == 3  # each one's first real run
    assert svc.sync_template_paused_set(template=template, paused=True, user=editor) == 3
    assert set(syncs.values_list("enabled", "health")) == {(False, "paused")}
    assert svc.sync_template_paused_set(template=template, paused=True, user=editor) == 0  # already paused
    one = template.members.get(location__name="Berlin")
    assert svc.sync_template_paused_set(template=template, paused=False, user=editor, member=one) == 1
    assert sorted(syncs.values_list("enabled", flat=True)) == [False, False, True]


def test_a_template_refuses_an_agency_a_wrong_counterpart_and_locations_it_already_has(
    three: dict[str, Any], editor: Any, sandbox: Any
) -> None:
    template = three["template"]
    agency = ConnectionFactory(name="Agency", external_account_id="", company_id="co-1")
    with pytest.raises(ConfigurationError, match="not a HighLevel sub-account"):
        svc.sync_template_apply(template=template, locations=[agency], user=editor)
    with pytest.raises(ConfigurationError, match="must be a hubstaff connection"):
        svc.sync_template_create(name="X", recipe=RECIPE, counterpart=three["locations"][0], locations=[], user=editor)
    assert svc.sync_template_apply(template=template, locations=three["locations"], user=editor) == []
    added = svc.sync_template_apply(template=template, locations=[location(sandbox, "Graz")], user=editor)
    assert [a.sync.name for a in added] == ["Clients · Graz"] and template.members.count() == 4


def test_a_locations_difference_from_the_template_round_trips() -> None:
    base = [
        {"target": "email", "source": "email"},
        {"target": "tags", "source": "a"},
        {"target": "tags", "source": "b"},
        {"target": "phone", "source": "phone"},
    ]
    mine = [
        {"target": "email", "source": "email"},
        {"target": "tags", "source": "c"},
        {"target": "city", "source": "town"},
    ]
    overrides = svc.overrides_from(base, mine)
    assert overrides == {
        "rules": [{"target": "tags", "source": "c"}, {"target": "city", "source": "town"}],
        "omit": ["phone"],
    }
    assert svc.effective_rules(base, overrides) == mine
    assert svc.overrides_from(base, base) == {"rules": [], "omit": []}
    assert svc.effective_rules(base, {}) == base and svc.effective_rules(base, {}) is not base
