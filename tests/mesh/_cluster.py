"""Real OS processes joining one mesh, for the tests of this folder.

:class:`Cluster` starts ``member.py`` processes (each a HotMesh with an engine and a
``mesh.work`` worker), reads their JSON event lines, and always terminates them.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

MEMBER = Path(__file__).with_name("member.py")

APP = """
app:
  id: {APP}
  version: '{V}'
  graphs:
    - subscribes: mesh.start
      publishes: mesh.done
      expire: 300
      activities:
        t1:
          type: trigger
          stats:
            id: '{t1.input.data.id}'
        w1:
          type: worker
          topic: mesh.work
          input:
            maps:
              id: '{t1.output.data.id}'
              sleep: '{t1.output.data.sleep}'
          job:
            maps:
              pid1: '{w1.output.data.pid}'
              s1: v{V}
        w2:
          type: worker
          topic: mesh.work
          input:
            maps:
              id: '{t1.output.data.id}'
              sleep: '{t1.output.data.sleep}'
          job:
            maps:
              pid2: '{w2.output.data.pid}'
              s2: v{V}
      transitions:
        t1:
          - to: w1
        w1:
          - to: w2
"""


def app_version(app_id: str, version: str) -> str:
    """The test app at ``version``: two worker steps, each recording the version it ran on."""
    return APP.replace("{APP}", app_id).replace("{V}", version)


class Member:
    """One member process and the events it printed."""

    def __init__(self, proc: asyncio.subprocess.Process, log: Path) -> None:
        self.proc = proc
        self.log = log
        self.events: list[dict[str, Any]] = []
        self.changed = asyncio.Event()
        self.guid = ""
        self.pid = proc.pid
        self._reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        assert self.proc.stdout is not None
        while line := await self.proc.stdout.readline():
            try:
                event = json.loads(line)
            except ValueError:
                continue
            self.events.append(event)
            self.changed.set()
        self.changed.set()

    async def wait_for(
        self, check: Callable[[list[dict[str, Any]]], bool], timeout: float = 20.0
    ) -> None:
        """Wait until ``check(events)`` holds (or the process ended: fail)."""
        deadline = time.monotonic() + timeout
        while not check(self.events):
            if self._reader.done():
                raise AssertionError(f"member {self.pid} ended: {self.stderr()[-3000:]}")
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"member {self.pid}: no such event in {self.events}")
            self.changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.changed.wait(), remaining)

    def stderr(self) -> str:
        """What the process wrote on stderr (its logs)."""
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def named(self, name: str) -> list[dict[str, Any]]:
        """The events called ``name``."""
        return [e for e in self.events if e.get("event") == name]

    def kill9(self) -> None:
        """SIGKILL: the process dies at once, mid-callback, without cleaning up."""
        os.kill(self.pid, signal.SIGKILL)

    async def stop(self) -> None:
        """Ask for a clean stop; wait for it."""
        assert self.proc.stdin is not None
        self.proc.stdin.write(b"stop\n")
        await self.proc.stdin.drain()
        await asyncio.wait_for(self.proc.wait(), 20)
        await self._reader

    async def terminate(self) -> None:
        """Kill the process if it still runs (always safe to call)."""
        if self.proc.returncode is None:
            self.proc.kill()
            await self.proc.wait()
        self._reader.cancel()
        await asyncio.gather(self._reader, return_exceptions=True)


class Cluster:
    """Member processes of one app; ``close`` kills any still running."""

    def __init__(self, provider: str, dsn: str, app_id: str) -> None:
        self.provider, self.dsn, self.app_id = provider, dsn, app_id
        self.members: list[Member] = []

    async def start(self, count: int = 1, **spec: Any) -> list[Member]:
        """Start ``count`` members with ``spec`` (see member.py) and wait until all are ready."""
        spec = {"engine": True, "worker": "echo", **spec}
        started = []
        for _ in range(count):
            # stderr goes to a file: a pipe nobody reads could fill up and block the child.
            fd, path = tempfile.mkstemp(prefix="hotmesh-member-", suffix=".log")
            log = Path(path)
            try:
                proc = await asyncio.create_subprocess_exec(
                    sys.executable, str(MEMBER), self.provider, self.dsn, self.app_id,
                    json.dumps(spec),
                    stdin=asyncio.subprocess.PIPE,
                    stdout=asyncio.subprocess.PIPE,
                    stderr=fd,
                )  # fmt: skip
            finally:
                os.close(fd)
            member = Member(proc, log)
            self.members.append(member)
            started.append(member)
        for member in started:
            await member.wait_for(lambda events: any(e["event"] == "ready" for e in events), 60)
            member.guid = member.named("ready")[0]["guid"]
        return started

    async def close(self) -> None:
        """Terminate every member (also after a failed test)."""
        await asyncio.gather(*(m.terminate() for m in self.members), return_exceptions=True)
        for member in self.members:
            member.log.unlink(missing_ok=True)
