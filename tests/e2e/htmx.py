"""Waiting for htmx in the browser tests."""

from __future__ import annotations

from typing import Any

# htmx inserts swapped content first and attaches its triggers to it in the settle step that follows (20 ms later,
# longer on a loaded machine): an element can be visible before a change on it is heard. While a swap settles its
# target carries htmx-settling (htmx-swapping before it, htmx-request on the element whose request is in flight).
_BUSY = ".htmx-request, .htmx-swapping, .htmx-settling"


def wait_settled(page: Any, timeout: float = 15_000) -> None:
    """Return once no htmx request is in flight and no swap is still settling."""
    page.wait_for_function(f"() => !document.querySelector({_BUSY!r})", timeout=timeout)
