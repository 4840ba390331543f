"""Screenshots of one page at both widths (docs/screens.md), with the phone-layout checks of test_screens."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.e2e.test_screens import DESKTOP, PHONE, _overflow, _shot, _unlabelled_cells


def both_widths(page: Any, name: str, tmp_path: Path) -> None:
    """`name`-desktop.png at 1440 px and `name`-phone.png at 390 px (into $SCREENSHOTS_DIR when set); fails
    when the page scrolls sideways or a table cell has no label for its phone card."""
    before = page.viewport_size
    try:
        for label, viewport in (("desktop", DESKTOP), ("phone", PHONE)):
            page.set_viewport_size(viewport)
            page.wait_for_timeout(100)  # the layout settles after the resize
            assert _overflow(page) <= 0, f"{name} ({label}) scrolls sideways"
            assert _unlabelled_cells(page) == [], f"{name} ({label}) has table cells without a label"
            _shot(page, f"{name}-{label}", tmp_path)
    finally:
        page.set_viewport_size(before)
