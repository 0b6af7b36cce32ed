"""The seed benchmark's core: the order workflow (trigger → worker → done), end to end.

Used by ``hotmesh bench`` and by ``python -m benchmarks.seed``. For each concurrency level
it runs ``jobs`` ``pubsub`` calls with that many in flight and measures jobs/s, pubsub
latency percentiles, writing commits per job (the advance of the next transaction id), and
CPU per job: this process's (client, engine, in-process workers) and, when the server runs
on this host, all Postgres processes' (:func:`postgres_cpu`). :func:`machine` names the
machine the figures belong to.

Example:
    >>> import asyncio  # doctest: +SKIP
    >>> rows = asyncio.run(run_provider("asyncpg", dsn, jobs=500, levels=[10]))  # doctest: +SKIP
    >>> rows[0]["jobs_per_s"]  # doctest: +SKIP
    1234.5
"""

from __future__ import annotations

import asyncio
import os
import statistics
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from hotmesh.hotmesh import HotMesh
from hotmesh.tuning import GcMeter, gc_tuned, tune_gc
from hotmesh.types import WorkerMessage

__all__ = [
    "SEED",
    "Progress",
    "describe_machine",
    "machine",
    "postgres_cpu",
    "process",
    "run_level",
    "run_provider",
    "seed_app",
]

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

Progress = Callable[[str, int, int], None]
"""A progress hook: called with ``(label, done, total)`` after each job of a level."""


def seed_app(app_id: str) -> str:
    """The seed app's YAML for ``app_id``."""
    return SEED.replace("{APP}", app_id)


async def process(message: WorkerMessage) -> dict[str, Any]:
    """The seed's worker: fulfil the order."""
    return {"data": {"orderId": message.data["id"], "status": "fulfilled"}}


async def _commits(hm: HotMesh) -> int:
    """The next transaction id: it advances once per *writing* transaction, at once.

    (``pg_stat_database.xact_commit`` lags: busy backends report at most once a second.)
    Reading it assigns no id, and read-only statements never get one, so the delta counts
    exactly the commits that write (and fsync).
    """
    return await hm.diagnostics().write_counter()


_SETTINGS = (
    "server_version",
    "fsync",
    "synchronous_commit",
    "shared_buffers",
    "wal_level",
    "max_connections",
)


def cpu_model() -> str:
    """The processor's name, e.g. ``"AMD EPYC"``: two hosts with the same core count can
    differ twofold in speed, so a figure names the CPU it was taken on.

    Linux reports it in ``/proc/cpuinfo``; elsewhere :func:`platform.processor` (or the
    architecture when that is empty too).

    >>> isinstance(cpu_model(), str)
    True
    """
    import platform

    try:
        with open("/proc/cpuinfo", encoding="utf-8") as info:
            for line in info:
                key, _, value = line.partition(":")
                if key.strip() == "model name" and value.strip():
                    return value.strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown CPU"


async def machine(hm: HotMesh) -> dict[str, Any]:
    """What a figure means nothing without: CPU, cores, Python, Postgres and its settings.

    ``postgres_local`` tells whether the server runs on this host (then its CPU is measured).
    """
    import platform

    found: dict[str, Any] = {
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "postgres_local": await _postmaster(hm) is not None,
    }
    found.update(await hm.diagnostics().settings(_SETTINGS))
    return found


def describe_machine(found: dict[str, Any]) -> str:
    """One line naming the machine, e.g. for the top of a benchmark's output."""
    return (
        f"machine: {found['cpu']}, {found['cores']} cores, "
        f"Python {found['python']}, PostgreSQL "
        f"{found['server_version']} ({'same host' if found['postgres_local'] else 'remote'}), "
        f"fsync={found['fsync']} synchronous_commit={found['synchronous_commit']} "
        f"shared_buffers={found['shared_buffers']} wal_level={found['wal_level']}"
    )


async def _postmaster(hm: HotMesh) -> Any:
    """The ``psutil`` process of the Postgres server when it runs on this host, else None."""
    import psutil

    pid = await hm.diagnostics().server_pid()
    try:
        backend = psutil.Process(pid)
        parent = backend.parent()
        if parent is None or "postgres" not in backend.name() + parent.name():
            return None
        return parent
    except psutil.Error:
        return None


def postgres_cpu(postmaster: Any) -> float:
    """CPU seconds used so far by a local Postgres server: postmaster and all its children.

    Children that exited are counted through the postmaster's ``children_*`` times.
    """
    import psutil

    total = 0.0
    for proc in [postmaster, *postmaster.children()]:
        try:
            t = proc.cpu_times()
        except psutil.Error:
            continue
        total += t.user + t.system + t.children_user + t.children_system
    return total


def _python_cpu(others: Sequence[int]) -> float:
    """CPU seconds of this process and of the hotmesh processes ``others`` (pids)."""
    import psutil

    t = os.times()
    total = t.user + t.system
    for pid in others:
        try:
            times = psutil.Process(pid).cpu_times()
        except psutil.Error:
            continue
        total += times.user + times.system
    return total


async def run_level(
    hm: HotMesh,
    jobs: int,
    concurrency: int,
    *,
    progress: Progress | None = None,
    label: str = "",
    others: Sequence[int] = (),
) -> dict[str, Any]:
    """Run ``jobs`` pubsubs with ``concurrency`` in flight; return the figures.

    ``others``: pids of the other processes serving the app (workers, engines), whose CPU
    counts in the Python CPU per job with this process's.
    """
    latencies: list[float] = []
    counter = iter(range(jobs))
    run = uuid.uuid4().hex[:8]  # order ids unique across levels (one uuid per level, not job)

    async def lane() -> None:
        for i in counter:
            started = time.perf_counter()
            await hm.pubsub("order.placed", {"id": f"{run}-{i}"}, timeout=60)
            latencies.append((time.perf_counter() - started) * 1000)
            if progress is not None:
                progress(label, len(latencies), jobs)

    await asyncio.sleep(0.2)
    postmaster = await _postmaster(hm)
    before = await _commits(hm)
    pg_before = postgres_cpu(postmaster) if postmaster is not None else 0.0
    py_before = _python_cpu(others)
    started = time.perf_counter()
    with GcMeter() as collector:
        await asyncio.gather(*(lane() for _ in range(concurrency)))
    elapsed = time.perf_counter() - started
    py_cpu = _python_cpu(others) - py_before
    pg_cpu = postgres_cpu(postmaster) - pg_before if postmaster is not None else None
    after = await _commits(hm)
    q = statistics.quantiles(latencies, n=100) if len(latencies) > 1 else [latencies[0]] * 99
    return {
        "concurrency": concurrency,
        "jobs": jobs,
        "jobs_per_s": round(jobs / elapsed, 1) if elapsed else 0.0,
        "p50_ms": round(q[49], 2),
        "p95_ms": round(q[94], 2),
        "p99_ms": round(q[98], 2),
        "commits_per_job": round((after - before) / jobs, 2),
        "python_cpu_ms_per_job": round(py_cpu * 1000 / jobs, 3),
        # (this process's collector; included in the Python CPU above)
        "gc_ms_per_job": round(collector.seconds * 1000 / jobs, 3),
        "gc_tuned": gc_tuned(),
        "postgres_cpu_ms_per_job": None if pg_cpu is None else round(pg_cpu * 1000 / jobs, 3),
    }


def _worker_process(
    provider: str,
    dsn: str,
    app_id: str,
    ready: Any,
    stop: Any,
    engine: bool = False,
    gc_tuning: bool = True,
) -> None:
    """A separate OS process running one worker, and an engine too when ``engine``."""

    async def serve() -> None:
        connection = {"class": provider, "options": {"dsn": dsn, "max_size": 10}}
        config: dict[str, Any] = {
            "app_id": app_id,
            "workers": [{"topic": "order.process", "connection": connection, "callback": process}],
        }
        if engine:
            config["engine"] = {"connection": connection}
        hm = await HotMesh.init(config)
        if gc_tuning:
            tune_gc()
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
    workers: int = 1,
    worker_processes: int = 0,
    *,
    engine_processes: int = 1,
    app_id: str | None = None,
    warmup: int = 200,
    progress: Progress | None = None,
    on_level: Callable[[dict[str, Any]], None] | None = None,
    finish: Callable[[HotMesh], Awaitable[None]] | None = None,
    gc_tuning: bool = True,
) -> list[dict[str, Any]]:
    """Benchmark one provider at each concurrency level; return one row per level.

    Args:
        provider: ``"asyncpg"`` or ``"psycopg"``.
        dsn: the Postgres to run on.
        jobs: jobs per level (a level of 1 runs a fifth of them, at least 100).
        levels: the concurrency levels.
        workers: worker instances in this process.
        worker_processes: worker instances in their own processes.
        engine_processes: engine processes in all: this one, plus ``engine_processes - 1``
            processes each running an engine and a worker (one app on one host).
        app_id: the app to deploy the seed as (default: a fresh ``bench-<hex>``).
        warmup: jobs run at concurrency 20 before measuring (prepared statements, caches).
        progress: called after each measured job (see :data:`Progress`).
        on_level: called with each level's row as soon as it is measured.
        finish: awaited with the engine's instance after the last level (e.g. to read
            table statistics) before everything stops.
        gc_tuning: :func:`hotmesh.tune_gc` in every process once it has started (as
            ``hotmesh serve`` does); False keeps Python's default collector settings.
    """
    import multiprocessing

    app_id = app_id or f"bench-{uuid.uuid4().hex[:8]}"
    connection = {"class": provider, "options": {"dsn": dsn, "max_size": 20}}
    hm = await HotMesh.init(app_id=app_id, engine={"connection": connection})
    ctx = multiprocessing.get_context("spawn")
    stop = ctx.Event()
    procs = []
    extra: list[HotMesh] = []
    try:
        extra_engines = max(engine_processes - 1, 0)
        for index in range(worker_processes + extra_engines):
            ready = ctx.Event()
            args = (provider, dsn, app_id, ready, stop, index >= worker_processes, gc_tuning)
            proc = ctx.Process(target=_worker_process, args=args)
            proc.start()
            await asyncio.get_running_loop().run_in_executor(None, ready.wait, 60)
            procs.append(proc)
        for _ in range(workers):
            extra.append(
                await HotMesh.init(
                    app_id=app_id,
                    workers=[
                        {"topic": "order.process", "connection": connection, "callback": process}
                    ],
                )
            )
        await hm.deploy(seed_app(app_id))
        await hm.activate("1")
        if gc_tuning:
            tune_gc()
        found = await machine(hm)
        if warmup > 0:
            await run_level(hm, min(warmup, jobs), 20)
        results = []
        for level in levels:
            count = jobs if level > 1 else max(jobs // 5, min(jobs, 100))
            figures = await run_level(
                hm,
                count,
                level,
                progress=progress,
                label=f"{provider} c={level}",
                others=[proc.pid for proc in procs if proc.pid is not None],
            )
            figures["provider"] = provider
            figures["workers"] = workers
            figures["worker_processes"] = worker_processes
            figures["engine_processes"] = engine_processes
            figures["machine"] = found
            if on_level is not None:
                on_level(figures)
            results.append(figures)
        if finish is not None:
            await finish(hm)
        return results
    finally:
        stop.set()
        for proc in procs:
            proc.join(10)
        for other in extra:
            await other.stop()
        await hm.stop()
