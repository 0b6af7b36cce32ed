"""Counts of a seed job's Python work that a noisy host does not move.

    python -m benchmarks.hotpath [--jobs 3000] [--concurrency 50] [--plans 20000]

CPU time per job on a shared machine moves by ±30 % from one minute to the next, more than
most changes to the hot path. These figures do not:

1. **plan**: the engine's planning of one seed job without any I/O (``plan_start`` of the
   trigger and the worker's leg 1, then ``plan_event`` of the worker's answer), the best
   of five loops of ``--plans`` jobs, in µs;
2. **loop callbacks per job**: the event loop's handles run (task steps, future
   callbacks, reads) during a seed run at ``--concurrency``, by what they run;
3. **Python calls per job**: function calls ``cProfile`` counts over the same run (the
   interpreter's work, whatever the clock says).

Runs against ``$HOTMESH_BENCH_DSN`` or a throwaway embedded cluster, with the collector
tuned as ``hotmesh serve`` does (``--default-gc``: not). Nothing is asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import cProfile
import pstats
import time
from asyncio import events
from collections.abc import Callable
from typing import Any

from benchmarks._pg import target_dsn
from hotmesh.cli.bench import run_level, run_provider, seed_app
from hotmesh.hotmesh import HotMesh

__all__ = ["count_callbacks", "count_calls", "main", "plan_cost"]


def plan_cost(plans: int, rounds: int = 5) -> float:
    """µs to plan one seed job (trigger and leg 1, then the answer's leg 2), no I/O."""
    from hotmesh.engine._extension import _Extension
    from hotmesh.engine.compiler import compile_app
    from hotmesh.engine.messages import Response
    from hotmesh.engine.planner import Planner
    from hotmesh.spi import JobRecord

    manifest = compile_app(seed_app("hotpath"))
    graph = manifest.graph_for_topic("order.placed")
    worker = graph.activity("w1")
    planner = Planner()

    def one(i: int) -> None:
        start = planner.plan_start(
            manifest, graph, {"id": f"o-{i}"}, {"ngn": "G"}, None, _Extension()
        )
        state = dict(start.step.state)
        metadata = start.step.messages[0].payload["metadata"]
        answer = Response(
            jid=start.job_id, gid=state["meta"]["gid"], aid="w1",
            dad=metadata["dad"], guid=metadata["guid"], status="success", code=200,
            data={"orderId": f"o-{i}", "status": "fulfilled"},
        )  # fmt: skip
        job = JobRecord(job_id=start.job_id, state=state, semaphore=start.semaphore)
        planner.plan_event(graph, worker, job, answer, str(answer.guid))

    for i in range(min(plans, 2000)):
        one(i)
    best = float("inf")
    for _ in range(rounds):
        started = time.process_time()
        for i in range(plans):
            one(i)
        best = min(best, (time.process_time() - started) / plans * 1e6)
    return best


def _handle_name(handle: events.Handle) -> str:
    callback: Callable[..., Any] = handle._callback  # type: ignore[attr-defined]
    owner = getattr(callback, "__self__", None)
    if owner is not None and hasattr(owner, "get_coro"):
        return "task " + getattr(owner.get_coro(), "__qualname__", "?")
    if owner is not None:
        return f"{type(owner).__name__}.{getattr(callback, '__name__', '?')}"
    return getattr(callback, "__qualname__", repr(callback))


async def count_callbacks(hm: HotMesh, jobs: int, concurrency: int) -> collections.Counter[str]:
    """The loop's handles run during ``jobs`` seed jobs, by what they run."""
    counts: collections.Counter[str] = collections.Counter()
    run = events.Handle._run

    def counted(handle: events.Handle) -> None:
        counts[_handle_name(handle)] += 1
        run(handle)

    events.Handle._run = counted  # type: ignore[method-assign,assignment]
    try:
        await run_level(hm, jobs, concurrency)
    finally:
        events.Handle._run = run  # type: ignore[method-assign]
    return counts


async def count_calls(hm: HotMesh, jobs: int, concurrency: int) -> pstats.Stats:
    """cProfile's statistics of ``jobs`` seed jobs."""
    profile = cProfile.Profile()
    profile.enable()
    try:
        await run_level(hm, jobs, concurrency)
    finally:
        profile.disable()
    return pstats.Stats(profile)


async def _measure(hm: HotMesh, jobs: int, concurrency: int, top: int) -> None:
    await run_level(hm, jobs, concurrency)  # warm: statements prepared, caches full
    counts = await count_callbacks(hm, jobs, concurrency)
    print(f"loop callbacks per job: {sum(counts.values()) / jobs:.2f}")
    for name, count in counts.most_common(top):
        print(f"  {count / jobs:6.2f}  {name}")
    stats = await count_calls(hm, jobs, concurrency)
    calls = stats.total_calls  # type: ignore[attr-defined]
    print(f"Python calls per job (cProfile): {calls / jobs:.0f}")


def main(argv: list[str] | None = None) -> None:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.hotpath")
    parser.add_argument("--jobs", type=int, default=3000)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--plans", type=int, default=20000, help="jobs per planning loop")
    parser.add_argument("--top", type=int, default=8, help="callback kinds to list")
    parser.add_argument(
        "--default-gc", action="store_true", help="keep Python's collector settings (no tune_gc)"
    )
    args = parser.parse_args(argv)
    print(f"plan: {plan_cost(args.plans):.1f} µs per seed job (best of 5, no I/O)", flush=True)
    with target_dsn() as dsn:

        async def measure(hm: HotMesh) -> None:
            await _measure(hm, args.jobs, args.concurrency, args.top)

        asyncio.run(
            run_provider("asyncpg", dsn, 200, [], finish=measure, gc_tuning=not args.default_gc)
        )


if __name__ == "__main__":
    main()
