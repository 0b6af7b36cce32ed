"""``get_context()``: who is calling, inside a Virtual callback."""

from __future__ import annotations

from contextvars import ContextVar

from attrs import frozen

__all__ = ["VirtualContext", "get_context"]

OUTSIDE = "Virtual.getContext() called outside of a Virtual callback execution context"


@frozen
class VirtualContext:
    """The invocation a Virtual callback is running for.

    Attributes:
        topic: the worker topic (what ``connect`` registered).
        workflow_id: the job id: the cron id, or the ``exec`` id (a generated one if none).
        workflow_name: the graph: ``"<namespace>.call"`` or ``"<namespace>.cron"``.
        dimension: the activity's dimension (differs per cron cycle).
        attempt: 1 on the first delivery, 2 on the first retry...
        guid: unique per call and per cron cycle, the same across retries of one: use it
            as an idempotency key for side effects.
        trace_id, span_id: trace context when the job carries one, else ``""``.

    Example:
        >>> VirtualContext("my.fn", "k", "hmsh.call", ",0", 1, "g").workflow_name
        'hmsh.call'
    """

    topic: str
    workflow_id: str
    workflow_name: str
    dimension: str
    attempt: int
    guid: str
    trace_id: str = ""
    span_id: str = ""


CURRENT: ContextVar[VirtualContext | None] = ContextVar("hotmesh_virtual_context", default=None)


def get_context() -> VirtualContext:
    """The :class:`VirtualContext` of the callback running now (*sync*).

    Raises:
        RuntimeError: called outside a Virtual callback (the reference's exact message).

    Example:
        >>> async def charge(order_id: str) -> dict:
        ...     ctx = get_context()
        ...     return {"order": order_id, "attempt": ctx.attempt}
    """
    context = CURRENT.get()
    if context is None:
        raise RuntimeError(OUTSIDE)
    return context
