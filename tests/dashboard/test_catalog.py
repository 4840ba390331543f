"""/catalog/: every flow grouped by app and direction, searchable, readable by a Viewer; "Create sync" (Editors)
opens the new-sync form with the recipe chosen."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.urls import reverse

from contacts_sync.selectors.catalog import catalog_groups
from contacts_sync.sync.recipes import RECIPES

pytestmark = pytest.mark.django_db
URL = "/catalog/"


def _flows(html: str) -> list[str]:
    return re.findall(r'data-flow="([a-z_]+)"', html)


def test_a_viewer_sees_every_flow_grouped_by_app_and_direction(login: Any, viewer: Any) -> None:
    r = login(viewer).get(URL)
    assert r.status_code == 200
    html = r.content.decode()
    assert sorted(_flows(html)) == sorted(f.flow for g in catalog_groups() for f in g.flows)
    assert (
        'data-app="hubstaff" data-direction="from_ghl"' in html
        and 'data-app="hubstaff" data-direction="to_ghl"' in html
    )
    assert "PUT /contacts/{contactId}/tasks/{taskId}" in html and "locations/tasks.readonly" in html
    assert "/syncs/new/?recipe=" not in html  # a Viewer cannot create syncs: no button that leads to a 403
    # every cell has its phone label
    assert not re.search(r"<td(?![^>]*data-label)", html)


def test_an_editors_create_sync_button_opens_the_form_with_the_recipe_chosen(login: Any, editor: Any) -> None:
    client = login(editor)
    html = client.get(URL).content.decode()
    link = f"{reverse('dashboard:sync_create')}?recipe=ghl_task_to_hubstaff_task"
    assert f'href="{link}"' in html
    form = client.get(link)
    assert form.status_code == 200
    assert 'name="recipe" value="ghl_task_to_hubstaff_task"' in form.content.decode()


def test_the_search_keeps_flows_matching_every_word(login: Any, viewer: Any) -> None:
    client = login(viewer)
    assert _flows(client.get(URL, {"q": "TaskComplete"}).content.decode()) == [
        "ghl_task_to_hubstaff_task",
        "ghl_changes_to_custom_app",
    ]  # the custom app forwards every task event
    assert _flows(client.get(URL, {"q": "TaskComplete Hubstaff"}).content.decode()) == ["ghl_task_to_hubstaff_task"]
    both = _flows(client.get(URL, {"q": "hubstaff note"}).content.decode())
    assert set(both) == {"hubstaff_note_to_ghl_note", "ghl_note_to_hubstaff_task"}
    none = client.get(URL, {"q": "no-such-flow"}).content.decode()
    assert _flows(none) == [] and "No flow matches" in none


def test_an_htmx_search_answers_only_the_results(login: Any, viewer: Any) -> None:
    r = login(viewer).get(URL, {"q": "upguard"}, HTTP_HX_REQUEST="true")
    html = r.content.decode()
    assert r.status_code == 200 and html.lstrip().startswith('<div id="catalog-results"')
    upguard = {key for key, recipe in RECIPES.items() if "upguard" in (recipe.source_provider, recipe.target_provider)}
    assert len(upguard) > 1 and sorted(_flows(html)) == sorted(upguard)
    assert "hubstaff" not in " ".join(_flows(html))


@pytest.mark.parametrize("query", ["x" * 5000, "\x00\x01<script>", "   ", "ä€😀"])
def test_odd_or_hostile_queries_get_a_page_not_an_error(login: Any, viewer: Any, query: str) -> None:
    r = login(viewer).get(URL, {"q": query})
    assert r.status_code == 200
    assert "<script>" not in r.content.decode()


def test_someone_not_logged_in_is_sent_to_the_login_page(client: Any) -> None:
    r = client.get(URL)
    assert r.status_code == 302 and "/accounts/login/" in r["Location"]
