"""Field mapping: pure functions from a source record and a mapping version's rules to a target payload.

No DB, no HTTP, no Celery (checked by import-linter). See docs/mappings.md for the rule format.
"""

from __future__ import annotations

from .engine import (
    CUSTOM_PREFIX,
    MULTI_TARGETS,
    ON_INVALID_FAIL,
    ON_INVALID_SKIP,
    apply,
    content_hash,
    render_template,
    validate_rules,
)
from .errors import MappingError, TransformError
from .paths import get_path
from .types import (
    WARN_CLEANED,
    WARN_CUT,
    WARN_SKIPPED,
    WHOLE_MAPPING,
    MappingContext,
    MappingResult,
    PhoneNote,
    Problem,
)

__all__ = [
    "CUSTOM_PREFIX",
    "MULTI_TARGETS",
    "ON_INVALID_FAIL",
    "ON_INVALID_SKIP",
    "WARN_CLEANED",
    "WARN_CUT",
    "WARN_SKIPPED",
    "WHOLE_MAPPING",
    "MappingContext",
    "MappingError",
    "MappingResult",
    "PhoneNote",
    "Problem",
    "TransformError",
    "apply",
    "content_hash",
    "get_path",
    "render_template",
    "validate_rules",
]
