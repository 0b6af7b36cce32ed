"""Recovery: every hotmesh connection killed with pg_terminate_backend.

Only for providers whose connections can be killed (capability ``kill_connections``).
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from hotmesh.spi import Backend, OutgoingMessage
from hotmesh_conformance.harness import BackendFactory, assert_eventually
from hotmesh_conformance.profiles import KILL_CONNECTIONS

pytestmark = pytest.mark.hotmesh_requires(KILL_CONNECTIONS)

KILL_OTHERS = """
SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
 WHERE pid <> pg_backend_pid() AND datname = current_database()
   AND backend_type = 'client backend'
"""


async def _kill_every_other_connection(backends: BackendFactory) -> int:
    killer = await backends.open()
    driver: Any = getattr(killer, "driver", None)
    assert driver is not None, "recovery tests need a backend exposing its driver"
    killed = int(await driver.fetchval(KILL_OTHERS))
    await killer.close()
    return killed


async def test_everything_recovers_after_terminate(backends: BackendFactory) -> None:
    backend: Backend = await backends.open()
    await backend.stream.publish([OutgoingMessage("s", {"before": True})])
    await backend.stream.claim("other", consumer="c")  # register for wake-ups
    got: list[dict[str, Any]] = []
    arrived = asyncio.Event()

    def on_message(topic: str, message: dict[str, Any]) -> None:
        got.append(message)
        arrived.set()

    await backend.sub.subscribe("ping", on_message)

    assert await _kill_every_other_connection(backends) >= 2

    # Pooled statements recover on the next call.
    await assert_eventually(
        lambda: backend.stream.publish([OutgoingMessage("s", {"after": True})]), timeout=15
    )
    claimed = await backend.stream.claim("s", limit=10)
    assert sorted(m.payload.get("after", False) for m in claimed) == [False, True]
    assert await backend.stream.ack(claimed) == {m.id for m in claimed}

    # The listener reconnects: pub/sub delivers again (messages sent while it was down
    # may be lost — pub/sub is at most once — so keep publishing until one arrives).
    async def ping() -> bool:
        await backend.sub.publish("ping", {"n": 1})
        try:
            await asyncio.wait_for(arrived.wait(), 0.2)
        except TimeoutError:
            return False
        return True

    await assert_eventually(ping, timeout=20, message="pub/sub never recovered")

    # Stream wake-ups work again too.
    waiter = asyncio.create_task(backend.stream.wait("other", 30, consumer="c"))
    await backend.stream.publish([OutgoingMessage("other", {"x": 1})])
    await asyncio.wait_for(waiter, 10)
    assert len(await backend.stream.claim("other", consumer="c")) == 1
