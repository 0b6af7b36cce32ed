"""Memory soak: run many jobs through one engine+worker process and watch its RSS.

    python -m benchmarks.soak [--provider asyncpg|psycopg] [--jobs 100000]
                              [--concurrency 50] [--warmup 10000] [--every 10000]
                              [--idle 30] [--dsn DSN] [--json out.json]

Runs the seed workflow (trigger → worker → done) with ``pubsub`` calls, ``--concurrency``
in flight, in the process that also hosts the engine and the worker (as the issue's
measurement did). It prints the resident set size after ``--warmup`` jobs, every
``--every`` jobs, and every 5 s for ``--idle`` seconds after publishing stops, then the
largest deviation from the warm-up figure (the target: within ±10 %). After the run it
calls glibc's ``malloc_trim`` once ("trimmed"): what that gives back was free memory the
allocator kept, not live data. ``--tracemalloc`` adds the Python heap to each line and the
Python allocations that changed most.
Uses ``$HOTMESH_BENCH_DSN`` or an embedded Postgres. Nothing is asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import ctypes
import gc
import json
import time
import tracemalloc
import uuid
from typing import Any

import psutil

from hotmesh import HotMesh
from hotmesh.cli.bench import process, seed_app

from ._pg import target_dsn

__all__ = ["main", "soak"]


def _rss_mb() -> float:
    return float(psutil.Process().memory_info().rss) / 2**20


def _sample(label: str, done: int, started: float) -> dict[str, Any]:
    gc.collect()
    heap, _ = tracemalloc.get_traced_memory() if tracemalloc.is_tracing() else (0, 0)
    row = {
        "at": label,
        "jobs": done,
        "seconds": round(time.monotonic() - started, 1),
        "rss_mb": round(_rss_mb(), 1),
        "python_heap_mb": round(heap / 2**20, 2),
        "threads": psutil.Process().num_threads(),
    }
    print(
        f"{label:>10}  jobs {done:>7}  t {row['seconds']:>7.1f}s  "
        f"rss {row['rss_mb']:>6.1f} MB  python heap {row['python_heap_mb']:>6.2f} MB  "
        f"threads {row['threads']}",
        flush=True,
    )
    return row


def _malloc_trim() -> bool:
    """Hand glibc's free heap pages back to the OS (shows how much RSS is only free memory)."""
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:
        return False
    libc.malloc_trim(0)
    return True


def _print_growth(before: tracemalloc.Snapshot, after: tracemalloc.Snapshot) -> None:
    """The Python allocations that changed most since the warm-up, by source line."""
    print("python allocations that changed most since the warm-up:", flush=True)
    for stat in after.compare_to(before, "lineno")[:10]:
        print(f"  {stat.size_diff / 1024:+9.1f} KiB  {stat.traceback}", flush=True)


async def soak(
    provider: str,
    dsn: str,
    *,
    jobs: int,
    concurrency: int,
    warmup: int,
    every: int,
    idle: float,
) -> dict[str, Any]:
    """Run the soak; return the samples and the deviation from the warm-up RSS."""
    app_id = f"soak{uuid.uuid4().hex[:8]}"
    connection = {"class": provider, "options": {"dsn": dsn}}
    hm = await HotMesh.init(
        app_id=app_id,
        engine={"connection": connection},
        workers=[{"topic": "order.process", "connection": connection, "callback": process}],
    )
    samples: list[dict[str, Any]] = []
    snapshots: list[tracemalloc.Snapshot] = []
    started = time.monotonic()
    try:
        await hm.deploy(seed_app(app_id))
        await hm.activate("1")
        done = 0
        next_mark = warmup
        counter = iter(range(jobs))

        async def lane() -> None:
            nonlocal done, next_mark
            for n in counter:
                await hm.pubsub("order.placed", {"id": f"o{n}", "price": n % 100}, timeout=60)
                done += 1
                if done >= next_mark:
                    label = "warm-up" if next_mark == warmup else "running"
                    if label == "warm-up" and tracemalloc.is_tracing():
                        snapshots.append(tracemalloc.take_snapshot())
                    next_mark += every
                    samples.append(_sample(label, done, started))

        await asyncio.gather(*(lane() for _ in range(concurrency)))
        samples.append(_sample("done", done, started))
        if snapshots:
            _print_growth(snapshots[0], tracemalloc.take_snapshot())
        if _malloc_trim():
            samples.append(_sample("trimmed", done, started))
        stop = time.monotonic() + idle
        while time.monotonic() < stop:
            await asyncio.sleep(5)
            samples.append(_sample("idle", done, started))
    finally:
        await hm.stop()
    base = samples[0]["rss_mb"]
    deviation = max(abs(s["rss_mb"] - base) / base for s in samples) * 100
    print(f"largest deviation from the warm-up RSS: {deviation:.1f} %", flush=True)
    return {"provider": provider, "samples": samples, "deviation_pct": round(deviation, 1)}


def main() -> None:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.soak")
    parser.add_argument("--provider", default="asyncpg", choices=["asyncpg", "psycopg"])
    parser.add_argument("--jobs", type=int, default=100_000)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--warmup", type=int, default=10_000)
    parser.add_argument("--every", type=int, default=10_000)
    parser.add_argument("--idle", type=float, default=30.0, help="seconds to watch after the run")
    parser.add_argument("--tracemalloc", action="store_true", help="also trace the Python heap")
    parser.add_argument("--dsn", default=None)
    parser.add_argument("--json", default=None)
    args = parser.parse_args()
    if args.tracemalloc:
        tracemalloc.start()
    with target_dsn() as default_dsn:
        result = asyncio.run(
            soak(
                args.provider,
                args.dsn or default_dsn,
                jobs=args.jobs,
                concurrency=args.concurrency,
                warmup=min(args.warmup, args.jobs),
                every=args.every,
                idle=args.idle,
            )
        )
    if args.json:
        with open(args.json, "w", encoding="utf-8") as out:
            json.dump(result, out, indent=2)


if __name__ == "__main__":
    main()
