"""The quorum sees its member only through ``hotmesh.mesh.member.Member``: here it runs on a
hand-built ``MemberParts`` (no HotMesh), on the provider under test."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest

from hotmesh.config import WorkerConfig
from hotmesh.engine.runtime import guid
from hotmesh.errors import ConfigError
from hotmesh.mesh.member import MemberParts
from hotmesh.mesh.quorum import Quorum
from hotmesh.mesh.worker import Worker
from hotmesh.spi import Backend


async def _echo(message: Any) -> dict[str, Any]:
    return {"data": {}}


def _member(backend: Backend, workers: tuple[Worker, ...]) -> MemberParts:
    return MemberParts(
        guid=f"G{uuid.uuid4().hex[:8]}",
        app_id=backend.app_id,
        namespace="hmsh",
        connection=lambda: backend,
        new_guid=guid,
        workers=workers,
    )


async def test_a_workers_only_member_answers_roll_calls_and_throttles(backend: Backend) -> None:
    worker = Worker(backend, WorkerConfig(topic="seam.work", callback=_echo), "G")
    member = _member(backend, (worker,))
    quorum = Quorum(member)
    await quorum.start()
    try:
        [profile] = await quorum.roll_call()
        assert (profile.role, profile.guid, profile.worker_topic) == (
            "worker",
            member.guid,
            "seam.work",
        )
        assert profile.app_id == backend.app_id

        heard = asyncio.Event()
        quorum.sub(lambda topic, message: heard.set() if message["type"] == "throttle" else None)
        await quorum.throttle(0.25, None, "seam.work")
        await asyncio.wait_for(heard.wait(), 30)  # the quorum applies it before callbacks
        assert worker.router.delay == 0.25
        stored = await backend.store.get_setting("throttle:t:seam.work")
        assert stored["delay"] == 0.25
    finally:
        await quorum.close()


async def test_activation_needs_an_engine(backend: Backend) -> None:
    quorum = Quorum(_member(backend, ()))
    await quorum.start()
    try:
        with pytest.raises(ConfigError, match="no engine"):
            await quorum.activate("1", timeout=1.0)
        assert quorum.profiles() == []
    finally:
        await quorum.close()
