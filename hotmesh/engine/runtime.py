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
import copy
import logging
import secrets
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from attrs import define, field

from hotmesh.engine.compiler import compile_app, validate_input
from hotmesh.engine.mapper import map_rules, resolve
from hotmesh.engine.model import (
    Activity,
    AppManifest,
    AwaitActivity,
    CycleActivity,
    Graph,
    HookActivity,
    InterruptActivity,
    SignalActivity,
    TriggerActivity,
    WorkerActivity,
)
from hotmesh.engine.model import RetryPolicy as ActivityRetry
from hotmesh.engine.state import (
    META,
    activity_key,
    build_context,
    dad_at_depth,
    data_key,
    job_data,
    now_stamp,
)
from hotmesh.engine.stats import (
    facets_for,
    ids_response,
    resolve_query,
    stats_response,
    stats_update,
)
from hotmesh.engine.steps import (
    ENGINE_STREAM,
    Step,
    apply_job_maps,
    engine_message,
    error_text,
    next_transitions,
    record,
    set_job_error,
)
from hotmesh.errors import ConfigError, DuplicateJob, JobNotFound, TopicNotFound
from hotmesh.spi import Backend, OutgoingMessage, RetryPolicy, StreamMessage
from hotmesh.types import JobOutput

__all__ = ["Engine", "guid"]

log = logging.getLogger(__name__)

INTERRUPTED = -1_000_000_000
#: The semaphore of a job created pending (``pub(..., extended={"pending": s})``).
PENDING = -1
#: Context key: the job's semaphore as the step being computed sees it (before its delta).
_JS = "__js__"
SIGNAL_TTL = 3600.0
PENDING_SIGNAL_TTL = 600.0
MAX_SEEN = 64
#: Worker messages may be delivered this often (crash loops); the worker's own retry
#: policy decides how often a failing callback is retried.
WORKER_DELIVERY = RetryPolicy(max_attempts=50)

Notify = Callable[[JobOutput, bool], Awaitable[None]]


def guid(size: int = 22) -> str:
    """A new id: ``"H"`` and ``size`` random URL-safe characters (``[A-Za-z0-9_-]``)."""
    return "H" + secrets.token_urlsafe(size)[:size]


def job_output(state: Mapping[str, Any], semaphore: int) -> JobOutput:
    """The public view of a stored job."""
    metadata = {k: v for k, v in dict(state.get(META, {})).items() if k != "expire"}
    metadata["js"] = semaphore
    return JobOutput(metadata=metadata, data=job_data(state))


class Engine:
    """Runs one app's jobs over a backend. Created by :class:`hotmesh.HotMesh`."""

    def __init__(self, backend: Backend, *, app_id: str, guid: str, notify: Notify) -> None:
        self.backend = backend
        self.store = backend.store
        self.app_id = app_id
        self.guid = guid
        self._notify = notify
        self._manifests: dict[str, AppManifest] = {}
        self._active: str | None = None
        #: Cleared while a version switch holds this engine (``manifest`` waits on it).
        self.version_gate = asyncio.Event()
        self.version_gate.set()
        self._signal_locks: dict[str, tuple[asyncio.Lock, int]] = {}

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
        io = {"data": payload}
        seed = {trigger.id: {"input": io, "output": io}, "$self": {"input": io, "output": io}}
        stats = trigger.stats
        jid = resolve(stats.id, seed) if stats is not None and stats.id is not None else None
        jid = str(jid) if jid not in (None, "") else (job_id or guid())
        key = resolve(stats.key, seed) if stats is not None and stats.key is not None else None
        stamp = now_stamp()
        metadata: dict[str, Any] = {
            "jid": jid,
            "gid": guid(),
            "aid": trigger.id,
            "app": manifest.id,
            "vrs": manifest.version,
            "tpc": graph.subscribes,
            "jc": stamp,
            "ju": stamp,
            "expire": graph.expire,
        }
        if key not in (None, ""):
            metadata["key"] = str(key)
        for name in ("ngn", "pj", "pg", "pd", "pa", "px", "trc", "spn"):
            if extra.get(name) is not None:
                metadata[name] = extra[name]
        activity_io = {
            "data": copy.deepcopy(payload),
            "metadata": {"aid": trigger.id, "atp": "trigger", "dad": ",0", "jid": jid},
        }
        context: dict[str, Any] = {"metadata": metadata, "data": {}}
        context["$job"] = {"metadata": metadata, "data": context["data"]}
        context[trigger.id] = {"input": activity_io, "output": activity_io, "hook": {}}
        context["$self"] = context[trigger.id]
        entity = ext.entity
        if entity is None and trigger.entity is not None:
            entity = resolve(trigger.entity, context)
        if entity not in (None, ""):
            metadata["entity"] = str(entity)
        step = Step(state={META: metadata})
        apply_job_maps(trigger, context, step)
        record(step, context, trigger.id, ",0", n2=0, done=True)
        children = next_transitions(graph, trigger, context, 200)
        step.state.update(ext.fields)
        counted = stats_update(trigger, payload, datetime.now(UTC))
        if ext.pending is not None:  # created, never started: no children run
            created = await self.store.create_job(jid, step.state, semaphore=PENDING, stats=counted)
            if not created:
                raise DuplicateJob(f"duplicate job: {jid}", value=jid)
            await self.store.apply_step(jid, {}, expire=ext.pending)
            return jid
        context["__state__"] = {}
        context[_JS] = len(children)
        self._expand(graph, context, step, children, ",0,0")
        semaphore = len(children) + step.semaphore
        created = await self.store.create_job(
            jid, step.state, semaphore=semaphore, messages=step.messages, stats=counted
        )
        if not created:
            raise DuplicateJob(f"duplicate job: {jid}", value=jid)
        if extra.get("px") and extra.get("pj"):
            await self._send_parent_result(metadata, {"job_id": jid}, 200, "success")
        for action, args in step.after:
            await self._after(action, args)
        if semaphore <= 0:
            result = await self.store.apply_step(
                jid, {}, expire=float(graph.expire), on_close=self._on_close(metadata)
            )
            await self._finish(result.state, result.semaphore or 0)
        elif resolve(trigger.emit, context) is True or step.emit:
            await self._notify(job_output(step.state, semaphore), False)
        return jid

    def _transition(self, jid: str, gid: str, aid: str, dad: str) -> OutgoingMessage:
        return engine_message("transition", jid, {"jid": jid, "gid": gid, "aid": aid, "dad": dad})

    def _expand(
        self,
        graph: Graph,
        context: dict[str, Any],
        step: Step,
        children: list[str],
        child_dad: str,
    ) -> None:
        """Start ``children`` inside this step: their leg 1 runs now, in memory, and its
        effects join this step's single commit (no transition message, no extra hop)."""
        meta = context["metadata"]
        base = context.get("__state__", {})
        for child in children:
            activity = graph.activity(child)
            merged = {**base, **step.state}
            child_context = build_context(graph, merged, child, child_dad)
            child_context["__state__"] = merged
            # The semaphore as this child sees it: the step's base plus its deltas so far.
            child_context[_JS] = int(context.get(_JS, 0)) + step.semaphore
            body = {"jid": meta["jid"], "gid": meta["gid"], "aid": child, "dad": child_dad}
            child_step = self._leg1(graph, activity, child_context, body)
            step.state.update(child_step.state)
            step.semaphore += child_step.semaphore
            step.messages.extend(child_step.messages)
            step.after.extend(child_step.after)
            step.emit = step.emit or child_step.emit
            if child_step.error is not None:
                step.error = child_step.error

    # -- processing messages ----------------------------------------------------------------

    async def process(self, message: StreamMessage) -> None:
        """Process one engine-stream message (the router's callback; it acks by itself)."""
        body = message.payload
        kind = body.get("type")
        if kind == "await":
            await self._start_child(message)
            return
        if kind == "webhook":
            await self._deliver_signal(message)
            return
        if kind == "signal_all":
            await self._fan_out(message)
            return
        jid, aid = body.get("jid"), body.get("aid")
        job = message.job  # read by the claim, in the same statement
        if job is None and jid:
            job = await self.store.get_job(str(jid))
        if job is None or job.state.get(META, {}).get("gid") != body.get("gid"):
            log.info("dropping message for a missing or replaced job", extra={"jid": jid})
            await self.backend.stream.ack([message])
            return
        if kind == "complete":
            await self._complete_for_parent(message, job.state)
            return
        manifest = await self.manifest()
        graph = manifest.graph_of(str(aid))
        activity = graph.activity(str(aid))
        if job.semaphore <= 0:
            log.info("dropping message for an inactive job", extra={"jid": jid, "aid": aid})
            await self.backend.stream.ack([message])
            return
        dad = str(body.get("dad", ",0"))
        context = build_context(graph, job.state, activity.id, dad)
        context["__state__"] = job.state
        context[_JS] = job.semaphore
        own = job.state.get(activity_key(activity.id, dad), {})
        if kind == "transition":
            if own.get("l1"):
                await self.backend.stream.ack([message])  # leg 1 already ran
                return
            step = self._leg1(graph, activity, context, body)
        else:
            event = str(body.get("guid") or message.id)
            if own.get("done") or event in own.get("seen", ()):
                await self.backend.stream.ack([message])  # a duplicate event
                return
            step = self._leg2(graph, activity, context, body, own, event)
        await self._commit(graph, context, step, message)

    async def _commit(
        self, graph: Graph, context: dict[str, Any], step: Step, message: StreamMessage
    ) -> None:
        metadata = context["metadata"]
        jid = metadata["jid"]
        result = await self.store.apply_step(
            jid,
            step.state,
            semaphore_delta=step.semaphore,
            messages=step.messages,
            fence=message,
            expire=float(metadata.get("expire", graph.expire)),
            on_close=self._on_close(metadata),
        )
        if not result.applied:
            return
        for action, args in step.after:
            await self._after(action, args)
        if result.state is not None:
            await self._finish(result.state, result.semaphore or 0)
        elif step.error is not None:
            await self._fail_open_job(jid)
        elif step.emit and (result.semaphore or 0) > 0:
            # The job as this step left it (re-reading could already show later steps);
            # a job another step has closed meanwhile has published its final state.
            snapshot = {META: metadata, **{data_key(k): v for k, v in context["data"].items()}}
            await self._notify(job_output(snapshot, result.semaphore or 0), False)

    # -- leg 1: an activity starts ------------------------------------------------------------

    def _leg1(
        self, graph: Graph, activity: Activity, context: dict[str, Any], body: Mapping[str, Any]
    ) -> Step:
        jid, gid, dad = body["jid"], body["gid"], str(body["dad"])
        step = Step()
        if self._declines(activity, context, step):
            return step
        if isinstance(activity, WorkerActivity):
            payload = self._input(activity, context)
            topic = str(resolve(activity.topic, context) or activity.subtype or "")
            metadata = {
                "jid": jid, "gid": gid, "aid": activity.id, "dad": dad, "topic": topic,
                "guid": guid(), "try": 0,
            }  # fmt: skip
            request: dict[str, Any] = {"metadata": metadata, "data": payload}
            if activity.retry is not None:  # the worker applies the activity's policy
                request["policies"] = {"retry": _retry_policies(activity.retry)}
            step.messages.append(
                OutgoingMessage(topic, request, priority=1, job_id=jid, retry=WORKER_DELIVERY)
            )
            record(step, context, activity.id, dad, l1=True, n2=0, seen=[])
        elif isinstance(activity, AwaitActivity):
            payload = self._input(activity, context)
            topic = str(resolve(activity.topic, context) or activity.subtype or "")
            detached = resolve(activity.await_result, context) is False
            parent = {"pj": jid, "pg": gid, "pd": dad, "pa": activity.id}
            if detached:
                parent["px"] = True
            step.messages.append(
                engine_message(
                    "await", jid,
                    {"topic": topic, "data": payload, "parent": parent, "child": guid()},
                )
            )  # fmt: skip
            record(step, context, activity.id, dad, l1=True, n2=0, seen=[])
        elif isinstance(activity, HookActivity):
            self._hook_leg1(graph, activity, context, body, step)
        elif isinstance(activity, CycleActivity):
            payload = self._input(activity, context) if activity.input_maps else context["data"]
            ancestor = graph.activity(activity.ancestor)
            target = dad_at_depth(dad, ancestor.depth)
            step.messages.append(
                engine_message(
                    "response", jid,
                    {"jid": jid, "gid": gid, "aid": ancestor.id, "dad": target,
                     "data": payload, "guid": guid(), "cycle": True},
                )
            )  # fmt: skip
            record(step, context, activity.id, dad, l1=True, done=True)
        elif isinstance(activity, SignalActivity):
            self._passthrough(graph, activity, context, dad, step, code=200)
            topic = str(resolve(activity.topic, context) or "")
            signal = map_rules(dict(activity.signal_maps or {}), context) or {}
            status = resolve(activity.status, context) or "success"
            code = resolve(activity.code, context) or 200
            if activity.subtype == "all":
                step.messages.append(self._signal_all_message(activity, context, topic, signal))
            else:
                step.messages.append(self._signal_message(topic, signal, str(status), int(code)))
        elif isinstance(activity, InterruptActivity):
            self._interrupt_leg1(graph, activity, context, dad, step)
        elif isinstance(activity, TriggerActivity):
            pass
        else:  # pragma: no cover - the compiler only produces the types above
            raise ConfigError(f"unknown activity type for {activity.id!r}", value=activity.id)
        return step

    def _declines(self, activity: Activity, context: Mapping[str, Any], step: Step) -> bool:
        """``statusThreshold`` (2.9.3): whether ``activity`` declines to start.

        With T = the resolved threshold (non-numeric or absent: 0), an activity whose job
        has at most T open obligations left (its own included) does not run: the job
        gives them up (its semaphore drops to 0, which completes it) and nothing of the
        activity is recorded. Every activity type behaves so (the reference lets
        workers, awaits, cycles and self-interrupts run anyway, quirk 17).
        """
        if activity.status_threshold is None or isinstance(activity, TriggerActivity):
            return False
        threshold = _number(resolve(activity.status_threshold, context)) or 0.0
        if threshold <= 0:
            return False
        current = int(context.get(_JS, 0))
        if current > threshold:
            return False
        step.semaphore -= max(current, 0)
        return True

    def _input(self, activity: Activity, context: dict[str, Any]) -> dict[str, Any]:
        mapped = map_rules(dict(activity.input_maps or {}), context) or {}
        mapped = mapped if isinstance(mapped, dict) else {"value": mapped}
        context[activity.id]["input"] = {"data": mapped}
        return mapped

    def _passthrough(
        self,
        graph: Graph,
        activity: Activity,
        context: dict[str, Any],
        dad: str,
        step: Step,
        *,
        code: int,
    ) -> None:
        """A single-leg activity: transitions, output and job maps, children, done."""
        children = next_transitions(graph, activity, context, code)
        if activity.output_maps:
            mapped = map_rules(dict(activity.output_maps), context) or {}
            output = context[activity.id].setdefault("output", {})
            output["data"] = {**output.get("data", {}), **mapped}
        apply_job_maps(activity, context, step)
        step.semaphore += len(children) - 1
        step.emit = step.emit or resolve(activity.emit, context) is True
        # A cycle pivot stays open for re-entry; its first pass used index 0.
        record(step, context, activity.id, dad, l1=True, n2=1, seen=[], done=not activity.cycle)
        self._expand(graph, context, step, children, f"{dad},0")

    def _hook_leg1(
        self,
        graph: Graph,
        activity: HookActivity,
        context: dict[str, Any],
        body: Mapping[str, Any],
        step: Step,
    ) -> None:
        jid, gid, dad = body["jid"], body["gid"], str(body["dad"])
        sleep = resolve(activity.sleep, context) if activity.sleep is not None else None
        seconds = _number(sleep)
        waits = bool(activity.hook_topic) or (seconds is not None and seconds > 0)
        if not waits:  # passthrough (a cycle pivot's first pass too)
            self._passthrough(graph, activity, context, dad, step, code=200)
            return
        if activity.output_maps:
            mapped = map_rules(dict(activity.output_maps), context) or {}
            context[activity.id].setdefault("output", {})["data"] = mapped
        apply_job_maps(activity, context, step)
        if seconds is not None and seconds > 0:
            step.messages.append(
                engine_message(
                    "timehook", jid, {"jid": jid, "gid": gid, "aid": activity.id, "dad": dad,
                                      "guid": guid()}, delay=seconds,
                )
            )  # fmt: skip
        key = None
        if activity.hook_topic:
            manifest_rules = graph.hooks.get(activity.hook_topic) or ()
            rule = next((r for r in manifest_rules if r.to == activity.id), None)
            expected = resolve(rule.expected, context) if rule is not None else jid
            key = f"{activity.hook_topic}:{expected}"
            step.after.append(
                (
                    "register_hook",
                    {
                        "key": key,
                        "target": {"jid": jid, "gid": gid, "aid": activity.id, "dad": dad},
                        "ttl": max(float(graph.expire), SIGNAL_TTL),
                    },
                )
            )
        record(step, context, activity.id, dad, l1=True, n2=0, seen=[], hook_key=key)

    def _interrupt_leg1(
        self,
        graph: Graph,
        activity: InterruptActivity,
        context: dict[str, Any],
        dad: str,
        step: Step,
    ) -> None:
        meta = context["metadata"]
        target = resolve(activity.target, context) if activity.target is not None else None
        options = {
            "reason": resolve(activity.reason, context),
            "throw": resolve(activity.throw, context) is not False,
            "code": _number(resolve(activity.code, context)) or 410,
            "stack": resolve(activity.stack, context),
        }
        if target in (None, "", meta["jid"]):
            apply_job_maps(activity, context, step)
            record(step, context, activity.id, dad, l1=True, done=True)
            step.semaphore -= 1
            step.after.append(("interrupt", {"jid": meta["jid"], **options}))
            return
        step.after.append(("interrupt", {"jid": str(target), **options}))
        self._passthrough(graph, activity, context, dad, step, code=200)

    # -- leg 2: an activity hears back ---------------------------------------------------------

    def _leg2(
        self,
        graph: Graph,
        activity: Activity,
        context: dict[str, Any],
        body: Mapping[str, Any],
        own: Mapping[str, Any],
        event: str,
    ) -> Step:
        kind = body.get("type")
        dad = str(body["dad"])
        status = str(body.get("status") or "success")
        code = int(body.get("code") or 200)
        data = body.get("data") or {}
        step = Step()
        this = context[activity.id]
        if kind in ("timehook", "webhook"):
            this["hook"] = {"data": data}
            if kind == "timehook" and own.get("hook_key"):
                step.after.append(("forget_hook_key", {"key": own["hook_key"]}))
        elif status == "error":
            this.setdefault("output", {})["metadata"] = {"err": error_text(data)}
            this["output"]["data"] = data
        else:
            this["output"] = {"data": data, "metadata": this.get("output", {}).get("metadata", {})}
        index = int(own.get("n2", 0))
        children = next_transitions(graph, activity, context, code)
        if status == "error" and not children:
            set_job_error(step, context["metadata"], {**data, "is_stream_error": True})
            step.error = data
        apply_job_maps(activity, context, step)
        pending = status == "pending"
        step.semaphore += len(children) - (0 if pending else 1)
        seen = [*list(own.get("seen", ()))[-MAX_SEEN + 1 :], event]
        final = not pending and not activity.cycle
        record(
            step, context, activity.id, dad,
            l1=True, n2=index + 1, seen=seen, done=final, hook_key=own.get("hook_key"),
        )  # fmt: skip
        step.emit = step.emit or resolve(activity.emit, context) is True
        self._expand(graph, context, step, children, f"{dad},{index}")
        if kind == "webhook" and code == 200 and isinstance(activity, HookActivity):
            step.after.append(("forget_hook_key", {"key": body.get("key")}))
        return step

    # -- children, signals, interrupts -----------------------------------------------------

    async def _start_child(self, message: StreamMessage) -> None:
        body = message.payload
        parent = dict(body.get("parent") or {})
        try:
            manifest = await self.manifest()
            graph = manifest.graph_for_topic(str(body.get("topic")))
            await self._trigger(
                manifest, graph, dict(body.get("data") or {}), parent, body.get("child")
            )
        except DuplicateJob:
            log.info("child job already started", extra={"parent": parent.get("pj")})
        except Exception as err:  # the parent hears of it as an error result
            await self._send_parent_result(
                {**parent, "jid": parent.get("pj")},
                {"message": str(err), "code": getattr(err, "code", 500)},
                int(getattr(err, "code", 500)),
                "error",
            )
        await self.backend.stream.ack([message])

    def _on_close(self, metadata: Mapping[str, Any]) -> list[OutgoingMessage]:
        if metadata.get("pj") and not metadata.get("px"):
            jid = str(metadata["jid"])
            return [engine_message("complete", jid, {"jid": jid, "gid": metadata["gid"]})]
        return []

    async def _complete_for_parent(self, message: StreamMessage, state: Mapping[str, Any]) -> None:
        metadata = dict(state.get(META, {}))
        err = metadata.get("err")
        if err:
            error = _loads(err)
            code = int(error.get("code") or 500)
            await self._send_parent_result(metadata, error, code, "error")
        else:
            await self._send_parent_result(metadata, job_data(state), 200, "success")
        await self.backend.stream.ack([message])

    async def _send_parent_result(
        self,
        metadata: Mapping[str, Any],
        data: Mapping[str, Any],
        code: int,
        status: str,
    ) -> None:
        body = {
            "jid": metadata.get("pj"), "gid": metadata.get("pg"), "aid": metadata.get("pa"),
            "dad": metadata.get("pd"), "data": dict(data), "code": code, "status": status,
            "guid": f"result:{metadata.get('jid')}:{status}",
        }  # fmt: skip
        await self.backend.stream.publish([engine_message("result", str(body["jid"]), body)])

    def _signal_message(
        self, topic: str, data: Mapping[str, Any], status: str, code: int
    ) -> OutgoingMessage:
        body = {"topic": topic, "data": dict(data), "status": status, "code": code, "guid": guid()}
        return engine_message("webhook", "", body)

    async def signal(self, topic: str, data: Mapping[str, Any], status: str, code: int) -> int:
        """Deliver ``data`` to the hook waiting on ``topic``; return the message id."""
        manifest = await self.manifest()
        if topic not in manifest.hook_rules:
            raise TopicNotFound(f"no hook listens to signal topic {topic!r}", value=topic)
        [msg_id] = await self.backend.stream.publish(
            [self._signal_message(topic, data, status, code)]
        )
        return msg_id

    def _signal_all_message(
        self,
        activity: SignalActivity,
        context: Mapping[str, Any],
        topic: str,
        signal: Mapping[str, Any],
    ) -> OutgoingMessage:
        """Signal subtype ``all`` (2.8.4): the fan-out runs when this message is processed.

        The resolver maps give the stats query (``data``, ``range``...; ``scrub``), and the
        facet is ``<key_name>:<key_value>`` (every index facet of the query without them).
        """
        resolver = map_rules(dict(activity.resolver_maps or {}), context) or {}
        name, value = resolve(activity.key_name, context), resolve(activity.key_value, context)
        facets = None if name in (None, "") else [f"{name}:{'' if value is None else value}"]
        scrub = resolver.pop("scrub", None)
        if scrub is None:
            scrub = resolve(activity.scrub, context)
        body = {
            "topic": topic,
            "data": dict(signal),
            "query": resolver,
            "facets": facets,
            "scrub": scrub is True,
        }
        return engine_message("signal_all", "", body)

    async def _fan_out(self, message: StreamMessage) -> None:
        body = message.payload
        facets = body.get("facets")
        try:
            await self.signal_all(
                str(body.get("topic")),
                dict(body.get("data") or {}),
                dict(body.get("query") or {}),
                None if facets is None else [str(f) for f in facets],
                scrub=bool(body.get("scrub")),
                ack=message,
            )
        except (ConfigError, TopicNotFound) as err:
            log.warning("signal all failed: %s", err, extra={"topic": body.get("topic")})
            await self.backend.stream.ack([message])

    # -- stats ----------------------------------------------------------------------------

    async def _stats_trigger(self, topic: str) -> TriggerActivity:
        manifest = await self.manifest()
        return manifest.graph_for_topic(topic).trigger_activity

    async def get_stats(self, topic: str, query: Mapping[str, Any]) -> dict[str, Any]:
        """The counters of the jobs of ``topic`` whose stats key ``query["data"]`` gives."""
        resolved = resolve_query(await self._stats_trigger(topic), query)
        counters = await self.store.get_stats(resolved.key, resolved.buckets)
        return stats_response(resolved, counters, bool(query.get("sparse")))

    async def get_ids(
        self, topic: str, query: Mapping[str, Any], facets: Sequence[str] | None = None
    ) -> dict[str, Any]:
        """The ids of the jobs of ``topic`` filed under ``facets`` (default: the index facets
        of ``query["data"]``), per time bucket."""
        trigger = await self._stats_trigger(topic)
        resolved = resolve_query(trigger, query)
        chosen = list(facets) if facets else facets_for(trigger, query.get("data") or {})
        ids = await self.store.get_ids(resolved.key, resolved.buckets, chosen)
        return ids_response(resolved, chosen, ids)

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
        """Signal ``hook_topic`` once per job id indexed under ``facets`` (2.8.4).

        The graph is the one holding the hook rule's target; its trigger's stats key and
        granularity give the buckets. Each job gets ``{**data, "id": <job id>}``; all the
        signals are published in one statement (with ``ack``, acking it). With ``scrub`` the
        counters of the buckets and the facets' ids are removed afterwards. Returns the ids.
        """
        manifest = await self.manifest()
        rules = manifest.hook_rules.get(hook_topic)
        if not rules:
            raise TopicNotFound(f"no hook listens to signal topic {hook_topic!r}", value=hook_topic)
        trigger = manifest.graph_of(rules[0].to).trigger_activity
        resolved = resolve_query(trigger, query)
        chosen = list(facets) if facets else facets_for(trigger, query.get("data") or {})
        found = await self.store.get_ids(resolved.key, resolved.buckets, chosen)
        job_ids = list(
            dict.fromkeys(
                jid for by_facet in found.values() for ids in by_facet.values() for jid in ids
            )
        )
        signals = [
            self._signal_message(hook_topic, {**data, "id": jid}, "success", 200) for jid in job_ids
        ]
        if signals or ack is not None:
            await self.backend.stream.publish(signals, ack=ack)
        if scrub:
            await self.store.delete_stats(resolved.key, resolved.buckets, chosen)
        return job_ids

    async def _deliver_signal(self, message: StreamMessage) -> None:
        body = message.payload
        topic = str(body.get("topic"))
        manifest = await self.manifest()
        rules = manifest.hook_rules.get(topic) or ()
        if not rules:
            log.warning("signal for an unknown hook topic", extra={"topic": topic})
            await self.backend.stream.ack([message])
            return
        scope = {"$self": {"hook": {"data": body.get("data")}}, "$hook": {"data": body.get("data")}}
        actual = resolve(rules[0].actual, scope) if rules[0].match else None
        key = f"{topic}:{actual}"
        target = await self.store.signal_hook(key, body, ttl=PENDING_SIGNAL_TTL)
        if target is None:
            await self.backend.stream.ack([message])  # parked until the hook registers
            return
        event = {**body, **target, "type": "webhook", "key": key}
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

    async def _apply_signal(
        self,
        message: StreamMessage,
        manifest: AppManifest,
        target: Mapping[str, Any],
        event: dict[str, Any],
    ) -> None:
        body = message.payload
        job = await self.store.get_job(str(target["jid"]))
        if job is None or job.state.get(META, {}).get("gid") != target.get("gid"):
            await self.backend.stream.ack([message])
            return
        graph = manifest.graph_of(str(target["aid"]))
        activity = graph.activity(str(target["aid"]))
        context = build_context(graph, job.state, activity.id, str(target["dad"]))
        context["__state__"] = job.state
        context[_JS] = job.semaphore
        own = job.state.get(activity_key(activity.id, str(target["dad"])), {})
        event_id = str(body.get("guid") or message.id)
        if own.get("done") or event_id in own.get("seen", ()) or job.semaphore <= 0:
            await self.backend.stream.ack([message])
            return
        step = self._leg2(graph, activity, context, event, own, event_id)
        await self._commit(graph, context, step, message)

    async def _after(self, action: str, args: dict[str, Any]) -> None:
        if action == "register_hook":
            parked = await self.store.register_hook(args["key"], args["target"], ttl=args["ttl"])
            if parked is not None:
                await self.backend.stream.publish([engine_message("webhook", "", parked)])
        elif action == "forget_hook_key" and args.get("key"):
            await self.store.delete_hook(str(args["key"]))
        elif action == "interrupt":
            jid = args.pop("jid")
            try:
                await self.interrupt(jid, **args)
            except JobNotFound:
                log.info("interrupt target is gone", extra={"jid": jid})

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
        job = await self.store.get_job(job_id)
        if job is None or job.semaphore <= 0:
            raise JobNotFound(f"job {job_id} is not running", value=job_id)
        metadata = dict(job.state.get(META, {}))
        state: dict[str, Any] = {}
        if throw:
            metadata["err"] = error_text(
                {"code": code, "message": reason or f"job [{job_id}] interrupted",
                 "stack": stack or "", "job_id": job_id}
            )  # fmt: skip
            state[META] = metadata
        # Purge first: the close below enqueues the parent's "complete" message.
        await self.store.purge_job_messages(job_id)
        result = await self.store.apply_step(
            job_id,
            state,
            semaphore_delta=INTERRUPTED,
            expire=float(expire if expire is not None else metadata.get("expire", 1)),
            on_close=self._on_close(metadata),
        )
        if result.applied and result.state is not None:
            await self._finish(result.state, result.semaphore or 0)

    async def _finish(self, state: Mapping[str, Any] | None, semaphore: int) -> None:
        if state is not None:
            await self._notify(job_output(state, semaphore), True)

    async def _fail_open_job(self, jid: str) -> None:
        """A terminal error in a job that still has open branches: complete it as failed."""
        job = await self.store.get_job(jid)
        if job is not None and job.semaphore > 0:
            metadata = dict(job.state.get(META, {}))
            await self.store.purge_job_messages(jid)  # before the close enqueues "complete"
            result = await self.store.apply_step(
                jid,
                {},
                semaphore_delta=-job.semaphore,
                expire=float(metadata.get("expire", 1)),
                on_close=self._on_close(metadata),
            )
            await self._finish(result.state, result.semaphore or 0)


@define(frozen=True)
class _Extension:
    """``pub``'s ``extended`` argument, checked."""

    fields: dict[str, str] = field(factory=dict)
    entity: str | None = None
    pending: float | None = None


def _extension(extended: Mapping[str, Any] | None) -> _Extension | None:
    """Check ``extended`` (search, marker, entity, pending) and turn it into state."""
    if not extended:
        return None
    unknown = sorted(set(extended) - {"search", "marker", "entity", "pending"})
    if unknown:
        raise ConfigError(f"unknown pub extension(s): {', '.join(unknown)}", value=unknown[0])
    fields: dict[str, str] = {}
    for name, prefix in (("search", "_"), ("marker", "")):
        values = extended.get(name) or {}
        if not isinstance(values, Mapping):
            raise ConfigError(f"pub extension {name!r} must be a mapping", value=name)
        for key, value in values.items():
            if name == "marker" and not str(key).startswith("-"):
                continue  # markers are '-' keys only
            if name == "search" and not str(key):
                raise ConfigError("a search field needs a name", value=key)
            fields[f"{prefix}{key}"] = _text(value)
    entity = extended.get("entity")
    pending = extended.get("pending")
    seconds = _number(pending)
    if pending is not None and (seconds is None or seconds <= 0):
        raise ConfigError("pub extension 'pending' must be a positive number of seconds",
                          value=pending)  # fmt: skip
    return _Extension(
        fields=fields, entity=None if entity is None else str(entity), pending=seconds
    )


def _text(value: Any) -> str:
    """``String(v)`` as the reference stores search and marker values."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, (dict, list)):
        return _jsonable_text(value)
    return str(value)


def _jsonable_text(value: Any) -> str:
    import json

    return json.dumps(value, separators=(",", ":"), default=str)


def _retry_policies(policy: ActivityRetry) -> dict[str, Any]:
    """An activity ``retry`` block as workers receive it (``{"500": [3], ...}``)."""
    out: dict[str, Any] = {code: [count] for code, count in policy.per_code.items()}
    for name, value in (
        ("maximumAttempts", policy.maximum_attempts),
        ("backoffCoefficient", policy.backoff_coefficient),
        ("maximumInterval", policy.maximum_interval),
        ("initialInterval", policy.initial_interval),
    ):
        if value is not None:
            out[name] = value
    return out


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


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
