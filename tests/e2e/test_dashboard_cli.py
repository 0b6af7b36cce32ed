"""``hotmesh dashboard`` run as a user runs it: after ``hotmesh demo --keep``, on the
shared embedded Postgres, with one command (the README's)."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from tests.e2e._served import Served
from tests.e2e.test_cli import _env, _ok, hotmesh


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _get(url: str, deadline: float, token: str = "") -> tuple[int, str]:
    """The status and body once the server answers (it starts Postgres first)."""
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})
    while True:
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return int(response.status), str(response.read().decode())
        except urllib.error.HTTPError as refused:
            with refused:
                return int(refused.code), str(refused.read().decode())
        except (urllib.error.URLError, ConnectionError):
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def _stop_cluster(data_dir: Path) -> None:
    """Stop the shared embedded cluster ``demo --keep`` left running for the dashboard
    (a fast shutdown, as ``pg_ctl stop -m fast`` sends), and wait until it is gone."""
    pid_file = data_dir / "postmaster.pid"
    if not pid_file.exists():
        return
    pid = int(pid_file.read_text().split()[0])
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGINT)
    deadline = time.monotonic() + 30
    while pid_file.exists() and time.monotonic() < deadline:
        time.sleep(0.1)  # no event tells a foreign process has exited
    assert not pid_file.exists(), f"the embedded Postgres in {data_dir} did not stop"


def test_dashboard_shows_the_demo_on_the_embedded_database(tmp_path: Path) -> None:
    env = _env(tmp_path)
    try:
        _dashboard_shows_the_demo(tmp_path, env)
    finally:
        _stop_cluster(tmp_path / "hotmesh" / "pgdata")


def _dashboard_shows_the_demo(tmp_path: Path, env: dict[str, str]) -> None:
    _ok(hotmesh("demo", "--keep", "--orders", "20", "--concurrency", "5", env=env, timeout=120))
    port = _free_port()
    server = Served(
        [sys.executable, "-m", "hotmesh.cli", "dashboard", "--port", str(port), "--allow-actions"],
        env=env,
    )
    try:
        # printed once the embedded Postgres is up
        (banner,) = server.expect("", stream="stderr", timeout=120)
        found = re.search(rf"actions on\) on http://127\.0\.0\.1:{port}/\?token=(\S+)", banner)
        assert found, banner
        token = found.group(1)
        base = f"http://127.0.0.1:{port}"
        status, home = _get(f"{base}/", time.monotonic() + 60, token)
        assert status == 200 and "hotmesh-demo" in home and "actions on" in home
        status, jobs = _get(f"{base}/apps/hotmesh-demo/jobs", time.monotonic() + 10, token)
        assert len(re.findall(r'data-job="ORD-', jobs)) == 20
        status, _ = _get(f"{base}/", time.monotonic() + 10, "not-the-token")
        assert status == 401
        err = server.stop(timeout=30)[2]
    finally:
        server.close()
    assert "Traceback" not in err


def test_dashboard_refuses_a_public_address_without_a_token(tmp_path: Path) -> None:
    done = hotmesh("dashboard", "--host", "0.0.0.0", env=_env(tmp_path))
    assert done.returncode == 1
    assert "refusing to serve the dashboard on 0.0.0.0 without a token" in done.stderr
