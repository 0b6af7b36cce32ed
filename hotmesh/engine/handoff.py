"""Hand-off: messages for a consumer of this process go to it directly, leased already.

A message the engine or a worker publishes is usually claimed by some consumer: one more
statement, and one more commit, per message. When a consumer of the message's stream runs
in the publishing process, shares its database, and has a free slot, the publisher can
hand it over instead: the message is stored as its first delivery (attempt 1, leased to
that consumer, :attr:`hotmesh.spi.OutgoingMessage.lease`) in the publishing statement, and
once that statement has committed the consumer runs it as if it had claimed it. Nothing is
weakened: the row is in the stream, leased, exactly as a claimed one; if this process dies
the lease lapses and any consumer claims it, with ``attempt`` 2.

A consumer takes a hand-off only while it would claim: not stopping, paused, held,
throttled or under backpressure, and with a free slot (reserved before the statement, so
the message never waits in this process unleased or over the consumer's concurrency).

Example:
    >>> handoff = Handoff()
    >>> offer = handoff.offer([OutgoingMessage("orders", {"id": 1})])  # no local consumer
    >>> offer.messages[0].lease
    0.0
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import attrs

from hotmesh.spi import DEFAULT_RETRY, OutgoingMessage, StreamMessage

__all__ = ["Handoff", "LocalConsumer", "Offer"]


class LocalConsumer(Protocol):
    """A consumer of one stream in this process that can take handed-off messages
    (:class:`hotmesh.mesh.router.Router` is one)."""

    @property
    def name(self) -> str:
        """The stream it consumes."""
        ...

    @property
    def lease(self) -> float:
        """Seconds each delivery is leased for."""
        ...

    def reserve(self) -> bool:
        """Take a slot for one hand-off, if the consumer would claim now."""
        ...

    def deliver(self, message: StreamMessage) -> None:
        """Run a handed-off message in the slot reserved for it."""
        ...

    def unreserve(self) -> None:
        """Give back a reserved slot whose message was not handed off after all."""
        ...

    async def run_direct(self, message: StreamMessage) -> None:
        """Run ``message`` now, in the caller's task, in the slot reserved for it (the
        slot is given back when it ends); the consumer's callback errors propagate."""
        ...


@attrs.define
class Offer:
    """Messages as they will be published, and the consumers holding slots for them.

    Publish :attr:`messages` (some carry a ``lease``), then call :meth:`settle` once with
    the ids the statement returned, or with None when it published nothing or failed.
    """

    messages: list[OutgoingMessage]
    takers: list[LocalConsumer | None]
    settled: bool = False

    def settle(self, ids: Sequence[int] | None) -> None:
        """Deliver the handed-off messages (``ids``: the published ids, these messages'
        first and in order), or give their slots back (``ids`` None or too short: nothing
        is known published; a message that was lapses and is claimed like any lost one)."""
        if self.settled:
            return
        self.settled = True
        known = ids if ids is not None and len(ids) >= len(self.messages) else None
        for i, (message, taker) in enumerate(zip(self.messages, self.takers, strict=True)):
            if taker is None:
                continue
            if known is None:
                taker.unreserve()
                continue
            taker.deliver(
                StreamMessage(
                    id=int(known[i]),
                    stream=message.stream,
                    payload=message.payload,
                    attempt=1,
                    priority=message.priority,
                    retry=message.retry or DEFAULT_RETRY,
                    job_id=message.job_id,
                )
            )


class Handoff:
    """The consumers of this process that take hand-offs, by stream (every one of them
    reads the same database as the publishers that use this registry)."""

    def __init__(self) -> None:
        self._consumers: dict[str, list[LocalConsumer]] = {}

    def register(self, consumer: LocalConsumer) -> None:
        """Hand ``consumer`` messages published on its stream (the first with a free slot
        of those registered for a stream takes each)."""
        taking = self._consumers.setdefault(consumer.name, [])
        if not any(c is consumer for c in taking):
            taking.append(consumer)

    def unregister(self, consumer: LocalConsumer) -> None:
        """Stop handing messages to ``consumer`` (idempotent)."""
        taking = [c for c in self._consumers.get(consumer.name, []) if c is not consumer]
        if taking:
            self._consumers[consumer.name] = taking
        else:
            self._consumers.pop(consumer.name, None)

    def offer(self, messages: Sequence[OutgoingMessage]) -> Offer:
        """Reserve a local consumer's slot for each message that can be handed off."""
        if not self._consumers:
            return Offer(list(messages), [None] * len(messages))
        out: list[OutgoingMessage] = []
        takers: list[LocalConsumer | None] = []
        for message in messages:
            taker = None if message.delay else self._taker(message.stream)
            if taker is not None:
                out.append(attrs.evolve(message, lease=taker.lease))
            else:
                out.append(message)
            takers.append(taker)
        return Offer(out, takers)

    def has_consumer(self, stream: str) -> bool:
        """Whether a consumer of ``stream`` in this process takes hand-offs."""
        return bool(self._consumers.get(stream))

    async def answer_directly(self, stream: str, delivery: StreamMessage) -> bool:
        """Run ``delivery`` (a message for ``stream`` that was never stored) on a local
        consumer of ``stream`` now, in this task; False when none would take it.

        A worker answers the engine so: the answer is the engine's step at once, fenced
        by the worker's own delivery (``delivery.id``/``attempt`` are the request's), so
        the step and the request's ack commit together, in one statement, and the answer
        never goes through the engine stream (a statement, a commit, a row and a
        notification fewer per answer). A delivery whose lease lapsed meanwhile fences
        nothing: the step is not applied, and the request's next delivery answers again.
        Errors propagate (nothing committed, or the step did and its fence is gone: the
        caller publishing the answer instead, acked by the request, publishes nothing).
        """
        taker = self._taker(stream)
        if taker is None:
            return False
        await taker.run_direct(delivery)
        return True

    def _taker(self, stream: str) -> LocalConsumer | None:
        for consumer in self._consumers.get(stream, ()):
            if consumer.reserve():
                return consumer
        return None
