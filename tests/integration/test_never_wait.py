"""Housekeeping statements never wait for a row another transaction holds.

A router renews all its in-flight leases in one statement, and the expiry sweep deletes
expired jobs a thousand at a time. Waiting there for a row a step batch holds, while
holding the rows already renewed or deleted, deadlocked with batches that lock the same
rows in another order (seen in the million-job soak). Such a row is now skipped: a lease
is renewed at the next round (and reported as still held, not as a lost lease), an
expired job is swept next time.
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import asyncpg

from hotmesh.spi import Backend, OutgoingMessage
from hotmesh_postgres.naming import schema_name


async def test_a_row_held_elsewhere_is_skipped_not_waited_for(
    backend: Backend, hotmesh_dsn: str
) -> None:
    stream = f"ext-{uuid.uuid4().hex[:8]}"
    await backend.stream.publish([OutgoingMessage(stream, {"n": n}) for n in range(2)])
    free, busy = sorted(await backend.stream.claim(stream, limit=2, lease=5), key=lambda m: m.id)
    table = f"{schema_name(backend.app_id)}.stream_messages"
    other = await asyncpg.connect(hotmesh_dsn)
    try:
        async with other.transaction():  # a step consuming `busy`, not yet committed
            await other.execute(f"SELECT 1 FROM {table} WHERE id = $1 FOR UPDATE", busy.id)
            held = await asyncio.wait_for(backend.stream.extend([free, busy], 60), 5)
            assert held == {free.id, busy.id}
            leases = dict(
                await other.fetch(
                    f"SELECT id, lease_until - now() > interval '30 seconds' FROM {table}"
                    " WHERE id = ANY($1::bigint[])",
                    [free.id, busy.id],
                )
            )
        assert leases == {free.id: True, busy.id: False}, "only the free row was renewed"
        # Once the other transaction is done, the next round renews it.
        assert await backend.stream.extend([free, busy], 60) == {free.id, busy.id}
        # A delivery consumed meanwhile (acked) is no longer held.
        assert await backend.stream.ack([busy]) == {busy.id}
        assert await backend.stream.extend([free, busy], 60) == {free.id}
    finally:
        await other.close()


async def test_the_expiry_sweep_skips_a_job_held_elsewhere(
    backend: Backend, hotmesh_dsn: str
) -> None:
    ids = [f"old-{uuid.uuid4().hex[:8]}" for _ in range(3)]
    for jid in ids:
        assert await backend.store.create_job(jid, {"n": 0}, semaphore=1)
        closed = await backend.store.apply_step(jid, {"n": 1}, semaphore_delta=-1, expire=60)
        assert closed.applied and closed.semaphore == 0
    table = f"{schema_name(backend.app_id)}.jobs"
    vacuumer: Any = backend.vacuumer
    other = await asyncpg.connect(hotmesh_dsn)
    try:
        # Expired a second ago (set here rather than waited for).
        await other.execute(
            f"UPDATE {table} SET expires_at = now() - interval '1 second' WHERE id = ANY($1)", ids
        )
        async with other.transaction():  # a step holding the first job
            await other.execute(f"SELECT 1 FROM {table} WHERE id = $1 FOR UPDATE", ids[0])
            swept = await asyncio.wait_for(vacuumer.sweep_expired(), 5)
            assert swept >= 2
        left = {r[0] for r in await other.fetch(f"SELECT id FROM {table} WHERE id = ANY($1)", ids)}
        assert left == {ids[0]}
        assert await vacuumer.sweep_expired() >= 1
        assert not await other.fetch(f"SELECT id FROM {table} WHERE id = ANY($1)", ids)
    finally:
        await other.close()
