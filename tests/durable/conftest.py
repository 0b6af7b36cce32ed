"""Fixtures for Durable tests: a connection on the provider under test, fresh queues."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest

from hotmesh import durable
from hotmesh.durable import Client


@pytest.fixture
def connection(hotmesh_provider: str, hotmesh_dsn: str) -> dict[str, Any]:
    """The Durable connection form for the provider under test."""
    return {"class": hotmesh_provider, "options": {"dsn": hotmesh_dsn}}


@pytest.fixture
def queue() -> str:
    """A fresh task queue per test."""
    return f"q{uuid.uuid4().hex[:10]}"


@pytest.fixture
async def client(connection: dict[str, Any]) -> AsyncIterator[Client]:
    """A Durable client; every Durable engine and worker stops after the test."""
    try:
        yield Client(connection)
    finally:
        await durable.shutdown()
