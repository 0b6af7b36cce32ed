"""Values that cross the provider seam.

They are frozen attrs classes so a provider can neither mutate what the core hands it nor
hand back something the core would mutate by accident.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from attrs import define, field

from hotmesh.spi._duration import seconds

__all__ = [
    "DeadLetter",
    "EscalationResult",
    "JobCreated",
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
    """How often, and how far apart, a failed message or callback is tried again.

    The library's one retry policy, with the field names of Temporal (and of
    :mod:`hotmesh.durable`): ``maximum_attempts`` counts every attempt, the first included;
    retry n (1-based) waits ``min(maximum_interval, initial_interval *
    backoff_coefficient**(n-1))`` seconds. Intervals are seconds or duration strings
    (``"30s"``, ``"2m"``, ``"500ms"``). After ``maximum_attempts`` deliveries a stream
    message is dead-lettered.

    Example:
        >>> policy = RetryPolicy(maximum_attempts=3, maximum_interval="2m")
        >>> (policy.maximum_interval, policy.delay(2))
        (120.0, 10.0)
    """

    maximum_attempts: int = 3
    initial_interval: float = field(default=1.0, converter=seconds)
    backoff_coefficient: float = field(default=10.0, converter=float)
    maximum_interval: float = field(default=120.0, converter=seconds)

    def __attrs_post_init__(self) -> None:
        attempts = self.maximum_attempts
        if isinstance(attempts, bool) or not isinstance(attempts, int) or attempts < 1:
            raise ValueError(f"maximum_attempts must be an integer >= 1, got {attempts!r}")
        intervals = (self.initial_interval, self.maximum_interval, self.backoff_coefficient)
        if not all(math.isfinite(v) for v in intervals) or (
            self.initial_interval < 0 or self.maximum_interval < 0 or self.backoff_coefficient < 1
        ):
            raise ValueError(f"invalid retry intervals: {self!r}")

    def delay(self, retry_number: int) -> float:
        """Seconds to wait before retry number ``retry_number`` (1-based)."""
        exponent = max(retry_number - 1, 0)
        return float(
            min(self.maximum_interval, self.initial_interval * self.backoff_coefficient**exponent)
        )

    @classmethod
    def from_camel(cls, block: Mapping[str, Any]) -> RetryPolicy:
        """The policy a YAML or wire ``retry`` block spells in the reference's camelCase
        (``maximumAttempts``, ``initialInterval``...); other keys are ignored.

        Example:
            >>> RetryPolicy.from_camel({"maximumInterval": "30s"}).maximum_interval
            30.0
        """
        return cls(**{_SNAKE[k]: v for k, v in block.items() if k in _SNAKE})

    def to_camel(self) -> dict[str, Any]:
        """The policy as a camelCase ``retry`` block (the inverse of :meth:`from_camel`)."""
        return {camel: getattr(self, snake) for camel, snake in _SNAKE.items()}


_SNAKE = {
    "maximumAttempts": "maximum_attempts",
    "initialInterval": "initial_interval",
    "backoffCoefficient": "backoff_coefficient",
    "maximumInterval": "maximum_interval",
}

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
        lease: when > 0, a hand-off: the message is stored already delivered (attempt 1,
            leased for this many seconds) to a consumer of the publishing process, which
            the publisher hands it to once the write has committed; no one is woken. If
            that consumer never acks it, the lease lapses and any consumer may claim it.
    """

    stream: str
    payload: dict[str, JSON]
    priority: int = 0
    delay: float = 0.0
    retry: RetryPolicy | None = None
    job_id: str | None = None
    lease: float = 0.0

    def __attrs_post_init__(self) -> None:
        if not 0 <= self.priority <= 9:
            raise ValueError(f"priority must be between 0 and 9, got {self.priority}")
        if not math.isfinite(self.delay) or self.delay < 0:
            raise ValueError(f"delay must be a finite number of seconds >= 0, got {self.delay}")
        if not math.isfinite(self.lease) or self.lease < 0:
            raise ValueError(f"lease must be a finite number of seconds >= 0, got {self.lease}")
        if self.lease and self.delay:
            raise ValueError("a handed-off message (lease > 0) cannot be delayed")


@define(frozen=True)
class JobRecord:
    """A job's stored state: its field map and its semaphore (open activity count).

    ``version`` is set when the store served the record from what it last wrote rather
    than from storage: a step planned from it passes it to :meth:`Store.apply_step`, which
    applies it only while the job is still at that version.
    """

    job_id: str
    state: dict[str, JSON] = field(factory=dict)
    semaphore: int = 0
    version: str | None = None


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
class JobCreated:
    """What ``Store.create_job`` did: true when it created the job.

    Attributes:
        created: False when a live job already had the id (nothing was written).
        message_ids: ids of the job's first messages, in order (empty when not created).

    Example:
        >>> bool(JobCreated(True, [7]))
        True
    """

    created: bool
    message_ids: list[int] = field(factory=list)

    def __bool__(self) -> bool:
        return self.created


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


@define(frozen=True)
class EscalationResult:
    """The outcome of claiming, releasing or finishing an escalation row.

    Attributes:
        ok: whether the change was made.
        entry: the row after the change (``ok``), else None.
        reason: why not (``ok`` False): ``not-found``, ``conflict`` (claimed by someone
            else), ``wrong-assignee`` (release), ``already-resolved``,
            ``already-cancelled``, ``already-expired``.
        is_extension: a claim by the row's current assignee (it extends their window).

    Example:
        >>> EscalationResult(ok=False, reason="not-found").entry is None
        True
    """

    ok: bool
    entry: dict[str, JSON] | None = None
    reason: str | None = None
    is_extension: bool = False
