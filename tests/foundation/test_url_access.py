"""Walk every URL pattern: anonymous users are sent to the login page, Viewers never change anything."""

from __future__ import annotations

import re

import pytest
from django.urls import URLPattern, URLResolver, get_resolver

from tests import factories

pytestmark = pytest.mark.django_db

# Public by design: health/metrics for ops, webhooks (signed), allauth's own pages, the changes feed (a bearer
# token per webhook endpoint; tests/connectors/custom/test_outgoing.py checks its 401s).
PUBLIC_PREFIXES = ("healthz", "metrics", "webhooks/", "accounts/", "static/", "api/")


def all_patterns(resolver: URLResolver | None = None, prefix: str = "") -> list[tuple[str, str]]:
    resolver = resolver or get_resolver()
    found: list[tuple[str, str]] = []
    for entry in resolver.url_patterns:
        route = prefix + str(entry.pattern)
        if isinstance(entry, URLResolver):
            found.extend(all_patterns(entry, route))
        elif isinstance(entry, URLPattern):
            found.append((route, entry.name or ""))
    return found


@pytest.fixture
def objects():
    run = factories.RunItemFactory(action="failed").run
    version = factories.MappingVersionFactory(sync=run.sync)
    from contacts_sync.models import Alert, AlertChannel, StatusChange

    change = StatusChange.objects.create(sync=run.sync, old_status="healthy", new_status="failing")
    alert = Alert.objects.create(sync=run.sync, opened_by=change, title="failing")
    channel = AlertChannel.objects.create(name="ops", kind="email", target="ops@example.com")
    return {
        "run": run.pk,
        "sync": run.sync_id,
        "connection": run.sync.target_connection_id,
        "version": version.pk,
        "mapping": version.pk,
        "alert": alert.pk,
        "channel": channel.pk,
        "item": run.items.first().pk,
        "event": 1,
        "change": change.pk,
    }


def concrete(route: str, objects: dict[str, int], user_id: int) -> str:
    def value(match: re.Match[str]) -> str:
        converter, name = (match.group(1) or "str"), match.group(2)
        if name in {"user_id", "user"}:
            return str(user_id)
        for key, pk in objects.items():
            if key in name:
                return str(pk)
        if name == "pk":
            return str(objects["sync"])
        return "1" if converter in {"int", "str", "slug"} else "x"

    url = re.sub(r"<(?:(\w+):)?(\w+)>", value, route)
    url = url.replace("^", "").replace("$", "").replace("\\Z", "")
    return "/" + url


def is_public(route: str) -> bool:
    return route.startswith(PUBLIC_PREFIXES) or (route.startswith("^") and route[1:].startswith(PUBLIC_PREFIXES))


def test_every_private_page_and_action_redirects_an_anonymous_user_to_login(client, objects, viewer):
    private = [(r, n) for r, n in all_patterns() if not is_public(r)]
    assert len(private) >= 1
    for route, name in private:
        url = concrete(route, objects, viewer.pk)
        response = client.get(url)
        if response.status_code == 405:  # a POST-only action; its POST must still ask for a login
            response = client.post(url, {})
        assert response.status_code == 302, (url, name, response.status_code)
        assert response["Location"].startswith("/accounts/login/"), (url, response["Location"])


def test_a_viewer_can_read_but_never_post_to_any_private_page(client, objects, viewer):
    client.force_login(viewer)
    for route, name in all_patterns():
        if is_public(route):
            continue
        url = concrete(route, objects, viewer.pk)
        got = client.get(url).status_code
        assert got in {200, 204, 302, 403, 404, 405}, (url, name, got)
        posted = client.post(url, {}).status_code
        assert posted in {403, 404, 405}, (url, name, posted)
