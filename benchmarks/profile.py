"""Where the time of a seed job goes: Python profile by area, CPU split, commits, SQL.

    pip install -e ".[bench]"        # pyinstrument
    python -m benchmarks.profile [--provider asyncpg|psycopg] [--jobs 2000] [--concurrency 50]

Runs the seed workflow (trigger → worker → done; engine, worker and client in this process)
after a warm-up, twice at the same concurrency:

1. unprofiled: jobs/s, CPU per job of this process (Python) and of every Postgres process
   (when the server is on this host), writing commits per job, and the
   ``pg_stat_statements`` table (calls per job, mean time, rows per call; nested statements
   too, marked ``n``);
2. under pyinstrument (sampling this thread's CPU time, setup excluded): the time of this
   process grouped by area (asyncio scheduling, socket I/O, driver, JSON, engine logic, provider,
   router/worker/facade, mapper/@pipe, attrs, jsonschema, logging, ...), from each sample's
   innermost Python frame. Time the loop spends idle in ``select`` is shown apart and left
   out of the percentages.

With ``$HOTMESH_BENCH_DSN`` it uses that server (``pg_stat_statements`` must be in its
``shared_preload_libraries``, else the table says so); otherwise it starts an embedded
cluster with ``shared_preload_libraries = pg_stat_statements`` and
``pg_stat_statements.track = all``. Nothing is asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import os
import re
import time
from typing import Any

from benchmarks._pg import admin, target_dsn
from hotmesh.cli.bench import describe_machine, machine, run_level, run_provider
from hotmesh.hotmesh import HotMesh

__all__ = ["AREAS", "STAT_STATEMENTS", "area_of", "main"]

#: (area, path fragments): the first area whose fragment is in a frame's file path wins.
AREAS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("benchmark client", ("/benchmarks/", "/hotmesh/cli/bench.py")),
    ("socket I/O", ("/asyncio/selector_events.py", "/asyncio/streams.py", "/socket.py")),
    ("asyncio scheduling", ("/asyncio/", "/selectors.py", "/contextvars", "/_weakrefset.py")),
    ("driver", ("/asyncpg/", "/psycopg/", "/psycopg_pool/", "/psycopg_binary/")),
    ("JSON", ("/json/", "/orjson", "/hotmesh/serializer.py")),
    ("mapper/@pipe", ("/hotmesh/engine/pipe/", "/hotmesh/engine/mapper", "/hotmesh/mapper")),
    ("engine logic", ("/hotmesh/engine/",)),
    ("provider", ("/providers/", "/hotmesh_postgres/", "/hotmesh_asyncpg/", "/hotmesh_psycopg/")),
    (
        "router/worker/facade",
        (
            "/hotmesh/mesh/router.py",
            "/hotmesh/mesh/worker.py",
            "/hotmesh/hotmesh.py",
            "/hotmesh/notify",
        ),
    ),
    ("attrs", ("/attr/", "/attrs/", "/cattrs/", "/cattr/")),
    ("jsonschema", ("/jsonschema/", "/referencing/", "/rpds/", "/jsonschema_specifications/")),
    ("logging", ("/logging/",)),
    ("other hotmesh", ("/hotmesh/",)),
)
_IDLE = "idle in select (not counted)"


def area_of(file_path: str, function: str) -> str:
    """The area a sample whose innermost Python frame is ``function`` in ``file_path`` is in.

    Example:
        >>> area_of("/usr/lib/python3.11/asyncio/base_events.py", "_run_once")
        'asyncio scheduling'
    """
    path = file_path.replace("\\", "/")
    if path.endswith("/selectors.py") and function == "select":
        return _IDLE
    for area, fragments in AREAS:
        if any(fragment in path for fragment in fragments):
            return area
    return "other"


def _areas(root: Any, frames: collections.Counter[str] | None = None) -> dict[str, float]:
    """Seconds of pyinstrument samples per area, by each frame's own (self) time.

    Built-in (C) calls count for the Python frame that made them, except the loop's wait
    in ``epoll``/``select`` (idle) and socket sends and receives (socket I/O).
    """
    totals: dict[str, float] = collections.defaultdict(float)
    stack = [(root, "", "")] if root is not None else []
    while stack:
        frame, caller_path, caller_function = stack.pop()
        real = [child for child in frame.children if not child.is_synthetic]
        path, function = frame.file_path or "", frame.function or ""
        if path.startswith("<attrs generated"):
            path = "/attrs/"
        elif path.startswith("<"):
            if function in ("epoll.poll", "select.select", "poll.poll"):
                path, function = "/selectors.py", "select"
            elif function.startswith("socket."):
                path = "/socket.py"
            else:
                path, function = caller_path, caller_function
        own = frame.time - sum(child.time for child in real)
        if not frame.is_synthetic and own > 0:
            area = area_of(path, function)
            totals[area] += own
            if frames is not None:
                frames[f"{area}: {function} ({os.path.basename(path)})"] += own
        stack.extend((child, path, function) for child in real)
    return dict(totals)


def _print_areas(totals: dict[str, float], jobs: int, cpu_ms: float) -> None:
    """The areas' shares, and ms per job as that share of the unprofiled CPU per job."""
    totals.pop(_IDLE, 0.0)
    busy = sum(totals.values()) or 1.0
    print(f"\nPython profile (pyinstrument, CPU time, {jobs} jobs, busy {busy:.2f} s)")
    print(f"{'area':26} {'share':>7} {'ms/job':>8}  (share of the unprofiled Python CPU/job)")
    for area, seconds in sorted(totals.items(), key=lambda item: -item[1]):
        print(f"{area:26} {seconds / busy:>6.1%} {seconds / busy * cpu_ms:>8.3f}")


_STATEMENTS = """
SELECT s.toplevel, s.calls, s.total_exec_time, s.rows, s.query
  FROM pg_stat_statements s JOIN pg_database d ON d.oid = s.dbid
 WHERE d.datname = current_database()
   AND s.query NOT ILIKE '%pg_stat_statements%' AND s.query NOT ILIKE '%pg_snapshot_xmax%'
 ORDER BY s.total_exec_time DESC
 LIMIT $1
"""


def _shape(sql: str) -> str:
    """A statement without comments, whitespace, parameters or constants, for matching."""
    sql = re.sub(r"--[^\n]*", "", sql)
    return re.sub(r"\$\d+|'[^']*'|\b\d+\b|\s+|;", "", sql)


def _label(query: str, names: dict[str, str]) -> str:
    """``queries.sql`` name of a statement (else what it calls) and its start."""
    text = re.sub(r"\s+", " ", re.sub(r"--[^\n]*", "", query)).strip()
    shape = _shape(query)

    def common(known: str) -> int:
        pairs = enumerate(zip(shape, known, strict=False))
        return next((i for i, (a, b) in pairs if a != b), min(len(shape), len(known)))

    # The longest common start: exact where the text is ours, close where a provider
    # builds a variant of a named statement.
    best = max(names, key=common, default="")
    name = names[best] if best and common(best) >= 40 else None
    if name is None:
        called = re.search(r"\b(\w+_v\d+|pg_notify|json_object_agg)\s*\(", text)
        name = f"({called.group(1)})" if called else ""
    return f"{name:15} {text[:60]}"


async def _reset_statements(hm: HotMesh) -> str | None:
    """Reset ``pg_stat_statements``; the reason it is unavailable, if it is."""
    driver = admin(hm._any_backend())
    try:
        await driver.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
        await driver.execute("SELECT pg_stat_statements_reset()")
    except Exception as err:
        return f"{type(err).__name__}: {err}"
    return None


async def _print_statements(hm: HotMesh, jobs: int, unavailable: str | None) -> None:
    print("\npg_stat_statements (per job; n = nested, called inside another statement)")
    if unavailable is not None:
        print(f"  unavailable: {unavailable}")
        return
    from hotmesh_postgres.schema import Queries

    backend: Any = hm._any_backend()
    queries = vars(Queries(backend.schema)).items()
    names = {_shape(sql): name for name, sql in queries if isinstance(sql, str)}
    rows = await admin(backend).fetch(_STATEMENTS, 25)
    print(f"{'':2} {'calls/job':>9} {'mean ms':>8} {'rows/call':>9} {'ms/job':>7}  statement")
    for top, calls, total, count, query in rows:
        mean = total / calls if calls else 0.0
        print(
            f"{'' if top else 'n':2} {calls / jobs:>9.2f} {mean:>8.3f} "
            f"{(count / calls if calls else 0):>9.2f} {total / jobs:>7.3f}  {_label(query, names)}"
        )


async def _passes(hm: HotMesh, jobs: int, concurrency: int, top: int) -> None:
    found = await machine(hm)
    print(describe_machine(found), flush=True)
    unavailable = await _reset_statements(hm)
    figures = await run_level(hm, jobs, concurrency)
    pg = figures["postgres_cpu_ms_per_job"]
    print(
        f"\nunprofiled: {jobs} jobs at c={concurrency}: {figures['jobs_per_s']:.1f} jobs/s, "
        f"p50 {figures['p50_ms']:.2f} ms, {figures['commits_per_job']:.2f} commits/job\n"
        f"CPU per job: Python {figures['python_cpu_ms_per_job']:.3f} ms (this process; "
        f"{figures['gc_ms_per_job']:.3f} of it in the garbage collector, "
        f"{'tuned: hotmesh.tune_gc' if figures['gc_tuned'] else 'Python defaults'}), "
        f"Postgres {'n/a (remote server)' if pg is None else f'{pg:.3f} ms'} (all its processes)",
        flush=True,
    )
    await _print_statements(hm, jobs, unavailable)
    from pyinstrument import Profiler
    from pyinstrument.stack_sampler import get_stack_sampler

    # Sample this thread's CPU time, not wall time: on a busy host a syscall's wall time
    # includes waiting for a core, which is not work of ours.
    get_stack_sampler().timer_func = time.thread_time
    profiler = Profiler(interval=0.0005, async_mode="disabled")
    profiler.start()
    try:
        await run_level(hm, jobs, concurrency)
    finally:
        session = profiler.stop()
        get_stack_sampler().timer_func = None
    frames: collections.Counter[str] = collections.Counter()
    _print_areas(_areas(session.root_frame(), frames), jobs, figures["python_cpu_ms_per_job"])
    if top:
        busy = sum(frames.values()) or 1.0
        print(f"\ntop {top} functions by own CPU time")
        for name, seconds in frames.most_common(top):
            print(f"{seconds / busy:>6.1%}  {name}")


#: What the embedded cluster needs for the statements table.
STAT_STATEMENTS = {
    "shared_preload_libraries": "pg_stat_statements",
    "pg_stat_statements.track": "all",
}


def main() -> None:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.profile")
    parser.add_argument("--provider", default="asyncpg", choices=["asyncpg", "psycopg"])
    parser.add_argument("--jobs", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--top", type=int, default=0, help="also list the N costliest functions")
    parser.add_argument(
        "--default-gc", action="store_true", help="keep Python's collector settings (no tune_gc)"
    )
    args = parser.parse_args()
    with target_dsn(STAT_STATEMENTS) as dsn:

        async def passes(hm: HotMesh) -> None:
            await _passes(hm, args.jobs, args.concurrency, args.top)

        asyncio.run(
            run_provider(
                args.provider, dsn, args.jobs, [], finish=passes, gc_tuning=not args.default_gc
            )
        )


if __name__ == "__main__":
    main()
