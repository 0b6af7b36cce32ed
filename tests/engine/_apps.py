"""Helpers for the §6 test apps in tests/apps (their ``app.id`` is fixed in the files)."""

from __future__ import annotations

import asyncio
import re
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

from hotmesh import HotMesh
from hotmesh.types import JobOutput

APPS = Path(__file__).resolve().parents[1] / "apps"

__all__ = ["APPS", "Collector", "app_file", "app_text"]


def app_text(name: str, app_id: str, replacements: dict[str, str] | None = None) -> str:
    """``tests/apps/<name>.yaml`` with its ``app.id`` set to ``app_id``.

    ``replacements`` maps exact substrings to substitutes (tests shorten the sleeps).
    """
    text = (APPS / f"{name}.yaml").read_text(encoding="utf-8")
    text, count = re.subn(r"(?m)^(  id: ).*$", rf"\g<1>{app_id}", text, count=1)
    assert count == 1, name
    for old, new in (replacements or {}).items():
        assert old in text, old
        text = text.replace(old, new)
    return text


def app_file(name: str, app_id: str, directory: Path) -> Path:
    """Copy the app file and its ``$ref`` tree to ``directory``; return the new main file."""
    source = APPS / name
    if source.is_dir():
        shutil.copytree(source, directory / name)
    main = directory / f"{name}.yaml"
    main.write_text(app_text(name, app_id), encoding="utf-8")
    return main


class Collector:
    """Records the job outputs published on a topic (``hm.sub``)."""

    def __init__(self) -> None:
        self.outputs: list[JobOutput] = []
        self.topics: list[str] = []
        self._changed = asyncio.Event()

    async def attach(self, hm: HotMesh, topic: str) -> Collector:
        await hm.sub(topic, self)
        return self

    def __call__(self, topic: str, output: JobOutput) -> None:
        self.topics.append(topic)
        self.outputs.append(output)
        self._changed.set()

    async def wait_for(
        self, check: Callable[[list[JobOutput]], bool], timeout: float = 10.0
    ) -> list[JobOutput]:
        """Wait until ``check(outputs)`` holds."""

        async def loop() -> list[JobOutput]:
            while not check(self.outputs):
                self._changed.clear()
                await self._changed.wait()
            return self.outputs

        return await asyncio.wait_for(loop(), timeout)

    def final(self) -> list[JobOutput]:
        """The outputs that report a finished job (semaphore 0 or below)."""
        return [o for o in self.outputs if int(o.metadata.get("js", 1)) <= 0]


def data_of(output: JobOutput) -> dict[str, Any]:
    return dict(output.data or {})
