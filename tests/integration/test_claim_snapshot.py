"""A claimed message comes with its job at least as recent as the commit that published it.

The engine's claim returns each message's job state so the step it causes needs no
separate read. A step that closes a child job writes the child's final data and enqueues
the parent's "complete" message in one transaction; the parent's result is that data. If
the claim returned the job from a snapshot older than the one that found the message, the
parent received the child before its last step: an empty result (CI caught it once in a
thousand runs of ``tests/engine/test_apps_retry.py``).

The race is made certain here: the publishing transaction is held open while a claim
starts, and a table lock queued between them makes the claim wait (after its statement
began, before its inner query locks the stream) until that transaction has committed.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator

import asyncpg
import pytest

from hotmesh.spi import Backend
from hotmesh_conformance.harness import assert_eventually
from hotmesh_postgres.naming import schema_name


@pytest.fixture
async def sessions(hotmesh_dsn: str) -> AsyncIterator[list[asyncpg.Connection]]:
    conns = [await asyncpg.connect(hotmesh_dsn) for _ in range(3)]
    try:
        yield conns
    finally:
        for conn in conns:
            await conn.close()


async def _lock_waiters(watcher: asyncpg.Connection) -> set[int]:
    """The backends of this database that wait for a lock (no event tells it: polled)."""
    rows = await watcher.fetch(
        "SELECT pid FROM pg_stat_activity"
        " WHERE wait_event_type = 'Lock' AND datname = current_database()"
    )
    return {r[0] for r in rows}


async def test_the_claimed_job_includes_the_commit_that_published_the_message(
    backend: Backend, sessions: list[asyncpg.Connection]
) -> None:
    writer, locker, watcher = sessions
    schema = schema_name(backend.app_id)
    jid, stream = f"job-{uuid.uuid4().hex[:8]}", f"s-{uuid.uuid4().hex[:8]}"
    assert await backend.store.create_job(jid, {"n": 0}, semaphore=1)
    assert await backend.stream.claim(stream, limit=1, lease=60, with_job=True) == []

    # 1. The step: the job's new state and its message, not yet committed.
    step = writer.transaction()
    await step.start()
    await writer.execute(
        f"UPDATE {schema}.jobs SET state = state || '{{\"n\": 1}}'::jsonb WHERE id = $1", jid
    )
    await writer.execute(
        f"INSERT INTO {schema}.stream_messages (stream, job_id, payload) VALUES ($1, $2, $3)",
        stream, jid, json.dumps({"jid": jid}),
    )  # fmt: skip
    # 2. A lock request queued behind the step: later lockers of the stream wait behind it.
    lock = locker.transaction()
    await lock.start()
    locking = asyncio.create_task(
        locker.execute(f"LOCK TABLE {schema}.stream_messages IN SHARE MODE")
    )
    queued = locker.get_server_pid()
    await assert_eventually(lambda: _lock_waiters(watcher), lambda pids: queued in pids)
    # 3. The claim starts (its statement began before the step commits) and waits.
    claiming = asyncio.create_task(backend.stream.claim(stream, limit=1, lease=60, with_job=True))
    await assert_eventually(lambda: _lock_waiters(watcher), lambda pids: len(pids - {queued}) == 1)
    # 4. The step commits, the lock is taken and let go: the claim goes on.
    await step.commit()
    await locking
    await lock.commit()
    [message] = await asyncio.wait_for(claiming, 10)
    assert message.job_id == jid and message.job is not None
    assert message.job.state["n"] == 1, "the job came from before the step that published it"
