"""A newcomer's first hour (issue 17): zero-config start, quiet optional plugins, statuses."""

from __future__ import annotations

import logging
import uuid
from types import SimpleNamespace

import pytest

from hotmesh import HotMesh, JobStatus, embedded, plugins
from hotmesh.config import to_config
from hotmesh.errors import ConfigError, ProviderNotFound
from hotmesh.types import job_status


async def test_init_without_a_connection_uses_the_embedded_postgres(
    hotmesh_dsn: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.delenv("HOTMESH_DSN", raising=False)
    monkeypatch.setattr(embedded, "dsn", lambda: hotmesh_dsn)  # the session's cluster

    async def work(message: object) -> dict[str, object]:
        return {"data": {}}

    with caplog.at_level(logging.WARNING, logger="hotmesh.embedded"):
        hm = await HotMesh.init(
            app_id="zeroconfig", engine={}, workers=[{"topic": "z.work", "callback": work}]
        )
    try:
        notes = [r.getMessage() for r in caplog.records if r.name == "hotmesh.embedded"]
        assert len(notes) == 1 and hotmesh_dsn in notes[0] and "embedded Postgres" in notes[0]
        assert hm.engine is not None and len(hm.workers) == 1
    finally:
        await hm.stop()


def test_default_connection_prefers_hotmesh_dsn(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOTMESH_DSN", "postgresql://u@h/db")
    monkeypatch.setenv("HOTMESH_PROVIDER", "psycopg")
    assert embedded.default_connection() == {
        "class": "psycopg",
        "options": {"dsn": "postgresql://u@h/db"},
    }


def test_a_missing_optional_driver_is_not_warned_about(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(plugins, "_unavailable", {})
    entry_point = SimpleNamespace(name="nopg")
    with caplog.at_level(logging.DEBUG, logger="hotmesh.plugins"):
        plugins._warn(None, entry_point, ModuleNotFoundError("No module named 'nopg'"))
    assert [r for r in caplog.records if r.levelno >= logging.WARNING] == []
    # ...until it is asked for: then the error says what to install
    with pytest.raises(ProviderNotFound, match=r"No module named 'nopg'.*hotmesh\[nopg\]"):
        plugins.provider_for("nopg")


def test_job_status_values() -> None:
    assert job_status(0, {}) is JobStatus.COMPLETED
    assert job_status(0, {"err": "{}"}) is JobStatus.FAILED
    assert job_status(3, {}) is JobStatus.RUNNING
    assert job_status(-1, {}) is JobStatus.PENDING
    assert job_status(-1_000_000_000 + 2, {"err": "{}"}) is JobStatus.INTERRUPTED
    assert JobStatus.FAILED.finished and not JobStatus.RUNNING.finished
    assert JobStatus.FAILED == "failed"  # a str: JSON and the CLI print it as is


def test_sync_callbacks_are_accepted_and_timeouts_checked() -> None:
    def blocking(message: object) -> None:
        return None

    config = to_config(app_id="x", workers=[{"topic": "t", "callback": blocking, "timeout": 5}])
    assert config.workers[0].timeout == 5 and config.workers[0].connection is None
    with pytest.raises(ConfigError, match="timeout must be a positive number"):
        to_config(app_id="x", workers=[{"topic": "t", "callback": blocking, "timeout": -1}])
    with pytest.raises(ConfigError, match="must be a function"):
        to_config(app_id="x", workers=[{"topic": "t", "callback": "not callable"}])


async def test_expired_jobs_are_swept(hotmesh_provider: str, hotmesh_dsn: str) -> None:
    """Finished jobs stay readable; once expired they are invisible, then swept."""
    import asyncpg

    from hotmesh.errors import JobNotFound
    from hotmesh_postgres.naming import quote_ident, schema_name

    app_id = f"sweep{uuid.uuid4().hex[:8]}"
    connection = {"class": hotmesh_provider, "options": {"dsn": hotmesh_dsn}}
    hm = await HotMesh.init(app_id=app_id, engine={"connection": connection})
    try:
        await hm.deploy(
            f"app: {{id: {app_id}, version: '1', graphs: "
            "[{subscribes: s.go, activities: {t: {type: trigger}}}]}"
        )
        await hm.activate("1")
        jobs = [await hm.pub("s.go", {"n": n}) for n in range(3)]
        assert [await hm.get_status(j) for j in jobs] == [0, 0, 0]  # finished, still there
        db = await asyncpg.connect(hotmesh_dsn)
        try:
            table = f"{quote_ident(schema_name(app_id))}.jobs"
            kept = await db.fetchval(
                f"SELECT min(expires_at - now()) > interval '6 days' FROM {table}"
            )
            assert kept is True  # the 7-day default retention
            await db.execute(f"UPDATE {table} SET expires_at = now() - interval '1 second'")
            with pytest.raises(JobNotFound):
                await hm.get_status(jobs[0])
            swept = await hm._engine_backend.vacuumer.sweep_expired()  # type: ignore[union-attr]
            assert swept == 3 and await db.fetchval(f"SELECT count(*) FROM {table}") == 0
        finally:
            await db.close()
    finally:
        await hm.stop()
