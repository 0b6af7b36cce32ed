"""Retry arithmetic shared by workflow turns and activities."""

from __future__ import annotations

from typing import Any

from hotmesh import RetryPolicy as StreamRetry
from hotmesh.durable._types import WORKFLOW_RETRY_DEFAULTS

__all__ = ["FINAL_CODES", "RetryLater", "merged_policy", "stream_retry"]

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
        maximum_attempts=int(policy["maximumAttempts"]),
        initial_interval=float(policy["initialInterval"]),
        backoff_coefficient=float(policy["backoffCoefficient"]),
        maximum_interval=float(policy["maximumInterval"]),
    )
