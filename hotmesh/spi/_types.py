"""Values that cross the provider seam.

They are frozen attrs classes so a provider can neither mutate what the core hands it nor
hand back something the core would mutate by accident.
"""

from __future__ import annotations

import math
from typing import Any

from attrs import define, field

__all__ = [
    "DeadLetter",
    "JobRecord",
    "OutgoingMessage",
    "RetryPolicy",
    "StatsUpdate",
    "StepResult",
    "StreamDepth",
    "StreamMessage",
]

JSON = Any
"""A value that survives ``json.dumps``/``json.loads`` unchanged."""


@define(frozen=True)
class RetryPolicy:
    """How often, and how far apart, a message is delivered again after a failure.

    The n-th retry waits ``min(max_interval, initial_interval * backoff_coefficient**(n-1))``
    seconds. After ``max_attempts`` deliveries the message is dead-lettered.

    Example:
        >>> RetryPolicy(max_attempts=3, initial_interval=1, backoff_coefficient=10).delay(2)
        10.0
    """

    max_attempts: int = 3
    initial_interval: float = 1.0
    backoff_coefficient: float = 10.0
    max_interval: float = 120.0

    def __attrs_post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError(f"max_attempts must be >= 1, got {self.max_attempts}")
        intervals = (self.initial_interval, self.max_interval, self.backoff_coefficient)
        if not all(math.isfinite(v) for v in intervals) or (
            self.initial_interval < 0 or self.max_interval < 0 or self.backoff_coefficient < 1
        ):
            raise ValueError(f"invalid retry intervals: {self!r}")

    def delay(self, retry_number: int) -> float:
        """Seconds to wait before retry number ``retry_number`` (1-based)."""
        exponent = max(retry_number - 1, 0)
        return float(
            min(self.max_interval, self.initial_interval * self.backoff_coefficient**exponent)
        )


DEFAULT_RETRY = RetryPolicy()


@define(frozen=True)
class OutgoingMessage:
    """A message to publish on a stream.

    Attributes:
        stream: the stream (queue) name.
        payload: any JSON object; stored encoded (and through the registered codec).
        priority: 0 (lowest) to 9 (highest); higher priorities are claimed first.
        delay: seconds before the message becomes claimable (timers use this).
        retry: the retry policy; ``None`` takes the stream defaults.
        job_id: the job this message belongs to, if any (lets a job's messages be purged).
    """

    stream: str
    payload: dict[str, JSON]
    priority: int = 0
    delay: float = 0.0
    retry: RetryPolicy | None = None
    job_id: str | None = None

    def __attrs_post_init__(self) -> None:
        if not 0 <= self.priority <= 9:
            raise ValueError(f"priority must be between 0 and 9, got {self.priority}")
        if not math.isfinite(self.delay) or self.delay < 0:
            raise ValueError(f"delay must be a finite number of seconds >= 0, got {self.delay}")


@define(frozen=True)
class JobRecord:
    """A job's stored state: its field map and its semaphore (open activity count)."""

    job_id: str
    state: dict[str, JSON] = field(factory=dict)
    semaphore: int = 0


@define(frozen=True)
class StatsUpdate:
    """What a new job adds to its trigger's stats (written with the job, or not at all).

    ``fields`` are added to the counters of ``(key, bucket)`` (``count``, ``sum:price``,
    ``count:color:red``...); ``job_id`` is filed under each of ``facets`` (``color:red``).

    Example:
        >>> StatsUpdate("red", "202601010000", {"count": 1.0}, ("color:red",)).bucket
        '202601010000'
    """

    key: str
    bucket: str
    fields: dict[str, float] = field(factory=dict)
    facets: tuple[str, ...] = ()


@define(frozen=True)
class StreamMessage:
    """A claimed message.

    ``attempt`` is the delivery number (1 for the first delivery). Together with ``id`` it
    fences the lease: ``ack`` and ``extend`` only succeed for the delivery they name, so a
    consumer whose lease expired cannot ack a message another consumer now holds.
    """

    id: int
    stream: str
    payload: dict[str, JSON]
    attempt: int
    priority: int = 0
    retry: RetryPolicy = DEFAULT_RETRY
    job_id: str | None = None
    #: the message's job as read by the claim, when claimed with ``with_job=True``
    job: JobRecord | None = field(default=None, eq=False, repr=False)

    @property
    def redelivered(self) -> bool:
        """True when an earlier delivery of this message was not acked."""
        return self.attempt > 1


@define(frozen=True)
class StreamDepth:
    """How many messages a stream holds, by state."""

    stream: str
    ready: int = 0
    delayed: int = 0
    in_flight: int = 0

    @property
    def total(self) -> int:
        """Every message not yet acked or dead-lettered."""
        return self.ready + self.delayed + self.in_flight


@define(frozen=True)
class DeadLetter:
    """A message that exhausted its retries (or was dead-lettered explicitly)."""

    id: int
    stream: str
    payload: dict[str, JSON]
    attempts: int
    error: str | None
    job_id: str | None = None


@define(frozen=True)
class StepResult:
    """What committing a step produced.

    Attributes:
        applied: False when the step was already applied (its fence message was gone);
            nothing was written then.
        semaphore: the job's semaphore after the step (None when not applied).
        message_ids: ids of the published messages, in order.
        state: the job's whole state when this step closed it (semaphore <= 0), else None.
        conflict: True when nothing was written because the step's guard failed (the job
            is gone or closed, or an ``expect`` key changed): the fence was NOT consumed,
            so the caller re-reads the job and decides again.
    """

    applied: bool
    semaphore: int | None = None
    message_ids: list[int] = field(factory=list)
    state: dict[str, JSON] | None = None
    conflict: bool = False
