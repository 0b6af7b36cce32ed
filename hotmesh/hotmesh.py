"""The ``HotMesh`` facade: one point of presence in a mesh that shares only Postgres."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from types import TracebackType
from typing import Any, Literal, overload

from hotmesh import serializer, telemetry
from hotmesh._job_reads import JobReads
from hotmesh.config import HotMeshConfig, WorkerConfig, to_config
from hotmesh.engine.model import AppManifest
from hotmesh.engine.runtime import ENGINE_STREAM, Engine, guid, job_output
from hotmesh.errors import ConfigError, JobFailed, JobNotFound, ProviderError, PubSubTimeout
from hotmesh.mesh import roles
from hotmesh.mesh.quorum import Quorum, QuorumCallback, QuorumProfile
from hotmesh.mesh.router import Router
from hotmesh.mesh.worker import Worker
from hotmesh.plugins import provider_for, split_connection
from hotmesh.spi import Backend, Codec, Inspector, Subscription
from hotmesh.types import JobOutput, JobState, job_error, job_status
from hotmesh.validation import check_name, check_optional_mapping, check_payload

__all__ = ["HotMesh"]

log = logging.getLogger(__name__)

JobCallback = Callable[[str, JobOutput], Awaitable[None] | None]
_EARLY_TTL = 30.0
#: A pubsub waiting this long re-reads its job's state as often (lost publications).
_RECHECK = 1.0


class HotMesh(JobReads):
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
        self._backends: list[Backend] = []
        self._engine_backend: Backend | None = None
        self._router: Router | None = None
        self._quorum: Quorum | None = None
        self._waiters: dict[str, asyncio.Future[JobOutput]] = {}
        self._early: dict[str, tuple[float, JobOutput]] = {}
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
        cache: dict[str, Backend] = {}
        if self.config.engine is not None:
            engine_cfg = self.config.engine
            backend = await self._connect(engine_cfg.connection, cache)
            self._engine_backend = backend
            self.engine = Engine(backend, app_id=self.app_id, guid=self.guid, notify=self._notify)
            self.engine.namespace = self.config.namespace
            await backend.sub.subscribe(f"$ngn.{self.guid}", self._on_result)
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
                )
        for worker_cfg in self.config.workers:
            if worker_cfg.topic.startswith("$"):
                raise ConfigError("worker topics cannot start with '$'", value=worker_cfg.topic)
            if worker_cfg.worker_credentials is not None:
                backend = await self._connect_secured(worker_cfg)
            else:
                backend = await self._connect(worker_cfg.connection, cache)
            worker = Worker(backend, worker_cfg, self.guid)
            self.workers.append(worker)
        # Join the quorum before consuming: persisted throttles apply from the first claim.
        self._quorum = Quorum(self)
        await self._quorum.start()
        if self._router is not None:
            await self._router.start()
        for worker in self.workers:
            await worker.start()

    async def _connect(
        self, connection: Mapping[str, Any] | None, cache: dict[str, Backend]
    ) -> Backend:
        """One backend per distinct connection config; the per-role form composes them.

        No connection: the embedded Postgres (one backend for the engine and workers).
        """
        if connection is None:
            if "embedded" not in cache:
                from hotmesh import embedded

                fallback = await asyncio.to_thread(embedded.default_connection)
                cache["embedded"] = await self._connect(fallback, cache)
            return cache["embedded"]
        roles = split_connection(connection)
        by_role = {role: await self._backend_for(config, cache) for role, config in roles.items()}
        if by_role["store"] is by_role["stream"] is by_role["sub"]:
            return by_role["store"]
        return RoleBackend(by_role["store"], by_role["stream"], by_role["sub"])

    async def _backend_for(self, config: Mapping[str, Any], cache: dict[str, Backend]) -> Backend:
        options = sorted(config.get("options", {}).items())
        key = f"{id(config['class'])}:{config['class']!r}:{options!r}"
        if key not in cache:
            provider = provider_for(config["class"])
            cache[key] = await provider.connect(dict(config.get("options", {})), app_id=self.app_id)
            self._backends.append(cache[key])
        return cache[key]

    async def _connect_secured(self, worker_cfg: WorkerConfig) -> Backend:
        """A secured worker's own backend: it logs in as its role for everything it does."""
        credentials = worker_cfg.worker_credentials or {}
        if worker_cfg.connection is None:
            raise ConfigError("a secured worker needs a connection", value=worker_cfg.topic)
        backend = await roles.connect_secured(
            worker_cfg.connection, credentials, app_id=self.app_id
        )
        self._backends.append(backend)
        return backend

    async def stop(self, timeout: float = 10.0) -> None:
        """Stop claiming, let running callbacks finish (up to ``timeout`` s), disconnect."""
        if self._stopped:
            return
        self._stopped = True
        if self._router is not None:
            await self._router.stop(timeout)
        for worker in self.workers:
            await worker.stop(timeout)
        if self._quorum is not None:
            await self._quorum.close()
        for future in self._waiters.values():
            future.cancel()
        for backend in self._backends:
            await backend.close()
        self._backends.clear()

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

    async def activate(self, version: str, *, timeout: float = 10.0) -> bool:
        """Make ``version`` the active one for every engine of every process of the app.

        Two phases over the quorum (see :mod:`hotmesh.mesh.quorum`): every engine found by a
        roll call stops claiming, finishes its in-flight messages and confirms; then the
        store switches and every engine re-reads the version and resumes. No message is
        processed while the mesh is half-switched; jobs in flight continue on the new
        version (jobs are not pinned to versions).

        Example:
            >>> await hm.deploy(yaml_v2)  # doctest: +SKIP
            >>> await hm.activate("2", timeout=5)  # doctest: +SKIP
            True

        Raises:
            ConfigError: the version was never deployed.
            ActivationError: an engine did not confirm within ``timeout`` seconds; its guid
                is in the message and in ``value``. The previous version stays active.
        """
        self._require_engine()
        if timeout <= 0:
            raise ConfigError("timeout must be > 0 seconds", value=timeout)
        await self._require_quorum().activate(str(version), timeout)
        return True

    async def active_version(self) -> str | None:
        """The app's active version as stored, or None when none was activated yet."""
        version = await self._store().active_version()
        return None if version is None else str(version)

    # -- the mesh (quorum) ----------------------------------------------------------------

    def _require_quorum(self) -> Quorum:
        if self._quorum is None or self._stopped:
            raise ConfigError("this HotMesh is stopped", value=self.app_id)
        return self._quorum

    async def pub_quorum(self, message: Mapping[str, Any]) -> bool:
        """Broadcast ``message`` to every member's quorum callbacks (or to one: ``guid``).

        The message gets ``type: "user"`` unless it names a type.

        Example:
            >>> await hm.pub_quorum({"greeting": "hello"})  # doctest: +SKIP
            True
        """
        await self._require_quorum().pub(message)
        return True

    async def sub_quorum(self, callback: QuorumCallback) -> None:
        """Call ``callback(topic, message)`` for every quorum message this member receives:
        user messages and system ones (roll calls, throttles, activations).

        Example:
            >>> await hm.sub_quorum(lambda topic, msg: print(msg["type"]))  # doctest: +SKIP
        """
        self._require_quorum().sub(callback)

    async def unsub_quorum(self, callback: QuorumCallback) -> None:
        """Stop a ``sub_quorum`` callback (idempotent)."""
        if self._quorum is not None:
            self._quorum.unsub(callback)

    async def roll_call(self, delay: float | None = None) -> list[QuorumProfile]:
        """The profiles of every live engine and worker of the app, in every process.

        ``delay`` is how long (seconds) to collect answers; by default the call returns
        once answers stop arriving for 0.1 s (at most 2 s). Each profile has the role,
        guid, worker topic, message counts, errors, stream depth, throttle and host stats.

        Example:
            >>> for profile in await hm.roll_call():  # doctest: +SKIP
            ...     print(profile)
            QuorumProfile(engine v1 guid=H... pid=4242 ... throttle=0)
            QuorumProfile(worker 'order.process' guid=H... pid=4242 ... throttle=0)
        """
        return await self._require_quorum().roll_call(delay)

    async def throttle(
        self, delay: float, guid: str | None = None, topic: str | None = None
    ) -> bool:
        """Slow down, pause or resume consumption across the mesh.

        ``delay`` is seconds between messages: 0 full speed, -1 pause until told
        otherwise. Scope: every router of every process (default), the engine and
        workers of one member (``guid``), or the workers of one ``topic`` (both: that
        member's workers of that topic). The setting is persisted, so routers that start
        later apply it too.

        Example:
            >>> await hm.throttle(-1)  # doctest: +SKIP
            >>> await hm.throttle(0.5, topic="order.process")  # doctest: +SKIP
            >>> await hm.throttle(0)  # doctest: +SKIP

        Raises:
            ConfigError: ``delay`` is negative (other than -1) or not a number.
        """
        await self._require_quorum().throttle(delay, guid, topic)
        return True

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
        ctx = {**dict(context or {}), "ngn": self.guid}
        started = time.monotonic()
        attributes = {telemetry.ATTR["app"]: self.app_id, telemetry.ATTR["topic"]: topic}
        with telemetry.span("hotmesh.pubsub", attributes) as waiting:
            job_id = await self._pub(topic, data, ctx)
            waiting.set_attribute(telemetry.ATTR["job_id"], job_id)
            future = self._early_result(job_id)
            try:
                output = await self._await_result(job_id, future, started + timeout)
            except TimeoutError as err:
                raise PubSubTimeout(
                    f"job {job_id} did not finish within {timeout}s", value=job_id
                ) from err
            finally:
                self._waiters.pop(job_id, None)
        error = job_error(output.metadata)
        if error is not None:
            raise JobFailed(
                f"job {job_id} failed: {error.get('message', 'error')}",
                value=job_id,
                error=error,
                output=output,
            )
        return output

    async def _await_result(
        self, job_id: str, future: asyncio.Future[JobOutput], deadline: float
    ) -> JobOutput:
        """The job's result as published; after :data:`_RECHECK` seconds without it, also
        read from the store every :data:`_RECHECK` seconds (and once at the deadline).

        Publications are not durable (pub/sub is at most once): one sent while a restart
        had cut the listener, or one the engine died before sending, is never heard. The
        stored state of a completed job gives the same result.
        """
        while True:
            remaining = deadline - time.monotonic()
            try:
                return await asyncio.wait_for(
                    asyncio.shield(future), max(min(remaining, _RECHECK), 0.001)
                )
            except TimeoutError:
                pass
            try:
                job = await self._store().get_job(job_id)
            except ProviderError:
                job = None  # the database is unreachable: keep waiting for either
            if job is not None and job.semaphore <= 0:
                return job_output(job.state, job.semaphore)
            if time.monotonic() >= deadline:
                future.cancel()
                raise TimeoutError

    def _early_result(self, job_id: str) -> asyncio.Future[JobOutput]:
        future: asyncio.Future[JobOutput] = asyncio.get_running_loop().create_future()
        early = self._early.pop(job_id, None)
        if early is not None:
            future.set_result(early[1])
        else:
            self._waiters[job_id] = future
        return future

    async def _notify(self, output: JobOutput, final: bool) -> None:
        """Called by the engine when a job completes (or emits)."""
        metadata = output.metadata
        ngn = metadata.get("ngn")
        if ngn:  # a pubsub resolves with the first state published: interim or final
            if ngn == self.guid:
                self._deliver(output)
            elif self._engine_backend is not None:
                await self._engine_backend.sub.publish(f"$ngn.{ngn}", output.to_dict())
        publishes = await self._publishes(str(metadata.get("tpc", "")))
        if publishes and self._engine_backend is not None:
            await self._engine_backend.sub.publish(
                f"{publishes}.{metadata.get('jid')}", {"topic": publishes, **output.to_dict()}
            )

    async def _publishes(self, topic: str) -> str | None:
        if self.engine is None or not topic:
            return None
        try:
            manifest = await self.engine.manifest()
            return manifest.graph_for_topic(topic).publishes
        except Exception:
            return None

    def _on_result(self, _topic: str, message: dict[str, Any]) -> None:
        self._deliver(JobOutput(metadata=message.get("metadata", {}), data=message.get("data", {})))

    def _deliver(self, output: JobOutput) -> None:
        future = self._waiters.pop(output.job_id, None)
        if future is not None and not future.done():
            future.set_result(output)
            return
        now = time.monotonic()
        self._early[output.job_id] = (now, output)
        for jid, (at, _) in list(self._early.items()):
            if now - at > _EARLY_TTL:
                del self._early[jid]

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
        backend = self._any_backend()

        async def relay(channel: str, message: dict[str, Any]) -> None:
            published = str(message.get("topic") or channel)
            if not pattern and topic not in (channel, published):
                return  # a longer topic that merely starts with ``topic``
            output = JobOutput(metadata=message.get("metadata", {}), data=message.get("data", {}))
            result = callback(published, output)
            if result is not None:
                await result

        # ``sub(t)`` hears channel ``t`` itself and every job channel ``t.<job id>``.
        glob = topic if pattern else _glob_escape(topic) + "*"
        self._subs[(topic, pattern)] = await backend.sub.psubscribe(glob, relay)

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
        # The flag is also job data so that a worker's `{$job.data}` input carries it.
        check_name(job_id, "job_id")
        await self._store().apply_step(job_id, {"-cancelled-": "1", "d/-cancelled-": "1"})

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


class RoleBackend:
    """The per-role connection form: store, stream and sub from different connections.

    The roles must reach the same database (the engine's claim reads job state with the
    message); they may differ in pool sizes, credentials or driver.
    """

    def __init__(self, store: Backend, stream: Backend, sub: Backend) -> None:
        self._parts = (store, stream, sub)

    @property
    def app_id(self) -> str:
        """The app this backend serves."""
        return self._parts[0].app_id

    @property
    def store(self) -> Any:
        """The store role's store."""
        return self._parts[0].store

    @property
    def stream(self) -> Any:
        """The stream role's stream."""
        return self._parts[1].stream

    @property
    def sub(self) -> Any:
        """The sub role's pub/sub."""
        return self._parts[2].sub

    @property
    def inspector(self) -> Any:
        """The store role's read-only views (None when its provider has none)."""
        return getattr(self._parts[0], "inspector", None)

    async def close(self) -> None:
        """Nothing of its own: the parts are closed by the HotMesh that opened them."""


def _glob_escape(text: str) -> str:
    """``text`` as a glob matching only itself (``*``, ``?`` and ``[`` bracketed)."""
    return "".join(f"[{c}]" if c in "*?[" else c for c in text)
