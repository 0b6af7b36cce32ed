"""Process-wide engines and workers of the Durable layer, keyed by connection+namespace."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from hotmesh import HotMesh, JobOutput
from hotmesh.durable._graph import ensure_deployed

__all__ = ["connection_key", "engine_for", "result_waiter", "shutdown", "start_workers"]

_ENGINES: dict[tuple[str, str], HotMesh] = {}
_MESHES: list[HotMesh] = []
_WAITERS: dict[int, dict[str, list[asyncio.Future[JobOutput]]]] = {}
_LOCK: asyncio.Lock | None = None
_ACTIVITY_QUEUES: set[tuple[str, str, str]] = set()


def connection_key(connection: Mapping[str, Any]) -> str:
    """A stable key for a connection config (its class may be a module or a class)."""
    return json.dumps(connection, sort_keys=True, default=lambda v: getattr(v, "__name__", str(v)))


def _lock() -> asyncio.Lock:
    global _LOCK
    if _LOCK is None:
        _LOCK = asyncio.Lock()
    return _LOCK


async def engine_for(
    connection: Mapping[str, Any], namespace: str, *, lease: float | None = None
) -> HotMesh:
    """This process's engine for ``namespace`` on ``connection`` (started and deployed
    once; it also advances workflows)."""
    key = (connection_key(connection), namespace)
    hm = _ENGINES.get(key)
    if hm is not None:
        return hm
    async with _lock():
        hm = _ENGINES.get(key)
        if hm is None:
            engine: dict[str, Any] = {"connection": dict(connection)}
            if lease is not None:
                engine["lease"] = lease
            hm = await HotMesh.init(app_id=namespace, engine=engine)
            try:
                await ensure_deployed(hm, namespace)
                _WAITERS[id(hm)] = {}
                await hm.psub(f"{namespace}.executed.*", _on_done(hm))
            except BaseException:
                await hm.stop()
                raise
            _ENGINES[key] = hm
    return hm


def _on_done(hm: HotMesh) -> Any:
    def relay(_topic: str, output: JobOutput) -> None:
        waiting = _WAITERS.get(id(hm), {}).pop(output.job_id, [])
        for future in waiting:
            if not future.done():
                future.set_result(output)

    return relay


def result_waiter(hm: HotMesh, workflow_id: str) -> asyncio.Future[JobOutput]:
    """A future set when ``workflow_id`` publishes its completion (a hint: re-check)."""
    future: asyncio.Future[JobOutput] = asyncio.get_running_loop().create_future()
    _WAITERS.setdefault(id(hm), {}).setdefault(workflow_id, []).append(future)
    return future


def forget_waiter(hm: HotMesh, workflow_id: str, future: asyncio.Future[JobOutput]) -> None:
    """Drop a waiter that is no longer needed."""
    waiting = _WAITERS.get(id(hm), {}).get(workflow_id)
    if waiting and future in waiting:
        waiting.remove(future)
        if not waiting:
            _WAITERS[id(hm)].pop(workflow_id, None)


def claim_activity_queue(connection: Mapping[str, Any], namespace: str, queue: str) -> bool:
    """True the first time this process serves ``queue``'s activities on this connection."""
    key = (connection_key(connection), namespace, queue)
    if key in _ACTIVITY_QUEUES:
        return False
    _ACTIVITY_QUEUES.add(key)
    return True


def served(connection: Mapping[str, Any], namespace: str) -> Callable[[str], bool]:
    """``served(topic)``: does this process serve the activity stream ``topic``?"""
    key = connection_key(connection)

    def check(topic: str) -> bool:
        queue = topic.removesuffix("-activity")
        return queue != topic and (key, namespace, queue) in _ACTIVITY_QUEUES

    return check


def release_activity_queue(connection: Mapping[str, Any], namespace: str, queue: str) -> None:
    """Forget that this process serves ``queue``'s activities."""
    _ACTIVITY_QUEUES.discard((connection_key(connection), namespace, queue))


async def start_workers(
    connection: Mapping[str, Any],
    namespace: str,
    workers: Sequence[dict[str, Any]],
    *,
    lease: float | None = None,
) -> HotMesh:
    """A HotMesh running ``workers`` (callbacks) for ``namespace``; stopped by shutdown."""
    hm = await HotMesh.init(
        app_id=namespace,
        workers=[
            {**w, "connection": dict(connection), **({"lease": lease} if lease else {})}
            for w in workers
        ],
    )
    _MESHES.append(hm)
    return hm


def forget(hm: HotMesh) -> None:
    """Drop a stopped worker mesh from the registry."""
    if hm in _MESHES:
        _MESHES.remove(hm)


async def shutdown() -> None:
    """Stop every Durable worker and engine of this process."""
    meshes = list(_MESHES)
    _MESHES.clear()
    for hm in meshes:
        await hm.stop()
    engines = list(_ENGINES.values())
    _ENGINES.clear()
    _ACTIVITY_QUEUES.clear()
    for hm in engines:
        for waiting in _WAITERS.pop(id(hm), {}).values():
            for future in waiting:
                future.cancel()
        await hm.stop()
