"""Alert transports behind a registry: `transport_for(kind)` -> an object with `.send(channel, message)`."""

from __future__ import annotations

from . import email as _email  # noqa: F401  (registers "email")
from . import slack as _slack  # noqa: F401  (registers "slack")
from . import webhook as _webhook  # noqa: F401  (registers "webhook")
from .base import REGISTRY, AlertMessage, Transport, TransportError, register, transport_for

__all__ = ["REGISTRY", "AlertMessage", "Transport", "TransportError", "register", "transport_for"]
