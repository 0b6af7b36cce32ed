"""Pub/sub on Postgres: publications made while one is in flight go in one statement, in
order, and none is lost, not even two equal ones (Postgres delivers equal payloads of one
transaction once, so those never share a statement)."""

from __future__ import annotations

import asyncio
from typing import Any

from hotmesh.spi import Backend


async def test_concurrent_publications_go_together_and_all_arrive(backend: Backend) -> None:
    got: list[Any] = []
    done = asyncio.Event()
    expected = 12

    def heard(_topic: str, message: dict[str, Any]) -> None:
        got.append(message["n"])
        if len(got) == expected:
            done.set()

    await backend.sub.subscribe("grouped", heard)
    sub: Any = backend.sub
    notes = sub._notes
    batches = notes.batches
    # Ten distinct messages and two repeats of the last one, all published at once.
    await asyncio.gather(*(backend.sub.publish("grouped", {"n": min(n, 9)}) for n in range(12)))
    await asyncio.wait_for(done.wait(), 10)
    assert sorted(got) == [*range(9), 9, 9, 9]
    # The first alone, the other eleven together (in as many statements as the repeats
    # need): fewer batches than publications.
    assert notes.batches - batches == 2
