"""Fixtures for the crash harness: the test's own HotMesh on a fresh app per case."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest

from hotmesh import HotMesh


@pytest.fixture
async def hm(hotmesh_provider: str, hotmesh_dsn: str) -> AsyncIterator[HotMesh]:
    """A read-only engine (it starts jobs and sends signals, consumes nothing)."""
    connection = {"class": hotmesh_provider, "options": {"dsn": hotmesh_dsn}}
    mesh = await HotMesh.init(
        app_id=f"c{uuid.uuid4().hex[:12]}", engine={"connection": connection, "readonly": True}
    )
    try:
        yield mesh
    finally:
        await mesh.stop()
