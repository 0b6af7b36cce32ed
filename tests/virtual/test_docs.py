"""docs/virtual.md: its example runs as written and prints what the guide says."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

GUIDE = Path(__file__).resolve().parents[2] / "docs" / "virtual.md"


async def test_the_guide_example_runs(
    hotmesh_provider: str, hotmesh_dsn: str, namespace: str, capsys: pytest.CaptureFixture[str]
) -> None:
    text = GUIDE.read_text()
    [code] = re.findall(r"```python\n(.*?)```", text, flags=re.S)[:1]
    [expected] = re.findall(r"It prints:\n\n```text\n(.*?)```", text, flags=re.S)
    code = code.replace('"asyncpg"', repr(hotmesh_provider)).replace('"demo"', repr(namespace))
    scope: dict[str, Any] = {}
    exec(compile(code, str(GUIDE), "exec"), scope)
    await scope["main"](hotmesh_dsn)
    assert capsys.readouterr().out == expected
