"""How fast the dashboard's job list is at a million jobs (the Inspector's queries).

    python -m benchmarks.dashboard [--provider asyncpg|psycopg] [--jobs 1000000]
                                   [--repeat 5]

Fills a fresh app schema with ``--jobs`` jobs in one INSERT (like the engine writes them:
every 10th running, every 1000th failed, two topics), ANALYZEs, then times (median of
``--repeat``, ms): the first page, a page 900,000 jobs deep (keyset cursor), a rare status
filter (failed) and a topic filter, a search-field filter, one job's detail and children,
the stream overview, the throughput series and the app list.
Uses ``$HOTMESH_BENCH_DSN`` or an embedded Postgres. Nothing is asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from benchmarks._pg import admin, drop_schema, target_dsn
from hotmesh import HotMesh
from hotmesh.spi.inspect import JobFilter
from hotmesh_postgres.naming import quote_ident, schema_name

__all__ = ["main", "run"]


async def _timed(repeat: int, call: Callable[[], Awaitable[Any]]) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        await call()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


async def run(dsn: str, provider: str, jobs: int, repeat: int) -> dict[str, float]:
    """Fill an app with ``jobs`` jobs and time each dashboard read; return ms per read."""
    app_id = f"dashbench{uuid.uuid4().hex[:6]}"
    hm = await HotMesh.init(
        app_id=app_id,
        engine={"connection": {"class": provider, "options": {"dsn": dsn}}, "readonly": True},
    )
    backend = hm._any_backend()
    schema = quote_ident(schema_name(app_id))
    try:
        started = time.perf_counter()
        await admin(backend).execute(
            f"""
            INSERT INTO {schema}.jobs (id, state, semaphore, created_at, updated_at)
            SELECT 'job-' || g, jsonb_build_object(
                       'meta', jsonb_strip_nulls(jsonb_build_object(
                           'jid', 'job-' || g, 'vrs', '1', 'aid', 't1',
                           'tpc', CASE WHEN g % 2 = 0 THEN 'order.placed' ELSE 'order.quick' END,
                           'err', CASE WHEN g % 1000 = 7 THEN '{{"message":"x"}}' END)),
                       '_region', CASE WHEN g % 100 = 3 THEN 'eu' ELSE 'us' END,
                       'a/t1,0', jsonb_build_object('input', jsonb_build_object(
                           'data', jsonb_build_object('id', g)))),
                   CASE WHEN g % 10 = 0 THEN 1 ELSE 0 END,
                   now() - make_interval(secs => g / 100.0),
                   now() - make_interval(secs => g / 100.0)
              FROM generate_series(1, {jobs}) AS g
            """
        )
        await admin(backend).execute(f"ANALYZE {schema}.jobs")
        fill_s = time.perf_counter() - started
        inspector = hm.inspector()
        # The cursor a reader paging back 90% of the jobs would hold.
        row = await admin(backend).fetchrow(
            f"SELECT created_at, id FROM {schema}.jobs ORDER BY created_at DESC, id DESC"
            f" OFFSET {int(jobs * 0.9)} LIMIT 1"
        )
        cursor = (row[0], row[1])
        detail = await inspector.job(f"job-{jobs // 2}")
        assert detail is not None
        results = {
            "fill_s": fill_s,
            "first_page_ms": await _timed(repeat, lambda: inspector.list_jobs(JobFilter())),
            "deep_page_ms": await _timed(
                repeat, lambda: inspector.list_jobs(JobFilter(after=cursor))
            ),
            "failed_filter_ms": await _timed(
                repeat, lambda: inspector.list_jobs(JobFilter(status="failed"))
            ),
            "topic_filter_ms": await _timed(
                repeat, lambda: inspector.list_jobs(JobFilter(topic="order.quick"))
            ),
            "search_filter_ms": await _timed(
                repeat, lambda: inspector.list_jobs(JobFilter(search=("region", "eu")))
            ),
            "job_detail_ms": await _timed(repeat, lambda: inspector.job(f"job-{jobs // 2}")),
            "children_ms": await _timed(repeat, lambda: inspector.children(detail.summary)),
            "streams_ms": await _timed(repeat, inspector.streams),
            "throughput_30m_ms": await _timed(repeat, lambda: inspector.throughput(30)),
            "job_count_ms": await _timed(repeat, inspector.approximate_jobs),
        }
        return results
    finally:
        await drop_schema(backend)
        await hm.stop()


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.dashboard", description=__doc__)
    parser.add_argument("--provider", default="asyncpg", choices=["asyncpg", "psycopg"])
    parser.add_argument("--jobs", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args(argv)
    with target_dsn() as dsn:
        results = asyncio.run(run(dsn, args.provider, args.jobs, args.repeat))
    print(f"{args.jobs} jobs via {args.provider} (filled in {results.pop('fill_s'):.1f} s):")
    for name, value in results.items():
        print(f"  {name:<20} {value:8.1f} ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
