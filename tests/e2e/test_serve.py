"""``hotmesh serve``, the "nobody is listening" messages, and the CLI's polish (issue 17)."""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import textwrap
import uuid
from pathlib import Path

import pytest

from hotmesh.cli.demo import ORDER_APP
from hotmesh.cli.serve import _say
from tests.e2e._served import Served

MODULE = textwrap.dedent(
    """
    async def process(message):
        if message.data.get("id") == "BAD":
            raise RuntimeError("card declined")
        return {"data": {"orderId": message.data["id"], "status": "fulfilled"}}

    config = {
        "app_id": "{APP}",
        "engine": {},
        "workers": [{"topic": "order.process", "callback": process,
                     "retry": {"maximum_attempts": 1}}],
    }
    """
)


def cli(
    *args: str, env: dict[str, str], cwd: Path, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "hotmesh.cli", *args],
        capture_output=True, text=True, timeout=timeout, env=env, cwd=cwd, check=False,
    )  # fmt: skip


@pytest.fixture
def shop(tmp_path: Path, hotmesh_dsn: str) -> tuple[str, Path, dict[str, str]]:
    app_id = f"s{uuid.uuid4().hex[:10]}"
    (tmp_path / "shopmod.py").write_text(MODULE.replace("{APP}", app_id))
    (tmp_path / "shop.yaml").write_text(ORDER_APP.replace("id: hotmesh-demo", f"id: {app_id}"))
    env = {k: v for k, v in os.environ.items() if k != "HOTMESH_APP"}
    # unbuffered, as in CI: the processes of serve --processes share stdout, and a line
    # printed in two writes could interleave with another process's line
    env.update({"HOTMESH_DSN": hotmesh_dsn, "PYTHONWARNINGS": "ignore", "PYTHONUNBUFFERED": "1"})
    return app_id, tmp_path, env


def serve_two(folder: Path, env: dict[str, str]) -> Served:
    """``hotmesh serve`` of the shop module, deploying its app first, in two processes."""
    return Served(
        [sys.executable, "-m", "hotmesh.cli", "serve", "shopmod:config",
         "--deploy", "shop.yaml", "--processes", "2"],
        env=env, cwd=folder,
    )  # fmt: skip


def test_serve_hosts_processes_and_stops_on_sigterm(shop: tuple[str, Path, dict[str, str]]) -> None:
    app_id, folder, env = shop
    server = serve_two(folder, env)
    try:
        server.expect("serving app", 2)
        done = cli("pubsub", "order.placed", '{"id": "ORD-S1"}', "--app", app_id,
                   env=env, cwd=folder)  # fmt: skip
        assert done.returncode == 0, done.stderr
        assert json.loads(done.stdout)["data"]["orderId"] == "ORD-S1"
        profiles = json.loads(
            cli("roll-call", "--json", "--app", app_id, env=env, cwd=folder).stdout
        )
        engines = {p["pid"] for p in profiles if p["role"] == "engine" and not p["readonly"]}
        assert len(engines) == 2
        # a failed job: pubsub says so, status prints "failed: <message>"
        failed = cli("pubsub", "order.placed", '{"id": "BAD"}', "--app", app_id,
                     env=env, cwd=folder)  # fmt: skip
        assert failed.returncode == 1 and "card declined" in failed.stderr
        jid = failed.stderr.split("job ")[1].split()[0]
        status = cli("status", jid, "--app", app_id, env=env, cwd=folder)
        assert status.stdout == "0 failed: card declined\n", status.stderr
        # state takes JOB_ID alone, as status and export do
        state = json.loads(cli("state", jid, "--app", app_id, env=env, cwd=folder).stdout)
        assert state["metadata"]["jid"] == jid and "err" in state["metadata"]
        export = json.loads(cli("export", jid, "--app", app_id, env=env, cwd=folder).stdout)
        assert export["job_status"] == "failed" and export["error"]["message"] == "card declined"
        profiles = json.loads(
            cli("roll-call", "--json", "--app", app_id, env=env, cwd=folder).stdout
        )
        assert sum(p["failed"] for p in profiles if p["role"] == "worker") == 1
        code, out, err = server.stop(signal.SIGTERM)
    finally:
        server.close()
    assert code == 0, err
    assert out.count("stopped app") == 2


def test_serve_stops_every_process_when_one_dies(shop: tuple[str, Path, dict[str, str]]) -> None:
    """A serving process killed (-9) stops the others, and serve exits non-zero saying so,
    instead of serving on with fewer processes unnoticed."""
    _, folder, env = shop
    server = serve_two(folder, env)
    try:
        serving = server.expect("serving app", 2)
        pids = sorted(int(line.split("(pid ")[1].split(")")[0]) for line in serving)
        assert sorted(child.pid for child in server.children()) == pids
        os.kill(pids[0], signal.SIGKILL)
        server.expect(f"serving process {pids[0]} was killed by signal 9", stream="stderr")
        code, out, _ = server.wait()
    finally:
        server.close()
    assert code == 9
    assert out.count("stopped app") == 1 and f"(pid {pids[1]})" in out.split("stopped app")[1]


def test_pub_and_pubsub_say_when_no_engine_answers(shop: tuple[str, Path, dict[str, str]]) -> None:
    app_id, folder, env = shop
    assert cli("deploy", "shop.yaml", "--activate", env=env, cwd=folder).returncode == 0
    published = cli("pub", "order.placed", '{"id": "X"}', "--app", app_id, env=env, cwd=folder)
    assert published.returncode == 0 and published.stdout.strip()
    assert "no engine of app" in published.stderr and "hotmesh serve" in published.stderr
    waited = cli("pubsub", "order.placed", '{"id": "Y"}', "--timeout", "0.5", "--app", app_id,
                 env=env, cwd=folder)  # fmt: skip
    assert waited.returncode == 1
    assert waited.stderr.count("no engine of app") == 1 and "hotmesh serve" in waited.stderr
    # an engine but no worker: pubsub says the job waits for a worker
    (folder / "engineonly.py").write_text(f"config = {{'app_id': '{app_id}', 'engine': {{}}}}\n")
    server = Served([sys.executable, "-m", "hotmesh.cli", "serve", "engineonly:config"],
                    env=env, cwd=folder)  # fmt: skip
    try:
        server.expect("serving app")
        waited = cli("pubsub", "order.placed", '{"id": "Z"}', "--timeout", "0.5",
                     "--app", app_id, env=env, cwd=folder)  # fmt: skip
        assert waited.returncode == 1 and "no worker of app" in waited.stderr
        code, _, err = server.stop()
    finally:
        server.close()
    assert code == 0, err


def test_version_and_help_defaults(tmp_path: Path) -> None:
    from hotmesh import __version__

    env = {**os.environ, "PYTHONWARNINGS": "ignore", "COLUMNS": "200"}
    assert cli("--version", env=env, cwd=tmp_path).stdout == f"hotmesh {__version__}\n"
    help_text = cli("status", "--help", env=env, cwd=tmp_path).stdout
    assert "(default: the embedded Postgres" in help_text
    assert "[default: asyncpg]" in help_text


def test_serve_refuses_a_bad_target(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    done = cli("serve", "nosuchmodule:config", env=env, cwd=tmp_path)
    assert done.returncode == 1 and "cannot import module 'nosuchmodule'" in done.stderr
    done = cli("serve", "nocolon", env=env, cwd=tmp_path)
    assert done.returncode == 2 and "MODULE:CONFIG" in done.stderr


def test_serve_writes_each_announcement_in_one_call() -> None:
    """CI's first failure of the serve test: two processes, unbuffered, printed their
    "serving app" lines at once and the newlines came after both (one line, not two)."""

    calls: list[str] = []

    class Recording(io.StringIO):
        def write(self, text: str) -> int:
            calls.append(text)
            return super().write(text)

    _say(
        "serving app 'shop' (pid 1): engine; workers: none", "stop with Ctrl-C", stream=Recording()
    )
    assert calls == ["serving app 'shop' (pid 1): engine; workers: none\nstop with Ctrl-C\n"]
