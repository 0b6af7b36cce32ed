"""hotmesh.alarms: many deadlines on one loop timer (no database)."""

from __future__ import annotations

import asyncio

import pytest

from hotmesh.alarms import Alarms, expire_task


async def _until(event: asyncio.Event) -> None:
    await asyncio.wait_for(event.wait(), 5)


async def test_alarms_ring_in_deadline_order_once() -> None:
    alarms, rung, done = Alarms(), [], asyncio.Event()
    alarms.later(0.03, rung.append, "c")
    alarms.later(0.01, rung.append, "a")
    alarms.later(0.02, rung.append, "b")
    alarms.later(0.04, lambda _: done.set(), None)
    await _until(done)
    assert rung == ["a", "b", "c"]
    assert len(alarms) == 0


async def test_a_cancelled_alarm_never_rings_and_cancel_tells_a_rung_one() -> None:
    alarms, rung, done = Alarms(), [], asyncio.Event()
    cancelled = alarms.later(0.01, rung.append, "cancelled")
    kept = alarms.later(0.02, rung.append, "kept")
    alarms.later(0.03, lambda _: done.set(), None)
    assert alarms.cancel(cancelled) is False
    assert cancelled[3] is None  # its argument is let go at once
    await _until(done)
    assert rung == ["kept"]
    assert alarms.cancel(kept) is True  # too late: it had rung
    assert alarms.cancel(cancelled) is False  # twice is harmless


async def test_an_earlier_deadline_rearms_the_one_timer() -> None:
    alarms, rung, done = Alarms(), [], asyncio.Event()
    alarms.later(30, rung.append, "late")
    alarms.later(0.01, lambda _: done.set(), None)
    await _until(done)
    assert rung == [] and len(alarms) == 1


async def test_cancelled_deadlines_are_swept_and_the_heap_stays_small() -> None:
    alarms = Alarms()
    for _ in range(10):
        batch = [alarms.later(60, print, None) for _ in range(100)]
        for alarm in batch:
            alarms.cancel(alarm)
    assert len(alarms) == 0
    assert len(alarms._heap) <= 2 * 257  # swept once cancelled ones were half of it


async def test_a_failing_callback_is_reported_and_the_others_still_ring() -> None:
    loop = asyncio.get_running_loop()
    reported: list[dict[str, object]] = []
    loop.set_exception_handler(lambda _loop, context: reported.append(context))
    alarms, rung, done = Alarms(), [], asyncio.Event()

    def boom(_: object) -> None:
        raise RuntimeError("boom")

    alarms.later(0.01, boom, None)
    alarms.later(0.01, rung.append, "after")
    alarms.later(0.02, lambda _: done.set(), None)
    try:
        await _until(done)
    finally:
        loop.set_exception_handler(None)
    assert rung == ["after"]
    assert [str(c["exception"]) for c in reported] == ["boom"]


async def test_expire_task_cancels_the_task() -> None:
    alarms = Alarms()
    task = asyncio.ensure_future(asyncio.sleep(3600))
    alarms.later(0.01, expire_task, task)
    with pytest.raises(asyncio.CancelledError):
        await task


def test_alarms_follow_a_new_loop_and_forget_the_old_one() -> None:
    alarms = Alarms()
    rung: list[str] = []

    async def first() -> None:
        alarms.later(3600, rung.append, "old loop")

    async def second() -> None:
        done = asyncio.Event()
        alarms.later(0.01, lambda _: done.set(), None)
        await _until(done)

    asyncio.run(first())
    asyncio.run(second())
    assert rung == [] and len(alarms) == 0
