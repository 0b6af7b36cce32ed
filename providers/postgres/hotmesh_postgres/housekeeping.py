"""Keeps the hot tables clean: vacuums the streams as messages are consumed, and deletes
expired jobs.

Claims walk the claim index from its oldest end, which is exactly where acked (deleted)
messages leave dead entries. Autovacuum only visits a database every
``autovacuum_naptime`` (60 s by default), long enough for hundreds of thousands of dead
entries to pile up and halve claim throughput. So every process counts the messages it
deletes and, past a threshold, runs ``VACUUM (SKIP_LOCKED)`` on the stream table in the
background: cheap on a table whose live rows are only the pending work, and skipped at
once when another process is already vacuuming it. No daemon is needed: any member of
the mesh does it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

from hotmesh_postgres.driver import Driver
from hotmesh_postgres.naming import quote_ident

__all__ = ["SWEEP_BATCH", "Vacuumer"]

#: Expired jobs deleted per statement (the LIMIT of the ``sweep_expired_jobs`` query).
SWEEP_BATCH = 1000

log = logging.getLogger(__name__)


class Vacuumer:
    """Vacuums the stream tables after every ``every`` deleted messages (in this process)."""

    def __init__(
        self,
        driver: Driver,
        schema: str,
        sweep_sql: str,
        *,
        every: int = 4_000,
        min_interval: float = 0.5,
    ) -> None:
        self._driver = driver
        self._sweep = sweep_sql
        self._sql = (
            f"VACUUM (SKIP_LOCKED) {quote_ident(schema)}.stream_messages, "
            f"{quote_ident(schema)}.jobs"
        )
        self._every = every
        self._min_interval = min_interval
        self._deleted = 0
        self._last = 0.0
        self._task: asyncio.Task[None] | None = None
        self.runs = 0

    def note_deleted(self, count: int) -> None:
        """Count deleted rows; start a vacuum when enough have piled up."""
        self._deleted += count
        if self._deleted < self._every or self._task is not None:
            return
        if time.monotonic() - self._last < self._min_interval:
            return
        self._deleted = 0
        self._task = asyncio.create_task(self._vacuum(), name="hotmesh-vacuum")

    async def sweep_expired(self, max_batches: int = 10) -> int:
        """Delete expired jobs, 1,000 per statement, until none is left (at most
        ``max_batches`` statements per call); return how many were deleted."""
        deleted = 0
        for _ in range(max_batches):
            count = await self._driver.execute(self._sweep)
            deleted += count
            if count < SWEEP_BATCH:
                break
        return deleted

    async def _vacuum(self) -> None:
        started = time.monotonic()
        try:
            await self.sweep_expired()
            await self._driver.execute(self._sql)
            self.runs += 1
            log.debug("vacuumed stream table in %.1f ms", (time.monotonic() - started) * 1e3)
        except Exception:
            log.warning("stream table vacuum failed", exc_info=True)
        finally:
            self._last = time.monotonic()
            self._task = None

    async def close(self) -> None:
        """Wait for a vacuum in progress (it is short)."""
        if self._task is not None:
            with contextlib.suppress(Exception):
                await self._task
