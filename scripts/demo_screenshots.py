"""Screenshots of a running `make demo` as a newcomer sees it, at 1440 px and 390 px (docs/screens.md, "The demo").

    make demo                                   # wait until the first runs have finished (a few minutes)
    .venv/bin/python scripts/demo_screenshots.py --url http://127.0.0.1:8000 --out docs/screenshots

Logs in through the login form as the demo admin (DEMO_ADMIN_PASSWORD or "demo"), then saves demo-<page>-desktop.png
and demo-<page>-phone.png for the overview, a sync, a run with failed records, the deliberately failing sync and
the Fleet page, plus overview.png and run-detail.png for the README. Pages are found by their links, not by ids.
"""

from __future__ import annotations

import argparse
import os
import re
from pathlib import Path
from typing import Any

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking"]
DESKTOP = {"width": 1440, "height": 900}
PHONE = {"width": 390, "height": 844}
README_MAX_HEIGHT = 2400  # the README's run detail: counts, timeline and the failed records first
PHONE_MAX_HEIGHT = 2600  # the first three screens of a phone page, as docs/screens.md shows them
SYNC_NAME = "Hubstaff clients → GHL contacts"
FAILING_MARK = "key without VendorRisk"
RUN_OF = "starbuero.de callers → GHL contacts"  # its first run has a few messy records that failed


def _shot(page: Any, path: Path, *, phone: bool, max_height: int = 0) -> None:
    clip = None
    if phone or max_height:
        height = page.evaluate("document.documentElement.scrollHeight")
        width = PHONE["width"] if phone else DESKTOP["width"]
        clip = {"x": 0, "y": 0, "width": width, "height": min(height, max_height or PHONE_MAX_HEIGHT)}
    page.screenshot(path=str(path), full_page=True, clip=clip)
    print(path)


def _sync_url(page: Any, base: str, name: str) -> str:
    page.goto(f"{base}/syncs/")
    link = page.locator("a", has_text=name).first
    return base + str(link.get_attribute("href"))


def _pages(page: Any, base: str) -> dict[str, str]:
    sync = _sync_url(page, base, SYNC_NAME)
    failing = _sync_url(page, base, FAILING_MARK)
    page.goto(_sync_url(page, base, RUN_OF))
    run = page.locator("a[href^='/runs/']").filter(has_text=re.compile(r"#?\d+")).first
    return {
        "overview": f"{base}/",
        "sync": sync,
        "run": base + str(run.get_attribute("href")),
        "failing-sync": failing,
        "fleet": f"{base}/fleet/",
    }


def main() -> None:
    from playwright.sync_api import sync_playwright

    parser = argparse.ArgumentParser()
    parser.add_argument("--url", default=f"http://127.0.0.1:{os.environ.get('DEMO_PORT', '8000')}")
    parser.add_argument("--out", default="docs/screenshots")
    args = parser.parse_args()
    base, out = args.url.rstrip("/"), Path(args.out)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        page = browser.new_context(viewport=DESKTOP).new_page()
        page.goto(f"{base}/accounts/login/")
        page.fill("input[name=login]", "admin@example.com")
        page.fill("input[name=password]", os.environ.get("DEMO_ADMIN_PASSWORD") or "demo")
        page.click("form button[type=submit]")
        page.wait_for_url(f"{base}/")
        for name, url in _pages(page, base).items():
            for label, viewport in (("desktop", DESKTOP), ("phone", PHONE)):
                page.set_viewport_size(viewport)
                page.goto(url)
                page.wait_for_load_state("networkidle")
                _shot(page, out / f"demo-{name}-{label}.png", phone=label == "phone")
                if label == "desktop" and name in ("overview", "run"):
                    readme = out / ("overview.png" if name == "overview" else "run-detail.png")
                    _shot(page, readme, phone=False, max_height=README_MAX_HEIGHT)
        browser.close()


if __name__ == "__main__":
    main()
