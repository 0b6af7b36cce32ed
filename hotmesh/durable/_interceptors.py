"""Interceptor registries (Durable part 2: registered, not yet called)."""

from __future__ import annotations

from typing import Any

__all__ = [
    "clear_interceptors",
    "register_activity_interceptor",
    "register_inbound_interceptor",
    "register_outbound_interceptor",
]

_INBOUND: list[Any] = []
_OUTBOUND: list[Any] = []
_ACTIVITY: list[Any] = []


def _not_yet(kind: str) -> NotImplementedError:
    return NotImplementedError(
        f"hotmesh.durable: {kind} interceptors are part 2 of Durable and not implemented yet"
    )


def register_inbound_interceptor(interceptor: Any) -> None:
    """Not implemented yet (Durable part 2)."""
    raise _not_yet("inbound")


def register_outbound_interceptor(interceptor: Any) -> None:
    """Not implemented yet (Durable part 2)."""
    raise _not_yet("outbound")


def register_activity_interceptor(interceptor: Any) -> None:
    """Not implemented yet (Durable part 2)."""
    raise _not_yet("activity")


def clear_interceptors() -> None:
    """Clear every registered interceptor (none can be registered yet)."""
    _INBOUND.clear()
    _OUTBOUND.clear()
    _ACTIVITY.clear()
