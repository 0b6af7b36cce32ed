"""The Durable client: start workflows, signal them, and read their results.

Example:
    >>> from hotmesh.durable import Client
    >>> async def main(connection):  # doctest: +SKIP
    ...     client = Client(connection)
    ...     handle = await client.workflow.start("greet", args=["Ada"], task_queue="hello")
    ...     return await handle.result(timeout=30)
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from hotmesh import HotMesh, JobOutput
from hotmesh.durable import _engines, _history, _registry
from hotmesh.durable._context import signal_key
from hotmesh.durable._payload import check_json
from hotmesh.durable._types import Duration, RetryPolicy, seconds
from hotmesh.durable.errors import WorkflowFailed, WorkflowInterrupted
from hotmesh.errors import ConfigError, HotMeshTimeoutError

__all__ = ["Client", "WorkflowClient", "WorkflowHandle"]

#: The job field that marks a workflow started with ``signal_in=False`` (takes no hooks).
_NO_HOOKS = "-nohooks-"
#: Re-check intervals while waiting for a result (the completion event is only a hint).
_RECHECK = (0.25, 1.0, 5.0, 30.0)


def _check_namespace(namespace: str) -> str:
    if not isinstance(namespace, str) or not namespace:
        raise ConfigError("namespace must be a non-empty string", value=namespace)
    return namespace


class Client:
    """Starts and reads workflows of one namespace (``client.workflow.*``).

    Args:
        connection: ``{"class": "asyncpg" | "psycopg" | module, "options": {"dsn": ...}}``.
        namespace: the Durable app (its own Postgres schema); default ``"durable"``.
    """

    def __init__(self, connection: Mapping[str, Any], *, namespace: str = "durable") -> None:
        if not isinstance(connection, Mapping):
            raise ConfigError(
                "connection must be a mapping like {'class': 'asyncpg', 'options': {...}}",
                value=connection,
            )
        self.connection = dict(connection)
        self.namespace = _check_namespace(namespace)
        self.workflow = WorkflowClient(self)

    async def get_hotmesh_client(self) -> HotMesh:
        """The engine of this namespace (for ``sub_quorum``, ``roll_call``...)."""
        return await _engines.engine_for(self.connection, self.namespace)


class WorkflowClient:
    """``client.workflow``: start, execute, get_handle, signal."""

    def __init__(self, client: Client) -> None:
        self._client = client

    async def start(
        self,
        workflow: str | Callable[..., Any],
        *,
        args: Sequence[Any] = (),
        task_queue: str | None = None,
        workflow_id: str | None = None,
        entity: str | None = None,
        search: Mapping[str, str] | None = None,
        retry: RetryPolicy | None = None,
        expire: Duration | None = None,
        signal_in: bool | None = None,
        _parent: str | None = None,
        _hook_target: str | None = None,
    ) -> WorkflowHandle:
        """Start ``workflow`` on ``task_queue``; return its handle at once.

        ``signal_in=False`` refuses hooks (``client.workflow.hook``) into this workflow.

        Raises:
            DuplicateJob: a live workflow already has ``workflow_id``.
            ConfigError: a bad name, task queue, retry policy or duration.
            PayloadError: ``args`` cannot be serialised (the message names the path).
        """
        name = _registry.workflow_name(workflow)
        queue = task_queue or entity
        if not isinstance(queue, str) or not queue:
            raise ConfigError(
                f"start({name!r}) needs a task_queue (the queue a Worker for it consumes)",
                value=task_queue,
            )
        if isinstance(args, str | bytes) or not isinstance(args, Sequence):
            raise ConfigError("args must be a list or tuple of arguments", value=args)
        check_json(list(args), f"args of workflow {name!r}")
        if retry is not None and not isinstance(retry, RetryPolicy):
            raise ConfigError(
                f"retry must be a hotmesh.durable.RetryPolicy, not {type(retry).__name__}",
                value=retry,
            )
        retention = None if expire is None else seconds(expire, name="expire")
        if workflow_id is not None and (not isinstance(workflow_id, str) or not workflow_id):
            raise ConfigError("workflow_id must be a non-empty string", value=workflow_id)
        if search is not None:
            check_json(dict(search), "search")
        hm = await self._client.get_hotmesh_client()
        job_id = workflow_id or HotMesh.new_guid()
        data: dict[str, Any] = {
            "mode": "workflow",
            "workflowId": job_id,
            "workflowName": name,
            "taskQueue": queue,
            "workflowTopic": f"{queue}-{name}",
            "arguments": list(args),
            "retry": retry.to_wire() if retry else {},
            "entity": entity,
            "signalIn": signal_in,
            # Search fields as job data too (`_name`), so handle.query can read them.
            "search": {f"_{k}": str(v) for k, v in (search or {}).items()},
        }
        if signal_in is False:
            data["search"][_NO_HOOKS] = "1"
        if _parent is not None:
            data["parentWorkflowId"] = _parent
        if _hook_target is not None:  # its search/entity sessions act on the target
            data["hookTarget"] = _hook_target
        extended = {"search": dict(search)} if search else None
        # `expire`: seconds the finished workflow stays inspectable (default 7 days).
        context = {"expire": max(int(retention), 1)} if retention is not None else None
        await hm.pub(f"{self._client.namespace}.execute", data, context=context, extended=extended)
        return WorkflowHandle(self._client, job_id, queue=queue, name=name)

    async def execute(
        self,
        workflow: str | Callable[..., Any],
        *,
        args: Sequence[Any] = (),
        task_queue: str | None = None,
        workflow_id: str | None = None,
        entity: str | None = None,
        search: Mapping[str, str] | None = None,
        retry: RetryPolicy | None = None,
        expire: Duration | None = None,
        signal_in: bool | None = None,
        timeout: Duration | None = None,
    ) -> Any:
        """Start ``workflow`` and wait for its result (see :meth:`WorkflowHandle.result`)."""
        limit = None if timeout is None else seconds(timeout, name="timeout")
        handle = await self.start(
            workflow,
            args=args,
            task_queue=task_queue,
            workflow_id=workflow_id,
            entity=entity,
            search=search,
            retry=retry,
            expire=expire,
            signal_in=signal_in,
        )
        return await handle.result(timeout=limit)

    def get_handle(self, workflow_id: str) -> WorkflowHandle:
        """A handle on an existing workflow (sync, no I/O, no existence check)."""
        if not isinstance(workflow_id, str) or not workflow_id:
            raise ConfigError("workflow_id must be a non-empty string", value=workflow_id)
        return WorkflowHandle(self._client, workflow_id)

    async def signal(self, signal_id: str, data: Any = None) -> str:
        """Send signal ``signal_id`` (namespace-wide: to the wait on that id, whichever
        workflow it is in); kept until a workflow waits for it. ``handle.signal`` reaches
        one workflow only.

        Example:
            >>> await client.workflow.signal("approve-R-7", {"by": "ada"})  # doctest: +SKIP
        """
        return await _send_signal(self._client, signal_id, data)

    async def hook(
        self,
        *,
        workflow_id: str,
        workflow: str | Callable[..., Any],
        task_queue: str | None = None,
        args: Sequence[Any] = (),
        search: Mapping[str, str] | None = None,
    ) -> str:
        """Run hook function ``workflow`` for the running workflow ``workflow_id``; return
        the hook's own workflow id (``get_handle(hook_id).result()`` gives its result or
        raises its error). ``search`` seeds the hook's search fields.

        Example:
            >>> async def main(client):  # doctest: +SKIP
            ...     hook_id = await client.workflow.hook(
            ...         workflow_id="order-1", workflow="audit", task_queue="audit")
            ...     await client.workflow.get_handle(hook_id).result()

        Raises:
            JobNotFound: no workflow has id ``workflow_id``.
            ConfigError: no task queue, the workflow has finished or was started with
                ``signal_in=False``.
        """
        if not isinstance(workflow_id, str) or not workflow_id:
            raise ConfigError("workflow_id must be a non-empty string", value=workflow_id)
        if not isinstance(task_queue, str) or not task_queue:
            raise ConfigError(
                "hook() needs the task_queue a Worker for the hook function consumes",
                value=task_queue,
            )
        hm = await self._client.get_hotmesh_client()
        output = await hm.get_state(f"{self._client.namespace}.execute", workflow_id)
        if _finished(output):
            raise ConfigError(
                f"workflow {workflow_id} has finished; a hook needs a running workflow",
                value=workflow_id,
            )
        if output.data.get(_NO_HOOKS):
            raise ConfigError(
                f"workflow {workflow_id} was started with signal_in=False: it takes no hooks",
                value=workflow_id,
            )
        hook_id = f"{workflow_id}-hook-{HotMesh.new_guid()}"
        if search:  # the target's search fields too, as the hook's own
            fields = {f"_{k}": str(v) for k, v in search.items()}
            await hm.update_job_data(
                workflow_id, lambda data: (True, fields), once=f"{hook_id}-search"
            )
        handle = await self.start(
            workflow,
            args=args,
            task_queue=task_queue,
            workflow_id=hook_id,
            search=search,
            _parent=workflow_id,
            _hook_target=workflow_id,
        )
        return handle.workflow_id


async def _send_signal(
    client: Client, signal_id: str, data: Any, workflow_id: str | None = None
) -> str:
    """Signal the wait on ``signal_id``: of any workflow, or only of ``workflow_id``."""
    if not isinstance(signal_id, str) or not signal_id:
        raise ConfigError("signal_id must be a non-empty string", value=signal_id)
    check_json(data, f"data of signal {signal_id!r}")
    hm = await client.get_hotmesh_client()
    key = signal_id if workflow_id is None else signal_key(workflow_id, signal_id)
    return str(await hm.signal(f"{client.namespace}.wfs.wait", {"id": key, "data": data}))


class WorkflowHandle:
    """A started workflow: read its result, status and state; signal, cancel, interrupt.

    Attributes:
        workflow_id: the workflow's id (its job id).
    """

    def __init__(
        self, client: Client, workflow_id: str, *, queue: str | None = None, name: str | None = None
    ) -> None:
        self._client = client
        self.workflow_id = workflow_id
        self._queue = queue
        self._name = name

    def __repr__(self) -> str:
        return f"WorkflowHandle({self.workflow_id!r})"

    async def _engine(self) -> HotMesh:
        return await self._client.get_hotmesh_client()

    async def _output(self) -> JobOutput:
        hm = await self._engine()
        return await hm.get_state(f"{self._client.namespace}.execute", self.workflow_id)

    async def result(self, *, timeout: Duration | None = None, throw_on_error: bool = True) -> Any:
        """Wait for the workflow to finish and return its result.

        Raises:
            WorkflowFailed: the workflow ended with an error (``code``, ``message``, ``stack``).
            WorkflowInterrupted: the workflow was interrupted (code 410).
            HotMeshTimeoutError: ``timeout`` seconds passed first (a ``TimeoutError``).
            JobNotFound: no workflow has this id.
        """
        limit = None if timeout is None else seconds(timeout, name="timeout")
        deadline = None if limit is None else time.monotonic() + limit
        hm = await self._engine()
        step = 0
        while True:
            future = _engines.result_waiter(hm, self.workflow_id)
            try:
                output = await self._output()
                if _finished(output):
                    return self._settle(output, throw_on_error)
                wait = _RECHECK[min(step, len(_RECHECK) - 1)]
                step += 1
                if deadline is not None:
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        raise await self._timeout_error(output, limit or 0.0)
                    wait = min(wait, remaining)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(asyncio.shield(future), wait)
                published = _published(future)
                if published is not None:  # the completion event carries the final output
                    return self._settle(published, throw_on_error)
            finally:
                _engines.forget_waiter(hm, self.workflow_id, future)

    async def _timeout_error(self, output: JobOutput, limit: float) -> HotMeshTimeoutError:
        started = any(k.startswith("-") for k in output.data) or "response" in output.data
        if not started and self._queue:
            return HotMeshTimeoutError(
                f"workflow {self.workflow_id} did not finish within {limit}s and no worker "
                f"has run it yet: is a Worker for workflow {self._name!r} consuming task "
                f"queue {self._queue!r} in namespace {self._client.namespace!r}?",
                value=self.workflow_id,
            )
        return HotMeshTimeoutError(
            f"workflow {self.workflow_id} did not finish within {limit}s (it keeps running)",
            value=self.workflow_id,
        )

    def _settle(self, output: JobOutput, throw_on_error: bool) -> Any:
        status = int(output.metadata.get("js") or 0)
        if status < 0:
            err = _parse(output.metadata.get("err"))
            if not err:
                return None
            err.setdefault("code", 410)
            if throw_on_error:
                raise WorkflowInterrupted(self.workflow_id, err)
            return err
        error = output.data.get("error") or _parse(output.metadata.get("err"))
        if error:
            if throw_on_error:
                raise WorkflowFailed(self.workflow_id, dict(error))
            return dict(error)
        return output.data.get("response")

    async def status(self) -> int:
        """0 done, > 0 running, < 0 interrupted."""
        hm = await self._engine()
        return await hm.get_status(self.workflow_id)

    async def state(self, *, metadata: bool = False) -> dict[str, Any]:
        """The workflow's job data (``done``, ``response``, ``$error``...); with
        ``metadata=True``, ``{"metadata": ..., "data": ...}``."""
        output = await self._output()
        data = dict(output.data)
        if "error" in data:
            data["$error"] = data.pop("error")
        if metadata:
            return {"metadata": dict(output.metadata), "data": data}
        return data

    async def query(self, *fields: str) -> dict[str, str | None]:
        """Search fields (``start(search=...)``) by name."""
        output = await self._output()
        found: dict[str, str | None] = {}
        for name in fields:
            value = output.data.get(f"_{name}")
            found[name] = None if value is None else str(value)
        return found

    async def signal(self, signal_id: str, data: Any = None) -> str:
        """Send signal ``signal_id`` to this workflow only (``client.workflow.signal``
        reaches any workflow waiting on it); kept until this workflow waits for it.

        Example:
            >>> await handle.signal("approve", {"by": "ada"})  # doctest: +SKIP
        """
        return await _send_signal(self._client, signal_id, data, self.workflow_id)

    async def cancel(self) -> None:
        """Cooperative cancellation: ``CancelledFailure`` at the workflow's next new
        durable call."""
        hm = await self._engine()
        await hm.get_status(self.workflow_id)  # JobNotFound for an unknown id
        await hm.cancel(self.workflow_id)
        # Wake the sleeps and waits the workflow is suspended on: they raise
        # CancelledFailure (a wait in a non_cancellable scope returns False).
        for topic, wake_id in await _pending_waits(hm, self.workflow_id):
            await hm.signal(
                f"{self._client.namespace}.wfs.{topic}", {"id": wake_id, "cancel": True}
            )

    async def interrupt(
        self, *, reason: str | None = None, throw: bool = True, expire: Duration | None = None
    ) -> None:
        """Stop the workflow now (no cleanup code runs); ``result()`` raises
        :class:`WorkflowInterrupted` unless ``throw=False``."""
        limit = None if expire is None else seconds(expire, name="expire")
        hm = await self._engine()
        await hm.interrupt(
            f"{self._client.namespace}.execute",
            self.workflow_id,
            reason=reason,
            throw=throw,
            expire=limit,
        )

    terminate = interrupt

    async def export(
        self, *, allow: Sequence[str] | None = None, block: Sequence[str] | None = None,
        values: bool = True,
    ) -> dict[str, Any]:  # fmt: skip
        """``{data, state, status, timeline, transitions}`` of the workflow's job."""
        hm = await self._engine()
        raw = await hm.export(self.workflow_id)
        output = await self._output()
        timeline = [
            {"key": k, "value": v if values else {}}
            for k, v in sorted(output.data.items())
            # not the guards of hooks' writes (HotMesh.update_job_data(once=...))
            if k.startswith("-") and k != _NO_HOOKS and not k.startswith("-once-")
        ]
        result: dict[str, Any] = {
            "data": {k[1:]: v for k, v in output.data.items() if k.startswith("_")},
            "state": {"data": await self.state(), "metadata": dict(output.metadata)},
            "status": raw.status,
            "timeline": timeline,
            "transitions": raw.activities,
        }
        keep = set(allow) if allow else set(result)
        return {k: v for k, v in result.items() if k in keep and k not in set(block or ())}

    async def export_execution(
        self,
        *,
        mode: str = "sparse",
        exclude_system: bool = False,
        omit_results: bool = False,
        enrich_inputs: bool = False,
        include_lineage: bool = False,
        max_depth: int = 5,
    ) -> dict[str, Any]:
        """The workflow's history as Temporal-like events (durable.md §6.2).

        ``{workflow_id, workflow_type, task_queue, status, start_time, close_time,
        duration_ms, result, events, summary}``; each event has ``event_id``,
        ``event_type``, ``category``, ``event_time`` (ISO UTC), ``duration_ms``,
        ``is_system`` and ``attributes``. ``mode="verbose"`` adds ``children`` (their
        histories, ``max_depth`` levels); ``exclude_system`` drops the recorded search,
        entity, emit and patch markers; ``omit_results`` drops payloads;
        ``enrich_inputs`` adds activity arguments; ``include_lineage`` adds
        ``parent_workflow_id`` and ``origin_id``. Saved as JSON, a history (without
        ``exclude_system`` and ``omit_results``) replays with
        :func:`hotmesh.durable.testing.replay`.

        Example:
            >>> history = await handle.export_execution()  # doctest: +SKIP
            >>> [e["event_type"] for e in history["events"]][:2]  # doctest: +SKIP
            ['workflow_execution_started', 'activity_task_scheduled']

        Raises:
            JobNotFound: no workflow has this id.
            ConfigError: an unknown ``mode``.
        """
        return await _history.export_execution(
            await self._engine(),
            self._client.namespace,
            self.workflow_id,
            mode=mode,
            exclude_system=exclude_system,
            omit_results=omit_results,
            enrich_inputs=enrich_inputs,
            include_lineage=include_lineage,
            max_depth=max_depth,
        )


async def _pending_waits(hm: HotMesh, workflow_id: str) -> list[tuple[str, str]]:
    """``(hook topic, id)`` of the sleeps and waits of the workflow's latest turn (one
    call, or the members of a gathered group)."""
    turns = [a for a in (await hm.export(workflow_id)).activities if a["name"] == "worker"]
    latest = turns[-1]["output"] if turns else None
    if not isinstance(latest, dict):
        return []
    calls = [latest, *[i for i in latest.get("items") or () if isinstance(i, dict)]]
    found = [("wake", str(c["wakeId"])) for c in calls if c.get("wakeId")]
    found += [
        ("wait", str(c.get("signalKey") or c["signalId"])) for c in calls if c.get("signalId")
    ]
    return found


def _finished(output: JobOutput) -> bool:
    status = int(output.metadata.get("js") or 0)
    return status <= 0 or output.data.get("done") is True


def _parse(err: Any) -> dict[str, Any]:
    if isinstance(err, dict):
        return dict(err)
    if isinstance(err, str) and err:
        try:
            parsed = json.loads(err)
        except ValueError:
            return {"message": err}
        return parsed if isinstance(parsed, dict) else {"message": err}
    return {}


def _published(future: asyncio.Future[JobOutput]) -> JobOutput | None:
    """The finished output a completion event delivered, if it did (else re-read)."""
    if not future.done() or future.cancelled() or future.exception() is not None:
        return None
    output = future.result()
    return output if _finished(output) else None
