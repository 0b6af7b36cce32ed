"""Helpers the suite's tests share: backends per test, and waiting on conditions."""

from __future__ import annotations

import asyncio
import inspect
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, TypeVar, overload

from hotmesh.plugins import provider_for
from hotmesh.spi import Backend

__all__ = ["BackendFactory", "assert_eventually"]

T = TypeVar("T")


@overload
async def assert_eventually(
    probe: Callable[[], Awaitable[T]],
    check: Callable[[T], bool] = ...,
    *,
    timeout: float = ...,
    interval: float = ...,
    message: str = ...,
) -> T: ...


@overload
async def assert_eventually(
    probe: Callable[[], T],
    check: Callable[[T], bool] = ...,
    *,
    timeout: float = ...,
    interval: float = ...,
    message: str = ...,
) -> T: ...


async def assert_eventually(
    probe: Callable[[], Any],
    check: Callable[[Any], bool] = bool,
    *,
    timeout: float = 10.0,
    interval: float = 0.02,
    message: str = "condition never became true",
) -> Any:
    """Call ``probe`` until ``check(result)`` holds; fail after ``timeout`` seconds.

    For conditions with no event to wait on (a lease expiring, a reconnect finishing).
    ``probe`` may be a coroutine function or a plain one (reading a counter).

    Example:
        >>> async def demo(stream):  # doctest: +SKIP
        ...     await assert_eventually(lambda: stream.claim("s"), lambda got: len(got) == 1)
    """
    deadline = time.monotonic() + timeout
    last: Any = None
    while True:
        got = probe()
        last = await got if inspect.isawaitable(got) else got
        if check(last):
            return last
        if time.monotonic() >= deadline:
            raise AssertionError(f"{message} within {timeout}s; last value: {last!r}")
        await asyncio.sleep(interval)


class BackendFactory:
    """Opens backends of one provider for fresh app ids and closes them all at the end."""

    def __init__(self, provider: str, options: Mapping[str, Any]) -> None:
        self.provider = provider
        self.options = dict(options)
        self._open: list[Backend] = []

    @staticmethod
    def new_app_id(prefix: str = "conf") -> str:
        """A unique app id, so tests never see each other's rows."""
        return f"{prefix}-{uuid.uuid4().hex[:12]}"

    async def open(self, app_id: str | None = None, **options: Any) -> Backend:
        """Connect a backend for ``app_id`` (a new one when omitted)."""
        backend = await provider_for(self.provider).connect(
            {**self.options, **options}, app_id=app_id or self.new_app_id()
        )
        self._open.append(backend)
        return backend

    async def close(self) -> None:
        """Close every backend opened here."""
        while self._open:
            await self._open.pop().close()
