"""Stream throughput before and after a million messages, and wake-up latency.

Per provider: publishes/s and claims/s on a fresh stream with a fixed backlog; then
``--messages`` messages published and claimed+acked concurrently (a million inserts and
deletes, what decays a naive Postgres queue); then the same publish/claim measurement
again, and the ratio after/start. Also the round trip of one message to a consumer
blocked in ``wait`` (p50/p95/p99). Prints figures; asserts nothing.

Usage::

    python -m benchmarks.streams [--provider asyncpg|psycopg|all] [--messages 1000000]
                                 [--batch 100] [--consumers 4] [--json out.json]

Connects to ``$HOTMESH_BENCH_DSN`` when set (the app schema ``bench_streams`` is dropped
before and after each provider), else to a throwaway embedded Postgres.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import time
from collections.abc import Sequence
from typing import Any

from attrs import define

from benchmarks._pg import drop_schema, server_version, table_stats, target_dsn
from hotmesh.plugins import provider_for
from hotmesh.spi import Backend, OutgoingMessage, Stream

APP_ID = "bench-streams"
STREAM = "bench"
LATENCY_STREAM = "bench-latency"
PROVIDERS = ("asyncpg", "psycopg")
PAD = "x" * 64  # payloads of ~100 bytes encoded
LEASE = 120.0
IDLE_WAIT = 0.05  # how long an idle consumer waits for a wake-up before claiming again


@define
class Flow:
    """Counters shared by the publisher and consumer tasks of one run (one event loop)."""

    total: int
    reserved: int = 0  # messages a publisher has taken on (published or in flight)
    published: int = 0
    acked: int = 0
    published_at: float = 0.0  # perf_counter when the last publish returned
    acked_at: float = 0.0  # perf_counter when the last ack returned


async def publisher(stream: Stream, flow: Flow, batch: int, max_backlog: int | None) -> None:
    """Publish batches until ``flow.total`` are out; hold back above ``max_backlog``."""
    while flow.reserved < flow.total:
        if max_backlog is not None and flow.reserved - flow.acked >= max_backlog:
            await asyncio.sleep(0.002)
            continue
        n = min(batch, flow.total - flow.reserved)
        start = flow.reserved
        flow.reserved += n
        await stream.publish(
            [OutgoingMessage(STREAM, {"n": start + i, "pad": PAD}) for i in range(n)]
        )
        flow.published += n
        flow.published_at = time.perf_counter()


async def consumer(stream: Stream, flow: Flow, batch: int, name: str) -> None:
    """Claim and ack batches until ``flow.total`` messages are acked."""
    while flow.acked < flow.total:
        messages = await stream.claim(STREAM, limit=batch, lease=LEASE, consumer=name)
        if not messages:
            await stream.wait(STREAM, IDLE_WAIT, consumer=name)
            continue
        acked = len(await stream.ack(messages))  # not `flow.acked += len(await …)`: that
        flow.acked += acked  # reads flow.acked before the await and loses other tasks' acks
        flow.acked_at = time.perf_counter()


async def measure_publish(stream: Stream, count: int, batch: int, publishers: int) -> float:
    """Publish ``count`` messages (the backlog) with ``publishers`` tasks; messages/s."""
    flow = Flow(count)
    start = time.perf_counter()
    await asyncio.gather(*(publisher(stream, flow, batch, None) for _ in range(publishers)))
    return count / (flow.published_at - start)


async def measure_claim(stream: Stream, count: int, batch: int, consumers: int) -> float:
    """Claim+ack a standing backlog of ``count`` messages with ``consumers`` tasks; msgs/s."""
    flow = Flow(count)
    start = time.perf_counter()
    await asyncio.gather(*(consumer(stream, flow, batch, f"m{i}") for i in range(consumers)))
    return count / (flow.acked_at - start)


async def throughput(stream: Stream, args: argparse.Namespace) -> tuple[float, float]:
    """(publishes/s, claims/s), medians of ``--repeat`` rounds of: publish the backlog on the
    emptied stream, then drain it."""
    pubs: list[float] = []
    claims: list[float] = []
    for _ in range(args.repeat):
        await stream.purge(STREAM)
        pubs.append(await measure_publish(stream, args.backlog, args.batch, args.publishers))
        claims.append(await measure_claim(stream, args.backlog, args.batch, args.consumers))
    return statistics.median(pubs), statistics.median(claims)


async def push_through(backend: Backend, args: argparse.Namespace) -> dict[str, float]:
    """Publish and claim+ack ``args.messages`` concurrently, printing progress every 100k."""
    stream = backend.stream
    flow = Flow(args.messages)
    workers = [
        *(publisher(stream, flow, args.batch, args.backlog) for _ in range(args.publishers)),
        *(consumer(stream, flow, args.batch, f"p{i}") for i in range(args.consumers)),
    ]
    start = last_t = time.perf_counter()
    cpu0 = last_cpu = time.process_time()
    last_pub = last_ack = 0
    step = max(args.messages // 10, 1) if args.messages < 1_000_000 else 100_000
    mark = step
    tasks = [asyncio.ensure_future(w) for w in workers]
    try:
        while flow.acked < flow.total:
            await asyncio.sleep(0.1)
            for task in tasks:
                if task.done() and task.exception() is not None:
                    raise RuntimeError("a worker failed") from task.exception()
            if flow.acked < mark and flow.acked < flow.total:
                continue
            now, cpu = time.perf_counter(), time.process_time()
            stats = await table_stats(backend)
            dt = now - last_t
            print(
                f"  {flow.acked:>9,} acked  publish {(flow.published - last_pub) / dt:>8,.0f}/s"
                f"  claim {(flow.acked - last_ack) / dt:>8,.0f}/s"
                f"  backlog {flow.published - flow.acked:>6,}"
                f"  dead tuples {stats.get('n_dead_tup', 0):>8,}"
                f"  autovacuums {stats.get('autovacuum_count', 0):>3}"
                f"  client CPU {(cpu - last_cpu) / dt:>4.0%}",
                flush=True,
            )
            last_t, last_cpu, last_pub, last_ack = now, cpu, flow.published, flow.acked
            while mark <= flow.acked:
                mark += step
        await asyncio.gather(*tasks)
    finally:
        for task in tasks:
            task.cancel()
    wall = time.perf_counter() - start
    return {
        "seconds": wall,
        "messages_per_s": args.messages / wall,
        "client_cpu": (time.process_time() - cpu0) / wall,
    }


async def round_trips(stream: Stream, samples: int) -> dict[str, float]:
    """Publish one message at a time to a consumer blocked in ``wait``; latency in ms."""
    await stream.purge(LATENCY_STREAM)
    arrived: asyncio.Queue[float] = asyncio.Queue()
    idle = asyncio.Event()

    async def waiter() -> None:
        while True:
            messages = await stream.claim(LATENCY_STREAM, limit=1, lease=LEASE, consumer="lat")
            if messages:
                arrived.put_nowait(time.perf_counter())
                await stream.ack(messages)
                continue
            idle.set()
            await stream.wait(LATENCY_STREAM, 5.0, consumer="lat")
            idle.clear()

    task = asyncio.ensure_future(waiter())
    latencies: list[float] = []
    try:
        for i in range(samples):
            await idle.wait()
            await asyncio.sleep(0.003)  # let it settle into wait()
            sent = time.perf_counter()
            await stream.publish([OutgoingMessage(LATENCY_STREAM, {"n": i})])
            latencies.append((await arrived.get() - sent) * 1000)
    finally:
        task.cancel()
    cuts = statistics.quantiles(latencies, n=100, method="inclusive")
    return {"p50": cuts[49], "p95": cuts[94], "p99": cuts[98], "samples": len(latencies)}


async def bench_provider(name: str, dsn: str, args: argparse.Namespace) -> dict[str, Any]:
    """Every measurement for one provider, on a freshly created app schema."""
    provider = provider_for(name)
    options = {"dsn": dsn, "max_size": args.publishers + args.consumers + 2}
    backend = await provider.connect(options, app_id=APP_ID)
    await drop_schema(backend)  # start from a table that never saw a delete
    await backend.close()
    backend = await provider.connect(options, app_id=APP_ID)
    try:
        stream = backend.stream
        version = await server_version(backend)
        print(f"\n== {name} (PostgreSQL {version}) ==", flush=True)
        latency_start = await round_trips(stream, args.samples)
        print(f"latency start   p50 {latency_start['p50']:.2f} ms", flush=True)
        pub_start, claim_start = await throughput(stream, args)
        print(f"start           publish {pub_start:,.0f}/s  claim {claim_start:,.0f}/s", flush=True)
        print(f"pushing {args.messages:,} messages through {STREAM!r} ...", flush=True)
        push = await push_through(backend, args)
        print(f"pushed in {push['seconds']:.0f} s ({push['messages_per_s']:,.0f}/s)", flush=True)
        stats_pushed = await table_stats(backend)
        pub_after, claim_after = await throughput(stream, args)
        print(f"after           publish {pub_after:,.0f}/s  claim {claim_after:,.0f}/s", flush=True)
        latency_after = await round_trips(stream, args.samples)
        stats_after = await table_stats(backend)
        if not args.keep:
            await drop_schema(backend)
    finally:
        await backend.close()
    return {
        "provider": name,
        "postgres_version": version,
        "messages": args.messages,
        "batch": args.batch,
        "publishers": args.publishers,
        "consumers": args.consumers,
        "backlog": args.backlog,
        "repeat": args.repeat,
        "publishes_per_s_start": round(pub_start),
        "publishes_per_s_after": round(pub_after),
        "publishes_ratio": round(pub_after / pub_start, 3),
        "claims_per_s_start": round(claim_start),
        "claims_per_s_after": round(claim_after),
        "ratio": round(claim_after / claim_start, 3),
        "push_messages_per_s": round(push["messages_per_s"]),
        "push_seconds": round(push["seconds"], 1),
        "push_client_cpu": round(push["client_cpu"], 3),
        "latency_ms_start": {k: round(v, 3) for k, v in latency_start.items()},
        "latency_ms_after": {k: round(v, 3) for k, v in latency_after.items()},
        "table_after_push": stats_pushed,
        "table_at_end": stats_after,
    }


def print_table(results: Sequence[dict[str, Any]]) -> None:
    """One column per provider."""
    rows: list[tuple[str, str]] = [
        ("publishes/s start", "publishes_per_s_start"),
        ("publishes/s after", "publishes_per_s_after"),
        ("publishes after/start", "publishes_ratio"),
        ("claims/s start", "claims_per_s_start"),
        ("claims/s after", "claims_per_s_after"),
        ("claims after/start", "ratio"),
        ("push-through msgs/s", "push_messages_per_s"),
        ("client CPU in push", "push_client_cpu"),
    ]
    width = 14
    print("\n" + f"{'':<26}" + "".join(f"{r['provider']:>{width}}" for r in results))
    for label, key in rows:
        cells = "".join(f"{_fmt(r[key]):>{width}}" for r in results)
        print(f"{label:<26}{cells}")
    for when in ("start", "after"):
        for p in ("p50", "p95", "p99"):
            cells = "".join(f"{r[f'latency_ms_{when}'][p]:>{width - 3}.2f} ms" for r in results)
            print(f"{f'latency {p} ({when})':<26}{cells}")


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.2f}" if value < 10 else f"{value:,.0f}"
    return f"{value:,}" if isinstance(value, int) else str(value)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.streams", description=__doc__)
    parser.add_argument("--provider", choices=[*PROVIDERS, "all"], default="all")
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--batch", type=int, default=100, help="messages per publish/claim")
    parser.add_argument("--consumers", type=int, default=4)
    parser.add_argument("--publishers", type=int, default=2)
    parser.add_argument("--backlog", type=int, default=20_000, help="messages per measurement")
    parser.add_argument("--repeat", type=int, default=3, help="rounds per measurement (median)")
    parser.add_argument("--samples", type=int, default=300, help="round trips for latency")
    parser.add_argument("--keep", action="store_true", help="leave the schema for inspection")
    parser.add_argument("--json", metavar="PATH", help="write the figures as JSON")
    args = parser.parse_args(argv)
    if not 1 <= args.batch <= 1000:
        parser.error("--batch must be 1..1000")
    return args


async def run(args: argparse.Namespace) -> list[dict[str, Any]]:
    names = PROVIDERS if args.provider == "all" else (args.provider,)
    with target_dsn() as dsn:
        return [await bench_provider(name, dsn, args) for name in names]


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs", flush=True)
    results = asyncio.run(run(args))
    print_table(results)
    if args.json:
        with open(args.json, "w", encoding="utf-8") as out:
            json.dump({"cpus": os.cpu_count(), "results": results}, out, indent=2)
            out.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
