"""The README's Python example runs as written."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

README = Path(__file__).resolve().parents[2] / "README.md"


@pytest.mark.parametrize("provider", ["asyncpg", "psycopg"])
async def test_readme_example(
    hotmesh_dsn: str, provider: str, capsys: pytest.CaptureFixture[str]
) -> None:
    [code] = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)[:1]
    namespace: dict[str, Any] = {}
    exec(compile(code.replace('"asyncpg"', repr(provider)), str(README), "exec"), namespace)
    await namespace["main"](hotmesh_dsn)
    assert "{'status': 'fulfilled'}" in capsys.readouterr().out
