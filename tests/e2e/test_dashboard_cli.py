"""``hotmesh dashboard`` run as a user runs it: after ``hotmesh demo --keep``, on the
shared embedded Postgres, with one command (the README's)."""

from __future__ import annotations

import re
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from tests.e2e.test_cli import _env, _ok, hotmesh


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _get(url: str, deadline: float) -> str:
    """The page's body once the server answers (it starts Postgres first)."""
    while True:
        try:
            with urllib.request.urlopen(url, timeout=10) as response:
                return str(response.read().decode())
        except (urllib.error.URLError, ConnectionError):
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def test_dashboard_shows_the_demo_on_the_embedded_database(tmp_path: Path) -> None:
    env = _env(tmp_path)
    _ok(hotmesh("demo", "--keep", "--orders", "20", "--concurrency", "5", env=env, timeout=120))
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "hotmesh.cli", "dashboard", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        home = _get(f"http://127.0.0.1:{port}/", time.monotonic() + 60)
        assert "hotmesh-demo" in home and "view only" in home
        jobs = _get(f"http://127.0.0.1:{port}/apps/hotmesh-demo/jobs", time.monotonic() + 10)
        assert len(re.findall(r'data-job="ORD-', jobs)) == 20
    finally:
        server.terminate()
        _, err = server.communicate(timeout=30)
    assert f"on http://127.0.0.1:{port}/" in err and "Traceback" not in err


def test_dashboard_refuses_a_public_address_without_a_token(tmp_path: Path) -> None:
    done = hotmesh("dashboard", "--host", "0.0.0.0", env=_env(tmp_path))
    assert done.returncode == 1
    assert "refusing to serve the dashboard on 0.0.0.0 without a token" in done.stderr
