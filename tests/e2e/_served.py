"""A long-running CLI process under test (``hotmesh serve``, ``hotmesh dashboard``), read
with deadlines.

Both pipes are drained by threads, so a process writing much to one is never blocked on a
full pipe while the test reads the other. A wait that runs out aborts the process and its
children with SIGABRT: with ``PYTHONFAULTHANDLER`` set each prints every thread's Python
stack, and the failure shows that with everything the processes wrote, instead of a test
stuck on a read until pytest-timeout.
"""

from __future__ import annotations

import contextlib
import queue
import signal
import subprocess
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import IO, NoReturn

import psutil


class Served:
    """A process started now; see the module docstring."""

    def __init__(self, args: Sequence[str], *, env: dict[str, str], cwd: Path | None = None):
        self.proc = subprocess.Popen(
            list(args), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            cwd=cwd, env={**env, "PYTHONFAULTHANDLER": "1"},
        )  # fmt: skip
        self._lines: dict[str, queue.Queue[str | None]] = {
            "stdout": queue.Queue(),
            "stderr": queue.Queue(),
        }
        self._seen: dict[str, list[str]] = {"stdout": [], "stderr": []}
        assert self.proc.stdout is not None and self.proc.stderr is not None
        self._readers = [
            threading.Thread(target=self._read, args=("stdout", self.proc.stdout), daemon=True),
            threading.Thread(target=self._read, args=("stderr", self.proc.stderr), daemon=True),
        ]
        for reader in self._readers:
            reader.start()

    def _read(self, name: str, pipe: IO[str]) -> None:
        for line in pipe:
            self._seen[name].append(line)
            self._lines[name].put(line)
        self._lines[name].put(None)

    def expect(
        self, prefix: str, count: int = 1, *, stream: str = "stdout", timeout: float = 60
    ) -> list[str]:
        """The next ``count`` lines of ``stream`` starting with ``prefix`` (others are
        skipped); fails with the processes' stacks and output after ``timeout`` seconds,
        or at once if the stream ends first."""
        found: list[str] = []
        deadline = time.monotonic() + timeout
        while len(found) < count:
            try:
                line = self._lines[stream].get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                self.fail(f"no {count} line(s) {prefix!r} on {stream} within {timeout:g}s")
            if line is None:
                self.fail(f"{stream} ended after {len(found)} of {count} line(s) {prefix!r}")
            if line.startswith(prefix):
                found.append(line)
        return found

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 60) -> tuple[int, str, str]:
        """Send ``sig``; the exit code and all of stdout and stderr once it has exited."""
        with contextlib.suppress(ProcessLookupError):
            self.proc.send_signal(sig)
        return self.wait(timeout)

    def wait(self, timeout: float = 60) -> tuple[int, str, str]:
        """The exit code and all of stdout and stderr once it has exited on its own."""
        try:
            code = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.fail(f"still running after {timeout:g}s")
        return code, *self._output()

    def children(self) -> list[psutil.Process]:
        """The process's children and theirs."""
        with contextlib.suppress(psutil.NoSuchProcess):
            return list(psutil.Process(self.proc.pid).children(recursive=True))
        return []

    def _output(self) -> tuple[str, str]:
        for reader in self._readers:
            reader.join(30)
        return "".join(self._seen["stdout"]), "".join(self._seen["stderr"])

    def fail(self, why: str) -> NoReturn:
        """Abort the processes (each prints its stacks) and fail with everything they wrote."""
        children = self.children()
        for process in children:
            with contextlib.suppress(psutil.NoSuchProcess):
                process.send_signal(signal.SIGABRT)
        self.proc.send_signal(signal.SIGABRT)  # nothing if it has exited already
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(30)
        _, stuck = psutil.wait_procs(children, timeout=10)
        for process in stuck:  # one that ignored SIGABRT
            with contextlib.suppress(psutil.NoSuchProcess):
                process.kill()
        if self.proc.poll() is None:
            self.proc.kill()
        out, err = self._output()
        raise AssertionError(f"{why}\n--- stdout\n{out[-4000:]}\n--- stderr\n{err[-12000:]}")

    def close(self) -> None:
        """Make sure nothing is left running (a test that failed before stopping it)."""
        if self.proc.poll() is None:
            for process in self.children():
                with contextlib.suppress(psutil.NoSuchProcess):
                    process.kill()
            self.proc.kill()
            self.proc.wait(30)
        self._output()
        assert self.proc.stdout is not None and self.proc.stderr is not None
        self.proc.stdout.close()
        self.proc.stderr.close()
