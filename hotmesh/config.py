"""Configuration shapes for ``HotMesh.init``, as attrs classes with a cattrs converter.

Users may pass plain keywords/dicts (as in the reference) or these classes; both are
turned into the same typed values before anything connects.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import cattrs
from attrs import define, fields

from hotmesh.errors import ConfigError
from hotmesh.spi import RetryPolicy

__all__ = ["EngineConfig", "HotMeshConfig", "WorkerConfig", "converter", "to_config"]

APP_ID = re.compile(r"[A-Za-z0-9-]+")
WorkerCallback = Callable[..., Awaitable[Any]]


@define(frozen=True)
class EngineConfig:
    """The engine role of a point of presence.

    Attributes:
        connection: ``{"class": asyncpg, "options": {...}}`` or the per-role form; None
            (the default) uses the embedded Postgres (:func:`hotmesh.embedded.dsn`).
        readonly: an engine that never consumes its stream (it can still publish).
        concurrency: engine messages processed at once.
        batch: the most engine messages claimed per statement.
        lease: seconds a claimed engine message is held before another engine may take it.
        poll_interval: the longest idle wait between claims when no wake-up arrives.
    """

    connection: Mapping[str, Any] | None = None
    readonly: bool = False
    concurrency: int = 32
    batch: int = 32
    lease: float = 30.0
    poll_interval: float = 1.0


@define(frozen=True)
class WorkerConfig:
    """A worker: a callback consuming one topic.

    Attributes:
        topic: the worker stream (the ``topic`` of ``worker`` activities).
        callback: ``async def callback(message: WorkerMessage) -> dict | None``; a plain
            ``def`` runs in the default thread pool.
        connection: as for the engine (None: the embedded Postgres).
        retry: how a failing callback is retried (seconds; default 3 attempts).
        timeout: seconds one attempt may run; past it the attempt is cancelled and
            counts as failed (an activity's YAML ``timeout`` overrides it). A ``def``
            callback cannot be interrupted: its thread runs on, its answer is dropped.
        concurrency: callbacks running at once.
        batch: the most messages claimed per statement.
        lease: seconds a delivery is held; renewed while the callback runs.
        history: hand the callback the job's recorded state (``WorkerMessage.history``),
            read by the claim in the same statement; off by default (the request alone
            is cheaper to claim).
    """

    topic: str
    callback: WorkerCallback
    connection: Mapping[str, Any] | None = None
    retry: RetryPolicy | None = None
    timeout: float | None = None
    concurrency: int = 16
    batch: int = 16
    lease: float = 30.0
    poll_interval: float = 1.0
    worker_credentials: Mapping[str, str] | None = None
    history: bool = False

    def __attrs_post_init__(self) -> None:
        if self.history and self.worker_credentials is not None:
            raise ConfigError(
                f"worker {self.topic!r}: history needs the job's record, which a worker "
                "role (worker_credentials) cannot read",
                value=self.topic,
            )
        timeout = self.timeout
        if timeout is not None and (isinstance(timeout, bool) or not timeout > 0):
            raise ConfigError(
                f"worker {self.topic!r}: timeout must be a positive number of seconds",
                value=timeout,
            )


@define(frozen=True)
class HotMeshConfig:
    """Everything ``HotMesh.init`` takes.

    Example:
        >>> HotMeshConfig(app_id="orders").namespace
        'hmsh'
    """

    app_id: str
    engine: EngineConfig | None = None
    workers: tuple[WorkerConfig, ...] = ()
    namespace: str = "hmsh"
    guid: str | None = None
    log_level: str | None = None
    name: str = ""

    def __attrs_post_init__(self) -> None:
        if not isinstance(self.app_id, str) or not APP_ID.fullmatch(self.app_id):
            raise ConfigError(
                f"app_id {self.app_id!r} is invalid: use letters, digits and '-'",
                value=self.app_id,
            )
        if self.app_id == "a":
            raise ConfigError("app_id 'a' is reserved", value=self.app_id)
        if not APP_ID.fullmatch(self.namespace):
            raise ConfigError(f"namespace {self.namespace!r} is invalid", value=self.namespace)
        if self.engine is None and not self.workers:
            raise ConfigError("give an engine, workers, or both", value=self.app_id)


def _callback(value: Any, _: Any) -> WorkerCallback:
    if not callable(value):
        raise ConfigError(
            "a worker callback must be a function (async def, or def run in a thread)",
            value=repr(value),
        )
    return value  # type: ignore[no-any-return]


def _mapping(value: Any, _: Any) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise ConfigError("expected a mapping", value=type(value).__name__)
    return dict(value)


converter = cattrs.Converter()
converter.register_structure_hook_func(lambda t: t == WorkerCallback, _callback)
converter.register_structure_hook_func(lambda t: t == Mapping[str, Any], _mapping)
converter.register_structure_hook_func(
    lambda t: t == Mapping[str, Any] | None, lambda v, t: None if v is None else _mapping(v, t)
)


def _retry(value: Any, _: Any) -> RetryPolicy | None:
    if value is None or isinstance(value, RetryPolicy):
        return value
    if not isinstance(value, Mapping):
        raise ConfigError("retry must be a mapping", value=value)
    names = [f.name for f in fields(RetryPolicy)]
    unknown = sorted(str(k) for k in value if k not in names)
    if unknown:
        raise ConfigError(
            f"unknown retry setting {unknown[0]!r}; the settings are {', '.join(names)}",
            value=unknown[0],
        )
    try:
        return RetryPolicy(**value)
    except (TypeError, ValueError) as err:
        raise ConfigError(f"invalid retry policy: {err}", value=dict(value)) from err


converter.register_structure_hook(RetryPolicy | None, _retry)


def to_config(
    config: HotMeshConfig | Mapping[str, Any] | None = None, **keywords: Any
) -> HotMeshConfig:
    """Build a :class:`HotMeshConfig` from a config value, a mapping or keywords.

    Raises:
        ConfigError: a field is missing, unknown or of the wrong type; the message names it.
    """
    if isinstance(config, HotMeshConfig):
        return config
    raw: dict[str, Any] = {**(dict(config) if config else {}), **keywords}
    if "appId" in raw:
        raw["app_id"] = raw.pop("appId")
    workers = raw.get("workers") or []
    if isinstance(workers, Mapping):
        raise ConfigError("workers must be a list of worker configs", value="workers")
    raw["workers"] = [_worker_keys(w) for w in workers]
    try:
        return converter.structure(raw, HotMeshConfig)
    except ConfigError:
        raise
    except Exception as err:
        leaf = _first_config_error(err)
        if leaf is not None:
            raise leaf from err
        detail = (
            "; ".join(cattrs.transform_error(err, path="config"))
            if isinstance(err, cattrs.BaseValidationError)
            else str(err)
        )
        raise ConfigError(f"invalid HotMesh config: {detail}", value=detail) from err


def _first_config_error(err: BaseException) -> ConfigError | None:
    if isinstance(err, ConfigError):
        return err
    for inner in getattr(err, "exceptions", ()):
        found = _first_config_error(inner)
        if found is not None:
            return found
    return None


def _worker_keys(worker: Any) -> Any:
    if not isinstance(worker, Mapping):
        return worker
    worker = dict(worker)
    if "workerCredentials" in worker:
        worker["worker_credentials"] = worker.pop("workerCredentials")
    return worker
