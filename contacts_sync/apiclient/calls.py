"""One record per logical API call (all its retries), handed to the `on_call` hook so runs can show them."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


@dataclass
class CallRecord:
    provider: str
    method: str
    path_template: str
    status: int | None
    duration_ms: int
    attempts: int
    rate_limited: int = 0  # number of 429s seen inside the retries
    error: str | None = None
    operation: str = ""

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)
