"""The extension point for execution histories (Durable workflows, once they exist).

A job page shows, below the activity timeline, whatever the registered history sources
return for the job. A source is an async callable ``(app_id, job) -> list[HistoryEvent]
| None`` (None: not a job this source knows). Nothing is registered by default. The
dashboard sits above Durable (Durable never imports it), so the adapter that reads a
Durable workflow's recorded history belongs here, on this side, registered by the
dashboard or by the program that serves it.

Example:
    >>> from hotmesh.dashboard import history
    >>> async def replayed(app_id, job):
    ...     if not job.summary.topic.startswith("durable."):
    ...         return None
    ...     return [history.HistoryEvent(at=job.summary.created_at, kind="started", detail={})]
    >>> history.register(replayed)
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from attrs import define, field

from hotmesh.spi.inspect import JobDetail

__all__ = ["HistoryEvent", "HistorySource", "register", "render", "unregister"]

log = logging.getLogger(__name__)


@define(frozen=True)
class HistoryEvent:
    """One entry of a job's execution history (shown in a table, oldest first)."""

    at: dt.datetime | None
    kind: str
    detail: dict[str, Any] = field(factory=dict)


HistorySource = Callable[[str, JobDetail], Awaitable[list[HistoryEvent] | None]]

_sources: list[HistorySource] = []


def register(source: HistorySource) -> None:
    """Add a history source (idempotent)."""
    if source not in _sources:
        _sources.append(source)


def unregister(source: HistorySource) -> None:
    """Remove a history source (idempotent)."""
    if source in _sources:
        _sources.remove(source)


async def render(app_id: str, job: JobDetail) -> list[HistoryEvent] | None:
    """The first history a registered source gives for ``job``, or None.

    A failing source is logged and skipped: a history never breaks the job page.
    """
    for source in list(_sources):
        try:
            events = await source(app_id, job)
        except Exception:
            log.exception("dashboard history source failed")
            continue
        if events is not None:
            return list(events)
    return None
