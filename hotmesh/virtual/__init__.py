"""Virtual: idempotent cached calls and cron schedules over a worker topic.

``connect`` serves a function on a topic; ``exec`` calls it (``id`` + ``ttl`` make the
call a cache entry); ``cron`` runs it on a schedule; ``interrupt`` stops a cron. Every
call is a job of a small fixed graph deployed into the namespace's app (``hmsh`` by
default), so calls and crons survive restarts and run on whichever process serves the
topic. Guide: docs/virtual.md.

Example:
    >>> from hotmesh import virtual
    >>> async def main(conn: dict) -> None:  # doctest: +SKIP
    ...     async def greet(name: str) -> dict:
    ...         return {"hello": name}
    ...     await virtual.connect(topic="greet", connection=conn, callback=greet)
    ...     print(await virtual.exec(topic="greet", connection=conn, args=["Ada"]))
    ...     await virtual.shutdown()
"""

from __future__ import annotations

from hotmesh.durable import Duration, RetryPolicy
from hotmesh.virtual._api import connect, cron, exec, flush, interrupt, shutdown
from hotmesh.virtual._context import VirtualContext, get_context

__all__ = [
    "Duration",
    "RetryPolicy",
    "VirtualContext",
    "connect",
    "cron",
    "exec",
    "flush",
    "get_context",
    "interrupt",
    "shutdown",
]
