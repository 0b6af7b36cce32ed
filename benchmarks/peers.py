"""The seed workflow side by side with its peers, on one Postgres, in one command.

    python -m benchmarks.peers [--jobs 1000] [--concurrency 1,10,100] [--json out.json]
                               [--skip-node] [--warmup 200]

Starts one embedded Postgres (stock settings) and, one after the other, each in its own
database of that cluster:

* **hotmesh** (asyncpg): the seed workflow of :mod:`hotmesh.cli.bench` (trigger → worker →
  done), driven by ``pubsub`` with the worker in this process;
* **DBOS** (PyPI ``dbos``, if installed): a workflow that calls one step returning
  ``{"orderId": id, "status": "fulfilled"}``, started with ``DBOS.start_workflow_async``
  (direct start, no queue) and awaited with ``handle.get_result()`` in this process;
* **the TypeScript reference** (npm ``@hotmeshio/hotmesh`` + ``pg``, when ``node`` and
  ``npm`` are on PATH and ``--skip-node`` is not given): installed into a temporary folder
  at run time, driven by ``benchmarks/peer_hotmesh_ts.mjs`` deploying the same YAML and
  running the same ``pubsub`` loads with its worker in the same node process.

Each system gets a warm-up (``--warmup`` jobs at concurrency 20), then for each level
``--jobs`` jobs with that many in flight (a level of 1 runs a fifth of them, at least
100). Figures: jobs/s, latency p50/p95/p99 of one start-and-await, and commits per
job (writing transactions: the advance of ``pg_snapshot_xmax``, as in
``hotmesh.cli.bench``). The table adds the ratios hotmesh/peer for jobs/s and peer/hotmesh
for p50 (above 1 means hotmesh is better).

Install the peers with ``pip install dbos`` and an available ``node``/``npm``; a missing
peer is reported as skipped with the reason. Nothing is asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg

from hotmesh.cli.bench import cpu_model, run_provider, seed_app
from hotmesh.tuning import tune_gc

__all__ = ["main", "run_dbos", "run_hotmesh", "run_typescript"]

NPM_PACKAGES = ["@hotmeshio/hotmesh", "pg"]
MJS = Path(__file__).with_name("peer_hotmesh_ts.mjs")
Figures = dict[str, Any]


def _level_jobs(jobs: int, level: int) -> int:
    """Jobs measured at ``level`` (the rule of :func:`hotmesh.cli.bench.run_provider`)."""
    return jobs if level > 1 else max(jobs // 5, min(jobs, 100))


def _with_database(dsn: str, database: str) -> str:
    """``dsn`` pointing at ``database`` instead."""
    parts = urlsplit(dsn)
    return urlunsplit(parts._replace(path="/" + database))


async def _create_databases(dsn: str, names: list[str]) -> dict[str, str]:
    """Create one database per peer; return their settings and the server's."""
    conn = await asyncpg.connect(dsn)
    try:
        for name in names:
            await conn.execute(f'CREATE DATABASE "{name}"')
        settings = {}
        for setting in (
            "server_version",
            "fsync",
            "synchronous_commit",
            "shared_buffers",
            "max_connections",
        ):
            settings[setting] = str(await conn.fetchval(f"SHOW {setting}"))
        return settings
    finally:
        await conn.close()


async def _commits(conn: asyncpg.Connection) -> int:
    """Writing transactions so far, cluster-wide (see hotmesh.cli.bench._commits).

    The systems run one after another, so the advance during a level is that system's
    (background threads included). pg_stat_database.xact_commit would lag by up to a
    second and also count read-only transactions.
    """
    return int(await conn.fetchval("SELECT pg_snapshot_xmax(pg_current_snapshot())::text"))


async def _measure(
    call: Callable[[int], Awaitable[Any]], stats_dsn: str, jobs: int, concurrency: int
) -> Figures:
    """Run ``call(i)`` for ``jobs`` values with ``concurrency`` in flight (as hotmesh.cli.bench)."""
    latencies: list[float] = []
    counter = iter(range(jobs))

    async def lane() -> None:
        for i in counter:
            started = time.perf_counter()
            await call(i)
            latencies.append((time.perf_counter() - started) * 1000)

    conn = await asyncpg.connect(stats_dsn)
    try:
        await asyncio.sleep(0.2)
        before = await _commits(conn)
        started = time.perf_counter()
        await asyncio.gather(*(lane() for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
        await asyncio.sleep(0.6)  # statistics are reported by backends lazily
        after = await _commits(conn)
    finally:
        await conn.close()
    q = statistics.quantiles(latencies, n=100) if len(latencies) > 1 else [latencies[0]] * 99
    return {
        "concurrency": concurrency,
        "jobs": jobs,
        "jobs_per_s": round(jobs / elapsed, 1) if elapsed else 0.0,
        "p50_ms": round(q[49], 2),
        "p95_ms": round(q[94], 2),
        "p99_ms": round(q[98], 2),
        "commits_per_job": round((after - before) / jobs, 2),
    }


def _print_row(system: str, figures: Figures) -> None:
    print(
        f"{system:10} c={figures['concurrency']:<4} {figures['jobs_per_s']:>8.1f} jobs/s  "
        f"p50 {figures['p50_ms']:.2f} ms  p95 {figures['p95_ms']:.2f} ms  "
        f"p99 {figures['p99_ms']:.2f} ms  {figures['commits_per_job']:.2f} commits/job",
        flush=True,
    )


def run_hotmesh(
    dsn: str, jobs: int, levels: list[int], warmup: int, *, gc_tuning: bool = True
) -> list[Figures]:
    """The seed workflow on hotmesh (asyncpg, worker in-process)."""
    import hotmesh

    rows = asyncio.run(
        run_provider(
            "asyncpg",
            dsn,
            jobs,
            levels,
            warmup=warmup,
            on_level=lambda row: _print_row("hotmesh", row),
            gc_tuning=gc_tuning,
        )
    )
    version = getattr(hotmesh, "__version__", "dev")
    return [
        {k: v for k, v in row.items() if k not in ("workers", "worker_processes")}
        | {"version": version}
        for row in rows
    ]


def _dbos_missing() -> Figures | None:
    """``{"skipped": reason}`` (and the reason printed) when DBOS is not installed."""
    try:
        import dbos  # noqa: F401
    except ImportError as error:
        reason = f"dbos not installed ({error}); install with: pip install dbos"
        print(f"DBOS skipped: {reason}", flush=True)
        return {"skipped": reason}
    return None


def run_dbos(dsn: str, jobs: int, levels: list[int], warmup: int) -> list[Figures] | Figures:
    """The one-step workflow on DBOS; ``{"skipped": reason}`` when DBOS is not installed."""
    missing = _dbos_missing()
    if missing is not None:
        return missing
    from importlib.metadata import version

    from dbos import DBOS

    @DBOS.step()
    async def fulfil(order_id: str) -> dict[str, str]:
        return {"orderId": order_id, "status": "fulfilled"}

    @DBOS.workflow()
    async def order_placed(order_id: str) -> dict[str, str]:
        return await fulfil(order_id)

    DBOS(config={"name": "peer-bench", "system_database_url": dsn, "log_level": "WARNING"})
    DBOS.launch()
    try:

        async def call(i: int) -> Any:
            handle = await DBOS.start_workflow_async(order_placed, f"{uuid.uuid4().hex[:8]}-{i}")
            return await handle.get_result()

        async def levels_run() -> list[Figures]:
            first = await call(-1)
            if first != {"orderId": first.get("orderId"), "status": "fulfilled"}:
                raise RuntimeError(f"unexpected DBOS workflow result: {first!r}")
            if warmup > 0:
                await _measure(call, dsn, min(warmup, jobs), 20)
            rows = []
            for level in levels:
                row = await _measure(call, dsn, _level_jobs(jobs, level), level)
                row["version"] = version("dbos")
                _print_row("dbos", row)
                rows.append(row)
            return rows

        return asyncio.run(levels_run())
    finally:
        DBOS.destroy()


def run_typescript(
    dsn: str, jobs: int, levels: list[int], warmup: int, *, skip: bool
) -> list[Figures] | Figures:
    """The seed workflow on the TypeScript reference; ``{"skipped": reason}`` if it cannot run."""

    def skipped(reason: str) -> Figures:
        print(f"TypeScript reference skipped: {reason}", flush=True)
        return {"skipped": reason}

    if skip:
        return skipped("--skip-node given")
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        return skipped("node/npm not on PATH")
    parts = urlsplit(dsn)
    query = dict(p.split("=", 1) for p in parts.query.split("&") if "=" in p)
    app_id = f"bench-{uuid.uuid4().hex[:8]}"
    config = {
        "host": query.get("host") or parts.hostname or "localhost",
        "database": parts.path.lstrip("/"),
        "user": parts.username or "postgres",
        "password": parts.password or "",
        "appId": app_id,
        "yaml": seed_app(app_id),
        "jobs": jobs,
        "levels": levels,
        "warmup": warmup,
    }
    with tempfile.TemporaryDirectory(prefix="hotmesh-peer-ts-") as folder:
        print(f"npm install {' '.join(NPM_PACKAGES)} into {folder} ...", flush=True)
        install = subprocess.run(
            [npm, "install", "--no-audit", "--no-fund", "--silent", *NPM_PACKAGES],
            cwd=folder,
            capture_output=True,
            text=True,
            timeout=600,
        )
        if install.returncode != 0:
            return skipped(f"npm install failed: {install.stderr.strip()[-500:]}")
        # Bare imports resolve from the script's folder: run a copy next to node_modules.
        script = Path(folder) / MJS.name
        shutil.copy(MJS, script)
        env = os.environ | {"NODE_NO_WARNINGS": "1"}
        run = subprocess.run(
            [node, str(script), json.dumps(config)],
            cwd=folder,
            stdout=subprocess.PIPE,
            text=True,
            timeout=3600,
            env=env,
        )
    lines = [line for line in run.stdout.splitlines() if line.startswith("{")]
    if run.returncode != 0 or not lines:
        return skipped(f"node exited with {run.returncode}: {run.stdout.strip()[-500:]}")
    output = json.loads(lines[-1])
    rows: list[Figures] = output["results"]
    for row in rows:
        row["version"] = output.get("version")
        _print_row("typescript", row)
    return rows


def _ratios(hotmesh_rows: list[Figures], peer: list[Figures] | Figures) -> list[Figures]:
    if not isinstance(peer, list):
        return []
    by_level = {row["concurrency"]: row for row in peer}
    ratios = []
    for row in hotmesh_rows:
        other = by_level.get(row["concurrency"])
        if other is None:
            continue
        ratios.append(
            {
                "concurrency": row["concurrency"],
                "jobs_per_s_hotmesh_over_peer": round(row["jobs_per_s"] / other["jobs_per_s"], 2),
                "p50_peer_over_hotmesh": round(other["p50_ms"] / row["p50_ms"], 2),
            }
        )
    return ratios


def _machine() -> dict[str, Any]:
    """This host, for a report of a side-by-side run (shared with benchmarks.durable)."""
    return {
        "cpu": cpu_model(),
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


def _machine_line(report: dict[str, Any]) -> str:
    """The host and the server's settings, as the line above a report's table."""
    host, server = report["machine"], report["postgres"]
    return (
        f"machine: {host['cpu']}, {host['cpus']} cores, Python {host['python']}, PostgreSQL "
        f"{server['server_version']} (same host), fsync={server['fsync']} "
        f"synchronous_commit={server['synchronous_commit']} "
        f"shared_buffers={server['shared_buffers']}"
    )


def _print_table(report: dict[str, Any]) -> None:
    systems = [s for s in ("hotmesh", "dbos", "typescript") if isinstance(report[s], list)]
    ratios = report["ratios"]
    print()
    print(_machine_line(report))
    print(
        "| concurrency | system | jobs/s | p50 | p95 | p99 | commits/job | hotmesh/peer jobs/s "
        "| peer/hotmesh p50 |"
    )
    print("|---:|---|---:|---:|---:|---:|---:|---:|---:|")
    for level in report["levels"]:
        for system in systems:
            row = next((r for r in report[system] if r["concurrency"] == level), None)
            if row is None:
                continue
            ratio = next((r for r in ratios.get(system, []) if r["concurrency"] == level), None)
            jobs_ratio = f"{ratio['jobs_per_s_hotmesh_over_peer']:.2f}×" if ratio else "—"
            p50_ratio = f"{ratio['p50_peer_over_hotmesh']:.2f}×" if ratio else "—"
            print(
                f"| {level} | {system} | {row['jobs_per_s']:.1f} | {row['p50_ms']:.2f} ms "
                f"| {row['p95_ms']:.2f} ms | {row['p99_ms']:.2f} ms "
                f"| {row['commits_per_job']:.2f} | {jobs_ratio} | {p50_ratio} |"
            )
    for system in ("dbos", "typescript"):
        if not isinstance(report[system], list):
            print(f"{system}: skipped ({report[system]['skipped']})")


def main(argv: list[str] | None = None) -> None:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.peers")
    parser.add_argument("--jobs", type=int, default=1000)
    parser.add_argument("--concurrency", default="1,10,100")
    parser.add_argument("--warmup", type=int, default=200, help="jobs at concurrency 20 first")
    parser.add_argument("--json", default=None, help="write the figures to this file")
    parser.add_argument("--skip-node", action="store_true", help="skip the TypeScript reference")
    parser.add_argument(
        "--default-gc",
        action="store_true",
        help="keep Python's collector settings (default: hotmesh.tune_gc for both Python peers)",
    )
    args = parser.parse_args(argv)
    if not args.default_gc:
        # hotmesh and DBOS run in this process, one after the other: both get it.
        tune_gc()
    levels = [int(x) for x in args.concurrency.split(",")]

    from hotmesh.embedded import start

    with tempfile.TemporaryDirectory(prefix="hotmesh-peers-") as folder:
        handle = start(os.path.join(folder, "pgdata"), delete_on_exit=True)
        try:
            names = {"hotmesh": "peer_hotmesh", "dbos": "peer_dbos", "typescript": "peer_ts"}
            settings = asyncio.run(_create_databases(handle.dsn, list(names.values())))
            dsns = {system: _with_database(handle.dsn, db) for system, db in names.items()}
            report: dict[str, Any] = {
                "command": "python -m benchmarks.peers " + " ".join(sys.argv[1:]),
                "machine": _machine(),
                "postgres": settings | {"embedded": True, "same_cluster_for_all": True},
                "python_gc": "Python defaults" if args.default_gc else "hotmesh.tune_gc",
                "jobs": args.jobs,
                "levels": levels,
                "warmup": args.warmup,
            }
            report["hotmesh"] = run_hotmesh(
                dsns["hotmesh"], args.jobs, levels, args.warmup, gc_tuning=not args.default_gc
            )
            report["dbos"] = run_dbos(dsns["dbos"], args.jobs, levels, args.warmup)
            report["typescript"] = run_typescript(
                dsns["typescript"], args.jobs, levels, args.warmup, skip=args.skip_node
            )
            report["ratios"] = {
                peer: _ratios(report["hotmesh"], report[peer]) for peer in ("dbos", "typescript")
            }
        finally:
            handle.stop()
    _print_table(report)
    if args.json:
        with open(args.json, "w") as out:
            json.dump(report, out, indent=2)
        print(f"figures written to {args.json}")


if __name__ == "__main__":
    main()
