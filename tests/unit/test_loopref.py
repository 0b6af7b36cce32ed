"""hotmesh.loopref: the running loop, remembered per loop and thread (no database)."""

from __future__ import annotations

import asyncio
import threading

import pytest

from hotmesh.loopref import LoopRef


def test_loopref_follows_each_new_loop() -> None:
    ref = LoopRef()

    async def seen() -> asyncio.AbstractEventLoop:
        assert ref.get() is asyncio.get_running_loop()
        return ref.get()

    first, second = asyncio.run(seen()), asyncio.run(seen())
    assert first is not second


def test_loopref_answers_for_the_callers_thread() -> None:
    ref = LoopRef()
    loops: dict[str, asyncio.AbstractEventLoop] = {}
    started, release = threading.Event(), threading.Event()

    async def hold() -> None:
        loops["thread"] = ref.get()
        started.set()
        await asyncio.get_running_loop().run_in_executor(None, release.wait)

    thread = threading.Thread(target=asyncio.run, args=(hold(),))
    thread.start()
    try:
        assert started.wait(5)

        async def here() -> asyncio.AbstractEventLoop:
            return ref.get()  # the other thread's loop runs: not this one's

        mine = asyncio.run(here())
        assert mine is not loops["thread"]
    finally:
        release.set()
        thread.join(5)


def test_loopref_outside_a_loop_is_asyncios_error() -> None:
    with pytest.raises(RuntimeError):
        LoopRef().get()
