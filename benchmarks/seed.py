"""Benchmark the seed's order workflow (trigger → worker → done) end to end.

    python -m benchmarks.seed [--provider asyncpg|psycopg|all] [--jobs 2000]
                              [--concurrency 1,10,100] [--workers 1] [--json out.json]
    python -m benchmarks.seed --provider asyncpg --jobs 1000000 --soak [--window 100000]

For each provider and concurrency level it runs ``--jobs`` ``pubsub`` calls with that many
in flight, and reports jobs/s, pubsub latency p50/p95/p99, and Postgres transactions per
job (``pg_stat_database.xact_commit``; every statement of ours is one transaction, so this
also counts statements). ``--workers N`` starts N worker instances in this process,
``--worker-processes N`` in N separate processes. ``--engine-processes 1,2,4`` repeats
every level with 1, 2 and 4 engine processes for the app (this one plus N-1 others, each
running an engine and a worker); CPU per job then counts this process only.
``--soak`` runs ``--jobs`` at the first concurrency level in windows of ``--window`` jobs
(one app, nothing reset between windows), prints each window's jobs/s and its ratio to the
first, and at the end every table's size, index size and live/dead tuples. Every run
starts with a line naming the machine (cores, Postgres version and the settings that
matter). Uses ``$HOTMESH_BENCH_DSN`` or an embedded Postgres. Nothing is asserted.

The benchmark itself lives in :mod:`hotmesh.cli.bench` (``hotmesh bench`` runs it too).
"""

from __future__ import annotations

import argparse
import asyncio
import json
from typing import Any

from benchmarks._pg import schema_tables
from hotmesh.cli.bench import SEED, describe_machine, process, run_level, run_provider
from hotmesh.hotmesh import HotMesh

__all__ = ["SEED", "main", "process", "run_level", "run_provider"]


def _ms(value: float | None) -> str:
    return "n/a (remote server)" if value is None else f"{value:.2f} ms"


class _Printer:
    """Prints the machine once, then one line per level (or soak window)."""

    def __init__(self, soak: bool) -> None:
        self.soak = soak
        self.first: float | None = None
        self.done = 0

    def __call__(self, figures: dict[str, Any]) -> None:
        if self.first is None:
            print(describe_machine(figures["machine"]), flush=True)
            self.first = figures["jobs_per_s"] or 1.0
        self.done += figures["jobs"]
        if self.soak:
            print(
                f"after {self.done:>9,} jobs: {figures['jobs_per_s'] / self.first:.2f}x  ", end=""
            )
        _print_level(figures)


async def _print_tables(hm: HotMesh) -> None:
    print(f"{'table':28} {'heap':>10} {'indexes':>10} {'live':>10} {'dead':>10} {'HOT upd':>10}")
    for row in await schema_tables(hm._any_backend()):
        heap, indexes = row["heap_bytes"] / 2**20, row["index_bytes"] / 2**20
        print(
            f"{row['table']:28} {heap:>8.1f}MB {indexes:>8.1f}MB"
            f" {row['live']:>10} {row['dead']:>10} {row['hot_upd']:>10}",
            flush=True,
        )


def _print_level(figures: dict[str, Any]) -> None:
    print(
        f"{figures['provider']:8} c={figures['concurrency']:<4} "
        f"{figures['jobs_per_s']:>8.1f} jobs/s  "
        f"p50 {figures['p50_ms']:.2f} ms  p95 {figures['p95_ms']:.2f} ms  "
        f"p99 {figures['p99_ms']:.2f} ms  {figures['commits_per_job']:.2f} commits/job  "
        f"CPU/job: Python {figures['python_cpu_ms_per_job']:.2f} ms "
        f"(GC {figures['gc_ms_per_job']:.3f}{'' if figures['gc_tuned'] else ', default'}), "
        f"Postgres {_ms(figures['postgres_cpu_ms_per_job'])}",
        flush=True,
    )


def main() -> None:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.seed")
    parser.add_argument("--provider", default="all", choices=["asyncpg", "psycopg", "all"])
    parser.add_argument("--jobs", type=int, default=2000)
    parser.add_argument("--concurrency", default="1,10,100")
    parser.add_argument("--workers", type=int, default=1, help="worker instances in-process")
    parser.add_argument(
        "--worker-processes", type=int, default=0, help="worker instances in their own processes"
    )
    parser.add_argument(
        "--engine-processes",
        default="1",
        help="comma-separated counts of engine processes to run each level with, e.g. 1,2,4",
    )
    parser.add_argument("--dsn", default=None)
    parser.add_argument("--soak", action="store_true", help="one level, in windows of --window")
    parser.add_argument("--window", type=int, default=100_000, help="jobs per soak window")
    parser.add_argument("--json", default=None)
    parser.add_argument(
        "--default-gc", action="store_true", help="keep Python's collector settings (no tune_gc)"
    )
    args = parser.parse_args()
    import os

    dsn = args.dsn or os.environ.get("HOTMESH_BENCH_DSN")
    handle = None
    if dsn is None:
        from hotmesh.embedded import throwaway

        handle = throwaway("hotmesh-bench-")
        dsn = handle.dsn
    levels = [int(x) for x in args.concurrency.split(",")]
    jobs = args.jobs
    if args.soak:
        windows = max(1, args.jobs // args.window)
        levels, jobs = [levels[0] if levels[0] > 1 else 50] * windows, args.window
    providers = ["asyncpg", "psycopg"] if args.provider == "all" else [args.provider]
    results: list[dict[str, Any]] = []
    for provider in providers:
        for engines in [int(x) for x in args.engine_processes.split(",")]:
            if engines > 1:
                print(f"-- {engines} engine processes (each with a worker)", flush=True)
            results += asyncio.run(
                run_provider(
                    provider,
                    dsn,
                    jobs,
                    levels,
                    args.workers,
                    args.worker_processes,
                    engine_processes=engines,
                    on_level=_Printer(args.soak),
                    finish=_print_tables,
                    gc_tuning=not args.default_gc,
                )
            )
    if args.json:
        with open(args.json, "w") as out:
            json.dump({"results": results}, out, indent=2)
    if handle is not None:
        handle.stop()


if __name__ == "__main__":
    main()
