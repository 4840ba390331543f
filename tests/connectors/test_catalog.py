"""The operations catalogue is generated from the connector packages and says true things: every flow states what
starts it, what it does and its end-to-end test (which exists); its GHL operations are the ones its reader or
writer sends and its scopes are the official spec's; `manage.py catalog --json` prints it; docs/apps agree."""

from __future__ import annotations

import ast
import json
import os
import re
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command

from contacts_sync.connectors import catalog, catalog_docs, registry
from contacts_sync.connectors.ghl import operations
from contacts_sync.connectors.spec import Recipe
from tests.contracts.validator import SPEC_DIR
from tests.support import ROOT

GHL_SPECS = SPEC_DIR / "apps"
JSON_KEYS = {"app", "flow", "direction", "trigger", "action", "objects", "ghl_operations", "scopes", "test"}


def test_every_flow_states_its_trigger_action_and_end_to_end_test() -> None:
    missing = {f.flow: f.missing for f in catalog.flows() if f.missing}
    assert not missing, "recipes without catalogue metadata (set these Recipe fields): " + "; ".join(
        f"{key}: {', '.join(names)}" for key, names in sorted(missing.items())
    )


def _test_functions(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    return {n.name for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)}


def test_every_listed_end_to_end_test_exists_and_uses_a_real_worker() -> None:
    problems = []
    for flow in catalog.flows():
        if not flow.test:
            continue
        path, _, name = flow.test.partition("::")
        name = name.split("[", 1)[0]
        file = ROOT / path
        if not file.is_file() or name not in _test_functions(file):
            problems.append(f"{flow.flow}: {flow.test} does not exist")
        elif "celery_worker" not in file.read_text():
            problems.append(f"{flow.flow}: {path} runs no real worker")
    assert not problems, "\n".join(problems)


def test_the_catalogue_json_has_one_object_per_flow_with_the_documented_keys() -> None:
    out = StringIO()
    call_command("catalog", "--json", stdout=out)
    flows = json.loads(out.getvalue())["flows"]
    assert len(flows) == len(registry.recipes())
    assert {f["flow"] for f in flows} == set(registry.recipes())
    for f in flows:
        assert JSON_KEYS <= set(f), f
        assert f["app"] in {"hubstaff", "hotspotsystem", "starbuero", "upguard", "custom"}
        assert f["direction"] in {"to_ghl", "from_ghl"}
        # every flow touches GHL: through its API, or (GHL changes -> your app) through the GHL events it forwards
        assert (f["ghl_operations"] or f["events"]) and f["scopes"], f
    task_flow = next(f for f in flows if f["flow"] == "ghl_task_to_hubstaff_task")
    assert "POST /locations/{locationId}/tasks/search" in task_flow["ghl_operations"]
    assert task_flow["scopes"] == ["contacts.readonly", "locations/tasks.readonly"]


def test_every_request_the_ghl_client_sends_is_known_to_the_catalogue() -> None:
    sources = (ROOT / "contacts_sync/connectors/ghl/client.py").read_text() + (
        ROOT / "contacts_sync/connectors/ghl/reads.py"
    ).read_text()
    sent = {f"{m} {p}" for m, p in re.findall(r'_request\(\s*"([A-Z]+)",\s*"([^"]+)"', sources)}
    derived = {op for ops in operations.client_operations().values() for op in ops}
    assert sent == derived
    assert sent <= set(operations.OPERATION_SCOPES), sent - set(operations.OPERATION_SCOPES)


@pytest.mark.skipif(
    not GHL_SPECS.is_dir() and not os.environ.get("CI"), reason="no ../shared specs (CI must have them)"
)
def test_each_operations_scope_is_the_one_the_official_spec_declares() -> None:
    declared: dict[str, set[str]] = {}
    for spec_file in GHL_SPECS.glob("*.json"):
        for path, ops in json.loads(spec_file.read_text()).get("paths", {}).items():
            for method, op in ops.items():
                scopes = {s for sec in op.get("security") or [] for names in sec.values() for s in names}
                declared[f"{method.upper()} {path}"] = scopes
    wrong = {
        op: (scope, declared.get(op))
        for op, scope in operations.OPERATION_SCOPES.items()
        if op not in declared or (declared[op] and scope not in declared[op])
    }
    assert not wrong, wrong


def test_a_flows_operations_are_what_its_ghl_reader_or_writer_sends() -> None:
    flows = {f.flow: f for f in catalog.flows()}
    task_in = flows["hubstaff_task_to_ghl_task"].ghl_operations
    assert "POST /contacts/{contactId}/tasks" in task_in and "DELETE /contacts/{contactId}/tasks/{taskId}" in task_in
    assert not any("/notes" in op for op in flows["hubstaff_client_to_ghl_contact"].ghl_operations)
    assert not any("/notes" in op for op in flows["starbuero_call_to_ghl_contact"].ghl_operations)
    assert "POST /contacts/{contactId}/notes" in flows["starbuero_call_to_ghl_note"].ghl_operations
    assert flows["ghl_note_to_hubstaff_task"].ghl_operations == [
        "POST /contacts/search",
        "GET /contacts/{contactId}/notes",
    ]
    assert flows["ghl_critical_contact_to_hubstaff_task"].events[:2] == ["ContactCreate", "ContactUpdate"]


def test_a_recipe_without_metadata_still_works_and_is_named_as_missing() -> None:
    bare = Recipe(
        key="x",
        title="X",
        source_provider="upguard",
        source_object="contact",
        target_provider="ghl",
        target_object="contact",
        triggers=("poll",),
        description="",
    )
    flow = catalog.flow_of(bare)
    assert flow.missing == ["trigger", "action", "test"]
    assert flow.trigger and flow.action and flow.ghl_operations  # derived defaults


def test_the_search_matches_every_word_anywhere_in_a_flow() -> None:
    flow = next(f for f in catalog.flows() if f.flow == "ghl_task_to_hubstaff_task")
    assert flow.matches("hubstaff TASKS.readonly") and flow.matches("taskcomplete")
    assert not flow.matches("upguard")


@pytest.mark.parametrize("app", list(registry.APPS))
def test_each_apps_docs_page_agrees_with_the_catalogue(app: str) -> None:
    path = ROOT / registry.spec(app).docs
    assert path.is_file(), f"{path} is missing: run `python manage.py catalog --docs`"
    block = catalog_docs.block_of(path.read_text())
    assert block == catalog_docs.generated_block(app), (
        f"{path} disagrees with the catalogue: run `python manage.py catalog --docs`"
    )
