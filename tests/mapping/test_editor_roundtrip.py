"""Saving the editor changes only what a person changed: the recipe's rules posted back as the browser posts
them are no new version and no CHANGED line; and a new row keeps the kind chosen for it."""

from __future__ import annotations

from typing import Any

import pytest
from django.urls import reverse
from hypothesis import given
from hypothesis import strategies as st

from contacts_sync import models as m
from contacts_sync.mapping.defaults import rule
from contacts_sync.mapping.diff import canonical_rule, diff_rules, same_rules
from contacts_sync.services.mappings import mapping_version_create, mapping_version_diff
from contacts_sync.sync.recipes import RECIPES, default_rules
from dashboard.forms.mappings import _constant, _display
from tests.factories import ConnectionFactory, SyncFactory
from tests.formdata import form_data

HTMX = {"HTTP_HX_REQUEST": "true"}


def recipe_sync(key: str, user: Any) -> m.Sync:
    r = RECIPES[key]
    sync = SyncFactory(
        recipe=key,
        source_connection=ConnectionFactory(provider=r.source_provider),
        target_connection=ConnectionFactory(provider=r.target_provider),
        source_object=r.source_object,
        target_object=r.target_object,
    )
    rules = default_rules(r.source_provider, r.source_object, r.target_provider, r.target_object)
    mapping_version_create(sync=sync, rules=rules, note="from the recipe", user=user, validate=False)
    return sync


@pytest.mark.django_db
@pytest.mark.parametrize("key", sorted(RECIPES))
def test_saving_the_untouched_editor_creates_no_version_and_no_change(client: Any, editor: Any, key: str):
    sync = recipe_sync(key, editor)
    client.force_login(editor)
    url = reverse("dashboard:mapping_edit", args=[sync.pk])
    data = form_data(client.get(url).content.decode(), "mapping-form", action="save", note="nothing")
    response = client.post(url, data, follow=True)
    sync.refresh_from_db()
    assert sync.mapping_version.number == 1, mapping_version_diff(version=sync.mapping_version)
    assert "Nothing changed: version 1 stays current." in response.content.decode()


@pytest.mark.django_db
def test_changing_one_option_shows_exactly_that_change(client: Any, editor: Any):
    sync = recipe_sync("hubstaff_client_to_ghl_contact", editor)
    client.force_login(editor)
    url = reverse("dashboard:mapping_edit", args=[sync.pk])
    html = client.get(url).content.decode()
    data = form_data(html, "mapping-form", action="save", note="shorter company names")
    row = next(k.split("-")[1] for k, v in data.items() if k.endswith("-target") and v == "companyName")
    assert data[f"rules-{row}-t-1-name"] == "truncate" and data[f"rules-{row}-t-1-a-length"] == "255"
    data[f"rules-{row}-t-1-a-length"] = "100"
    client.post(url, data)
    sync.refresh_from_db()
    assert sync.mapping_version.number == 2
    changes = mapping_version_diff(version=sync.mapping_version)
    assert [str(c) for c in changes] == ["~ companyName: transforms: trim → truncate → trim → truncate(length=100)"]
    history = client.get(reverse("dashboard:mapping_history", args=[sync.pk])).content.decode()
    assert history.count("map-diff-changed") == 1


def test_a_default_option_spelt_out_or_left_out_is_the_same_rule():
    spelt = rule("companyName", source="company", transforms=["trim", ("truncate", {"length": 255})])
    left = {
        "source": "company",
        "target": "companyName",
        "transforms": [{"name": "trim", "args": {}}, {"name": "truncate", "args": {}}],
    }
    assert canonical_rule(spelt) == canonical_rule(left) and same_rules([spelt], [left])
    assert diff_rules([spelt], [left]) == []
    shorter = rule("companyName", source="company", transforms=["trim", ("truncate", {"length": "100"})])
    assert not same_rules([spelt], [shorter])  # "100" typed in the form is the number 100: a real change
    assert canonical_rule(shorter)["transforms"][1] == {"name": "truncate", "args": {"length": 100}}


JSON_SCALARS = (
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=30)
)
JSON_VALUES = st.recursive(
    JSON_SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=10,
)


@given(JSON_VALUES)
def test_a_constant_or_default_survives_the_round_trip_through_its_input(value: Any):
    """What the input shows, posted back, is the value itself: the text "123" stays text, 123 a number.
    (The empty text is the one exception: an empty input means no value.)"""
    if value == "":
        return
    assert _constant(_display(value)) == value


@pytest.mark.django_db
@pytest.mark.parametrize("kind", ["constant", "template"])
def test_a_new_row_keeps_the_kind_chosen_for_it_while_still_empty(client: Any, editor: Any, kind: str):
    sync = recipe_sync("hubstaff_client_to_ghl_contact", editor)
    client.force_login(editor)
    url = reverse("dashboard:mapping_edit", args=[sync.pk])
    data = form_data(client.get(url).content.decode(), "mapping-form", action="add_row")
    html = client.post(url, data, **HTMX).content.decode()
    data = form_data(f'<form id="f">{html}</form>', "f", action="refresh")
    new = int(data["rules-TOTAL_FORMS"]) - 1
    data[f"rules-{new}-kind"] = kind  # the select's change posts the form with action=refresh
    html = client.post(url, data, **HTMX).content.decode()
    select = html.split(f'name="rules-{new}-kind"')[1].split("</select>")[0]
    assert f'<option value="{kind}" selected>' in select
    assert '<option value="source" selected>' not in select
    assert "_kind" not in str(m.MappingVersion.objects.filter(sync=sync).values_list("rules", flat=True))
