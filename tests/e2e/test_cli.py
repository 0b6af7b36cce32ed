"""The ``hotmesh`` console script, run as a user runs it (subprocesses).

A module fixture starts a small app server (engine + ``order.process`` worker) in its own
process, as a user's service would run; the CLI, a read-only engine, deploys the app,
publishes to it and inspects the mesh.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from hotmesh.cli.demo import ORDER_APP
from tests.e2e._served import Served

UNREACHABLE = "postgresql://u:p@127.0.0.1:1/db"

SERVER = textwrap.dedent(
    """
    import asyncio, signal, sys
    from hotmesh import HotMesh
    from hotmesh.cli.demo import fulfil

    async def main(dsn, app_id):
        connection = {"class": "asyncpg", "options": {"dsn": dsn, "max_size": 4}}
        hm = await HotMesh.init(
            app_id=app_id,
            engine={"connection": connection},
            workers=[{"topic": "order.process", "connection": connection, "callback": fulfil}],
        )
        stop = asyncio.Event()
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
        print("ready", hm.guid, flush=True)
        await stop.wait()
        await hm.stop()

    asyncio.run(main(sys.argv[1], sys.argv[2]))
    """
)


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A private user cache dir: the CLI's shared embedded cluster never touches the real one."""
    return tmp_path_factory.mktemp("cache")


def _env(cache_dir: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("HOTMESH_DSN", "HOTMESH_APP")}
    return {**env, "PYTHONWARNINGS": "ignore", "XDG_CACHE_HOME": str(cache_dir), **extra}


def hotmesh(
    *args: str, env: dict[str, str], timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    """Run ``python -m hotmesh.cli ARGS``."""
    return subprocess.run(
        [sys.executable, "-m", "hotmesh.cli", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
        check=False,
    )


def _ok(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    return done.stdout


def _one_error_line(done: subprocess.CompletedProcess[str], code: int = 1) -> str:
    assert done.returncode == code, (done.stdout, done.stderr)
    assert "Traceback" not in done.stderr
    assert done.stdout == ""
    lines = done.stderr.splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("error: ")
    return lines[0]


class Shop:
    """The app under test: its id, its YAML file, the environment and the server's guid."""

    def __init__(self, app_id: str, yaml_file: Path, env: dict[str, str], guid: str) -> None:
        self.app_id = app_id
        self.yaml_file = yaml_file
        self.env = env
        self.guid = guid

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        """The CLI against this app (``HOTMESH_DSN``/``HOTMESH_APP`` are set)."""
        return hotmesh(*args, env=self.env)


@pytest.fixture(scope="module")
def shop(
    hotmesh_dsn: str, tmp_path_factory: pytest.TempPathFactory, cache_dir: Path
) -> Iterator[Shop]:
    """The order app, deployed and activated with the CLI, served by its own process."""
    folder = tmp_path_factory.mktemp("shop")
    app_id = f"cli-{uuid.uuid4().hex[:8]}"
    yaml_file = folder / "shop.yaml"
    yaml_file.write_text(ORDER_APP.replace("id: hotmesh-demo", f"id: {app_id}"))
    (folder / "server.py").write_text(SERVER)
    env = _env(cache_dir, HOTMESH_DSN=hotmesh_dsn, HOTMESH_APP=app_id)
    # No --app and no HOTMESH_APP: deploy reads the app id from the YAML.
    deployed = hotmesh(
        "deploy", str(yaml_file), "--activate", env=_env(cache_dir, HOTMESH_DSN=hotmesh_dsn)
    )
    assert _ok(deployed).splitlines() == [
        f"deployed app {app_id!r} version '1'",
        f"activated app {app_id!r} version '1'",
    ]
    server = Served([sys.executable, str(folder / "server.py"), hotmesh_dsn, app_id], env=env)
    try:
        (line,) = server.expect("ready ")
        yield Shop(app_id, yaml_file, env, line.split()[1])
        server.stop()
    finally:
        server.close()


# -- the surface ---------------------------------------------------------------------------


def test_help_lists_every_command_with_the_installed_script(cache_dir: Path) -> None:
    script = shutil.which("hotmesh", path=str(Path(sys.executable).parent))
    assert script is not None, "the hotmesh console script is not installed"
    done = subprocess.run(
        [script, "--help"], capture_output=True, text=True, env=_env(cache_dir), check=False
    )
    out = _ok(done)
    for name in (
        "demo", "deploy", "activate", "pub", "pubsub", "status", "state", "export",
        "roll-call", "throttle", "workers", "bench",
    ):  # fmt: skip
        assert f" {name} " in out, name
    assert _ok(hotmesh(env=_env(cache_dir))) == out  # no arguments: the same help
    pub_help = _ok(hotmesh("pub", "--help", env=_env(cache_dir)))
    for option in ("--dsn", "--provider", "--app", "HOTMESH_DSN", "HOTMESH_APP"):
        assert option in pub_help, option


# -- jobs ----------------------------------------------------------------------------------


def test_pubsub_prints_the_result_as_json(shop: Shop) -> None:
    out = _ok(shop.run("pubsub", "order.placed", '{"id": "ORD-PS1", "total": 7}'))
    result = json.loads(out)
    assert result["data"] == {"orderId": "ORD-PS1", "status": "fulfilled", "total": 7}
    assert result["metadata"]["jid"] == "ORD-PS1"
    assert result["metadata"]["app"] == shop.app_id
    assert result["metadata"]["js"] == 0


def test_pub_then_status_state_and_export(shop: Shop) -> None:
    assert _ok(shop.run("pub", "order.placed", '{"id": "ORD-P1", "total": 3}')) == "ORD-P1\n"
    deadline = time.monotonic() + 15
    while (out := _ok(shop.run("status", "ORD-P1"))) != "0 complete\n":
        assert out in ("1 running\n", "2 running\n"), out
        assert time.monotonic() < deadline, "the server did not finish ORD-P1"
        time.sleep(0.2)
    state = json.loads(_ok(shop.run("state", "order.placed", "ORD-P1")))
    assert state["data"] == {"orderId": "ORD-P1", "status": "fulfilled", "total": 3}
    assert state["metadata"]["tpc"] == "order.placed"
    export = json.loads(_ok(shop.run("export", "ORD-P1")))
    assert export["status"] == "0"
    assert sorted(a["name"] for a in export["activities"]) == ["fulfil", "placed"]
    assert export["process"]["data"]["orderId"] == "ORD-P1"
    assert all("input" not in a and a["started_at"] for a in export["activities"])
    enriched = json.loads(_ok(shop.run("export", "ORD-P1", "--enrich-inputs")))
    assert all("input" in a for a in enriched["activities"])


def test_activate_switches_every_engine(shop: Shop) -> None:
    out = _ok(shop.run("activate", "1", "--timeout", "10"))
    assert out == f"activated app {shop.app_id!r} version '1'\n"


# -- the mesh ------------------------------------------------------------------------------


def test_roll_call_lists_the_servers_engine_and_worker(shop: Shop) -> None:
    table = _ok(shop.run("roll-call"))
    assert f"app {shop.app_id!r}: 2 answered" in table
    assert table.count(shop.guid) == 2
    assert "engine" in table and "order.process" in table and "full speed" in table
    profiles = json.loads(_ok(shop.run("roll-call", "--json", "--provider", "psycopg")))
    assert sorted((p["role"], p["stream"], p["guid"]) for p in profiles) == [
        ("engine", "$engine", shop.guid),
        ("worker", "order.process", shop.guid),
    ]


def test_throttle_pauses_and_resumes_a_topic(shop: Shop) -> None:
    def worker_throttle() -> float:
        profiles = json.loads(_ok(shop.run("roll-call", "--json")))
        return float(next(p["throttle"] for p in profiles if p["role"] == "worker"))

    try:
        out = _ok(shop.run("throttle", "-1", "--topic", "order.process"))
        assert out == f"paused app {shop.app_id!r} (topic order.process)\n"
        assert worker_throttle() == -1
    finally:
        out = _ok(shop.run("throttle", "0", "--topic", "order.process"))
    assert out == f"resumed app {shop.app_id!r} (topic order.process) at full speed\n"
    assert worker_throttle() == 0


# -- user mistakes: one line, exit 1 (2 for usage) -----------------------------------------


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["pub", "order.placed", "{bad"], 1, "error: the job data is not valid JSON ("),
        (["pubsub", "order.placed", "[1, 2]"], 1, "error: the job data must be a JSON object"),
        (["pub", "no.such.topic", "{}"], 1, "error: no graph of app "),
        (["pubsub", "order.placed", '{"total": 1}'], 1, "error: input for 'order.placed' is"),
        (["status", "no-such-job"], 1, "error: Job no-such-job not found"),
        (["deploy", "no/such/app.yaml"], 1, "error: cannot read no/such/app.yaml: no such file"),
        (["throttle", "-2"], 2, "error: SECONDS must be >= 0, or -1 to pause"),
        (["pub"], 2, "error: Missing argument 'TOPIC'. (see 'hotmesh pub --help')"),
        (["no-such-command"], 2, "error: No such command 'no-such-command'."),
        (["pub", "x", "--provider", "mysql"], 2, "error: Invalid value for '--provider'"),
    ],
    ids=[
        "bad-json", "not-an-object", "unknown-topic", "invalid-input", "unknown-job",
        "missing-file", "bad-throttle", "missing-argument", "unknown-command", "bad-provider",
    ],
)  # fmt: skip
def test_user_mistakes_print_one_line(shop: Shop, args: list[str], code: int, message: str) -> None:
    line = _one_error_line(shop.run(*args), code)
    assert line.startswith(message), line


@pytest.mark.parametrize("provider", ["asyncpg", "psycopg"])
def test_an_unreachable_database_is_one_line(cache_dir: Path, provider: str) -> None:
    done = hotmesh(
        "status", "j1", "--dsn", UNREACHABLE, "--provider", provider, "--app", "shop",
        env=_env(cache_dir),
    )  # fmt: skip
    assert _one_error_line(done).startswith("error: cannot reach Postgres at 127.0.0.1:1/db")


def test_a_command_without_an_app_says_how_to_name_one(cache_dir: Path) -> None:
    done = hotmesh("status", "j1", "--dsn", UNREACHABLE, env=_env(cache_dir))
    assert _one_error_line(done, 2) == "error: which app? give --app APP_ID or set HOTMESH_APP"


def test_worker_roles_provision_list_rotate_revoke(shop: Shop, cache_dir: Path) -> None:
    env = shop.env
    made = json.loads(_ok(hotmesh("workers", "provision", "order.process", env=env)))
    role = made["role_name"]
    assert role.startswith("hmsh_wrk_") and made["stream_names"] == ["order.process"]
    assert len(made["password"]) >= 32
    listed = _ok(hotmesh("workers", "list", env=env))
    assert role in listed and "order.process" in listed
    rotated = json.loads(_ok(hotmesh("workers", "rotate", role, env=env)))
    assert rotated["password"] != made["password"]
    assert _ok(hotmesh("workers", "revoke", role, env=env)).strip() == f"revoked {role}"
    unknown = hotmesh("workers", "revoke", "hmsh_wrk_nobody_x_00000000", env=env)
    assert _one_error_line(unknown).startswith("error: ")


# -- tools ---------------------------------------------------------------------------------


def test_demo_on_a_fresh_embedded_database(cache_dir: Path) -> None:
    done = hotmesh("demo", "--orders", "30", "--concurrency", "5", env=_env(cache_dir))
    lines = _ok(done).splitlines()
    assert len(lines) == 2, lines
    assert lines[0].startswith("first result: {'orderId': 'ORD-")
    assert lines[0].endswith("'status': 'fulfilled', 'total': 10}")
    assert lines[1].startswith("30 orders fulfilled via asyncpg: ")
    assert " jobs/s, pubsub p50 " in lines[1]
    assert "30/30" in done.stderr  # the progress bar, on stderr
    assert not (cache_dir / "hotmesh").exists(), "demo must not use the shared cluster"


def test_bench_prints_one_row_per_level(hotmesh_dsn: str, cache_dir: Path) -> None:
    done = hotmesh(
        "bench", "--jobs", "30", "--concurrency", "2,5", "--json", "--provider", "psycopg",
        "--dsn", hotmesh_dsn, env=_env(cache_dir),
    )  # fmt: skip
    rows = json.loads(_ok(done))
    assert [(r["concurrency"], r["jobs"], r["provider"]) for r in rows] == [
        (2, 30, "psycopg"),
        (5, 30, "psycopg"),
    ]
    assert all(r["jobs_per_s"] > 0 and r["p50_ms"] > 0 for r in rows)
    # Measured as hotmesh serve runs: the collector tuned (hotmesh.tune_gc), its time shown.
    assert all(r["gc_tuned"] and r["gc_ms_per_job"] >= 0 for r in rows)


def test_without_a_dsn_commands_share_the_embedded_cluster(tmp_path: Path) -> None:
    env = _env(tmp_path)
    app_file = tmp_path / "local.yaml"
    app_file.write_text(ORDER_APP.replace("id: hotmesh-demo", "id: local"))
    assert _ok(hotmesh("deploy", str(app_file), "--activate", env=env)).startswith(
        "deployed app 'local' version '1'"
    )
    # A later invocation sees the deployment: the job is stored (no engine runs it here).
    assert _ok(hotmesh("pub", "order.placed", '{"id": "L1"}', "--app", "local", env=env)) == (
        "L1\n"
    )
    assert _ok(hotmesh("status", "L1", "--app", "local", env=env)) == "1 running\n"
    assert (tmp_path / "hotmesh" / "pgdata").is_dir()
