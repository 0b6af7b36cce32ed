"""Helpers for provider authors: the parts of the contract every provider does alike.

Example:
    >>> check_claim(limit=10, lease=30.0)
    >>> MAX_CLAIM
    1000
"""

from __future__ import annotations

import asyncio
import contextlib
import fnmatch
import inspect
import itertools
import json
import logging
import re
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Any

from attrs import define, field

from hotmesh.errors import PayloadError, StreamError
from hotmesh.spi._types import StreamMessage
from hotmesh.spi.sub import SubCallback, Subscription

if TYPE_CHECKING:  # stream.py imports this module
    from hotmesh.spi.stream import Stream

__all__ = [
    "MAX_CLAIM",
    "DeadLetterCallback",
    "LocalSubscriptions",
    "check_claim",
    "pack_message",
    "report_unanswered",
    "unanswered",
    "unpack_message",
    "wait_any",
]

_ids = itertools.count(1)
_log = logging.getLogger(__name__)

#: The largest ``limit`` a ``Stream.claim`` accepts.
MAX_CLAIM = 1000


def check_claim(*, limit: int, lease: float) -> None:
    """Refuse claim arguments outside the contract.

    Raises:
        StreamError: ``limit`` is not 1..:data:`MAX_CLAIM`, or ``lease`` is not > 0.
    """
    if not 1 <= limit <= MAX_CLAIM:
        raise StreamError(f"claim limit must be 1..{MAX_CLAIM}, got {limit}", value=limit)
    if lease <= 0:
        raise StreamError(f"lease must be > 0 seconds, got {lease}", value=lease)


@define(eq=False)
class _Subscription:
    topic: str
    callback: SubCallback
    pattern: re.Pattern[str] | None = None
    id: int = field(factory=lambda: next(_ids))


#: Told of each message a claim dead-lettered because its deliveries were used up (see
#: :meth:`hotmesh.spi.Stream.claim`), with the dead letter's error.
DeadLetterCallback = Callable[[StreamMessage, str], Awaitable[Any]]


async def wait_any(
    stream: Stream, streams: Sequence[str], timeout: float, *, consumer: str
) -> None:
    """Return when one of ``streams`` may have claimable messages, or after ``timeout``
    (an Inspector's ``watch``: one ``Stream.wait`` per stream, the first to return wins)."""
    waits = [
        asyncio.ensure_future(stream.wait(s, timeout, consumer=consumer))
        for s in dict.fromkeys(streams)
    ]
    if not waits:
        await asyncio.sleep(timeout)
        return
    try:
        await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in waits:
            task.cancel()
        for task in waits:
            with contextlib.suppress(asyncio.CancelledError):
                await task


def unanswered(message_id: int, stream: str, deliveries: int) -> str:
    """The error of a message a claim dead-letters because no delivery was ever answered.

    Example:
        >>> unanswered(7, "orders", 3).split(" (")[0]
        'message 7 on stream orders got no answer in 3 deliveries'
    """
    times = "1 delivery" if deliveries == 1 else f"{deliveries} deliveries"
    return (
        f"message {message_id} on stream {stream} got no answer in {times}"
        " (its consumers died or hung); dead-lettered"
    )


async def report_unanswered(
    callback: DeadLetterCallback | None, dead: Sequence[tuple[StreamMessage, str]]
) -> None:
    """Tell ``callback`` of each message a claim dead-lettered unanswered (best effort).

    The message is already dead-lettered: a failing callback is logged, never raised,
    so the claim still hands out the messages it holds.

    Example:
        >>> asyncio.run(report_unanswered(None, []))
    """
    if callback is None:
        return
    for message, error in dead:
        try:
            await callback(message, error)
        except Exception:
            _log.exception(
                "could not report a dead-lettered message",
                extra={"stream": message.stream, "id": message.id, "jid": message.job_id},
            )


def pack_message(topic: str, message: dict[str, Any]) -> str:
    """A published message as JSON text (``{"t": topic, "m": message}``) for a transport.

    Raises:
        PayloadError: the topic is not a non-empty string, or the message is not JSON.

    Example:
        >>> unpack_message(pack_message("t", {"n": 1}))
        ('t', {'n': 1})
    """
    if not isinstance(topic, str) or not topic:
        raise PayloadError("a topic must be a non-empty string", value=topic)
    try:
        return json.dumps({"t": topic, "m": message}, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError) as err:
        raise PayloadError(f"message is not JSON-serialisable: {err}", value=topic) from err


def unpack_message(text: str) -> tuple[str, dict[str, Any]] | None:
    """Reverse :func:`pack_message`; None for text it did not produce."""
    try:
        body = json.loads(text)
        topic, message = body["t"], body["m"]
    except (ValueError, KeyError, TypeError):
        return None
    return (topic, message) if isinstance(topic, str) and isinstance(message, dict) else None


class LocalSubscriptions:
    """The subscription half of a ``Sub``: a base class for providers.

    A provider's ``Sub`` inherits ``subscribe``, ``psubscribe``, ``unsubscribe`` and
    ``close``, writes ``publish`` for its transport, and calls :meth:`deliver` for every
    message the transport brings. Exact topics are looked up in a dict, glob patterns
    (``*``, ``?``, ``[...]``) matched one by one. A plain callback runs at once, a
    coroutine callback as a task; an exception of either is logged and never reaches the
    publisher or the other subscribers.

    Example:
        >>> import asyncio
        >>> local, got = LocalSubscriptions(logging.getLogger("demo")), []
        >>> _ = asyncio.run(local.psubscribe("order.*", lambda t, m: got.append(t)))
        >>> local.deliver("order.shipped", {})
        >>> got
        ['order.shipped']
    """

    def __init__(self, log: logging.Logger) -> None:
        self._log = log
        self._exact: dict[str, list[_Subscription]] = {}
        self._patterns: list[_Subscription] = []
        self._tasks: set[asyncio.Future[Any]] = set()

    async def subscribe(self, topic: str, callback: SubCallback) -> Subscription:
        """Receive messages published to exactly ``topic``."""
        sub = _Subscription(topic, callback)
        self._exact.setdefault(topic, []).append(sub)
        return sub

    async def psubscribe(self, pattern: str, callback: SubCallback) -> Subscription:
        """Receive messages whose topic matches the glob ``pattern``."""
        sub = _Subscription(pattern, callback, re.compile(fnmatch.translate(pattern)))
        self._patterns.append(sub)
        return sub

    async def unsubscribe(self, subscription: Subscription) -> None:
        """Stop a subscription (idempotent)."""
        if not isinstance(subscription, _Subscription):
            return
        if subscription.pattern is not None:
            self._patterns = [s for s in self._patterns if s is not subscription]
            return
        subs = [s for s in self._exact.get(subscription.topic, []) if s is not subscription]
        if subs:
            self._exact[subscription.topic] = subs
        else:
            self._exact.pop(subscription.topic, None)

    def deliver(self, topic: str, message: dict[str, Any]) -> None:
        """Hand ``message`` to every subscription matching ``topic``."""
        targets = list(self._exact.get(topic, ()))
        targets.extend(s for s in self._patterns if s.pattern and s.pattern.match(topic))
        for sub in targets:
            try:
                result = sub.callback(topic, message)
                if inspect.isawaitable(result):
                    task = asyncio.ensure_future(result)
                    self._tasks.add(task)
                    task.add_done_callback(self._done)
            except Exception:
                self._log.exception("subscriber callback failed", extra={"topic": topic})

    def _done(self, task: asyncio.Future[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            self._log.error("subscriber callback failed", exc_info=task.exception())

    async def close(self) -> None:
        """Drop every subscription and wait for the coroutine callbacks still running."""
        self._exact.clear()
        self._patterns.clear()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
