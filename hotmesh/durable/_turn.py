"""One workflow turn: run the function from the top over its history, then answer the
engine with what to do next (durable.md §1.5)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from hotmesh import RetryPolicy as StreamRetry
from hotmesh.durable._context import TurnContext, bind, parse_markers, unbind
from hotmesh.durable._errors_wire import error_to_wire
from hotmesh.durable._payload import check_json
from hotmesh.durable._types import WORKFLOW_RETRY_DEFAULTS
from hotmesh.durable.errors import DurableError, DurableSuspend
from hotmesh.types import WorkerMessage

__all__ = ["RetryLater", "run_turn", "stream_retry"]

log = logging.getLogger(__name__)

#: Loop turns the runner waits, after the function ended, for gathered siblings.
DRAIN_TURNS = 50
#: Codes that end a workflow (or an activity) without retrying.
FINAL_CODES = frozenset({596, 597, 598})


class RetryLater(Exception):
    """Raised to the stream worker: redeliver this message after the policy's backoff."""

    def __init__(self, message: str, retry_policy: StreamRetry) -> None:
        super().__init__(message)
        self.retry_policy = retry_policy
        self.code = 599


def merged_policy(policy: dict[str, Any] | None) -> dict[str, Any]:
    """A wire retry policy with the workflow defaults filled in."""
    return {**WORKFLOW_RETRY_DEFAULTS, **{k: v for k, v in (policy or {}).items() if v is not None}}


def stream_retry(policy: dict[str, Any]) -> StreamRetry:
    """The stream worker's retry policy for a merged wire policy."""
    return StreamRetry(
        max_attempts=int(policy["maximumAttempts"]),
        initial_interval=float(policy["initialInterval"]),
        backoff_coefficient=float(policy["backoffCoefficient"]),
        max_interval=float(policy["maximumInterval"]),
    )


def _context(fn_name: str, namespace: str, message: WorkerMessage) -> TurnContext:
    data = message.data
    start = dict(data.get("start") or {})
    cycle = dict(data.get("cycle") or {})
    generation = int(cycle.get("generation") or 0)
    arguments = cycle.get("arguments") if generation else start.get("arguments")
    recorded = dict(data.get("replay") or {})
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
    context.cancelled = "-cancelled-" in recorded
    return context


async def run_turn(
    fn: Callable[..., Any], namespace: str, message: WorkerMessage
) -> dict[str, Any]:
    """The workflow worker's callback: one turn of ``fn`` for ``message``."""
    ctx = _context(fn.__name__, namespace, message)
    policy = merged_policy(ctx.start.get("retry"))
    attempt = int(message.metadata.get("try") or 0) + 1
    ctx.can_retry = attempt < int(policy["maximumAttempts"])
    token = bind(ctx)
    try:
        task = asyncio.ensure_future(fn(*ctx.arguments))
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
    await _drain(ctx)
    if error is None and not ctx.registry:
        try:
            check_json(result, f"result of workflow {ctx.workflow_name!r}")
        except Exception as err:
            error = err
        else:
            return {"data": {"done": True, "response": result}}
    if error is not None:
        return _failure(ctx, error, attempt, policy)
    return _dispatch(ctx)


def _current_cancelling() -> bool:
    task = asyncio.current_task()
    return bool(task is not None and task.cancelling())


async def _drain(ctx: TurnContext) -> None:
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
    return {"done": False, "generation": ctx.generation, "arguments": ctx.arguments}


def _dispatch(ctx: TurnContext) -> dict[str, Any]:
    items = ctx.registry
    for item in items:
        if item["code"] == 592:
            return {"code": 592, "data": {**item, "done": False}}
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
    if attempt < int(policy["maximumAttempts"]):
        log.info(
            "workflow turn failed; retrying",
            extra={"workflow_id": ctx.workflow_id, "attempt": attempt, "error": repr(error)},
        )
        raise RetryLater(f"{type(error).__name__}: {error}", stream_retry(policy)) from error
    wire = error_to_wire(error, code=597)
    return {"code": 597, "data": {"done": True, "error": wire}}
