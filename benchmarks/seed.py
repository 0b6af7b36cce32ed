"""Benchmark the seed's order workflow (trigger → worker → done) end to end.

    python -m benchmarks.seed [--provider asyncpg|psycopg|all] [--jobs 2000]
                              [--concurrency 1,10,100] [--workers 1] [--json out.json]

For each provider and concurrency level it runs ``--jobs`` ``pubsub`` calls with that many
in flight, and reports jobs/s, pubsub latency p50/p95/p99, and Postgres transactions per
job (``pg_stat_database.xact_commit``; every statement of ours is one transaction, so this
also counts statements). ``--workers N`` starts N worker instances in this process,
``--worker-processes N`` in N separate processes.
Uses ``$HOTMESH_BENCH_DSN`` or an embedded Postgres. Nothing is asserted.

The benchmark itself lives in :mod:`hotmesh.bench` (``hotmesh bench`` runs it too).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
from typing import Any

from hotmesh.bench import SEED, process, run_level, run_provider

__all__ = ["SEED", "main", "process", "run_level", "run_provider"]


def _print_level(figures: dict[str, Any]) -> None:
    print(
        f"{figures['provider']:8} c={figures['concurrency']:<4} "
        f"{figures['jobs_per_s']:>8.1f} jobs/s  "
        f"p50 {figures['p50_ms']:.2f} ms  p95 {figures['p95_ms']:.2f} ms  "
        f"p99 {figures['p99_ms']:.2f} ms  {figures['commits_per_job']:.2f} commits/job",
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
    parser.add_argument("--dsn", default=None)
    parser.add_argument("--json", default=None)
    args = parser.parse_args()
    import os

    dsn = args.dsn or os.environ.get("HOTMESH_BENCH_DSN")
    handle = None
    if dsn is None:
        from hotmesh.embedded import start

        handle = start(tempfile.mkdtemp(prefix="hotmesh-bench-") + "/data", delete_on_exit=True)
        dsn = handle.dsn
    levels = [int(x) for x in args.concurrency.split(",")]
    providers = ["asyncpg", "psycopg"] if args.provider == "all" else [args.provider]
    results: list[dict[str, Any]] = []
    for provider in providers:
        results += asyncio.run(
            run_provider(
                provider,
                dsn,
                args.jobs,
                levels,
                args.workers,
                args.worker_processes,
                on_level=_print_level,
            )
        )
    if args.json:
        with open(args.json, "w") as out:
            json.dump({"results": results}, out, indent=2)
    if handle is not None:
        handle.stop()


if __name__ == "__main__":
    main()
