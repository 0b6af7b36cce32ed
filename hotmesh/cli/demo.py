"""``python -m hotmesh.cli.demo``: the seed's order workflow, end to end, on the engine.

Starts an embedded Postgres (or uses ``--dsn``), deploys a YAML graph in which an
``order.placed`` trigger hands the order to an ``order.process`` worker, activates it,
runs one order with ``pubsub`` and prints the result, then runs ``--orders`` more with
``--concurrency`` in flight and prints the throughput and latency percentiles.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

from hotmesh import HotMesh, WorkerMessage
from hotmesh.errors import HotMeshError

__all__ = ["ORDER_APP", "main", "run_demo"]

ORDER_APP = """
app:
  id: hotmesh-demo
  version: '1'
  graphs:
    - subscribes: order.placed
      publishes: order.fulfilled
      expire: 300
      input:
        schema:
          type: object
          required: [id]
          properties:
            id: {type: string}
            total: {type: number}
      activities:
        placed:
          type: trigger
          stats:
            id: '{placed.input.data.id}'
        fulfil:
          type: worker
          topic: order.process
          input:
            maps:
              id: '{placed.output.data.id}'
              total: '{placed.output.data.total}'
          job:
            maps:
              orderId: '{fulfil.output.data.orderId}'
              status: '{fulfil.output.data.status}'
              total: '{fulfil.output.data.total}'
      transitions:
        placed:
          - to: fulfil
"""


async def fulfil(message: WorkerMessage) -> dict[str, Any]:
    """The worker: fulfil one order."""
    order = message.data
    return {"data": {"orderId": order["id"], "status": "fulfilled", "total": order.get("total")}}


async def run_demo(
    dsn: str,
    provider: str = "asyncpg",
    orders: int = 500,
    concurrency: int = 50,
    *,
    app_id: str = "hotmesh-demo",
    progress: Callable[[int, int], None] | None = None,
) -> dict[str, Any]:
    """Deploy the order app, run ``orders`` jobs; return a summary with the first result.

    ``progress``, when given, is called with ``(done, orders)`` after each order.
    """
    connection = {"class": provider, "options": {"dsn": dsn, "max_size": 10}}
    hm = await HotMesh.init(
        app_id=app_id,
        engine={"connection": connection},
        workers=[{"topic": "order.process", "connection": connection, "callback": fulfil}],
    )
    try:
        await hm.deploy(ORDER_APP.replace("id: hotmesh-demo", f"id: {app_id}", 1))
        await hm.activate("1")
        run = time.strftime("%H%M%S")
        first = await hm.pubsub("order.placed", {"id": f"ORD-{run}-0", "total": 10}, timeout=30)
        if progress is not None:
            progress(1, orders)
        latencies: list[float] = []
        numbers = iter(range(1, orders))

        async def lane() -> None:
            for i in numbers:
                started = time.perf_counter()
                await hm.pubsub(
                    "order.placed", {"id": f"ORD-{run}-{i}", "total": 10 + i}, timeout=60
                )
                latencies.append((time.perf_counter() - started) * 1000)
                if progress is not None:
                    progress(len(latencies) + 1, orders)

        started = time.perf_counter()
        await asyncio.gather(*(lane() for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
        q = statistics.quantiles(latencies, n=100) if len(latencies) > 1 else [0.0] * 99
        return {
            "first": first.data,
            "job_id": first.job_id,
            "fulfilled": len(latencies) + 1,
            "jobs_per_s": len(latencies) / elapsed if elapsed else 0.0,
            "p50_ms": q[49],
            "p95_ms": q[94],
            "provider": provider,
        }
    finally:
        await hm.stop()


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(prog="python -m hotmesh.cli.demo", description=__doc__)
    parser.add_argument("--dsn", help="Postgres DSN (default: an embedded Postgres)")
    parser.add_argument("--provider", default="asyncpg", choices=["asyncpg", "psycopg"])
    parser.add_argument("--orders", type=int, default=500)
    parser.add_argument("--concurrency", type=int, default=50)
    args = parser.parse_args(argv)
    try:
        dsn = args.dsn
        if dsn is None:
            from hotmesh.embedded import throwaway

            print("starting an embedded Postgres…", flush=True)
            handle = throwaway("hotmesh-demo-")
            dsn = handle.dsn
        summary = asyncio.run(run_demo(dsn, args.provider, args.orders, args.concurrency))
    except HotMeshError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    print(f"first result: {dict(sorted(summary['first'].items()))}")
    print(
        f"{summary['fulfilled']} orders fulfilled via {summary['provider']}: "
        f"{summary['jobs_per_s']:.0f} jobs/s, pubsub p50 {summary['p50_ms']:.1f} ms, "
        f"p95 {summary['p95_ms']:.1f} ms"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
