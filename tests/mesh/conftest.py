"""Fixtures for the multi-process mesh tests: a cluster of member processes, and the
test's own HotMesh (a read-only engine: it starts jobs and runs the quorum, consumes
nothing)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest

from hotmesh import HotMesh
from tests.mesh._cluster import Cluster


@pytest.fixture
def app_id() -> str:
    """A fresh app id per test."""
    return f"m{uuid.uuid4().hex[:12]}"


@pytest.fixture
async def cluster(hotmesh_provider: str, hotmesh_dsn: str, app_id: str) -> AsyncIterator[Cluster]:
    """Member processes of the test's app; all are terminated after the test."""
    members = Cluster(hotmesh_provider, hotmesh_dsn, app_id)
    try:
        yield members
    finally:
        await members.close()


@pytest.fixture
async def hm(hotmesh_provider: str, hotmesh_dsn: str, app_id: str) -> AsyncIterator[HotMesh]:
    """The test's own point of presence: a read-only engine (it consumes nothing)."""
    connection = {"class": hotmesh_provider, "options": {"dsn": hotmesh_dsn}}
    mesh = await HotMesh.init(app_id=app_id, engine={"connection": connection, "readonly": True})
    try:
        yield mesh
    finally:
        await mesh.stop()
