"""The HotMesh instances Virtual keeps per process: one engine per (namespace,
connection) and one worker per (namespace, connection, topic)."""

from __future__ import annotations

import asyncio
import inspect
import json
import logging
from collections.abc import Callable, Mapping
from typing import Any

from hotmesh import HotMesh, RetryPolicy, WorkerMessage
from hotmesh.durable import seconds
from hotmesh.errors import ConfigError
from hotmesh.virtual._context import CURRENT, VirtualContext
from hotmesh.virtual._graphs import VERSION, app_yaml
from hotmesh.virtual._waits import Completions

__all__ = ["DEFAULT_RETRY", "Meshes", "retry_policy"]

log = logging.getLogger("hotmesh.virtual")

#: Virtual's default: 3 attempts in all, 1 s then 2 s apart (at most 30 s).
DEFAULT_RETRY = RetryPolicy(
    maximum_attempts=3, initial_interval=1.0, backoff_coefficient=2.0, maximum_interval=30.0
)
_FIELDS = ("maximum_attempts", "initial_interval", "backoff_coefficient", "maximum_interval")


def retry_policy(retry: Any) -> RetryPolicy:
    """``retry`` (a :class:`hotmesh.virtual.RetryPolicy`, a :class:`hotmesh.RetryPolicy`
    or a mapping of their fields) as the worker's :class:`hotmesh.RetryPolicy`; fields
    left ``None`` (or no policy) take Virtual's defaults (3 attempts, coefficient 2, 1 s,
    30 s). ``throw_on_error`` means nothing here: a failed ``exec`` always raises.

    Example:
        >>> retry_policy(None).maximum_attempts, retry_policy(None).backoff_coefficient
        (3, 2.0)
    """
    if retry is None:
        return DEFAULT_RETRY
    if isinstance(retry, Mapping):
        values = {name: retry.get(name) for name in _FIELDS}
    elif all(hasattr(retry, name) for name in _FIELDS):
        values = {name: getattr(retry, name) for name in _FIELDS}
    else:
        raise ConfigError(f"retry must be a RetryPolicy, not {retry!r}", value=retry)
    chosen = {k: (getattr(DEFAULT_RETRY, k) if v is None else v) for k, v in values.items()}
    try:
        for name in ("initial_interval", "maximum_interval"):
            chosen[name] = seconds(chosen[name], name=f"retry.{name}")
        return RetryPolicy(**chosen)
    except (TypeError, ValueError) as err:
        raise ConfigError(f"invalid retry policy: {err}", value=retry) from err


def connection_key(connection: Mapping[str, Any]) -> str:
    """A stable key for a connection config (its class and options)."""
    if not isinstance(connection, Mapping):
        raise ConfigError("connection must be a mapping like {'class': ..., 'options': ...}",
                          value=connection)  # fmt: skip
    return json.dumps(connection, sort_keys=True, default=repr)


class Meshes:
    """The process's Virtual engines and workers (what ``shutdown`` stops)."""

    def __init__(self) -> None:
        self.engines: dict[tuple[str, str], HotMesh] = {}
        self.completions: dict[tuple[str, str], Completions] = {}
        self.workers: dict[tuple[str, str, str], HotMesh] = {}
        self._lock: asyncio.Lock | None = None

    def _guard(self) -> asyncio.Lock:
        if self._lock is None:
            self._lock = asyncio.Lock()
        return self._lock

    async def engine(self, namespace: str, connection: Mapping[str, Any]) -> HotMesh:
        """The engine for ``namespace`` on ``connection``; started and the app deployed
        (or upgraded) on first use."""
        key = (namespace, connection_key(connection))
        async with self._guard():
            mesh = self.engines.get(key)
            if mesh is None:
                mesh = await HotMesh.init(app_id=namespace, engine={"connection": connection})
                completions = Completions()
                try:
                    await _deploy(mesh, namespace)
                    await completions.listen(mesh, namespace)
                except BaseException:
                    await mesh.stop()
                    raise
                self.engines[key] = mesh
                self.completions[key] = completions
            return mesh

    async def calls(
        self, namespace: str, connection: Mapping[str, Any]
    ) -> tuple[HotMesh, Completions]:
        """The engine for ``namespace`` on ``connection`` and its call-completion waiters."""
        mesh = await self.engine(namespace, connection)
        return mesh, self.completions[(namespace, connection_key(connection))]

    async def worker(
        self,
        namespace: str,
        connection: Mapping[str, Any],
        topic: str,
        callback: Callable[..., Any],
        retry: RetryPolicy,
    ) -> None:
        """Start the worker of ``topic`` unless this process already runs one."""
        if not isinstance(topic, str) or not topic:
            raise ConfigError("topic must be a non-empty string", value=topic)
        if not callable(callback):
            raise ConfigError("callback must be a function", value=repr(callback))
        await self.engine(namespace, connection)
        key = (namespace, connection_key(connection), topic)
        async with self._guard():
            if key in self.workers:
                return
            handler = _handler(namespace, topic, callback, retry)
            self.workers[key] = await HotMesh.init(
                app_id=namespace,
                workers=[
                    {"topic": topic, "connection": connection, "callback": handler, "retry": retry}
                ],
            )

    async def stop(self) -> None:
        """Stop every worker, then every engine."""
        meshes = [*self.workers.values(), *self.engines.values()]
        self.workers.clear()
        self.engines.clear()
        self.completions.clear()
        self._lock = None
        for mesh in meshes:
            await mesh.stop()


async def _deploy(mesh: HotMesh, namespace: str) -> None:
    """Deploy and activate Virtual's graphs unless this version (or a newer one) is active."""
    assert mesh.engine is not None
    try:
        active = (await mesh.engine.manifest()).version
    except ConfigError:
        active = None
    try:
        current = int(str(active)) if active is not None else None
    except ValueError:
        current = None
    if current is None or current < VERSION:
        await mesh.deploy(app_yaml(namespace))
        await mesh.activate(str(VERSION))


def _handler(
    namespace: str, topic: str, callback: Callable[..., Any], retry: RetryPolicy
) -> Callable[[WorkerMessage], Any]:
    """The worker callback: runs ``callback(*args)`` inside a :class:`VirtualContext`."""

    async def handle(message: WorkerMessage) -> dict[str, Any]:
        meta = message.metadata
        is_cron = meta.get("aid") == "worker_cron"
        attempt = int(meta.get("try") or 0) + 1
        context = VirtualContext(
            topic=topic,
            workflow_id=str(meta.get("jid", "")),
            workflow_name=f"{namespace}.{'cron' if is_cron else 'call'}",
            dimension=str(meta.get("dad", "")),
            attempt=attempt,
            guid=str(meta.get("guid") or f"{meta.get('jid')}{meta.get('dad')}"),
            trace_id=str(meta.get("trc") or ""),
            span_id=str(meta.get("spn") or ""),
        )
        args = message.data.get("args") or []
        token = CURRENT.set(context)
        try:
            result = callback(*args)
            if inspect.isawaitable(result):
                result = await result
        except Exception as err:
            final = attempt >= retry.maximum_attempts
            log.warning(
                "virtual callback failed%s",
                "; no attempts left" if final else "; it will be retried",
                extra={"topic": topic, "job_id": context.workflow_id, "attempt": attempt},
                exc_info=True,
            )
            if final and is_cron:  # an error answer: the cron records it and keeps cycling
                return {
                    "status": "error",
                    "code": 500,
                    "data": {"message": str(err), "name": type(err).__name__, "code": 500},
                }
            raise
        finally:
            CURRENT.reset(token)
        return {"data": {"response": result}}

    return handle
