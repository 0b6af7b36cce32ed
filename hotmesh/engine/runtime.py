"""The engine: runs jobs through their graphs, one committed step per message.

``pub`` runs a graph's trigger inline (the job row and its first messages commit in one
statement). Every later step is a message on the engine stream; processing it computes a
:class:`~hotmesh.engine.steps.Step` in memory and commits it with ``Store.apply_step``,
fenced by the delivery: the step's state, semaphore change and outgoing messages commit
together or not at all, and a redelivered message finds its fence gone and does nothing.
Each activity record also remembers the ids of the events it consumed, so a duplicate
event (a worker that answered twice) is recognised too.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from hotmesh import faults
from hotmesh.engine._extension import _Extension, _extension
from hotmesh.engine.compiler import compile_app, validate_input
from hotmesh.engine.ending import MAX_CONFLICTS, JobEnding, Notify, close_messages, job_output
from hotmesh.engine.handoff import Handoff
from hotmesh.engine.mapper import resolve
from hotmesh.engine.messages import (
    ENGINE_STREAM,
    ChildResult,
    EngineMessage,
    JobComplete,
    Response,
    Signal,
    SignalAll,
    StartChild,
    decode,
    guid,
)
from hotmesh.engine.model import Activity, AppManifest, Graph
from hotmesh.engine.planner import Planner
from hotmesh.engine.state import META, activity_key, data_state, job_data
from hotmesh.engine.stats import stats_update
from hotmesh.engine.stats_queries import query_ids, query_stats, signal_indexed
from hotmesh.engine.steps import Step
from hotmesh.errors import (
    ConfigError,
    DuplicateJob,
    PayloadError,
    StepError,
    TopicNotFound,
)
from hotmesh.spi import Backend, JobCreated, JobRecord, StreamMessage
from hotmesh.types import JobOutput

__all__ = ["Engine", "guid"]

log = logging.getLogger(__name__)

#: The semaphore of a job created pending (``pub(..., extended={"pending": s})``).
PENDING = -1
PENDING_SIGNAL_TTL = 600.0


class StepConflict(StepError):
    """A step cannot be decided now; its message is retried: the step's guard kept failing
    (other steps on the same activity kept winning), or a child's "complete" met the child
    still open (a read from before the step that closed it)."""


class Engine:
    """Runs one app's jobs over a backend. Created by :class:`hotmesh.HotMesh`.

    What a step does is decided by its :attr:`planner` (pure, in memory); the engine reads
    the job, commits the planned step in one statement and runs its effects. How a job
    ends otherwise (failed, interrupted, dead-lettered) is its :attr:`ending`'s part.
    """

    def __init__(
        self,
        backend: Backend,
        *,
        app_id: str,
        guid: str,
        notify: Notify,
        planner: Planner | None = None,
    ) -> None:
        self.backend = backend
        self.store = backend.store
        self.stream = backend.stream
        self.planner = planner or Planner()
        self.ending = JobEnding(self.store, notify)
        #: Consumers of this process that take the engine's messages directly.
        self.handoff = Handoff()
        #: Engine messages that belong to no activity record (yet), and their handlers.
        self._handlers: dict[type[EngineMessage], Any] = {
            StartChild: self._start_child,
            Signal: self._deliver_signal,
            SignalAll: self._fan_out,
        }
        self.app_id = app_id
        self.guid = guid
        self._notify = notify
        self._manifests: dict[str, AppManifest] = {}
        self._active: str | None = None
        #: Cleared while a version switch holds this engine (``manifest`` waits on it).
        self.version_gate = asyncio.Event()
        self.version_gate.set()
        self._signal_locks: dict[str, tuple[asyncio.Lock, int]] = {}
        #: The namespace escalation rows are filed under (the facade sets its own).
        self.namespace = "hmsh"

    # -- versions -------------------------------------------------------------------------

    async def deploy(self, source: Any) -> AppManifest:
        """Compile ``source`` and store it as a version of this app (not yet active)."""
        from hotmesh.engine._diagnostics import Diagnostics
        from hotmesh.engine._yaml import load_source

        loaded = load_source(source, base_dir=None, diag=Diagnostics())
        manifest = compile_app(loaded.data)
        if manifest.id != self.app_id:
            raise ConfigError(
                f"the YAML is for app {manifest.id!r}, this HotMesh serves {self.app_id!r}",
                value=manifest.id,
            )
        await self.store.put_version(manifest.version, {"manifest": _jsonable(loaded.data)})
        self._manifests[manifest.version] = manifest
        return manifest

    async def activate(self, version: str) -> None:
        """Make ``version`` active in the store and here."""
        await self.store.activate(str(version))
        self._active = str(version)

    def forget_active(self) -> None:
        """Re-read the active version on the next message (another process activated)."""
        self._active = None

    @property
    def cached_version(self) -> str | None:
        """The active version this engine last read (None before the first read, or after
        :meth:`forget_active`); what a roll call reports."""
        return self._active

    async def manifest(self) -> AppManifest:
        """The active version's compiled plan (waits while a version switch is held)."""
        if not self.version_gate.is_set():
            await self.version_gate.wait()
        if self._active is None:
            self._active = await self.store.active_version()
            if self._active is None:
                raise ConfigError(f"app {self.app_id!r} has no active version", value=self.app_id)
        version = self._active
        manifest = self._manifests.get(version)
        if manifest is None:
            stored = await self.store.get_version(version)
            if stored is None:
                raise ConfigError(f"version {version!r} is not deployed", value=version)
            manifest = self._manifests[version] = compile_app(stored["manifest"])
        return manifest

    # -- starting jobs --------------------------------------------------------------------

    async def pub(
        self,
        topic: str,
        data: Mapping[str, Any] | None = None,
        *,
        context: Mapping[str, Any] | None = None,
        job_id: str | None = None,
        extended: Mapping[str, Any] | None = None,
    ) -> str:
        """Start a job of the graph subscribed to ``topic``; return its id.

        ``extended`` (the reference's ``ExtensionType``): ``search`` ``{k: v}`` stores
        ``_k`` = ``str(v)``; ``marker`` ``{k: v}`` stores ``k`` = ``str(v)`` for keys that
        start with ``-``; ``entity`` overrides the trigger's ``entity``; ``pending``
        (seconds) creates the job with semaphore -1, starts none of its children, and
        lets it expire after that many seconds without publishing anything.
        """
        manifest = await self.manifest()
        try:
            graph = manifest.graph_for_topic(topic)
        except TopicNotFound:
            raise
        except (KeyError, LookupError) as err:
            raise TopicNotFound(f"no graph subscribes to {topic!r}", value=topic) from err
        payload = dict(data or {})
        validate_input(graph, payload)
        return await self._trigger(
            manifest, graph, payload, dict(context or {}), job_id, _extension(extended)
        )

    async def _trigger(
        self,
        manifest: AppManifest,
        graph: Graph,
        payload: dict[str, Any],
        extra: dict[str, Any],
        job_id: str | None,
        extension: _Extension | None = None,
    ) -> str:
        ext = extension or _Extension()
        trigger = graph.trigger_activity
        start = self.planner.plan_start(manifest, graph, payload, extra, job_id, ext)
        jid, step, semaphore, context = start.job_id, start.step, start.semaphore, start.context
        metadata = step.state[META]
        counted = stats_update(trigger, payload, datetime.now(UTC))
        if ext.pending is not None:  # created, never started: no children run
            created = await self.store.create_job(jid, step.state, semaphore=PENDING, stats=counted)
            if not created:
                raise DuplicateJob(f"duplicate job: {jid}", value=jid)
            await self.store.apply_step(jid, {}, expire=ext.pending)
            return jid
        offer = self.handoff.offer(step.messages)
        made: JobCreated | None = None
        try:
            made = await self.store.create_job(
                jid, step.state, semaphore=semaphore, messages=offer.messages, stats=counted
            )
        finally:
            offer.settle(made.message_ids if made else None)
        if not made:
            raise DuplicateJob(f"duplicate job: {jid}", value=jid)
        if extra.get("px") and extra.get("pj"):
            await self._send_parent_result(metadata, {"job_id": jid}, 200, "success")
        for effect in step.after:
            await effect.run(self)
        if semaphore <= 0:
            result = await self.store.apply_step(
                jid, {}, expire=float(graph.expire), on_close=close_messages(metadata)
            )
            await self.ending.finish(result.state, result.semaphore or 0)
        elif resolve(trigger.emit, context) is True or step.emit:
            await self._emit(job_output(step.state, semaphore))
        return jid

    # -- processing messages ----------------------------------------------------------------

    async def process(self, message: StreamMessage) -> None:
        """Process one engine-stream message (the router's callback; it acks by itself)."""
        if faults.ARMED:
            faults.hit("engine.after_claim")
        decoded = decode(message.payload)
        handler = self._handlers.get(type(decoded))
        if handler is not None:
            await handler(message, decoded)
            return
        jid = getattr(decoded, "jid", None)
        job = message.job  # read by the claim, in the same statement
        if job is None and jid:
            # The job as this process last wrote it, when it did (a handed-off request's
            # answer): a step planned from it applies only while the job is still at its
            # version; anything but such a step decides again on a read (below).
            job = await self.store.get_job(str(jid), written=True)
        for _ in range(MAX_CONFLICTS):
            if await self._process_job(message, decoded, job):
                return
            # The step's guard failed: another event moved the activity (or closed the
            # job) since this state was read. Decide again on the latest state.
            job = await self.store.get_job(str(jid))
        raise StepConflict(f"job {jid}: step kept conflicting; it will be retried", value=jid)

    async def _process_job(
        self, message: StreamMessage, event: EngineMessage, job: JobRecord | None
    ) -> bool:
        """One attempt at ``event``'s step on ``job``; False when its guard failed, or when
        ``job`` is a remembered state (``version``) and the event is not a step on it."""
        jid, gid = getattr(event, "jid", None), getattr(event, "gid", None)
        if job is None or job.state.get(META, {}).get("gid") != gid:
            if job is None or job.version is None:
                log.info("dropping message for a missing or replaced job", extra={"jid": jid})
            return await self._drop(message, job)
        if isinstance(event, JobComplete):
            if job.version is not None:
                return False  # not a step: decided on the job as stored
            if job.semaphore > 0:
                # Only the step that closed the job enqueues this message: an open job is
                # a read from before that step, which would give the parent no data.
                fresh = await self.store.get_job(str(jid))
                if fresh is None or fresh.semaphore > 0:
                    raise StepConflict(f"job {jid}: its close is not visible yet", value=jid)
                job = fresh
            await self._complete_for_parent(message, job.state)
            return True
        aid = str(getattr(event, "aid", None))
        manifest = await self.manifest()
        graph = manifest.graph_of(aid)
        activity = graph.activity(aid)
        return await self._consume(message, graph, activity, job, event)

    async def _consume(
        self,
        message: StreamMessage,
        graph: Graph,
        activity: Activity,
        job: JobRecord,
        event: Any,
    ) -> bool:
        """Run ``event`` on its activity record; False when the step's guard failed."""
        if job.semaphore <= 0:
            if job.version is None:
                log.info("dropping message for an inactive job", extra={"jid": job.job_id})
            return await self._drop(message, job)
        kind = event.kind
        if faults.ARMED and kind in ("timehook", "webhook"):
            faults.hit("engine.timer" if kind == "timehook" else "engine.signal")
        event_id = str(event.guid or message.id)
        planned = self.planner.plan_event(graph, activity, job, event, event_id)
        if planned is None:  # leg 1 already ran / a duplicate event
            return await self._drop(message, job)
        step, context, expect = planned.step, planned.context, planned.expect
        try:
            return await self._commit(graph, context, step, message, expect, job.version)
        except PayloadError as err:  # the step's data cannot be stored: the job fails
            step, expect = self.planner.plan_failure(context, activity, event.dad, job.state, err)
            return await self._commit(graph, context, step, message, expect, job.version)

    async def _drop(self, message: StreamMessage, job: JobRecord | None) -> bool:
        """Ack ``message`` without a step; False instead when ``job`` is a remembered state
        (``version``): only a step is decided on one, anything else on the job as stored."""
        if job is not None and job.version is not None:
            return False
        await self.stream.ack([message])
        return True

    async def _commit(
        self,
        graph: Graph,
        context: dict[str, Any],
        step: Step,
        message: StreamMessage,
        expect: Mapping[str, Any],
        version: str | None = None,
    ) -> bool:
        metadata = context["metadata"]
        jid = metadata["jid"]
        if faults.ARMED:
            faults.hit("engine.before_commit")
        offer = self.handoff.offer(step.messages)
        result = None
        try:
            result = await self.store.apply_step(
                jid,
                step.state,
                semaphore_delta=step.semaphore,
                messages=offer.messages,
                fence=message,
                expire=float(metadata.get("expire", graph.expire)),
                on_close=close_messages(metadata),
                expect=expect,
                version=version,
            )
        finally:
            offer.settle(result.message_ids if result is not None and result.applied else None)
        if faults.ARMED:
            faults.hit("engine.after_commit")
        if result.conflict:
            return False
        if not result.applied:
            return True
        for effect in step.after:
            await effect.run(self)
        if result.state is not None:
            await self.ending.finish(result.state, result.semaphore or 0)
        elif step.error is not None:
            await self.ending.fail_job(jid)
        elif step.emit and (result.semaphore or 0) > 0:
            # The job as this step left it (re-reading could already show later steps);
            # a job another step has closed meanwhile has published its final state.
            snapshot = {META: metadata, **data_state(context["data"])}
            await self._emit(job_output(snapshot, result.semaphore or 0))
        return True

    async def _emit(self, output: JobOutput) -> None:
        """Publish a running job's interim state (``emit: true``): to its subscribers and
        pubsub waiter, and to an awaiting parent as a pending (202) result."""
        metadata = output.metadata
        if metadata.get("pj") and not metadata.get("px"):
            await self._send_parent_result(metadata, output.data, 202, "pending", event=guid())
        await self._notify(output, False)

    # -- children, signals, interrupts -----------------------------------------------------

    async def _start_child(self, message: StreamMessage, start: StartChild) -> None:
        parent = dict(start.parent)
        try:
            manifest = await self.manifest()
            graph = manifest.graph_for_topic(start.topic)
            await self._trigger(manifest, graph, dict(start.data), parent, start.child)
        except DuplicateJob:
            log.info("child job already started", extra={"parent": parent.get("pj")})
        except Exception as err:  # the parent hears of it as an error result
            await self._send_parent_result(
                {**parent, "jid": parent.get("pj")},
                {"message": str(err), "code": getattr(err, "code", 500)},
                int(getattr(err, "code", 500)),
                "error",
            )
        await self.stream.ack([message])

    async def _complete_for_parent(self, message: StreamMessage, state: Mapping[str, Any]) -> None:
        metadata = dict(state.get(META, {}))
        err = metadata.get("err")
        if err:
            error = _loads(err)
            code = int(error.get("code") or 500)
            await self._send_parent_result(metadata, error, code, "error")
        else:
            await self._send_parent_result(metadata, job_data(state), 200, "success")
        await self.stream.ack([message])

    async def _send_parent_result(
        self,
        metadata: Mapping[str, Any],
        data: Mapping[str, Any],
        code: int,
        status: str,
        event: str | None = None,
    ) -> None:
        result = ChildResult.for_parent(metadata, data, code, status, event)
        await self.stream.publish([result.outgoing()])

    async def add(self, message: Mapping[str, Any]) -> int:
        """Enqueue a raw worker answer (``HotMesh.add``); return its message id."""
        answer = Response.answer(message, guid())
        [msg_id] = await self.stream.publish([answer.outgoing()])
        return int(msg_id)

    async def signal(self, topic: str, data: Mapping[str, Any], status: str, code: int) -> int:
        """Deliver ``data`` to the hook waiting on ``topic``; return the message id."""
        manifest = await self.manifest()
        if topic not in manifest.hook_rules:
            raise TopicNotFound(f"no hook listens to signal topic {topic!r}", value=topic)
        [msg_id] = await self.stream.publish([Signal.new(topic, data, status, code).outgoing()])
        return msg_id

    async def _fan_out(self, message: StreamMessage, fan: SignalAll) -> None:
        try:
            await self.signal_all(
                fan.topic, fan.data, fan.query, fan.facets, scrub=fan.scrub, ack=message
            )
        except (ConfigError, TopicNotFound) as err:
            log.warning("signal all failed: %s", err, extra={"topic": fan.topic})
            await self.stream.ack([message])

    # -- stats ----------------------------------------------------------------------------

    async def get_stats(self, topic: str, query: Mapping[str, Any]) -> dict[str, Any]:
        """The counters of the jobs of ``topic`` (see :func:`query_stats`)."""
        return await query_stats(await self.manifest(), self.store, topic, query)

    async def get_ids(
        self, topic: str, query: Mapping[str, Any], facets: Sequence[str] | None = None
    ) -> dict[str, Any]:
        """The ids of the jobs of ``topic`` per facet and bucket (see :func:`query_ids`)."""
        return await query_ids(await self.manifest(), self.store, topic, query, facets)

    async def signal_all(
        self,
        hook_topic: str,
        data: Mapping[str, Any],
        query: Mapping[str, Any],
        facets: Sequence[str] | None = None,
        *,
        scrub: bool = False,
        ack: StreamMessage | None = None,
    ) -> list[str]:
        """Signal ``hook_topic`` once per indexed job id (see :func:`signal_indexed`)."""
        manifest = await self.manifest()
        return await signal_indexed(manifest, self.store, self.stream, hook_topic, data, query,
                                    facets, scrub=scrub, ack=ack)  # fmt: skip

    async def _deliver_signal(self, message: StreamMessage, signal: Signal) -> None:
        body = message.payload
        topic = signal.topic
        manifest = await self.manifest()
        rules = manifest.hook_rules.get(topic) or ()
        if not rules:
            log.warning("signal for an unknown hook topic", extra={"topic": topic})
            await self.stream.ack([message])
            return
        scope = {"$self": {"hook": {"data": signal.data_}}, "$hook": {"data": signal.data_}}
        actual = resolve(rules[0].actual, scope) if rules[0].match else None
        key = str(signal.key or f"{topic}:{actual}")  # an escalation names its key
        target = await self.store.signal_hook(key, body, ttl=PENDING_SIGNAL_TTL)
        if target is not None and await self._ended_wait(key, target):
            target = await self.store.signal_hook(key, body, ttl=PENDING_SIGNAL_TTL)
        if target is None:
            await self.stream.ack([message])  # parked until the hook registers
            return
        event = signal.delivered(target, key)
        # Two signals for one hook (202 then 200, sent in one step) must not both build
        # on the same activity record: apply them one at a time (in this process).
        jid = str(target["jid"])
        lock, users = self._signal_locks.get(jid, (asyncio.Lock(), 0))
        self._signal_locks[jid] = (lock, users + 1)
        try:
            async with lock:
                await self._apply_signal(message, manifest, target, event)
        finally:
            lock, users = self._signal_locks[jid]
            if users <= 1:
                del self._signal_locks[jid]
            else:
                self._signal_locks[jid] = (lock, users - 1)

    async def _ended_wait(self, key: str, target: Mapping[str, Any]) -> bool:
        """True (and the registration gone) when ``key`` still names a wait registered
        under several keys that another of its keys already ended: the signal is then
        parked for the next wait instead of being dropped."""
        if not target.get("many"):  # a hook under one key: nothing to read
            return False
        job = await self.store.get_job(str(target.get("jid")))
        if job is None or job.state.get(META, {}).get("gid") != target.get("gid"):
            return False
        own = job.state.get(activity_key(str(target.get("aid")), str(target.get("dad"))), {})
        if not (own.get("hook_keys") and own.get("done")):
            return False
        await self.store.delete_hook(key, target=target)
        return True

    async def _apply_signal(
        self,
        message: StreamMessage,
        manifest: AppManifest,
        target: Mapping[str, Any],
        event: Signal,
    ) -> None:
        graph = manifest.graph_of(str(target["aid"]))
        activity = graph.activity(str(target["aid"]))
        for _ in range(MAX_CONFLICTS):
            job = await self.store.get_job(str(target["jid"]))
            if job is None or job.state.get(META, {}).get("gid") != target.get("gid"):
                await self.stream.ack([message])
                return
            if await self._consume(message, graph, activity, job, event):
                return
        raise StepConflict(f"job {target['jid']}: signal kept conflicting", value=target["jid"])

    # -- interrupt and completion ------------------------------------------------------------

    async def interrupt(
        self,
        job_id: str,
        *,
        reason: str | None = None,
        throw: bool = True,
        code: int = 410,
        stack: str | None = None,
        expire: float | None = None,
    ) -> None:
        """Stop a running job: mark it interrupted, drop its pending messages, notify."""
        await self.ending.interrupt(
            job_id, reason=reason, throw=throw, code=code, stack=stack, expire=expire
        )

    async def fail_job(self, jid: str, error: Mapping[str, Any] | None = None) -> None:
        """Complete a running job as failed (see :meth:`JobEnding.fail_job`)."""
        await self.ending.fail_job(jid, error)

    async def on_dead_letter(self, message: StreamMessage, error: str | None) -> None:
        """An engine message was dead-lettered: its job fails (the router's callback)."""
        await self.ending.on_dead_letter(message, error)


def _loads(text: Any) -> dict[str, Any]:
    import json

    try:
        value = json.loads(text) if isinstance(text, str) else text
    except ValueError:
        return {"message": str(text)}
    return value if isinstance(value, dict) else {"message": str(value)}


def _jsonable(value: Any) -> Any:
    import json

    return json.loads(json.dumps(value, default=str))


__all__ += ["ENGINE_STREAM", "job_output"]
