"""The ``Sub`` provider interface: fire-and-forget publish/subscribe."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Protocol, runtime_checkable

__all__ = ["Sub", "SubCallback", "Subscription"]

SubCallback = Callable[[str, dict[str, Any]], Awaitable[None] | None]
"""Called with ``(topic, message)`` for each message received."""


@runtime_checkable
class Subscription(Protocol):
    """A handle returned by ``subscribe``/``psubscribe``; pass it to ``unsubscribe``."""

    @property
    def topic(self) -> str:
        """The topic or pattern subscribed to."""
        ...


@runtime_checkable
class Sub(Protocol):
    """Publish/subscribe between the processes of one app.

    Contract:

    * A message published after ``subscribe`` returns reaches every subscriber of that exact
      topic, once, in publish order per publisher, whatever its size (large payloads must
      not be truncated or rejected by the transport).
    * ``psubscribe`` takes a glob pattern (``*``, ``?``, ``[...]``, as in Redis) and receives
      every matching topic; a message matching several of one's subscriptions arrives once
      per subscription.
    * Delivery is at most once and not durable: a process that is not subscribed when a
      message is published never sees it. Durable hand-offs use ``Stream``.
    * A callback's exception is logged and does not affect other subscribers.
    * After a lost connection the provider re-subscribes by itself.

    Example:
        >>> async def watch(sub: Sub) -> None:
        ...     handle = await sub.psubscribe("order.*", lambda t, m: print(t, m))
        ...     await sub.publish("order.shipped", {"id": 7})
        ...     await sub.unsubscribe(handle)
    """

    async def publish(self, topic: str, message: dict[str, Any]) -> None:
        """Send ``message`` to every current subscriber of ``topic``."""
        ...

    async def subscribe(self, topic: str, callback: SubCallback) -> Subscription:
        """Receive messages published to exactly ``topic``."""
        ...

    async def psubscribe(self, pattern: str, callback: SubCallback) -> Subscription:
        """Receive messages whose topic matches the glob ``pattern``."""
        ...

    async def unsubscribe(self, subscription: Subscription) -> None:
        """Stop a subscription (idempotent)."""
        ...
