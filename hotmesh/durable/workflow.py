"""The workflow API: ``from hotmesh.durable import workflow as wf``.

Every function here is called inside a workflow function while a durable Worker runs one
of its turns. Each durable call (activity, sleep, condition, child, signal...) takes the
next position in the workflow's history *when it is called* (not when awaited), so every
member of an ``asyncio.gather`` registers before the turn suspends.

Example:
    >>> from hotmesh.durable import workflow as wf
    >>> async def greet_twice(name: str) -> list[str]:
    ...     acts = wf.proxy_activities(start_to_close_timeout="30s")
    ...     first = await acts.greet(name)
    ...     await wf.sleep("1s")
    ...     return [first, await acts.greet(name)]
"""

from __future__ import annotations

import asyncio
import contextlib
import math
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from types import ModuleType
from typing import Any, NoReturn, TypeVar

from hotmesh.durable import _registry
from hotmesh.durable._context import Done, TurnContext, current, signal_key
from hotmesh.durable._errors_wire import error_from_wire
from hotmesh.durable._events import emit, trace
from hotmesh.durable._hooks import exec_hook, exec_hook_batch, hook
from hotmesh.durable._interceptors import outbound_chain
from hotmesh.durable._payload import check_json
from hotmesh.durable._sessions import enrich, entity, search
from hotmesh.durable._types import ActivityCall, Duration, RetryPolicy, WorkflowInfo, seconds
from hotmesh.durable.errors import (
    CancelledFailure,
    DurableFatalError,
    DurableMaxedError,
    DurableRetryError,
    DurableSuspend,
    DurableTimeoutError,
)
from hotmesh.errors import ConfigError

__all__ = [
    "ActivityProxy",
    "CancellationScope",
    "all",
    "condition",
    "continue_as_new",
    "deprecate_patch",
    "did_interrupt",
    "emit",
    "enrich",
    "entity",
    "exec_hook",
    "exec_hook_batch",
    "execute_child",
    "gather",
    "hook",
    "interrupt",
    "is_cancellation",
    "non_cancellable",
    "patched",
    "proxy_activities",
    "random",
    "search",
    "signal",
    "sleep",
    "start_child",
    "trace",
    "uuid4",
    "wait_for",
    "workflow_info",
]

T = TypeVar("T")


class ActivityProxy:
    """Proxied activities: ``await proxy.any_name(*args)`` runs activity ``any_name``."""

    def __init__(
        self,
        task_queue: str | None,
        retry: RetryPolicy | None,
        timeout: float | None,
        headers: Mapping[str, Any] | None,
    ) -> None:
        self._task_queue = task_queue
        self._retry = retry
        self._timeout = timeout
        self._headers = dict(headers or {})

    def __getattr__(self, name: str) -> Callable[..., Awaitable[Any]]:
        if name.startswith("__"):
            raise AttributeError(name)

        def call(*args: Any) -> Awaitable[Any]:
            return self._call(name, list(args))

        call.__name__ = name
        return call

    def _call(self, name: str, args: list[Any]) -> Awaitable[Any]:
        ctx = current(f"activity {name!r}")
        call = ActivityCall(name, args, {"headers": dict(self._headers)})
        chain = outbound_chain(
            call,
            workflow_info(),
            lambda: self._record(ctx, call.activity_name, call.args, call.options),
        )
        if chain is None:  # no interceptor: register now, at call time
            return self._record(ctx, name, args, call.options)
        return chain()

    def _record(
        self, ctx: TurnContext, name: str, args: list[Any], options: dict[str, Any]
    ) -> Awaitable[Any]:
        index, recorded = ctx.claim("proxy", name)
        if recorded is not None:
            return _settle(recorded.out, self._retry, "activity", name)
        ctx.check_cancelled()
        check_json(args, f"arguments of activity {name!r}")
        queue = self._task_queue or ctx.task_queue
        policy = dict(ctx.start.get("retry") or {})
        if self._retry is not None:
            policy.update(self._retry.to_wire())
        call = {
            "activityName": name,
            "arguments": args,
            "workflowId": ctx.workflow_id,
            "activityId": f"-{ctx.workflow_id}-${name}{ctx.dimension}-{index}",
            "retry": policy,
            "timeout": self._timeout,
            "headers": dict(options.get("headers") or {}),
        }
        return ctx.suspend(
            {
                "code": 591,
                "index": index,
                "key": ctx.key("proxy", index),
                "op": name,
                "activityTopic": f"{queue}-activity",
                "call": call,
            }
        )


def _settle(out: Any, retry: RetryPolicy | None, what: str, name: str) -> Done:
    """The replayed outcome of an activity or child: its value, or its error raised (or
    returned as a dict when ``throw_on_error`` is False)."""
    out = out if isinstance(out, dict) else {}
    error = out.get("error")
    if error:
        if retry is not None and not retry.throw_on_error:
            return Done(dict(error))
        return Done(error=error_from_wire(error, default=DurableFatalError))
    return Done(out.get("response"))


def proxy_activities(
    activities: Mapping[str, Callable[..., Any]]
    | Sequence[Callable[..., Any]]
    | ModuleType
    | None = None,
    *,
    task_queue: str | None = None,
    retry: RetryPolicy | None = None,
    start_to_close_timeout: Duration | None = None,
    headers: Mapping[str, Any] | None = None,
) -> ActivityProxy:
    """A proxy whose attributes run activities durably (sync; safe at module scope).

    Example:
        >>> acts = proxy_activities(retry=RetryPolicy(maximum_attempts=3))
        >>> # inside a workflow: greeting = await acts.greet("Ada")

    Raises:
        ConfigError: a malformed timeout or retry policy.
    """
    if activities is not None:
        _registry.register_activities(activities)
    if retry is not None and not isinstance(retry, RetryPolicy):
        raise ConfigError(f"retry must be a RetryPolicy, not {type(retry).__name__}", value=retry)
    timeout = (
        None
        if start_to_close_timeout is None
        else seconds(start_to_close_timeout, name="start_to_close_timeout")
    )
    return ActivityProxy(task_queue, retry, timeout, headers)


def sleep(duration: Duration) -> Awaitable[float]:
    """Sleep durably (a timer row; no process waits): ``await wf.sleep("30 days")``.

    Returns the seconds slept.
    """
    ctx = current("wf.sleep")
    secs = seconds(duration, name="sleep duration")
    index, recorded = ctx.claim("sleep", "")
    if recorded is not None:
        if recorded.record.get("cancelled") and not ctx.non_cancellable:
            return Done(error=CancelledFailure())  # handle.cancel() woke this sleep
        return Done(float(secs))
    ctx.check_cancelled()
    key = ctx.key("sleep", index)
    return ctx.suspend(
        {
            "code": 588,
            "index": index,
            "key": key,
            "op": "",
            "duration": max(secs, 0.001),
            "wakeId": f"{ctx.workflow_id}{key}",
        }
    )


def condition(signal_id: str, timeout: Duration | None = None) -> Awaitable[Any]:
    """Wait for signal ``signal_id``: its payload, or False when ``timeout`` passes first.

    A signal sent before the workflow waits is kept (buffered) and delivered when it does.
    """
    ctx = current("wf.condition")
    if not isinstance(signal_id, str) or not signal_id:
        raise ConfigError("signal_id must be a non-empty string", value=signal_id)
    limit = None if timeout is None else seconds(timeout, name="condition timeout")
    index, recorded = ctx.claim("wait", signal_id)
    if recorded is not None:
        out = recorded.out if isinstance(recorded.out, dict) else {}
        if out.get("cancel") is True and "data" not in out:  # woken by handle.cancel()
            return Done(False) if ctx.non_cancellable else Done(error=CancelledFailure())
        if "id" not in out:
            return Done(False)
        return Done(out.get("data"))
    ctx.check_cancelled()
    return ctx.suspend(
        {
            "code": 595,
            "index": index,
            "key": ctx.key("wait", index),
            "op": signal_id,
            "signalId": signal_id,
            "signalKey": signal_key(ctx.workflow_id, signal_id),
            "timeout": limit,
        }
    )


wait_for = condition


def signal(signal_id: str, data: Any = None) -> Awaitable[str | None]:
    """Send signal ``signal_id`` once (replays do not resend); namespace-wide: it reaches
    the wait on that id, whichever workflow it is in."""
    ctx = current("wf.signal")
    index, recorded = ctx.claim("signal", signal_id)
    if recorded is not None:
        return Done(None)
    ctx.check_cancelled()
    check_json(data, f"data of signal {signal_id!r}")
    return ctx.suspend(
        {
            "code": 593,
            "index": index,
            "key": ctx.key("signal", index),
            "op": signal_id,
            "signalId": signal_id,
            "payload": data,
        }
    )


def _child(
    workflow: str | Callable[..., Any],
    *,
    wait: bool,
    args: Sequence[Any],
    task_queue: str | None,
    workflow_id: str | None,
    entity: str | None,
    expire: Duration | None,
    retry: RetryPolicy | None,
    kind: str | None = None,
    parent: str | None = None,
) -> Awaitable[Any]:
    ctx = current("wf.execute_child")
    name = _registry.workflow_name(workflow)
    kind = kind or ("child" if wait else "start")
    index, recorded = ctx.claim(kind, name)
    if recorded is not None:
        if not wait:
            out = recorded.out if isinstance(recorded.out, dict) else {}
            return Done(out.get("job_id"))
        return _settle(recorded.out, retry, "child", name)
    ctx.check_cancelled()
    check_json(list(args), f"arguments of child workflow {name!r}")
    keep = None if expire is None else seconds(expire, name="expire")
    queue = task_queue or entity or ctx.task_queue
    child_id = workflow_id or f"{ctx.workflow_id}-{kind}{ctx.dimension}-{index}"
    child_retry = dict(ctx.start.get("retry") or {})
    if retry is not None:
        child_retry.update(retry.to_wire())
    return ctx.suspend(
        {
            "code": 590,
            "index": index,
            "key": ctx.key(kind, index),
            "op": name,
            "await": wait,
            # Seconds the finished child stays inspectable (default: 7 days).
            "expire": None if keep is None else max(int(keep), 1),
            "child": {
                "mode": "workflow",
                "workflowId": child_id,
                "workflowName": name,
                "taskQueue": queue,
                "workflowTopic": f"{queue}-{name}",
                "arguments": list(args),
                "retry": child_retry,
                "parentWorkflowId": parent or ctx.workflow_id,
                "originJobId": ctx.start.get("originJobId") or ctx.workflow_id,
                "entity": entity,
                # A hook's search and entity sessions act on the workflow it runs for.
                "hookTarget": parent,
            },
        }
    )


def execute_child(
    workflow: str | Callable[..., Any],
    *,
    args: Sequence[Any] = (),
    task_queue: str | None = None,
    workflow_id: str | None = None,
    entity: str | None = None,
    expire: Duration | None = None,
    retry: RetryPolicy | None = None,
) -> Awaitable[Any]:
    """Run a child workflow and return its result (its failure raises here).

    ``expire``: how long the finished child stays inspectable (default 7 days).

    Example:
        >>> async def parent() -> str:  # doctest: +SKIP
        ...     return await wf.execute_child(child, args=[1], expire="1h")
    """
    return _child(
        workflow,
        wait=True,
        args=args,
        task_queue=task_queue,
        workflow_id=workflow_id,
        entity=entity,
        expire=expire,
        retry=retry,
    )


def start_child(
    workflow: str | Callable[..., Any],
    *,
    args: Sequence[Any] = (),
    task_queue: str | None = None,
    workflow_id: str | None = None,
    entity: str | None = None,
    expire: Duration | None = None,
    retry: RetryPolicy | None = None,
) -> Awaitable[str]:
    """Start a child workflow without waiting; return its workflow id.

    ``expire``: how long the finished child stays inspectable (default 7 days).
    """
    return _child(
        workflow,
        wait=False,
        args=args,
        task_queue=task_queue,
        workflow_id=workflow_id,
        entity=entity,
        expire=expire,
        retry=retry,
    )


async def all(*awaitables: Awaitable[Any]) -> list[Any]:
    """Await durable calls together; results in argument order (like ``asyncio.gather``)."""
    return list(await asyncio.gather(*awaitables))


gather = all


def continue_as_new(*args: Any) -> Awaitable[NoReturn]:
    """End this generation and start the workflow again with ``args`` (same workflow id).

    Code after the call never runs; the result is the last generation's.
    """
    ctx = current("wf.continue_as_new")
    ctx.check_cancelled()
    check_json(list(args), "arguments of continue_as_new")
    index = ctx.counter
    ctx.counter += 1
    return ctx.suspend(
        {
            "code": 592,
            "index": index,
            "key": "",
            "op": "",
            "generation": ctx.generation + 1,
            "arguments": list(args),
        }
    )


def interrupt(
    workflow_id: str,
    *,
    reason: str | None = None,
    throw: bool = True,
    expire: Duration | None = None,
) -> Awaitable[str | None]:
    """Interrupt (terminate) another workflow, once (replays do not repeat it).

    ``expire``: how long the interrupted workflow stays inspectable (default: its own
    retention).

    Example:
        >>> async def supervisor(child_id: str) -> None:  # doctest: +SKIP
        ...     await wf.interrupt(child_id, reason="no longer needed", expire=60)
    """
    ctx = current("wf.interrupt")
    index, recorded = ctx.claim("interrupt", workflow_id)
    if recorded is not None:
        return Done(None)
    ctx.check_cancelled()
    keep = None if expire is None else seconds(expire, name="expire")
    return ctx.suspend(
        {
            "code": 594,
            "index": index,
            "key": ctx.key("interrupt", index),
            "op": workflow_id,
            "target": workflow_id,
            "reason": reason or f"interrupted by workflow {ctx.workflow_id}",
            "throw": throw,
            # Seconds the interrupted workflow stays inspectable (default: its own).
            "expire": None if keep is None else max(int(keep), 1),
        }
    )


def patched(change_id: str) -> bool:
    """True when this execution runs the code guarded by ``change_id``.

    An execution that had already made durable calls before the patch was deployed gets
    False (it keeps replaying the old code path); a new one records the patch and gets
    True on every turn. Call it before the first durable call of the code it guards.

    Example:
        >>> async def order(acts):  # doctest: +SKIP
        ...     if wf.patched("validate-v2"):
        ...         await acts.validate_v2()
        ...     else:
        ...         await acts.validate()
    """
    ctx = current("wf.patched")
    if not isinstance(change_id, str) or not change_id:
        raise ConfigError("change_id must be a non-empty string", value=change_id)
    if change_id in ctx.patches:
        return True
    if ctx.replay:  # started before this code: stay on the old path
        return False
    ctx.new_markers[f"-patch{ctx.dimension}-{change_id}-"] = "1"
    ctx.patches.add(change_id)
    return True


def deprecate_patch(change_id: str) -> None:
    """Mark ``change_id`` as no longer needed (no effect at run time)."""
    current("wf.deprecate_patch")


_SCALE = 10000.0


def _deterministic(index: int) -> float:
    x = math.sin(index) * _SCALE
    return x - math.floor(x)


def random() -> float:
    """A float in [0, 1) that is the same on every replay."""
    ctx = current("wf.random")
    index = ctx.counter
    ctx.counter += 1
    return _deterministic(index)


def uuid4() -> str:
    """A version-4 UUID string that is the same on every replay."""
    ctx = current("wf.uuid4")
    data = bytearray()
    for _ in range(16):
        data.append(math.floor(_deterministic(ctx.counter) * 256))
        ctx.counter += 1
    data[6] = (data[6] & 0x0F) | 0x40
    data[8] = (data[8] & 0x3F) | 0x80
    text = data.hex()
    return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"


def workflow_info() -> WorkflowInfo:
    """The running workflow's id, name, task queue, namespace, dimension and can_retry."""
    return current("wf.workflow_info").info()


@contextlib.asynccontextmanager
async def non_cancellable() -> AsyncIterator[None]:
    """Durable calls inside this block do not raise :class:`CancelledFailure`.

    Example:
        >>> async def order(acts):  # doctest: +SKIP
        ...     try:
        ...         await acts.ship()
        ...     except CancelledFailure:
        ...         async with non_cancellable():
        ...             await acts.refund()
        ...         raise
    """
    ctx: TurnContext = current("wf.non_cancellable")
    ctx.non_cancellable += 1
    try:
        yield
    finally:
        ctx.non_cancellable -= 1


class CancellationScope:
    """``await wf.CancellationScope.non_cancellable(fn)`` (the reference's form)."""

    @staticmethod
    async def non_cancellable(fn: Callable[[], Awaitable[T]]) -> T:
        """Run ``fn()`` in a :func:`non_cancellable` block; return its result."""
        async with non_cancellable():
            return await fn()


def is_cancellation(err: BaseException) -> bool:
    """True when ``err`` is the :class:`CancelledFailure` of ``handle.cancel()``."""
    return isinstance(err, CancelledFailure)


def did_interrupt(err: BaseException) -> bool:
    """True for the durable control flow and the Durable failures: re-raise these."""
    return isinstance(
        err,
        DurableSuspend
        | DurableTimeoutError
        | DurableMaxedError
        | DurableFatalError
        | DurableRetryError
        | CancelledFailure,
    )
