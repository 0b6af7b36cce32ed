"""Fixtures for engine tests: a HotMesh per test, on the provider under test."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Any

import pytest

from hotmesh import HotMesh

MeshFactory = Callable[..., Awaitable[HotMesh]]


def app_yaml(template: str, app_id: str) -> str:
    """A YAML app with its ``app.id`` replaced (tests use a fresh app per test)."""
    return template.replace("{APP}", app_id)


@pytest.fixture
def app_id() -> str:
    """A fresh app id per test."""
    return f"t{uuid.uuid4().hex[:12]}"


@pytest.fixture
async def mesh(
    hotmesh_provider: str, hotmesh_options: dict[str, Any], app_id: str
) -> AsyncIterator[MeshFactory]:
    """``await mesh(workers=[(topic, callback), ...], engine=True)`` → a started HotMesh."""
    started: list[HotMesh] = []

    async def make(
        workers: Sequence[tuple[str, Callable[..., Any]] | dict[str, Any]] = (),
        *,
        engine: bool = True,
        **options: Any,
    ) -> HotMesh:
        connection = {"class": hotmesh_provider, "options": hotmesh_options}
        worker_configs = [
            w if isinstance(w, dict) else {"topic": w[0], "callback": w[1]} for w in workers
        ]
        for w in worker_configs:
            w.setdefault("connection", connection)
        hm = await HotMesh.init(
            app_id=app_id,
            engine={"connection": connection} if engine else None,
            workers=worker_configs,
            **options,
        )
        started.append(hm)
        return hm

    try:
        yield make
    finally:
        for hm in started:
            await hm.stop()
