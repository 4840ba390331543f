"""Inbound webhook views: verify, store, enqueue on commit, answer fast."""

from __future__ import annotations
