"""The activity side: the worker callback that runs proxied activities, and
``activity.get_context()`` for code running inside one.

Example:
    >>> from hotmesh.durable import activity
    >>> async def charge(amount: int) -> str:
    ...     ctx = activity.get_context()
    ...     return f"{ctx.workflow_id}:{ctx.attempt}:{amount}"
"""

from __future__ import annotations

import asyncio
import contextvars
import inspect
import time
from typing import Any

from hotmesh.durable import _registry
from hotmesh.durable._errors_wire import error_to_wire
from hotmesh.durable._interceptors import activity_chain
from hotmesh.durable._payload import check_json
from hotmesh.durable._retry import FINAL_CODES, RetryLater, merged_policy, stream_retry
from hotmesh.durable._types import ActivityContext
from hotmesh.durable.errors import DurableError, DurableFatalError, DurableTimeoutError
from hotmesh.types import WorkerMessage

__all__ = ["Retryable", "execute_call", "get_context", "run_activity", "runs_here"]

_ACTIVITY: contextvars.ContextVar[ActivityContext] = contextvars.ContextVar(
    "hotmesh_durable_activity"
)


def get_context() -> ActivityContext:
    """The running activity's context (name, args, headers, workflow id, attempt).

    Raises:
        RuntimeError: called outside an activity.
    """
    try:
        return _ACTIVITY.get()
    except LookupError:
        raise RuntimeError(
            "activity.get_context() can only be called inside an activity run by a durable worker"
        ) from None


def _error(err: BaseException, code: int | None = None) -> dict[str, Any]:
    return {"error": error_to_wire(err, code)}


class Retryable(Exception):
    """The activity failed and has attempts left (``cause`` is its error)."""

    def __init__(self, cause: BaseException) -> None:
        super().__init__(f"{type(cause).__name__}: {cause}")
        self.cause = cause


def runs_here(call: dict[str, Any]) -> bool:
    """True when this process has the activity of ``call`` registered."""
    return _registry.activity(str(call.get("activityName") or "")) is not None


async def execute_call(call: dict[str, Any], attempt: int) -> dict[str, Any]:
    """Run one activity call; return its recorded outcome (``{"response": value}`` or
    ``{"error": {...}}``).

    Raises:
        Retryable: it failed, is retryable and has attempts left.
    """
    name = str(call.get("activityName") or "")
    fn = _registry.activity(name)
    if fn is None:
        known = ", ".join(_registry.registered_activities()) or "none"
        return _error(
            DurableFatalError(
                f"unknown activity {name!r}: this worker registered {known} (register it "
                "with Worker.create(activities=...) or register_activity_worker)"
            )
        )
    policy = merged_policy(call.get("retry"))
    args = list(call.get("arguments") or [])
    timeout = call.get("timeout")
    context = ActivityContext(
        activity_name=name,
        args=args,
        headers=dict(call.get("headers") or {}),
        workflow_id=str(call.get("workflowId") or ""),
        activity_id=str(call.get("activityId") or ""),
        attempt=attempt,
    )
    token = _ACTIVITY.set(context)
    try:
        try:
            result = await activity_chain(name, args, lambda: _invoke(fn, args, timeout))()
        finally:
            _ACTIVITY.reset(token)
    except _Overran:
        return _error(
            DurableTimeoutError(
                f"activity {name!r} did not finish within its start_to_close_timeout of {timeout}s"
            )
        )
    except Exception as err:
        if isinstance(err, DurableError) and err.code in FINAL_CODES:
            return _error(err)
        if attempt < int(policy["maximumAttempts"]):
            raise Retryable(err) from err
        # D2: exhausted retries surface as DurableMaxedError (597), with the last message.
        return _error(err, 597)
    try:
        check_json(result, f"result of activity {name!r}")
    except Exception as err:
        return _error(err, 598)
    return {"response": result}


async def run_activity(message: WorkerMessage) -> dict[str, Any]:
    """The activity worker's callback: run one proxied activity call.

    A call the workflow turn already tried inline carries ``attemptOffset`` (attempts
    made) and ``notBefore`` (epoch seconds of its first retry).
    """
    call = dict(message.data.get("call") or {})
    offset = int(call.get("attemptOffset") or 0)
    wait = float(call.get("notBefore") or 0) - time.time()
    if wait > 0 and int(message.metadata.get("try") or 0) == 0:
        await asyncio.sleep(wait)
    try:
        outcome = await execute_call(call, offset + int(message.metadata.get("try") or 0) + 1)
    except Retryable as retry:
        policy = merged_policy(call.get("retry"))
        if offset:  # continue the backoff where the inline attempt left it
            policy["initialInterval"] *= float(policy["backoffCoefficient"]) ** offset
            policy["maximumAttempts"] = int(policy["maximumAttempts"]) - offset
        raise RetryLater(str(retry), stream_retry(policy)) from retry.cause
    return {"data": outcome}


class _Overran(Exception):
    pass


async def _invoke(fn: Any, args: list[Any], timeout: Any) -> Any:
    result = fn(*args)
    if not inspect.isawaitable(result):
        return result
    if timeout is None:
        return await result
    try:
        async with asyncio.timeout(float(timeout)) as scope:
            return await result
    except TimeoutError:
        if scope.expired():
            raise _Overran() from None
        raise
