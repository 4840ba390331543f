"""The read API for the dashboard: annotated querysets, no N+1."""

from __future__ import annotations
