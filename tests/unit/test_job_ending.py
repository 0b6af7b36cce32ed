"""The engine holds its job ending: what a close enqueues is a pure function of metadata,
and a completion lost to an outage is published again, unless the engine is stopping."""

from __future__ import annotations

import asyncio

from hotmesh.engine.ending import PUBLISH_ATTEMPTS, JobEnding, close_messages
from hotmesh.engine.messages import JobComplete, decode
from hotmesh.engine.state import META
from hotmesh.errors import DatabaseUnavailable
from hotmesh.types import JobOutput


def test_an_awaited_child_tells_its_parent_it_closed() -> None:
    [message] = close_messages({"jid": "c1", "gid": "g1", "pj": "p1"})
    assert decode(message.payload) == JobComplete(jid="c1", gid="g1")


def test_a_top_level_or_fire_and_forget_job_enqueues_nothing() -> None:
    assert close_messages({"jid": "j1", "gid": "g1"}) == []
    assert close_messages({"jid": "c1", "gid": "g1", "pj": "p1", "px": True}) == []


class _Publisher:
    """An engine's completion callback that fails ``failures`` times (an outage), then works."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.calls = 0
        self.published: list[JobOutput] = []
        self.failed = asyncio.Event()

    async def __call__(self, output: JobOutput, final: bool) -> None:
        self.calls += 1
        if self.calls <= self.failures:
            self.failed.set()
            raise DatabaseUnavailable("the database is restarting", value="test")
        self.published.append(output)


STATE = {META: {"jid": "j1", "gid": "g1", "tpc": "t"}, "data": {"a": 1}}


def test_a_completion_lost_to_an_outage_is_published_on_a_later_attempt() -> None:
    publisher = _Publisher(failures=2)
    ending = JobEnding(store=None, notify=publisher)  # type: ignore[arg-type]

    asyncio.run(ending.finish(STATE, 0))

    assert publisher.calls == 3
    assert [o.job_id for o in publisher.published] == ["j1"]


def test_a_stopping_engine_retries_no_completion() -> None:
    publisher = _Publisher(failures=100)
    ending = JobEnding(store=None, notify=publisher)  # type: ignore[arg-type]
    ending.close()

    asyncio.run(ending.finish(STATE, 0))

    assert publisher.calls == 1 and not publisher.published


def test_a_retry_waiting_when_the_engine_stops_gives_up() -> None:
    async def scenario() -> _Publisher:
        publisher = _Publisher(failures=100)
        ending = JobEnding(store=None, notify=publisher)  # type: ignore[arg-type]
        finishing = asyncio.create_task(ending.finish(STATE, 0))
        await publisher.failed.wait()  # the first attempt failed: a retry waits
        ending.close()
        await finishing
        return publisher

    publisher = asyncio.run(scenario())
    # Without the stop it would make all its attempts (about nine seconds of them).
    assert publisher.calls < PUBLISH_ATTEMPTS and not publisher.published


def test_an_ending_retries_on_whichever_loop_it_runs() -> None:
    class EveryOther(_Publisher):
        async def __call__(self, output: JobOutput, final: bool) -> None:
            self.failures = self.calls + 1 if self.calls % 2 == 0 else 0
            await super().__call__(output, final)

    publisher = EveryOther(failures=0)
    ending = JobEnding(store=None, notify=publisher)  # type: ignore[arg-type]

    asyncio.run(ending.finish(STATE, 0))  # fails once, waits on this loop, then publishes
    asyncio.run(ending.finish(STATE, 0))  # the same on a new loop

    assert publisher.calls == 4 and len(publisher.published) == 2
