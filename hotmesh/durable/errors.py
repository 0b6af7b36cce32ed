"""The Durable error tree (``hotmesh.durable.errors``, re-exported by ``hotmesh.durable``).

Failures a workflow author raises or catches are :class:`DurableError` subclasses (plain
``Exception``\\s). The control flow a workflow turn uses to suspend itself is
:class:`DurableSuspend`, a ``BaseException`` so that ``except Exception`` in user code
cannot swallow it.

Example:
    >>> from hotmesh.durable.errors import DurableFatalError
    >>> DurableFatalError("stop").code
    598
"""

from __future__ import annotations

from typing import Any

from hotmesh.errors import HotMeshError

__all__ = [
    "CancelledFailure",
    "DurableError",
    "DurableFatalError",
    "DurableMaxedError",
    "DurableRetryError",
    "DurableSuspend",
    "DurableTimeoutError",
    "NondeterminismError",
    "WorkflowFailed",
    "WorkflowInterrupted",
]


class DurableError(HotMeshError):
    """Base of the errors a workflow or activity raises on purpose.

    Attributes:
        code: the Durable status code (596 timeout, 597 maxed, 598 fatal, 599 retry).
        message: the error text.
        stack: the original traceback text, when the error crossed a process boundary.
    """

    code = 599

    def __init__(self, message: str = "", stack: str | None = None, *, value: Any = None) -> None:
        super().__init__(message, value=value)
        self.stack = stack
        #: The class name of the original error when it crossed a process boundary.
        self.type_name: str | None = None


class DurableTimeoutError(DurableError):
    """An activity overran its ``start_to_close_timeout`` (596); never retried."""

    code = 596


class DurableMaxedError(DurableError):
    """Retries are exhausted (597): an activity's (D2) or the workflow body's."""

    code = 597


class DurableFatalError(DurableError):
    """Raise it to stop retrying (598); also a failed child or activity without a known code."""

    code = 598


class DurableRetryError(DurableError):
    """An explicitly retryable failure (599)."""

    code = 599


class CancelledFailure(DurableError):
    """Raised at the workflow's next durable point after ``handle.cancel()`` (598 uncaught)."""

    code = 598

    def __init__(self, message: str = "Workflow cancelled", stack: str | None = None) -> None:
        super().__init__(message, stack)


class NondeterminismError(DurableError):
    """A replayed workflow asked for a different durable call than its history recorded.

    The workflow's code changed under a running execution (without ``wf.patched``); the
    workflow fails rather than mixing the recorded results into different calls.

    Attributes:
        workflow_id: the workflow whose replay diverged.
        position: the durable call's index (0-based, in call order).
        recorded: what the history holds at that position (e.g. ``"proxy:greet"``).
        asked: what the code asked for there (e.g. ``"sleep"``).
    """

    code = 598

    def __init__(self, workflow_id: str, position: int, recorded: str, asked: str) -> None:
        super().__init__(
            f"workflow {workflow_id!r} is not deterministic: at durable call #{position} "
            f"its history recorded {recorded!r} but the code now asks for {asked!r} "
            "(did the workflow code change under a running execution? guard changes "
            "with wf.patched())",
            value=position,
        )
        self.workflow_id = workflow_id
        self.position = position
        self.recorded = recorded
        self.asked = asked


class WorkflowFailed(DurableError):
    """``handle.result()`` of a workflow that ended with an error.

    Attributes:
        workflow_id: the workflow's id.
        code: the error code (597 retries exhausted, 598 fatal/cancelled, 596 timeout...).
        message: the error message.
        stack: the traceback text where the error was raised.
        error: the stored error as a dict (``message``, ``code``, ``stack``, ``type``).
    """

    def __init__(self, workflow_id: str, error: dict[str, Any]) -> None:
        message = str(error.get("message") or "workflow failed")
        super().__init__(message, error.get("stack"), value=workflow_id)
        self.workflow_id = workflow_id
        self.__dict__["code"] = int(error.get("code") or 500)
        self.error = dict(error)
        name = error.get("type") or error.get("name")
        self.type_name = str(name) if name else None


class WorkflowInterrupted(WorkflowFailed):
    """``handle.result()`` of a workflow that was interrupted (terminated): code 410."""

    code = 410


class DurableSuspend(BaseException):
    """Internal control flow: the workflow turn suspends at a durable call.

    A ``BaseException`` (like ``asyncio.CancelledError``) so that user code's
    ``except Exception`` does not swallow it; ``wf.did_interrupt(err)`` is True for it.
    """

    code = 0
