"""The ``HotMesh`` facade: one point of presence in a mesh that shares only Postgres."""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence
from types import TracebackType
from typing import Any, Literal, overload

from hotmesh import serializer, telemetry
from hotmesh.config import HotMeshConfig, to_config
from hotmesh.engine.completion import Completions, JobCallback, result_channel, result_relay
from hotmesh.engine.job_layout import cancel_fields
from hotmesh.engine.model import AppManifest
from hotmesh.engine.runtime import ENGINE_STREAM, Engine, guid, job_output
from hotmesh.errors import ConfigError, JobFailed, JobNotFound, PubSubTimeout
from hotmesh.facade.job_reads import JobReads
from hotmesh.facade.mesh_calls import MeshCalls
from hotmesh.mesh import roles
from hotmesh.mesh.connections import Connections
from hotmesh.mesh.member import MemberParts
from hotmesh.mesh.quorum import Quorum
from hotmesh.mesh.router import Router
from hotmesh.mesh.worker import Worker
from hotmesh.spi import Backend, Codec, Inspector, Subscription
from hotmesh.spi.diagnostics import Diagnostics
from hotmesh.types import JobOutput, JobState, job_error, job_status
from hotmesh.validation import check_name, check_optional_mapping, check_payload

__all__ = ["HotMesh"]

log = logging.getLogger(__name__)


class HotMesh(MeshCalls, JobReads):
    """A point of presence: an engine, workers, or both, for one app.

    Example:
        >>> import asyncpg
        >>> async def process(message):
        ...     return {"data": {"orderId": message.data["id"], "status": "fulfilled"}}
        >>> async def main(dsn: str, yaml_text: str) -> None:  # doctest: +SKIP
        ...     connection = {"class": asyncpg, "options": {"dsn": dsn}}
        ...     hm = await HotMesh.init(
        ...         app_id="myapp",
        ...         engine={"connection": connection},
        ...         workers=[{"topic": "order.process", "connection": connection,
        ...                   "callback": process}],
        ...     )
        ...     await hm.deploy(yaml_text)
        ...     await hm.activate("1")
        ...     result = await hm.pubsub("order.placed", {"id": "ORD-1"}, timeout=10)
        ...     await hm.stop()
    """

    def __init__(self, config: HotMeshConfig) -> None:
        self.config = config
        self.app_id = config.app_id
        self.guid = config.guid or guid()
        self.engine: Engine | None = None
        self.workers: list[Worker] = []
        self._connections = Connections(self.app_id)
        self._backends: list[Backend] = self._connections.opened
        self._engine_backend: Backend | None = None
        self._completions: Completions | None = None
        self._router: Router | None = None
        self._quorum: Quorum | None = None
        self._subs: dict[tuple[str, Any], Subscription] = {}
        self._stopped = False

    # -- lifecycle ------------------------------------------------------------------------

    @classmethod
    async def init(
        cls, config: HotMeshConfig | Mapping[str, Any] | None = None, **keywords: Any
    ) -> HotMesh:
        """Connect, create or upgrade the app's schema, and start the engine and workers.

        Takes a :class:`~hotmesh.config.HotMeshConfig`, a mapping, or keywords:
        ``app_id``, ``engine={"connection": ...}``, ``workers=[{"topic", "connection",
        "callback", "retry"?}]``, ``namespace``, ``guid``, ``log_level``. A worker's
        ``retry`` is a :class:`~hotmesh.RetryPolicy` or a mapping of its fields
        (``{"maximum_attempts": 5, "maximum_interval": "30s"}``).

        Raises:
            ConfigError: the configuration is invalid (the message names the field).
            ProviderNotFound: no installed provider handles a ``connection["class"]``.
            DatabaseUnavailable, AuthenticationFailed: the database refused or is away.
        """
        hm = cls(to_config(config, **keywords))
        if hm.config.log_level:
            logging.getLogger("hotmesh").setLevel(hm.config.log_level.upper())
        try:
            await hm._start()
        except BaseException:
            await hm.stop()
            raise
        return hm

    async def _start(self) -> None:
        if self.config.engine is not None:
            engine_cfg = self.config.engine
            backend = await self._connections.connect(engine_cfg.connection)
            self._engine_backend = backend
            completions = Completions(backend, self.guid, manifest=lambda: engine.manifest())
            engine = Engine(backend, app_id=self.app_id, guid=self.guid, notify=completions.notify)
            engine.namespace = self.config.namespace
            self.engine, self._completions = engine, completions
            await completions.start()
            if not engine_cfg.readonly:
                self._router = Router(
                    backend.stream,
                    ENGINE_STREAM,
                    telemetry.traced_steps(self.engine.process, self.app_id),
                    concurrency=engine_cfg.concurrency,
                    batch=engine_cfg.batch,
                    lease=engine_cfg.lease,
                    poll_interval=engine_cfg.poll_interval,
                    ack=False,
                    consumer=f"engine:{self.guid}",
                    with_job=True,
                    on_dead_letter=self.engine.on_dead_letter,
                    handoff=True,  # Engine.process reads the job a hand-off lacks
                )
            shared = self._connections.handoff(backend)
            if shared is not None:  # messages for this process's consumers skip the claim
                engine.handoff = shared
                if self._router is not None:
                    shared.register(self._router)
        for worker_cfg in self.config.workers:
            if worker_cfg.topic.startswith("$"):
                raise ConfigError("worker topics cannot start with '$'", value=worker_cfg.topic)
            if worker_cfg.worker_credentials is not None:
                backend = await self._connections.connect_secured(worker_cfg)
            else:
                backend = await self._connections.connect(worker_cfg.connection)
            worker = Worker(backend, worker_cfg, self.guid)
            self.workers.append(worker)
            shared = self._connections.handoff(backend)
            if shared is not None:  # requests and answers skip the claim in this process
                worker.handoff = shared
                shared.register(worker.router)
        # Join the quorum before consuming: persisted throttles apply from the first claim.
        self._quorum = Quorum(
            MemberParts(
                guid=self.guid,
                app_id=self.app_id,
                namespace=self.config.namespace,
                connection=self._any_backend,
                new_guid=guid,
                engine=self.engine,
                engine_router=self._router,
                workers=tuple(self.workers),
            )
        )
        await self._quorum.start()
        if self._router is not None:
            await self._router.start()
        for worker in self.workers:
            await worker.start()

    async def stop(self, timeout: float = 10.0) -> None:
        """Stop claiming, let running callbacks finish (up to ``timeout`` s), disconnect."""
        if self._stopped:
            return
        self._stopped = True
        if self.engine is not None:
            self.engine.ending.close()  # no completion publish retried through the stop
        if self.engine is not None and self._router is not None:
            self.engine.handoff.unregister(self._router)
        for worker in self.workers:
            worker.handoff.unregister(worker.router)
        if self._router is not None:
            await self._router.stop(timeout)
        for worker in self.workers:
            await worker.stop(timeout)
        if self._quorum is not None:
            await self._quorum.close()
        if self._completions is not None:
            self._completions.close()
        await self._connections.close()

    async def __aenter__(self) -> HotMesh:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    @staticmethod
    def register_codec(codec: Codec | None) -> None:
        """Set the process-wide codec for values at rest (``None`` removes it).

        Reference name: ``registerCodec``.
        """
        serializer.register_codec(codec)

    # -- secured worker roles (hotmesh.mesh.roles, docs/security.md) ---------------------------

    provision_worker_role = staticmethod(roles.provision_worker_role)
    list_worker_roles = staticmethod(roles.list_worker_roles)
    revoke_worker_role = staticmethod(roles.revoke_worker_role)
    rotate_worker_password = staticmethod(roles.rotate_worker_password)

    @staticmethod
    def new_guid() -> str:
        """A new unique id (what the reference's ``HotMesh.guid()`` returns)."""
        return guid()

    def _require_engine(self) -> Engine:
        if self.engine is None:
            raise ConfigError(
                "this HotMesh has no engine; give engine={...} to init", value="engine"
            )
        return self.engine

    # -- versions -------------------------------------------------------------------------

    async def deploy(self, source: str | Mapping[str, Any]) -> AppManifest:
        """Compile and store a YAML app (text, a file path, or a mapping).

        Raises:
            DeployError: the app is invalid; the message names every bad node.
        """
        return await self._require_engine().deploy(source)

    async def active_version(self) -> str | None:
        """The app's active version as stored, or None when none was activated yet."""
        version = await self._store().active_version()
        return None if version is None else str(version)

    # -- jobs -----------------------------------------------------------------------------

    async def pub(
        self,
        topic: str,
        data: Mapping[str, Any] | None = None,
        context: Mapping[str, Any] | None = None,
        extended: Mapping[str, Any] | None = None,
    ) -> str:
        """Start a job of the graph subscribed to ``topic``; return its id.

        ``extended`` (all keys optional):

        * ``search``: ``{name: value}`` stored as search fields ``_name`` = ``str(value)``;
        * ``marker``: ``{"-name": value}`` stored as flags (keys not starting with ``-``
          are ignored);
        * ``entity``: the job's entity (``metadata.entity``), overriding the trigger's;
        * ``pending``: seconds; the job is created with status -1, none of its
          activities run, and it expires (silently) after that many seconds.

        Example:
            >>> await hm.pub("order.create", {"id": 7}, extended={"pending": 60})  # doctest: +SKIP
            'H...'

        Raises:
            TopicNotFound: no active graph subscribes to ``topic``.
            ValidationError: ``data`` violates the graph's ``input.schema`` (nothing stored).
            DuplicateJob: a live job already has the id the trigger derives.
        """
        check_name(topic, "topic")
        check_optional_mapping(data, "data")
        check_optional_mapping(context, "context")
        check_optional_mapping(extended, "extended")
        return await self._pub(topic, data, context, extended)

    async def _pub(
        self,
        topic: str,
        data: Mapping[str, Any] | None,
        context: Mapping[str, Any] | None,
        extended: Mapping[str, Any] | None = None,
    ) -> str:
        """``pub`` in a ``hotmesh.pub`` span whose ids the job keeps (its later spans join)."""
        engine = self._require_engine()
        attributes = {telemetry.ATTR["app"]: self.app_id, telemetry.ATTR["topic"]: topic}
        with telemetry.span("hotmesh.pub", attributes) as current:
            ctx = {**telemetry.trace_ids(current), **dict(context or {})}
            job_id = await engine.pub(topic, data, context=ctx, extended=extended)
            current.set_attribute(telemetry.ATTR["job_id"], job_id)
        return job_id

    async def pubsub(
        self,
        topic: str,
        data: Mapping[str, Any] | None = None,
        context: Mapping[str, Any] | None = None,
        timeout: float = 10.0,
    ) -> JobOutput:
        """Start a job and wait for its result.

        Raises:
            PubSubTimeout: no result within ``timeout`` seconds (the job keeps running).
            JobFailed: the job completed with an error.
        """
        check_name(topic, "topic")
        check_optional_mapping(data, "data")
        check_optional_mapping(context, "context")
        self._require_engine()
        completions = self._completions
        assert completions is not None  # made with the engine
        ctx = {**dict(context or {}), "ngn": self.guid}
        started = time.monotonic()
        attributes = {telemetry.ATTR["app"]: self.app_id, telemetry.ATTR["topic"]: topic}
        with telemetry.span("hotmesh.pubsub", attributes) as waiting:
            job_id = await self._pub(topic, data, ctx)
            waiting.set_attribute(telemetry.ATTR["job_id"], job_id)
            future = completions.expect(job_id)
            try:
                output = await completions.wait(job_id, future, started + timeout)
            except TimeoutError as err:
                raise PubSubTimeout(
                    f"job {job_id} did not finish within {timeout}s", value=job_id
                ) from err
        error = job_error(output.metadata)
        if error is not None:
            raise JobFailed(
                f"job {job_id} failed: {error.get('message', 'error')}",
                value=job_id,
                error=error,
                output=output,
            )
        return output

    async def sub(self, topic: str, callback: JobCallback) -> None:
        """Receive the results and interim (``emit``) states of every job of the graph that
        ``publishes`` ``topic``, or of one job with ``"<publishes>.<job id>"``.

        The callback gets ``(publishes topic, JobOutput)``, as the reference passes it.

        Example:
            >>> await hm.sub("order.fulfilled", on_any_order)  # doctest: +SKIP
            >>> await hm.sub(f"order.fulfilled.{job_id}", on_one_order)  # doctest: +SKIP
        """
        await self._subscribe(topic, callback, pattern=False)

    async def psub(self, pattern: str, callback: JobCallback) -> None:
        """Receive job results on every channel (``<publishes>.<job id>``) matching the glob
        ``pattern``; the callback gets ``(publishes topic, JobOutput)``.

        Unlike the reference, this works on Postgres: ``psub("order.fulfilled.*", cb)``.
        """
        await self._subscribe(pattern, callback, pattern=True)

    async def unsub(self, topic: str) -> None:
        """Stop a ``sub``."""
        await self._unsubscribe(topic, pattern=False)

    async def punsub(self, pattern: str) -> None:
        """Stop a ``psub``."""
        await self._unsubscribe(pattern, pattern=True)

    async def _subscribe(self, topic: str, callback: JobCallback, *, pattern: bool) -> None:
        check_name(topic, "pattern" if pattern else "topic")
        # ``sub(t)`` hears channel ``t`` itself and every job channel ``t.<job id>``.
        self._subs[(topic, pattern)] = await self._any_backend().sub.psubscribe(
            result_channel(topic, pattern=pattern),
            result_relay(topic, callback, pattern=pattern),
        )

    async def _unsubscribe(self, topic: str, *, pattern: bool) -> None:
        check_name(topic, "pattern" if pattern else "topic")
        handle = self._subs.pop((topic, pattern), None)
        if handle is not None:
            await self._any_backend().sub.unsubscribe(handle)

    def _any_backend(self) -> Backend:
        if self._engine_backend is not None:
            return self._engine_backend
        if self._backends:
            return self._backends[0]
        raise ConfigError("this HotMesh is stopped", value=self.app_id)

    @overload
    async def get_status(self, job_id: str, *, detail: Literal[False] = False) -> int: ...

    @overload
    async def get_status(self, job_id: str, *, detail: Literal[True]) -> JobState: ...

    async def get_status(self, job_id: str, *, detail: bool = False) -> int | JobState:
        """The job's semaphore: 0 finished, > 0 running, < 0 interrupted (or pending).

        A failed job also has semaphore 0 (as in the reference); ``detail=True`` tells
        them apart: it returns a :class:`~hotmesh.types.JobState` with the
        :class:`~hotmesh.types.JobStatus` and the error.

        Example:
            >>> state = await hm.get_status(job_id, detail=True)  # doctest: +SKIP
            >>> state.status, state.error  # doctest: +SKIP
            (<JobStatus.FAILED: 'failed'>, {'message': 'card declined', 'code': 500, ...})

        Raises:
            JobNotFound: no live job has this id.
        """
        check_name(job_id, "job_id")
        if detail:
            job = await self._store().get_job(job_id)
            if job is None:
                raise JobNotFound(value=job_id)
            metadata = job_output(job.state, job.semaphore).metadata
            return JobState(
                job_id, job_status(job.semaphore, metadata), job.semaphore, job_error(metadata)
            )
        status = await self._store().get_status(job_id)
        if status is None:
            raise JobNotFound(value=job_id)
        return int(status)

    async def get_state(self, topic: str, job_id: str) -> JobOutput:
        """The job's metadata and data.

        Raises:
            JobNotFound: no live job has this id.
        """
        job = await self._job(job_id)
        return job_output(job.state, job.semaphore)

    async def interrupt(
        self,
        topic: str,
        job_id: str,
        *,
        reason: str | None = None,
        throw: bool = True,
        code: int = 410,
        expire: float | None = None,
        suppress: bool = False,
    ) -> None:
        """Interrupt a running job; its pubsub waiters and parent hear of it.

        Raises:
            JobNotFound: the job is not running (unless ``suppress``).
        """
        check_name(topic, "topic")
        check_name(job_id, "job_id")
        try:
            await self._require_engine().interrupt(
                job_id, reason=reason, throw=throw, code=code, expire=expire
            )
        except JobNotFound:
            if not suppress:
                raise

    async def cancel(self, job_id: str) -> None:
        """Flag the job as cancelled (cooperative: Durable workflows check the flag)."""
        check_name(job_id, "job_id")
        await self._store().apply_step(job_id, cancel_fields())

    async def scrub(self, job_id: str) -> None:
        """Delete the job and its pending messages."""
        await self._store().delete_job(check_name(job_id, "job_id"))

    async def signal(
        self, topic: str, data: Mapping[str, Any], status: str = "success", code: int = 200
    ) -> int:
        """Wake the hook waiting on ``topic`` whose rule matches ``data``; return the message id.

        Raises:
            TopicNotFound: no hook of the active version listens to ``topic``.
        """
        check_name(topic, "topic")
        check_payload(data, "data")
        return await self._require_engine().signal(topic, data, status, code)

    async def get_stats(self, topic: str, query: Mapping[str, Any]) -> dict[str, Any]:
        """The trigger stats of ``topic``'s jobs over a time window (spec 2.10.3).

        ``query``: ``data`` (resolves the trigger's ``stats.key``), and exactly two of
        ``start``, ``end`` (``'NOW'`` allowed) and ``range`` (``'30m'``, ``'1h'``, ``'2d'``);
        none with granularity ``infinity``. ``sparse: True`` leaves out the segments.

        Returns:
            ``{key, granularity, range, start, end, count, measures: [{target, type,
            value}], segments: [{time, count, measures}]}`` — one segment per bucket.

        Raises:
            TopicNotFound: no graph subscribes to ``topic``.
            ConfigError: the trigger keeps no stats, or the query is ill-formed.
        """
        check_name(topic, "topic")
        check_payload(query, "query")
        return await self._require_engine().get_stats(topic, query)

    async def get_ids(
        self, topic: str, query: Mapping[str, Any], facets: Sequence[str] | None = None
    ) -> dict[str, Any]:
        """The ids of ``topic``'s jobs filed under index ``facets`` (like ``'color:red'``;
        default: the index facets ``query["data"]`` gives), over the query's window.

        Returns:
            ``{key, facets, granularity, range, start, end, counts: [{facet, count}],
            segments: [{time, measures: [{type: 'ids', target, time, count, ids}]}]}``.
        """
        check_name(topic, "topic")
        check_payload(query, "query")
        return await self._require_engine().get_ids(topic, query, facets)

    async def signal_all(
        self,
        hook_topic: str,
        data: Mapping[str, Any],
        query: Mapping[str, Any],
        facets: Sequence[str] | None = None,
    ) -> list[str]:
        """Signal ``hook_topic`` for every job indexed under ``facets`` (spec 2.8.4).

        The jobs are found through the stats index of the graph that holds the hook (its
        trigger's ``stats.key`` resolved from ``query["data"]``); each gets the signal
        ``{**data, "id": <job id>}``. Returns the job ids signalled (the reference returns
        its index list keys).
        """
        check_name(hook_topic, "hook_topic")
        check_payload(data, "data")
        check_payload(query, "query")
        return await self._require_engine().signal_all(hook_topic, data, query, facets)

    def _store(self) -> Any:
        return self._any_backend().store

    def inspector(self) -> Inspector:
        """Read-only views of the app's versions, jobs and streams (what the dashboard shows).

        Example:
            >>> page = await hm.inspector().list_jobs(JobFilter(status="failed"))  # doctest: +SKIP

        Raises:
            ConfigError: the provider offers no :class:`~hotmesh.spi.Inspector`.
        """
        found = getattr(self._any_backend(), "inspector", None)
        if not isinstance(found, Inspector):
            raise ConfigError(
                "this provider offers no inspector (dashboard views)", value="inspector"
            )
        return found

    def diagnostics(self) -> Diagnostics:
        """Facts about the database server (settings, a write counter, its process id), for
        benchmarks such as ``hotmesh bench``.

        Example:
            >>> await hm.diagnostics().settings(["server_version"])  # doctest: +SKIP
            {'server_version': '16.4'}

        Raises:
            ConfigError: the provider offers no :class:`~hotmesh.spi.diagnostics.Diagnostics`.
        """
        found = getattr(self._any_backend(), "diagnostics", None)
        if not isinstance(found, Diagnostics):
            raise ConfigError("this provider offers no server diagnostics", value="diagnostics")
        return found
