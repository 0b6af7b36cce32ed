"""A TCP proxy to the test Postgres that loses a connection right after a commit.

Armed with a marker (bytes the client will send, such as a job id), the proxy lets the
statement that carries it run and commit, then cuts that connection on the server's
``ReadyForQuery`` (sent only after the commit) instead of passing it on: the client sees
its connection lost although the statement took effect — the case a blind retry gets
wrong.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from urllib.parse import quote

from psycopg.conninfo import conninfo_to_dict

__all__ = ["CutProxy", "cut_proxy"]

# ReadyForQuery: type 'Z', length 5 (then the transaction status byte).
_READY = b"Z\x00\x00\x00\x05"


class CutProxy:
    """Forwards 127.0.0.1:<port> to the server of ``dsn``; see the module docstring."""

    def __init__(self, dsn: str) -> None:
        info = conninfo_to_dict(dsn)
        self._host = str(info.get("host") or "127.0.0.1")
        self._port = int(info.get("port") or 5432)
        self._user = str(info.get("user") or "postgres")
        self._password = str(info.get("password") or "")
        self._dbname = str(info.get("dbname") or self._user)
        self._marker: bytes | None = None
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self.cuts = 0
        self.cut_done = asyncio.Event()

    @property
    def dsn(self) -> str:
        """A DSN that connects through the proxy."""
        assert self._server is not None
        port = self._server.sockets[0].getsockname()[1]
        secret = f":{quote(self._password)}" if self._password else ""
        return f"postgresql://{quote(self._user)}{secret}@127.0.0.1:{port}/{self._dbname}?sslmode=disable"

    def arm(self, marker: str) -> None:
        """Cut the connection that next sends ``marker``, after its statement commits."""
        self._marker = marker.encode()
        self.cut_done.clear()

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(BaseException):
                await task

    async def _upstream(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        if self._host.startswith("/"):
            return await asyncio.open_unix_connection(f"{self._host}/.s.PGSQL.{self._port}")
        return await asyncio.open_connection(self._host, self._port)

    async def _serve(self, c_reader: asyncio.StreamReader, c_writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        s_reader, s_writer = await self._upstream()
        doomed = asyncio.Event()

        async def to_server() -> None:
            while data := await c_reader.read(65536):
                if self._marker is not None and self._marker in data:
                    self._marker = None
                    doomed.set()
                s_writer.write(data)
                await s_writer.drain()

        async def to_client() -> None:
            seen = b""
            while data := await s_reader.read(65536):
                if doomed.is_set():
                    seen += data
                    if _READY in seen:
                        self.cuts += 1
                        self.cut_done.set()
                        return  # the commit happened; the client never hears of it
                c_writer.write(data)
                await c_writer.drain()

        pumps = [asyncio.create_task(to_server()), asyncio.create_task(to_client())]
        try:
            await asyncio.wait(pumps, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for pump in pumps:
                pump.cancel()
            for writer in (c_writer, s_writer):
                writer.close()
                with contextlib.suppress(Exception):
                    await writer.wait_closed()
            for pump in pumps:
                with contextlib.suppress(BaseException):
                    await pump
            self._tasks.discard(task)


@contextlib.asynccontextmanager
async def cut_proxy(dsn: str) -> AsyncIterator[CutProxy]:
    """A started :class:`CutProxy` in front of ``dsn``."""
    proxy = CutProxy(dsn)
    await proxy.start()
    try:
        yield proxy
    finally:
        await proxy.close()
