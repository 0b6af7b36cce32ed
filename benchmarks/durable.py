"""Durable workflows side by side with DBOS, on one Postgres, in one command.

    python -m benchmarks.durable [--jobs 1000] [--concurrency 1,10,100] [--warmup 100]
                                 [--provider asyncpg] [--json out.json]

Starts one embedded Postgres (stock settings) with one database per system, then runs,
one after the other, a workflow of **3 sequential activities** (each returns its input
with a suffix):

* **hotmesh.durable**: ``client.workflow.execute`` with the worker (workflow turns and
  activities) and the engine in this process;
* **DBOS** (PyPI ``dbos``, if installed): a ``@DBOS.workflow`` calling three
  ``@DBOS.step``\\s, started with ``DBOS.start_workflow_async`` and awaited.

For each level, ``--jobs`` workflows with that many in flight (a level of 1 runs a fifth
of them, at least 100): workflows/s, latency p50/p95/p99 of one start-and-await, and
commits per workflow (writing transactions, counted exactly from ``pg_snapshot_xmax``).
The helpers are those of :mod:`benchmarks.peers`. Nothing is asserted; not run by CI.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import uuid
from typing import Any

from benchmarks.peers import (
    Figures,
    _create_databases,
    _dbos_missing,
    _level_jobs,
    _machine,
    _machine_line,
    _measure,
    _print_row,
    _ratios,
    _with_database,
)
from hotmesh.tuning import tune_gc

__all__ = ["main", "run_dbos", "run_durable"]


async def step_one(value: str) -> str:
    return value + "-1"


async def step_two(value: str) -> str:
    return value + "-2"


async def step_three(value: str) -> str:
    return value + "-3"


async def three_steps(order_id: str) -> str:
    from hotmesh.durable import workflow as wf

    acts = wf.proxy_activities()
    return str(await acts.step_three(await acts.step_two(await acts.step_one(order_id))))


async def _levels(
    name: str, call: Any, dsn: str, jobs: int, levels: list[int], warmup: int
) -> list[Figures]:
    first = await call(-1)
    if not str(first).endswith("-1-2-3"):
        raise RuntimeError(f"unexpected {name} result: {first!r}")
    if warmup > 0:
        await _measure(call, dsn, min(warmup, jobs), 20)
    rows = []
    for level in levels:
        row = await _measure(call, dsn, _level_jobs(jobs, level), level)
        _print_row(name, row)
        rows.append(row)
    return rows


def run_durable(
    dsn: str, jobs: int, levels: list[int], warmup: int, provider: str = "asyncpg"
) -> list[Figures]:
    """The 3-activity workflow on hotmesh.durable (worker and engine in this process)."""
    from hotmesh import durable
    from hotmesh.durable import Client, Worker

    async def run() -> list[Figures]:
        connection = {"class": provider, "options": {"dsn": dsn}}
        await Worker.create(
            connection=connection,
            task_queue="bench",
            workflow=three_steps,
            activities=[step_one, step_two, step_three],
        )
        client = Client(connection)

        async def call(i: int) -> Any:
            return await client.workflow.execute(
                three_steps, args=[f"{uuid.uuid4().hex[:8]}-{i}"], task_queue="bench", timeout=300
            )

        try:
            return await _levels("durable", call, dsn, jobs, levels, warmup)
        finally:
            await durable.shutdown()

    return asyncio.run(run())


def run_dbos(dsn: str, jobs: int, levels: list[int], warmup: int) -> list[Figures] | Figures:
    """The same workflow on DBOS; ``{"skipped": reason}`` when DBOS is not installed."""
    missing = _dbos_missing()
    if missing is not None:
        return missing
    from dbos import DBOS

    @DBOS.step()
    async def one(value: str) -> str:
        return value + "-1"

    @DBOS.step()
    async def two(value: str) -> str:
        return value + "-2"

    @DBOS.step()
    async def three(value: str) -> str:
        return value + "-3"

    @DBOS.workflow()
    async def three_step_workflow(order_id: str) -> str:
        return await three(await two(await one(order_id)))

    DBOS(config={"name": "durable-bench", "system_database_url": dsn, "log_level": "WARNING"})
    DBOS.launch()
    try:

        async def call(i: int) -> Any:
            handle = await DBOS.start_workflow_async(
                three_step_workflow, f"{uuid.uuid4().hex[:8]}-{i}"
            )
            return await handle.get_result()

        return asyncio.run(_levels("dbos", call, dsn, jobs, levels, warmup))
    finally:
        DBOS.destroy()


def _print_table(report: dict[str, Any]) -> None:
    print()
    print(_machine_line(report))
    print("| concurrency | system | workflows/s | p50 | p95 | p99 | commits/workflow |")
    print("|---:|---|---:|---:|---:|---:|---:|")
    for level in report["levels"]:
        for system in ("durable", "dbos"):
            rows = report[system]
            row = (
                next((r for r in rows if r["concurrency"] == level), None)
                if isinstance(rows, list)
                else None
            )
            if row is not None:
                print(
                    f"| {level} | {system} | {row['jobs_per_s']:.1f} | {row['p50_ms']:.2f} ms "
                    f"| {row['p95_ms']:.2f} ms | {row['p99_ms']:.2f} ms "
                    f"| {row['commits_per_job']:.2f} |"
                )
    for ratio in report["ratios"]:
        print(
            f"c={ratio['concurrency']}: durable/dbos workflows/s "
            f"{ratio['jobs_per_s_hotmesh_over_peer']:.2f}x, dbos/durable p50 "
            f"{ratio['p50_peer_over_hotmesh']:.2f}x"
        )


def main(argv: list[str] | None = None) -> None:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.durable")
    parser.add_argument("--jobs", type=int, default=1000)
    parser.add_argument("--concurrency", default="1,10,100")
    parser.add_argument("--warmup", type=int, default=100, help="workflows at concurrency 20")
    parser.add_argument("--provider", default="asyncpg", choices=["asyncpg", "psycopg"])
    parser.add_argument("--json", default=None, help="write the figures to this file")
    parser.add_argument(
        "--default-gc",
        action="store_true",
        help="keep Python's collector settings (default: hotmesh.tune_gc for both)",
    )
    args = parser.parse_args(argv)
    if not args.default_gc:
        # Durable and DBOS run in this process, one after the other: both get it.
        tune_gc()
    levels = [int(x) for x in args.concurrency.split(",")]

    from hotmesh.embedded import start

    with tempfile.TemporaryDirectory(prefix="hotmesh-durable-bench-") as folder:
        handle = start(os.path.join(folder, "pgdata"), delete_on_exit=True)
        try:
            names = {"durable": "bench_durable", "dbos": "bench_dbos"}
            settings = asyncio.run(_create_databases(handle.dsn, list(names.values())))
            dsns = {system: _with_database(handle.dsn, db) for system, db in names.items()}
            report: dict[str, Any] = {
                "command": "python -m benchmarks.durable " + " ".join(sys.argv[1:]),
                "machine": _machine(),
                "postgres": settings | {"embedded": True},
                "python_gc": "Python defaults" if args.default_gc else "hotmesh.tune_gc",
                "levels": levels,
                "jobs": args.jobs,
            }
            report["durable"] = run_durable(
                dsns["durable"], args.jobs, levels, args.warmup, args.provider
            )
            report["dbos"] = run_dbos(dsns["dbos"], args.jobs, levels, args.warmup)
            report["ratios"] = _ratios(report["durable"], report["dbos"])
        finally:
            handle.stop()
    _print_table(report)
    if args.json:
        with open(args.json, "w") as out:
            json.dump(report, out, indent=2)


if __name__ == "__main__":
    main()
