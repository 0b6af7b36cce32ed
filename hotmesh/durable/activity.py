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
from typing import Any

from hotmesh.durable import _registry
from hotmesh.durable._errors_wire import error_to_wire
from hotmesh.durable._payload import check_json
from hotmesh.durable._turn import FINAL_CODES, RetryLater, merged_policy, stream_retry
from hotmesh.durable._types import ActivityContext
from hotmesh.durable.errors import DurableError, DurableFatalError, DurableTimeoutError
from hotmesh.types import WorkerMessage

__all__ = ["get_context", "run_activity"]

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
    return {"data": {"error": error_to_wire(err, code)}}


async def run_activity(message: WorkerMessage) -> dict[str, Any]:
    """The activity worker's callback: run one proxied activity call."""
    call = dict(message.data.get("call") or {})
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
    attempt = int(message.metadata.get("try") or 0) + 1
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
            result = await _invoke(fn, args, timeout)
        finally:
            _ACTIVITY.reset(token)
    except _Overran:
        return _error(
            DurableTimeoutError(
                f"activity {name!r} did not finish within its start_to_close_timeout of {timeout}s"
            )
        )
    except DurableError as err:
        if err.code in FINAL_CODES:
            return _error(err)
        return _retry_or_give_up(err, attempt, policy)
    except Exception as err:
        return _retry_or_give_up(err, attempt, policy)
    try:
        check_json(result, f"result of activity {name!r}")
    except Exception as err:
        return _error(err, 598)
    return {"data": {"response": result}}


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


def _retry_or_give_up(err: Exception, attempt: int, policy: dict[str, Any]) -> dict[str, Any]:
    if attempt < int(policy["maximumAttempts"]):
        raise RetryLater(f"{type(err).__name__}: {err}", stream_retry(policy)) from err
    # D2: exhausted retries surface as DurableMaxedError (597), with the last message.
    return _error(err, 597)
