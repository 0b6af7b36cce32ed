"""Durable: workflows as plain ``async def`` functions that survive crashes.

Every durable call (activity, sleep, signal wait, child workflow) is checkpointed in
Postgres; after a crash, a redeploy or a long sleep the function is replayed from its
recorded history and carries on. See docs/durable.md.

Example:
    >>> from hotmesh.durable import Client, Worker, workflow as wf
    >>> async def hello(name: str) -> str:
    ...     acts = wf.proxy_activities()
    ...     return await acts.greet(name)
"""

from __future__ import annotations

from hotmesh.durable import activity, errors, workflow
from hotmesh.durable._interceptors import (
    clear_interceptors,
    register_activity_interceptor,
    register_inbound_interceptor,
    register_outbound_interceptor,
)
from hotmesh.durable._types import (
    ActivityCall,
    ActivityContext,
    Duration,
    RetryPolicy,
    WorkflowInfo,
    seconds,
)
from hotmesh.durable.client import Client, WorkflowClient, WorkflowHandle
from hotmesh.durable.errors import (
    CancelledFailure,
    DurableError,
    DurableFatalError,
    DurableMaxedError,
    DurableRetryError,
    DurableSuspend,
    DurableTimeoutError,
    NondeterminismError,
    WorkflowFailed,
    WorkflowInterrupted,
)
from hotmesh.durable.worker import Worker, register_activity_worker, shutdown
from hotmesh.durable.workflow import did_interrupt, proxy_activities

__all__ = [
    "ActivityCall",
    "ActivityContext",
    "CancelledFailure",
    "Client",
    "DurableError",
    "DurableFatalError",
    "DurableMaxedError",
    "DurableRetryError",
    "DurableSuspend",
    "DurableTimeoutError",
    "Duration",
    "NondeterminismError",
    "RetryPolicy",
    "Worker",
    "WorkflowClient",
    "WorkflowFailed",
    "WorkflowHandle",
    "WorkflowInfo",
    "WorkflowInterrupted",
    "activity",
    "clear_interceptors",
    "did_interrupt",
    "errors",
    "proxy_activities",
    "register_activity_interceptor",
    "register_activity_worker",
    "register_inbound_interceptor",
    "register_outbound_interceptor",
    "seconds",
    "shutdown",
    "workflow",
]
