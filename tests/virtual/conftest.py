"""Fixtures for Virtual tests: a fresh namespace per test, on the provider under test."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from hotmesh import virtual


@pytest.fixture
def namespace() -> str:
    """A fresh namespace (app) per test, so tests never see each other's jobs."""
    return f"v{uuid.uuid4().hex[:10]}"


@pytest.fixture
async def connection(hotmesh_provider: str, hotmesh_dsn: str) -> AsyncIterator[dict[str, Any]]:
    """The connection of the provider under test; Virtual is shut down afterwards."""
    try:
        yield {"class": hotmesh_provider, "options": {"dsn": hotmesh_dsn}}
    finally:
        await virtual.shutdown()


@pytest.fixture(autouse=True)
def fast_timers(monkeypatch: pytest.MonkeyPatch) -> None:
    """Timer fidelity of 1 s (the reference's test setting) so crons cycle quickly."""
    monkeypatch.setenv("HMSH_FIDELITY_SECONDS", "1")


async def until(check: Callable[[], bool], timeout: float = 30.0) -> None:
    """Wait (polling) until ``check()`` holds; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "condition not reached in time"
        await asyncio.sleep(0.05)
