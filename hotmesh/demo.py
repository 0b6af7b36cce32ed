"""``python -m hotmesh.demo``: the seed's order flow on the stream layer, end to end.

Starts an embedded Postgres (or uses ``--dsn``), places orders on the ``order.placed``
stream, lets a worker router fulfil them onto ``order.fulfilled``, and announces each
fulfilment over pub/sub, where the placing side awaits it. Prints one result, the
throughput, and the pub/sub round-trip latency percentiles.

Until the engine lands this shows the layer every workflow runs on; the YAML graph demo
replaces it then.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from typing import Any

from hotmesh.errors import HotMeshError
from hotmesh.plugins import provider_for
from hotmesh.router import Router
from hotmesh.spi import Backend, OutgoingMessage, StreamMessage

__all__ = ["main", "run_demo"]


async def run_demo(dsn: str, provider: str = "asyncpg", orders: int = 500) -> dict[str, Any]:
    """Run the order flow ``orders`` times; return a summary (and the last result)."""
    backend: Backend = await provider_for(provider).connect(
        {"dsn": dsn, "max_size": 8}, app_id="hotmesh-demo"
    )
    waiters: dict[str, asyncio.Future[dict[str, Any]]] = {}

    def on_fulfilled(_topic: str, message: dict[str, Any]) -> None:
        future = waiters.pop(message["orderId"], None)
        if future is not None and not future.done():
            future.set_result(message)

    async def process(message: StreamMessage) -> None:
        order = message.payload
        result = {"orderId": order["id"], "status": "fulfilled", "total": order["total"]}
        await backend.stream.publish([OutgoingMessage("order.fulfilled", result)])
        await backend.sub.publish("order.fulfilled", result)

    try:
        await backend.stream.purge("order.placed")
        await backend.stream.purge("order.fulfilled")
        await backend.sub.subscribe("order.fulfilled", on_fulfilled)
        loop = asyncio.get_running_loop()
        latencies: list[float] = []
        async with Router(backend.stream, "order.placed", process, concurrency=32, batch=32):

            async def place(i: int) -> dict[str, Any]:
                order_id = f"ORD-{i:05d}"
                waiters[order_id] = loop.create_future()
                started = time.perf_counter()
                await backend.stream.publish(
                    [OutgoingMessage("order.placed", {"id": order_id, "total": 10 + i})]
                )
                result = await asyncio.wait_for(waiters[order_id], 30)
                latencies.append((time.perf_counter() - started) * 1000)
                return result

            first = await place(0)  # one alone, to show a result
            started = time.perf_counter()
            results = await asyncio.gather(*(place(i) for i in range(1, orders)))
            elapsed = time.perf_counter() - started
        depth = (await backend.stream.depth(["order.fulfilled"]))["order.fulfilled"]
        quantiles = statistics.quantiles(latencies, n=100)
        return {
            "first": first,
            "orders": orders,
            "fulfilled": len(results) + 1,
            "stored_results": depth.total,
            "orders_per_s": (orders - 1) / elapsed,
            "p50_ms": quantiles[49],
            "p95_ms": quantiles[94],
            "provider": provider,
        }
    finally:
        await backend.close()


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(prog="python -m hotmesh.demo", description=__doc__)
    parser.add_argument("--dsn", help="Postgres DSN (default: an embedded Postgres)")
    parser.add_argument("--provider", default="asyncpg", choices=["asyncpg", "psycopg"])
    parser.add_argument("--orders", type=int, default=500)
    args = parser.parse_args(argv)
    try:
        dsn = args.dsn
        if dsn is None:
            from hotmesh.embedded import start

            print("starting an embedded Postgres…", flush=True)
            handle = start(tempfile.mkdtemp(prefix="hotmesh-demo-") + "/data", delete_on_exit=True)
            dsn = handle.dsn
        summary = asyncio.run(run_demo(dsn, args.provider, args.orders))
    except HotMeshError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    print(f"first result: {summary['first']}")
    print(
        f"{summary['fulfilled']} orders fulfilled via {summary['provider']}: "
        f"{summary['orders_per_s']:.0f} orders/s, round trip p50 {summary['p50_ms']:.1f} ms, "
        f"p95 {summary['p95_ms']:.1f} ms"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
