"""Load the §6 test apps of ``tests/apps`` under a fresh app id."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

APPS = Path(__file__).resolve().parents[1] / "apps"
_APP_ID_LINE = re.compile(r"(?m)^(  id:[ \t]*)\S.*$")


def load_app(name: str, app_id: str, **replace: str) -> str:
    """The YAML of ``tests/apps/<name>.yaml`` with ``app.id`` set to ``app_id``.

    ``replace`` maps literal snippets to their replacement (e.g. a shorter ``sleep``);
    each snippet must occur in the file.
    """
    text = (APPS / f"{name}.yaml").read_text()
    text, count = _APP_ID_LINE.subn(lambda m: f"{m.group(1)}{app_id}", text, count=1)
    assert count == 1, f"{name}.yaml has no app id line"
    for old, new in replace.items():
        assert old in text, f"{old!r} not in {name}.yaml"
        text = text.replace(old, new)
    return text


async def eventually(
    probe: Callable[[], Awaitable[Any]], *, timeout: float = 5.0, interval: float = 0.02
) -> Any:
    """Poll ``probe`` until it returns a truthy value; return it (fail after ``timeout``)."""
    deadline = time.monotonic() + timeout
    while True:
        value = await probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s (last: {value!r})")
        await asyncio.sleep(interval)
