"""Benchmark the seed's order workflow (trigger → worker → done) end to end.

    python -m benchmarks.seed [--provider asyncpg|psycopg|all] [--jobs 2000]
                              [--concurrency 1,10,100] [--workers 1] [--json out.json]

For each provider and concurrency level it runs ``--jobs`` ``pubsub`` calls with that many
in flight, and reports jobs/s, pubsub latency p50/p95/p99, and Postgres transactions per
job (``pg_stat_database.xact_commit``; every statement of ours is one transaction, so this
also counts statements). ``--workers N`` starts N worker instances in this process,
``--worker-processes N`` in N separate processes.
Uses ``$HOTMESH_BENCH_DSN`` or an embedded Postgres. Nothing is asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import tempfile
import time
import uuid
from typing import Any

from hotmesh import HotMesh, WorkerMessage

SEED = """
app:
  id: {APP}
  version: '1'
  graphs:
    - subscribes: order.placed
      expire: 60
      activities:
        t1:
          type: trigger
        w1:
          type: worker
          topic: order.process
          input:
            maps:
              id: '{t1.output.data.id}'
          job:
            maps:
              orderId: '{w1.output.data.orderId}'
              status: '{w1.output.data.status}'
      transitions:
        t1:
          - to: w1
"""


async def process(message: WorkerMessage) -> dict[str, Any]:
    """The seed's worker: fulfil the order."""
    return {"data": {"orderId": message.data["id"], "status": "fulfilled"}}


async def _commits(hm: HotMesh) -> int:
    driver: Any = hm._any_backend().driver  # type: ignore[attr-defined]
    return int(
        await driver.fetchval(
            "SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()"
        )
    )


async def run_level(hm: HotMesh, jobs: int, concurrency: int) -> dict[str, Any]:
    """Run ``jobs`` pubsubs with ``concurrency`` in flight; return the figures."""
    latencies: list[float] = []
    counter = iter(range(jobs))

    async def lane() -> None:
        for i in counter:
            started = time.perf_counter()
            await hm.pubsub("order.placed", {"id": f"{uuid.uuid4().hex[:8]}-{i}"}, timeout=60)
            latencies.append((time.perf_counter() - started) * 1000)

    await asyncio.sleep(0.2)
    before = await _commits(hm)
    started = time.perf_counter()
    await asyncio.gather(*(lane() for _ in range(concurrency)))
    elapsed = time.perf_counter() - started
    await asyncio.sleep(0.6)  # let statistics flush (stats are reported by backends lazily)
    after = await _commits(hm)
    q = statistics.quantiles(latencies, n=100) if len(latencies) > 1 else [latencies[0]] * 99
    return {
        "concurrency": concurrency,
        "jobs": jobs,
        "jobs_per_s": round(jobs / elapsed, 1),
        "p50_ms": round(q[49], 2),
        "p95_ms": round(q[94], 2),
        "p99_ms": round(q[98], 2),
        "commits_per_job": round((after - before) / jobs, 2),
    }


def _worker_process(provider: str, dsn: str, app_id: str, ready: Any, stop: Any) -> None:
    """A separate OS process running one worker (as a real deployment would)."""

    async def serve() -> None:
        connection = {"class": provider, "options": {"dsn": dsn, "max_size": 10}}
        hm = await HotMesh.init(
            app_id=app_id,
            workers=[{"topic": "order.process", "connection": connection, "callback": process}],
        )
        ready.set()
        # stop is a multiprocessing.Event: wait for it in a thread, not on the loop.
        await asyncio.get_running_loop().run_in_executor(None, stop.wait)
        await hm.stop()

    asyncio.run(serve())


async def run_provider(
    provider: str,
    dsn: str,
    jobs: int,
    levels: list[int],
    workers: int,
    worker_processes: int = 0,
) -> list[dict[str, Any]]:
    """Benchmark one provider at each concurrency level."""
    import multiprocessing

    app_id = f"bench-{uuid.uuid4().hex[:8]}"
    connection = {"class": provider, "options": {"dsn": dsn, "max_size": 20}}
    hm = await HotMesh.init(app_id=app_id, engine={"connection": connection})
    ctx = multiprocessing.get_context("spawn")
    stop = ctx.Event()
    procs = []
    for _ in range(worker_processes):
        ready = ctx.Event()
        proc = ctx.Process(target=_worker_process, args=(provider, dsn, app_id, ready, stop))
        proc.start()
        await asyncio.get_running_loop().run_in_executor(None, ready.wait, 60)
        procs.append(proc)
    extra = [
        await HotMesh.init(
            app_id=app_id,
            workers=[{"topic": "order.process", "connection": connection, "callback": process}],
        )
        for _ in range(workers)
    ]
    try:
        await hm.deploy(SEED.replace("{APP}", app_id))
        await hm.activate("1")
        await run_level(hm, min(200, jobs), 20)  # warm up: prepared statements, caches
        results = []
        for level in levels:
            figures = await run_level(hm, jobs if level > 1 else max(jobs // 5, 100), level)
            figures["provider"] = provider
            figures["workers"] = workers
            figures["worker_processes"] = worker_processes
            print(
                f"{provider:8} c={level:<4} {figures['jobs_per_s']:>8.1f} jobs/s  "
                f"p50 {figures['p50_ms']:.2f} ms  p95 {figures['p95_ms']:.2f} ms  "
                f"p99 {figures['p99_ms']:.2f} ms  {figures['commits_per_job']:.2f} commits/job",
                flush=True,
            )
            results.append(figures)
        return results
    finally:
        stop.set()
        for proc in procs:
            proc.join(10)
        for other in extra:
            await other.stop()
        await hm.stop()


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
            run_provider(provider, dsn, args.jobs, levels, args.workers, args.worker_processes)
        )
    if args.json:
        with open(args.json, "w") as out:
            json.dump({"results": results}, out, indent=2)
    if handle is not None:
        handle.stop()


if __name__ == "__main__":
    main()
