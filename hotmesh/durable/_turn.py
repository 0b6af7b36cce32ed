"""One workflow turn: run the function from the top over its history, then answer the
engine with what to do next (durable.md §1.5)."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from hotmesh import HotMesh
from hotmesh.durable._context import (
    TurnContext,
    bind,
    now_ms,
    parse_markers,
    parse_patches,
    unbind,
)
from hotmesh.durable._errors_wire import error_to_wire
from hotmesh.durable._interceptors import inbound_chain
from hotmesh.durable._payload import check_json
from hotmesh.durable._retry import FINAL_CODES, RetryLater, merged_policy, stream_retry
from hotmesh.durable.activity import Retryable, execute_call, runs_here
from hotmesh.durable.errors import DurableError, DurableSuspend
from hotmesh.errors import ConfigError, JobNotFound, PayloadError
from hotmesh.serializer import json_text, json_value
from hotmesh.types import WorkerMessage

__all__ = ["drain", "run_turn"]

log = logging.getLogger(__name__)

#: Loop turns the runner waits, after the function ended, for gathered siblings.
DRAIN_TURNS = 50


def _context(
    fn_name: str, namespace: str, message: WorkerMessage, data: dict[str, Any]
) -> TurnContext:
    """The turn's context from its input ``data`` (``start``, ``cycle``, ``replay``)."""
    start = dict(data.get("start") or {})
    cycle = dict(data.get("cycle") or {})
    recorded = dict(data.get("replay") or {})
    generation = int(cycle.get("generation") or 0)
    arguments = cycle.get("arguments") if generation else start.get("arguments")
    context = TurnContext(
        workflow_id=str(start.get("workflowId") or message.metadata.get("jid")),
        workflow_name=fn_name,
        task_queue=str(start.get("taskQueue") or ""),
        namespace=namespace,
        generation=generation,
        arguments=list(arguments or []),
        start=start,
        replay={},
    )
    context.replay = parse_markers(recorded, context.dimension)
    context.patches = parse_patches(recorded, context.dimension)
    context.cancelled = "-cancelled-" in recorded
    context.data = recorded
    return context


def _fresh(message: WorkerMessage, recorded: dict[str, Any]) -> dict[str, Any]:
    """The input of the turn's next replay: a fresh copy (through JSON, as a new turn
    would read it), so nothing the function changed in its arguments or in recorded
    outcomes during one replay leaks into the next."""
    data = {"start": message.data.get("start"), "cycle": message.data.get("cycle")}
    return dict(json_value(json_text({**data, "replay": recorded})))


#: The job flag ``handle.cancel`` sets (read back with each checkpoint).
CANCELLED = "-cancelled-"


async def run_turn(
    fn: Callable[..., Any],
    namespace: str,
    serves: Callable[[str], bool],
    publish: Callable[[dict[str, Any]], Awaitable[Any]] | None,
    message: WorkerMessage,
    *,
    engine: HotMesh | None = None,
) -> dict[str, Any]:
    """The workflow worker's callback: one turn of ``fn`` for ``message``.

    ``serves(activity_topic)`` tells whether this process serves that activity queue: a
    lone activity call for such a queue runs inline, in this turn. With ``engine`` (a
    process that may write the job: not a secured worker) the turn then goes on in the
    same delivery: it replays the function with the activity's outcome, and before it
    runs the next inline activity it checkpoints what it recorded into the job (one
    fenced write, :meth:`hotmesh.HotMesh.checkpoint`). The turn answers the engine only
    when the function is done or asks for what the engine carries out (a sleep, a
    condition, a child, a gathered group, a remote activity, a retry); the answer brings
    the markers not checkpointed yet. Without ``engine`` an inline activity's outcome is
    the turn's answer (code 587), and the engine starts a new turn.

    A redelivered turn (its earlier delivery died) re-reads the job's markers: the
    mapped history was taken before that delivery's checkpoints.
    """
    attempt = int(message.metadata.get("try") or 0) + 1
    recorded = dict(message.data.get("replay") or {})
    if engine is not None and attempt > 1:
        recorded = await _reread(engine, message, recorded)
    ctx = _context(fn.__name__, namespace, message, {**message.data, "replay": recorded})
    policy = merged_policy(ctx.start.get("retry"))
    #: Markers recorded in this delivery that the job does not hold yet.
    carried: dict[str, Any] = {}
    while True:
        ctx.publish = publish
        ctx.can_retry = attempt < int(policy["maximumAttempts"])
        result, error, started = await _replay(fn, ctx)
        if not started:
            return _failure(ctx, error or RuntimeError("no turn"), attempt, policy)
        if error is None and not ctx.registry:
            try:
                check_json(result, f"result of workflow {ctx.workflow_name!r}")
            except Exception as err:
                error = err
            else:
                marker = {**carried, **ctx.new_markers}
                return {"data": {"done": True, "response": result, "marker": marker}}
        if error is not None:
            if carried and engine is not None:
                await _checkpoint(engine, ctx, message, carried)
            return _failure(ctx, error, attempt, policy)
        lone = ctx.registry[0] if len(ctx.registry) == 1 else None
        if not (
            lone is not None
            and lone["code"] == 591
            and serves(lone["activityTopic"])
            and runs_here(lone["call"])
        ):
            ctx.new_markers = {**carried, **ctx.new_markers}
            return _dispatch(ctx)
        if carried and engine is not None:  # (only a turn with an engine carries any)
            flags = await _checkpoint(engine, ctx, message, carried)
            if flags is None:  # not ours any more: whatever we answer is dropped
                return {"code": 587, "data": {**_echo(ctx), "marker": carried}}
            carried = {}
            if CANCELLED in flags and not ctx.cancelled:  # replay again, cancelled
                recorded = {**recorded, CANCELLED: "1"}
                ctx = _context(fn.__name__, namespace, message, _fresh(message, recorded))
                continue
        answer, marker = await _inline(ctx, lone)
        if answer is not None:
            return answer
        if engine is None or message.delivery is None:
            return {"code": 587, "data": {**_echo(ctx), "marker": marker}}
        carried = marker
        recorded = {**recorded, **marker}
        ctx = _context(fn.__name__, namespace, message, _fresh(message, recorded))


async def _replay(
    fn: Callable[..., Any], ctx: TurnContext
) -> tuple[Any, BaseException | None, bool]:
    """Run ``fn`` from the top over ``ctx``'s history: (result, error, started)."""
    token = bind(ctx)
    try:
        turn = inbound_chain(ctx.info(), lambda: fn(*ctx.arguments))
        task = asyncio.ensure_future(turn())
    except Exception as err:  # e.g. the arguments do not fit the function's signature
        return None, err, False
    finally:
        unbind(token)
    result: Any = None
    error: BaseException | None = None
    try:
        result = await task
    except DurableSuspend:
        pass
    except asyncio.CancelledError:
        if task.cancelled() and not _current_cancelling():
            error = RuntimeError("the workflow function was cancelled")
        else:
            raise
    except Exception as err:
        error = err
    await drain(ctx)
    return result, error, True


async def _reread(
    engine: HotMesh, message: WorkerMessage, recorded: dict[str, Any]
) -> dict[str, Any]:
    """The job's data as stored now (with the checkpoints of earlier deliveries)."""
    job_id = str(message.metadata.get("jid") or "")
    try:
        return dict((await engine.get_state("", job_id)).data)
    except JobNotFound:
        return recorded


async def _checkpoint(
    engine: HotMesh, ctx: TurnContext, message: WorkerMessage, carried: dict[str, Any]
) -> set[str] | None:
    """Write ``carried`` into the job, fenced by this turn's delivery."""
    job_id = str(message.metadata.get("jid") or ctx.workflow_id)
    flags = await engine.checkpoint(job_id, carried, fence=message, flags=[CANCELLED])
    if flags is None:
        log.warning(
            "workflow turn lost its delivery (or the workflow closed) before a checkpoint; "
            "stopping this turn",
            extra={"workflow_id": ctx.workflow_id},
        )
    return flags


async def _inline(
    ctx: TurnContext, item: dict[str, Any]
) -> tuple[dict[str, Any] | None, dict[str, Any]]:
    """Run the turn's lone activity call here: (None, the markers to record), or (the
    answer handing its retries to the activity worker after the first failure, {})."""
    call = item["call"]
    try:
        outcome = await execute_call(call, 1)
    except Retryable:
        first_retry = stream_retry(merged_policy(call.get("retry"))).delay(1)
        retry_call = {**call, "attemptOffset": 1, "notBefore": time.time() + first_retry}
        retry_item = {k: v for k, v in item.items() if k != "code"}
        return {"code": 591, "data": {**_echo(ctx), **retry_item, "call": retry_call}}, {}
    recorded = {
        "op": item["op"],
        "out": outcome,
        "in": call["arguments"],
        "ac": item["at"],
        "au": now_ms(),
    }
    return None, {**ctx.new_markers, item["key"]: recorded}


def _current_cancelling() -> bool:
    task = asyncio.current_task()
    return bool(task is not None and task.cancelling())


async def drain(ctx: TurnContext) -> None:
    """Let suspended siblings finish registering, then cancel what is still running."""
    for _ in range(DRAIN_TURNS):
        if all(t.done() for t in ctx.suspended):
            break
        await asyncio.sleep(0)
    for t in ctx.suspended:
        if not t.done():
            t.cancel()


def _echo(ctx: TurnContext) -> dict[str, Any]:
    """Fields every suspension carries so the cycle keeps generation and arguments."""
    return {
        "done": False,
        "generation": ctx.generation,
        "arguments": ctx.arguments,
        "marker": ctx.new_markers,
    }


def _dispatch(ctx: TurnContext) -> dict[str, Any]:
    items = ctx.registry
    for item in items:
        if item["code"] == 592:
            return {"code": 592, "data": {**item, "done": False, "marker": ctx.new_markers}}
    if len(items) == 1:
        item = dict(items[0])
        return {"code": item.pop("code"), "data": {**_echo(ctx), **item}}
    group = f"{ctx.workflow_id}-g{ctx.dimension}-{items[0]['index']}"
    return {
        "code": 589,
        "data": {**_echo(ctx), "groupId": group, "items": items, "key": "", "op": ""},
    }


def _failure(
    ctx: TurnContext, error: BaseException, attempt: int, policy: dict[str, Any]
) -> dict[str, Any]:
    code = getattr(error, "code", None)
    if isinstance(error, DurableError) and code in FINAL_CODES:
        return {"code": code, "data": {"done": True, "error": error_to_wire(error)}}
    if isinstance(error, PayloadError | ConfigError):  # bad input: the same on every retry
        return {"code": 598, "data": {"done": True, "error": error_to_wire(error, 598)}}
    if attempt < int(policy["maximumAttempts"]):
        log.info(
            "workflow turn failed; retrying",
            extra={"workflow_id": ctx.workflow_id, "attempt": attempt, "error": repr(error)},
        )
        raise RetryLater(f"{type(error).__name__}: {error}", stream_retry(policy)) from error
    wire = error_to_wire(error, code=597)
    return {"code": 597, "data": {"done": True, "error": wire}}
