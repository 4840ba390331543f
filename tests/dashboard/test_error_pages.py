"""Error pages render in the site's layout; the 500 page renders without touching the database."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db


@pytest.mark.urls("tests.error_urls")
def test_the_500_page_renders_while_the_database_is_down(client: Client, viewer: Any, django_db_blocker: Any):
    client.force_login(viewer)
    client.raise_request_exception = False
    with django_db_blocker.block():  # any query from here on raises: as if PostgreSQL were gone
        response = client.get("/test-errors/database-down/", HTTP_REFERER="http://testserver/runs/")
    assert response.status_code == 500
    html = response.content.decode()
    assert "Something went wrong on our side" in html
    assert 'href="/runs/"' in html  # the navigation, built without asking the database who the user is
    assert 'href="http://testserver/runs/" data-action="back"' in html  # the way back to where the user was
    assert "/static/css/app.css" in html  # the site's stylesheet, not a bare page
    assert "/users/" not in html  # admin-only pages are not offered to someone we could not identify
    assert "Connection refused" not in html  # the cause goes to the log, never to the page


def test_a_viewer_gets_the_styled_403_naming_the_role_needed(client: Client, viewer: Any):
    client.force_login(viewer)
    response = client.get("/syncs/new/")
    assert response.status_code == 403
    html = response.content.decode()
    assert "You are not allowed to do that" in html
    assert "This needs the Editor role." in html
    assert "with the <strong>Viewer</strong> role" in html
    assert 'class="nav"' in html and 'href="/syncs/"' in html
    assert 'data-action="home"' in html


def test_a_missing_page_gets_the_styled_404_with_the_navigation(client: Client, viewer: Any):
    client.force_login(viewer)
    response = client.get("/no/such/page/")
    assert response.status_code == 404
    html = response.content.decode()
    assert "There is no page here" in html and "<code>/no/such/page/</code>" in html
    assert 'class="nav"' in html and 'data-action="home"' in html
    assert "Resolver404" not in html and "tried" not in html


def test_a_missing_run_says_which_thing_is_gone(client: Client, viewer: Any):
    client.force_login(viewer)
    response = client.get("/runs/987654/")
    assert response.status_code == 404
    assert "No such run." in response.content.decode()


def test_a_back_link_to_another_site_is_never_offered(client: Client, viewer: Any):
    client.force_login(viewer)
    response = client.get("/no/such/page/", HTTP_REFERER="https://evil.example/phish")
    assert "evil.example" not in response.content.decode()
    assert 'data-action="back"' not in response.content.decode()


def test_a_form_sent_without_its_csrf_token_gets_the_styled_expired_page(viewer: Any):
    client = Client(enforce_csrf_checks=True)
    client.force_login(viewer)
    response = client.post("/accounts/logout/", {})
    assert response.status_code == 403
    html = response.content.decode()
    assert "This form has expired" in html
    assert "Technical reason: CSRF" in html
    assert 'class="nav"' in html
