"""Waiting for a running ``{ns}.call`` job without polling its state.

The call graph ``publishes`` ``{ns}.called``: every finished call (done, failed or
interrupted) is announced on ``{ns}.called.<id>``. One subscription per Virtual engine
hears them all and wakes the ``exec`` calls waiting for that id.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager

from hotmesh import HotMesh, JobOutput

__all__ = ["Completions"]


class Completions:
    """The ``exec`` calls of one engine waiting for a call to finish, by call id.

    Example:
        >>> completions = Completions()
        >>> completions.waiting("greet-ada")
        0
    """

    def __init__(self) -> None:
        self._waiting: dict[str, set[asyncio.Future[None]]] = {}

    async def listen(self, mesh: HotMesh, namespace: str) -> None:
        """Hear every completion of ``namespace``'s calls (once per engine)."""
        await mesh.sub(f"{namespace}.called", self._finished)

    def _finished(self, _topic: str, output: JobOutput) -> None:
        for future in self._waiting.pop(output.job_id, set()):
            if not future.done():
                future.set_result(None)

    @contextmanager
    def expect(self, job_id: str) -> Iterator[asyncio.Future[None]]:
        """A future resolved when call ``job_id`` announces its completion.

        Enter it *before* reading the call's state, so a completion published between
        the read and the wait is not missed.
        """
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiting.setdefault(job_id, set()).add(future)
        try:
            yield future
        finally:
            waiters = self._waiting.get(job_id)
            if waiters is not None:
                waiters.discard(future)
                if not waiters:
                    del self._waiting[job_id]
            future.cancel()

    def waiting(self, job_id: str) -> int:
        """How many ``exec`` calls wait for ``job_id`` now."""
        return len(self._waiting.get(job_id, ()))
