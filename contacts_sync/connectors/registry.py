"""provider name -> connector factory. Each app's package registers itself on import."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

from contacts_sync.exceptions import ConfigurationError

from .base import ConnectionInfo

_FACTORIES: dict[str, Callable[[ConnectionInfo], Any]] = {}
_MODULES = {
    "hubstaff": "contacts_sync.connectors.hubstaff",
    "hotspotsystem": "contacts_sync.connectors.hotspotsystem",
    "upguard": "contacts_sync.connectors.upguard",
    "starbuero": "contacts_sync.connectors.starbuero",
    "custom": "contacts_sync.connectors.custom",
    "ghl": "contacts_sync.connectors.ghl",
}


def register(provider: str) -> Callable[[Callable[[ConnectionInfo], Any]], Callable[[ConnectionInfo], Any]]:
    def decorator(factory: Callable[[ConnectionInfo], Any]) -> Callable[[ConnectionInfo], Any]:
        _FACTORIES[provider] = factory
        return factory

    return decorator


def get_connector(info: ConnectionInfo) -> Any:
    if info.provider not in _FACTORIES and info.provider in _MODULES:
        try:
            importlib.import_module(_MODULES[info.provider])
        except ModuleNotFoundError as exc:
            raise ConfigurationError(f"no connector for {info.provider!r} is installed") from exc
    try:
        factory = _FACTORIES[info.provider]
    except KeyError:
        raise ConfigurationError(f"no connector for {info.provider!r}") from None
    return factory(info)
