"""The Virtual functions: ``connect``, ``exec``, ``flush``, ``cron``, ``interrupt``,
``shutdown`` (durable.md §8, durable-api.md "Virtual")."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from cronsim import CronSim, CronSimError

from hotmesh import HotMesh
from hotmesh import RetryPolicy as SpiRetryPolicy
from hotmesh.durable import Duration, RetryPolicy, seconds
from hotmesh.errors import ConfigError, DuplicateJob, JobNotFound, PubSubTimeout
from hotmesh.virtual._meshes import Meshes, retry_policy
from hotmesh.virtual._waits import Completions

__all__ = ["connect", "cron", "exec", "flush", "interrupt", "shutdown"]

log = logging.getLogger("hotmesh.virtual")

DEFAULT_NAMESPACE = "hmsh"
#: ``max_cycles=None``: no limit (a number no cron reaches).
_UNLIMITED = 2**53 - 1
_MESHES = Meshes()
#: A waiting ``exec`` re-reads the call's state this often when no completion was heard:
#: pub/sub is at most once (a notification sent while the listener reconnected is lost).
_RECHECK = 5.0


async def connect(
    *,
    topic: str,
    connection: Mapping[str, Any],
    callback: Callable[..., Awaitable[Any] | Any],
    retry: RetryPolicy | SpiRetryPolicy | None = None,
    namespace: str = DEFAULT_NAMESPACE,
) -> None:
    """Serve ``topic``: every ``exec`` and cron cycle on it runs ``callback(*args)``.

    A raised exception is retried by ``retry`` (default 3 attempts in all, 1 s then 2 s
    apart, at most 30 s); once the attempts are used up the ``exec`` raises
    :class:`hotmesh.errors.JobFailed`. A process serves a topic once: a second
    ``connect`` for it is a no-op. The namespace's graphs are deployed on first use.

    Example:
        >>> async def greet(name: str) -> dict:
        ...     return {"hello": name}
        >>> await virtual.connect(topic="greet", connection=conn, callback=greet)  # doctest: +SKIP

    Raises:
        ConfigError: a bad topic, callback, retry policy or connection.
    """
    await _MESHES.worker(namespace, connection, topic, callback, retry_policy(retry))


async def exec(
    *,
    topic: str,
    connection: Mapping[str, Any],
    args: Sequence[Any] = (),
    id: str | None = None,
    ttl: Duration | None = None,
    flush: bool = False,
    timeout: Duration = 30,
    namespace: str = DEFAULT_NAMESPACE,
) -> Any:
    """Call the function served on ``topic`` with ``args`` and return its result.

    ``id`` is the cache key. With ``ttl`` the finished call is kept that long and a later
    ``exec`` with the same ``id`` returns the cached result **without calling again and
    whatever its args** (the args are ignored on a hit; a hit whose args differ is logged
    as a warning). A call still running under that ``id`` is waited for, never returned
    unfinished; a failed call is not cached (the next ``exec`` runs it again).
    The wait is event-driven (the call's completion is published) and bounded by
    ``timeout``. ``flush=True`` drops the entry first. Without ``ttl`` the id is only an
    idempotency key: a second ``exec`` while the first is live raises ``DuplicateJob``.

    Example:
        >>> await virtual.exec(topic="greet", connection=conn, args=["Ada"],
        ...                    id="greet-ada", ttl="1 minute")  # doctest: +SKIP
        {'hello': 'Ada'}

    Raises:
        JobFailed: the callback failed on every attempt (``.job_id`` names the call).
        PubSubTimeout: no result within ``timeout`` seconds, also while waiting for a
            running call under ``id`` (the call goes on; ``.value`` is the id).
        DuplicateJob: ``id`` is live and no ``ttl`` was given.
        ConfigError: a bad duration, id or connection.
    """
    wait = seconds(timeout, name="timeout")
    expire = seconds(ttl, name="ttl") if ttl is not None else 1.0
    if expire <= 0:  # an expire of 0 would keep the entry forever
        raise ConfigError("ttl must be more than 0 seconds", value=ttl)
    arguments = _json_args(args)
    if id is not None and (not isinstance(id, str) or not id):
        raise ConfigError("id must be a non-empty string", value=id)
    mesh, completions = await _MESHES.calls(namespace, connection)
    job_id = id or HotMesh.new_guid()
    call = {"id": job_id, "expire": expire, "topic": topic, "args": arguments}
    deadline = time.monotonic() + wait
    if id is not None and flush:
        await mesh.scrub(id)
    for _ in range(3):  # a cached entry can expire or fail between the read and the publish
        if id is not None and ttl is not None and not flush:
            found, value = await _cached(mesh, completions, namespace, id, arguments, deadline)
            if found:
                return value
        try:
            output = await mesh.pubsub(
                f"{namespace}.call",
                call,
                context={"expire": expire},  # how long the finished call (the entry) lives
                timeout=max(deadline - time.monotonic(), 0.001),
            )
        except DuplicateJob:
            if id is None or ttl is None or flush:
                raise
            continue
        return output.data.get("response")
    raise DuplicateJob(f"duplicate job: {job_id}", value=job_id)


async def _cached(
    mesh: HotMesh,
    completions: Completions,
    namespace: str,
    job_id: str,
    args: list[Any],
    deadline: float,
) -> tuple[bool, Any]:
    """``(True, response)`` for a finished, successful entry; ``(False, None)`` when there
    is none (a failed or interrupted one is dropped). A running call is waited for, until
    its completion is heard (or, as a safety net, every :data:`_RECHECK` seconds)."""
    while True:
        with completions.expect(job_id) as finished:  # before the read: no missed wake-up
            try:
                state = await mesh.get_state(f"{namespace}.call", job_id)
            except JobNotFound:
                return False, None
            status = int(state.metadata.get("js") or 0)
            if status < 0 or state.metadata.get("err"):  # interrupted or failed: no result
                await mesh.scrub(job_id)
                return False, None
            if status == 0:
                if state.data.get("args", args) != args:
                    log.warning(
                        "virtual.exec cache hit for id %r with different args; "
                        "returning the cached result (flush it to call again)",
                        job_id,
                        extra={"job_id": job_id},
                    )
                return True, state.data.get("response")
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise PubSubTimeout(f"call {job_id} is still running", value=job_id)
            # The call is running: wait for it, never return it unfinished.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(finished, min(remaining, _RECHECK))


async def flush(
    *,
    topic: str,
    connection: Mapping[str, Any],
    id: str,
    namespace: str = DEFAULT_NAMESPACE,
) -> None:
    """Drop the cached ``exec`` result stored under ``id`` (nothing if there is none).

    Example:
        >>> await virtual.flush(topic="greet", connection=conn, id="greet-ada")  # doctest: +SKIP
    """
    mesh = await _MESHES.engine(namespace, connection)
    await mesh.scrub(id)


async def cron(
    *,
    topic: str,
    connection: Mapping[str, Any],
    id: str,
    interval: Duration,
    args: Sequence[Any] = (),
    callback: Callable[..., Awaitable[Any] | Any] | None = None,
    retry: RetryPolicy | SpiRetryPolicy | None = None,
    max_cycles: int | None = None,
    delay: Duration | None = None,
    namespace: str = DEFAULT_NAMESPACE,
) -> bool:
    """Run the function on ``topic`` on a schedule, as the cron job ``id``.

    ``interval`` is a 5-field cron expression in UTC (``"0 9 * * mon-fri"``; the first run
    waits for the next tick and ``delay`` is ignored) or a duration (``"30s"``, ``60``; the
    first run starts after ``delay``, at once by default). Runs are at least
    ``HMSH_FIDELITY_SECONDS`` (5) apart. ``max_cycles`` caps the runs (no cap by default).
    A run that fails is retried by the worker's retry policy, logged, and the cron keeps
    its schedule. With ``callback`` this process also serves ``topic`` (as ``connect``).

    Returns:
        True if the cron started; False if a cron with this ``id`` is live already.

    Example:
        >>> await virtual.cron(topic="report", connection=conn, id="daily-report",
        ...                    interval="0 6 * * *", callback=send_report)  # doctest: +SKIP
        True

    Raises:
        ConfigError: ``interval`` is neither a cron expression nor a duration, or
            another argument is malformed.
    """
    if not isinstance(id, str) or not id:
        raise ConfigError("id must be a non-empty string", value=id)
    if max_cycles is not None and (
        isinstance(max_cycles, bool) or not isinstance(max_cycles, int) or max_cycles < 1
    ):
        raise ConfigError("max_cycles must be an integer >= 1", value=max_cycles)
    schedule = _schedule(interval, delay)
    arguments = _json_args(args)
    if callback is not None:
        await connect(
            topic=topic, connection=connection, callback=callback, retry=retry,
            namespace=namespace,
        )  # fmt: skip
    mesh = await _MESHES.engine(namespace, connection)
    data = {
        "id": id,
        "topic": topic,
        "args": arguments,
        "maxCycles": max_cycles or _UNLIMITED,
        **schedule,
    }
    try:
        await mesh.pub(f"{namespace}.cron", data)
    except DuplicateJob:
        return False
    return True


def _schedule(interval: Any, delay: Any) -> dict[str, Any]:
    """``{cron, interval, delay}`` for the cron graph (seconds; ``cron`` or None)."""
    fidelity = _fidelity()
    if isinstance(interval, str) and len(interval.split()) == 5:
        try:
            following = next(CronSim(interval, datetime.now(UTC)))
        except CronSimError as err:
            raise ConfigError(
                f"Invalid cron/interval expression: {interval}", value=interval
            ) from err
        wait = (following - datetime.now(UTC)).total_seconds()
        return {"cron": interval, "interval": fidelity, "delay": max(round(wait), fidelity)}
    try:
        every = seconds(interval, name="interval")
    except ConfigError as err:
        raise ConfigError(f"Invalid cron/interval expression: {interval}", value=interval) from err
    first = seconds(delay, name="delay") if delay is not None else None
    return {"cron": None, "interval": max(every, fidelity), "delay": first}


def _fidelity() -> int:
    """The engine's timer granularity, ``HMSH_FIDELITY_SECONDS`` (default 5 s)."""
    try:
        return max(1, int(os.environ.get("HMSH_FIDELITY_SECONDS", "5")))
    except ValueError:
        return 5


async def interrupt(
    *,
    topic: str,
    connection: Mapping[str, Any],
    id: str,
    namespace: str = DEFAULT_NAMESPACE,
) -> bool:
    """Stop the cron ``id``; its id is free again about a second later.

    Returns:
        True if it was running; False if there is no such live cron.

    Example:
        >>> await virtual.interrupt(
        ...     topic="report", connection=conn, id="daily-report"
        ... )  # doctest: +SKIP
        True
    """
    mesh = await _MESHES.engine(namespace, connection)
    try:
        await mesh.interrupt(f"{namespace}.cron", id, throw=False, expire=1)
    except JobNotFound:
        return False
    return True


async def shutdown() -> None:
    """Stop every Virtual worker and engine this process started.

    Example:
        >>> await virtual.shutdown()  # doctest: +SKIP
    """
    await _MESHES.stop()


def _json_args(args: Sequence[Any]) -> list[Any]:
    if isinstance(args, str | bytes) or not isinstance(args, Sequence):
        raise ConfigError("args must be a list of arguments", value=args)
    try:
        loaded: list[Any] = json.loads(json.dumps(list(args)))
    except (TypeError, ValueError) as err:
        raise ConfigError(f"args must be JSON values: {err}", value=repr(args)) from err
    return loaded
