"""The base layout: a favicon, the menu button's script, both served from static/ (no CDN)."""

from __future__ import annotations

import re
from typing import Any
from xml.etree import ElementTree

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db


def test_every_page_links_the_svg_favicon_and_it_is_served(client: Client, viewer: Any):
    client.force_login(viewer)
    html = client.get("/").content.decode()
    icon = re.search(r'<link rel="icon" href="([^"]+)" type="image/svg\+xml">', html)
    assert icon is not None
    response = client.get(icon.group(1))
    assert response.status_code == 200
    svg = ElementTree.fromstring(b"".join(response.streaming_content) if response.streaming else response.content)
    assert svg.tag == "{http://www.w3.org/2000/svg}svg"


def test_the_login_page_has_the_favicon_too_but_no_menu(client: Client):
    html = client.get("/accounts/login/").content.decode()
    assert 'rel="icon"' in html
    assert 'class="menu-button"' not in html


def test_the_menu_script_and_styles_come_from_this_server(client: Client, viewer: Any):
    client.force_login(viewer)
    html = client.get("/").content.decode()
    sources = re.findall(r'<(?:script|link)[^>]+(?:src|href)="([^"]+)"', html)
    assert any(s.endswith("js/menu.js") for s in sources)
    assert all(s.startswith("/") for s in sources), sources  # vendored, never a CDN
    assert 'aria-controls="site-menu"' in html and 'id="site-menu"' in html
