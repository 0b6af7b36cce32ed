"""The ``Stream`` provider interface: durable work queues."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

from hotmesh.spi._types import DeadLetter, OutgoingMessage, StreamDepth, StreamMessage
from hotmesh.spi.support import DeadLetterCallback

__all__ = ["Stream"]


@runtime_checkable
class Stream(Protocol):
    """Durable work queues for one app.

    Contract (the conformance suite is its executable form):

    * ``publish`` stores all messages atomically, in one statement, and returns their ids in
      order. A message is claimable once its ``delay`` has passed.
    * ``claim`` hands each claimable message to exactly one caller. Messages come out by
      priority (highest first), then by the time they became visible, then by id. Each claim
      takes a lease of ``lease`` seconds; a message whose lease expires without an ack is
      claimable again, with ``attempt`` one higher. A message whose next delivery would
      exceed its ``retry.maximum_attempts`` is dead-lettered instead of delivered, and
      the claim's ``on_dead_letter`` (if any) is awaited with it and the dead letter's
      error (:func:`hotmesh.spi.support.unanswered`), so its consumer can end its job.
    * ``ack`` removes the delivered messages and returns the ids it removed. It only removes
      a message for the delivery (``attempt``) named; a stale consumer's ack removes nothing.
    * ``extend`` renews the leases of messages still held by that delivery.
    * ``retry`` makes a failed delivery claimable again after the policy's backoff, or
      dead-letters it when its attempts are used up. It returns the delay, or ``None`` when
      the message was dead-lettered.
    * ``wait`` returns when a message may have become claimable on ``stream`` since that
      consumer's last ``claim`` or ``wait`` (woken by a notification), or after ``timeout``
      seconds, whichever comes first. It may return early
      for no reason; a caller always claims after it. No message is ever lost because a
      notification was: a caller that claims after each ``wait`` sees every message.

    Example:
        >>> async def drain(stream: Stream) -> None:
        ...     await stream.publish([OutgoingMessage("orders", {"id": 1})])
        ...     for msg in await stream.claim("orders", limit=10, lease=30):
        ...         await stream.ack([msg])
    """

    async def publish(
        self, messages: Sequence[OutgoingMessage], *, ack: StreamMessage | None = None
    ) -> list[int]:
        """Store ``messages`` in one statement; return their ids in order.

        With ``ack``, the delivery is acked in the same transaction, and nothing is stored
        when that delivery is no longer held (its lease passed to another consumer).
        """
        ...

    async def claim(
        self,
        stream: str,
        *,
        limit: int = 1,
        lease: float = 30.0,
        consumer: str = "",
        with_job: bool = False,
        on_dead_letter: DeadLetterCallback | None = None,
    ) -> list[StreamMessage]:
        """Claim up to ``limit`` claimable messages of ``stream``, leased for ``lease`` s.

        With ``with_job``, each message's ``job`` is its job's record (state and
        semaphore) as read in the same statement, or None when it has no live job.
        ``on_dead_letter`` is told of each message this claim dead-lettered because
        its deliveries were used up (every lease lapsed unanswered).
        """
        ...

    async def ack(self, messages: Sequence[StreamMessage]) -> set[int]:
        """Remove delivered messages; return the ids removed (lease-fenced)."""
        ...

    async def extend(self, messages: Sequence[StreamMessage], lease: float) -> set[int]:
        """Renew leases still held; return the ids still held.

        A provider may leave a lease unrenewed while another statement holds its message
        (consuming it right now) rather than wait for it; that id is still returned. The
        caller renews several times per lease, so the next round renews it.
        """
        ...

    async def retry(self, message: StreamMessage, error: str | None = None) -> float | None:
        """Redeliver after backoff (returns the delay) or dead-letter (returns ``None``)."""
        ...

    async def dead_letter(self, messages: Sequence[StreamMessage], error: str | None) -> int:
        """Move delivered messages to the dead-letter store; return how many moved."""
        ...

    async def dead_letters(self, stream: str, *, limit: int = 100) -> list[DeadLetter]:
        """The dead letters of ``stream``, oldest first."""
        ...

    async def depth(self, streams: Sequence[str]) -> dict[str, StreamDepth]:
        """Message counts per stream (every requested stream is in the answer)."""
        ...

    async def purge(self, stream: str) -> int:
        """Delete every message of ``stream``; return how many were deleted."""
        ...

    async def wait(self, stream: str, timeout: float, *, consumer: str = "") -> None:
        """Block until ``stream`` may have claimable messages, or ``timeout`` seconds.

        Wake-ups are kept per ``consumer`` (the name it claims with): one that arrives while
        the consumer is busy makes its next ``wait`` return at once.
        """
        ...
