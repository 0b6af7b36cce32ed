"""The README's commands, run as a user runs them (subprocesses)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest


def _run(*args: str, timeout: float = 180) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "PYTHONWARNINGS": "ignore"},
        check=False,
    )


@pytest.mark.parametrize("provider", ["asyncpg", "psycopg"])
def test_demo_runs_end_to_end(hotmesh_dsn: str, provider: str) -> None:
    done = _run(
        "-m", "hotmesh.cli.demo", "--dsn", hotmesh_dsn, "--provider", provider, "--orders", "50"
    )
    assert done.returncode == 0, done.stderr
    assert "first result: {'orderId': 'ORD-" in done.stdout
    assert "'status': 'fulfilled', 'total': 10}" in done.stdout
    assert f"50 orders fulfilled via {provider}" in done.stdout


def test_demo_reports_an_unreachable_database_in_one_line() -> None:
    done = _run("-m", "hotmesh.cli.demo", "--dsn", "postgresql://u:p@127.0.0.1:1/db")
    assert done.returncode == 1
    assert done.stderr.startswith("error: cannot reach Postgres at 127.0.0.1:1/db")
    assert "Traceback" not in done.stderr


def test_conformance_entry_point(hotmesh_dsn: str) -> None:
    done = _run(
        "-m", "hotmesh_conformance", "--provider", "psycopg", "--dsn", hotmesh_dsn,
        "-q", "-k", "test_publish_claim_ack_roundtrip",
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert "1 passed" in done.stdout


def test_conformance_entry_point_rejects_unknown_provider() -> None:
    done = _run("-m", "hotmesh_conformance", "--provider", "nosuch")
    assert done.returncode != 0
    assert "unknown provider(s) nosuch; installed: asyncpg, memory, psycopg" in done.stderr


def test_conformance_entry_point_needs_no_dsn_for_memory() -> None:
    done = _run(
        "-m", "hotmesh_conformance", "--provider", "memory",
        "-q", "-rs", "-k", "test_publish_claim_ack_roundtrip or test_everything_recovers",
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert "1 passed, 1 skipped" in done.stdout
    assert "no connections that can be killed" in done.stdout, "the skip says why"
