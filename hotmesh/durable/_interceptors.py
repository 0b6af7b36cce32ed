"""Interceptors: process-wide, registration order = outermost first (durable.md §4.21).

* inbound ``i.execute(info: WorkflowInfo, next)`` wraps every turn of every workflow, inside
  the workflow context (it may make durable calls, which take their place in the history);
* outbound ``i.execute(call: ActivityCall, info: WorkflowInfo, next)`` wraps each proxied
  activity call; ``call.args`` and ``call.options["headers"]`` may be changed before
  ``next()``; after it, the interceptor sees the result (on the turn that replays it);
* activity ``i.execute(activity_name, args, next)`` wraps the activity where it runs.

Every interceptor must re-raise what ``wf.did_interrupt(err)`` is true for.

Example:
    >>> class Timing:
    ...     async def execute(self, info, next):
    ...         return await next()
    >>> register_inbound_interceptor(Timing())
    >>> clear_interceptors()
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

__all__ = [
    "activity_chain",
    "clear_interceptors",
    "inbound_chain",
    "outbound_chain",
    "register_activity_interceptor",
    "register_inbound_interceptor",
    "register_outbound_interceptor",
]

Next = Callable[[], Awaitable[Any]]

_INBOUND: list[Any] = []
_OUTBOUND: list[Any] = []
_ACTIVITY: list[Any] = []


def _check(interceptor: Any) -> Any:
    if not callable(getattr(interceptor, "execute", None)):
        from hotmesh.errors import ConfigError

        raise ConfigError("an interceptor needs an async execute(...) method", value=interceptor)
    return interceptor


def register_inbound_interceptor(interceptor: Any) -> None:
    """Wrap every workflow turn: ``await interceptor.execute(info, next)`` (sync)."""
    _INBOUND.append(_check(interceptor))


def register_outbound_interceptor(interceptor: Any) -> None:
    """Wrap every proxied activity call: ``await interceptor.execute(call, info, next)``."""
    _OUTBOUND.append(_check(interceptor))


def register_activity_interceptor(interceptor: Any) -> None:
    """Wrap every activity where it runs: ``await interceptor.execute(name, args, next)``."""
    _ACTIVITY.append(_check(interceptor))


def clear_interceptors() -> None:
    """Forget every registered interceptor of the three kinds (sync)."""
    _INBOUND.clear()
    _OUTBOUND.clear()
    _ACTIVITY.clear()


def _fold(interceptors: list[Any], wrap: Callable[[Any, Next], Next], core: Next) -> Next:
    step = core
    for interceptor in reversed(interceptors):
        step = wrap(interceptor, step)
    return step


def inbound_chain(info: Any, core: Next) -> Next:
    """``core`` wrapped by the inbound interceptors (``core`` itself when there are none)."""
    return _fold(list(_INBOUND), lambda i, n: lambda: i.execute(info, n), core)


def outbound_chain(call: Any, info: Any, core: Next) -> Next | None:
    """``core`` wrapped by the outbound interceptors, or None when there are none."""
    if not _OUTBOUND:
        return None
    return _fold(list(_OUTBOUND), lambda i, n: lambda: i.execute(call, info, n), core)


def activity_chain(name: str, args: list[Any], core: Next) -> Next:
    """``core`` wrapped by the activity interceptors."""
    return _fold(list(_ACTIVITY), lambda i, n: lambda: i.execute(name, args, n), core)
