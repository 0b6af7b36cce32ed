"""Every code block of the README and the docs runs, and every example program runs.

Python blocks and ``examples/*.py`` run as programs (as a reader pastes them), against
the test Postgres through ``$HOTMESH_DSN`` (what ``HotMesh.init`` uses when no connection
is given). YAML blocks are complete apps and must compile. Shell blocks name ``hotmesh``
commands that must exist; ``pip`` lines are the install steps CI itself performs.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from hotmesh.engine.compiler import compile_app

ROOT = Path(__file__).resolve().parents[2]
PAGES = [
    ROOT / "README.md",
    ROOT / "examples" / "README.md",
    *sorted((ROOT / "docs").rglob("*.md")),
]
EXAMPLES = sorted((ROOT / "examples").glob("*.py"))
FENCE = re.compile(r"^```(\w+)[^\n]*\n(.*?)^```", re.S | re.M)
SNIPPET = re.compile(r'^--8<-- "([^"]+)"$', re.M)


def blocks(language: str) -> list[tuple[str, str]]:
    """``(id, code)`` for every fenced block of ``language`` (snippets inlined)."""
    found = []
    for page in PAGES:
        for index, match in enumerate(FENCE.finditer(page.read_text())):
            if match.group(1) != language:
                continue
            code = SNIPPET.sub(lambda m: (ROOT / m.group(1)).read_text(), match.group(2))
            found.append((f"{page.relative_to(ROOT)}#{index}", code))
    return found


def run_program(code: str, dsn: str, cwd: Path, provider: str = "asyncpg") -> str:
    env = {**os.environ, "HOTMESH_DSN": dsn, "HOTMESH_PROVIDER": provider,
           "PYTHONWARNINGS": "ignore", "PYTHONPATH": str(ROOT)}  # fmt: skip
    program = cwd / "program.py"
    program.write_text(code)
    done = subprocess.run(
        [sys.executable, str(program)], capture_output=True, text=True, timeout=120,
        cwd=cwd, env=env, check=False,
    )  # fmt: skip
    assert done.returncode == 0, f"stdout:\n{done.stdout}\nstderr:\n{done.stderr}"
    assert "Traceback" not in done.stderr, done.stderr
    return done.stdout


PYTHON = blocks("python")


@pytest.mark.parametrize(("where", "code"), PYTHON, ids=[w for w, _ in PYTHON])
def test_python_block_runs(where: str, code: str, hotmesh_dsn: str, tmp_path: Path) -> None:
    run_program(code, hotmesh_dsn, tmp_path)


@pytest.mark.parametrize("provider", ["asyncpg", "psycopg"])
def test_readme_example_prints_the_result(provider: str, hotmesh_dsn: str, tmp_path: Path) -> None:
    [(_, code), *_] = [b for b in PYTHON if b[0].startswith("README.md")]
    assert "asyncio.run(main())" in code
    assert "{'status': 'fulfilled'}" in run_program(code, hotmesh_dsn, tmp_path, provider)


@pytest.mark.parametrize("example", EXAMPLES, ids=[e.name for e in EXAMPLES])
def test_example_runs(example: Path, hotmesh_dsn: str, tmp_path: Path) -> None:
    run_program(example.read_text(), hotmesh_dsn, tmp_path)


YAML = blocks("yaml")


@pytest.mark.parametrize(("where", "code"), YAML, ids=[w for w, _ in YAML])
def test_yaml_block_compiles(where: str, code: str) -> None:
    compile_app(code)


SHELL = blocks("bash") + blocks("sh")


@pytest.mark.parametrize(("where", "code"), SHELL, ids=[w for w, _ in SHELL])
def test_shell_block_names_real_commands(where: str, code: str) -> None:
    from hotmesh.cli import app

    commands = {c.name for c in app.registered_commands} | {"workers"}
    commands |= {
        c.callback.__name__.replace("_", "-") for c in app.registered_commands if c.callback
    }
    for line in code.splitlines():
        words = line.split("#")[0].split()
        if words[:1] == ["hotmesh"] and len(words) > 1 and not words[1].startswith("-"):
            assert words[1] in commands, f"{where}: no command 'hotmesh {words[1]}'"


TOML = blocks("toml")


@pytest.mark.parametrize(("where", "code"), TOML, ids=[w for w, _ in TOML])
def test_toml_block_parses(where: str, code: str) -> None:
    import tomllib

    assert tomllib.loads(code)


def test_only_checked_languages() -> None:
    """A fenced block in a language this module does not run would go untested."""
    # text: printed output; sql: statements shown for reference (docs/dashboard.md), not run
    checked = {"python", "yaml", "bash", "sh", "toml", "text", "sql"}
    for page in PAGES:
        for match in FENCE.finditer(page.read_text()):
            assert match.group(1) in checked, f"{page.name}: a {match.group(1)} block"
    assert PYTHON and YAML and EXAMPLES


def test_pipe_catalog_page_lists_every_registered_function() -> None:
    import importlib.util

    from hotmesh.engine.pipe import FUNCTIONS

    spec = importlib.util.spec_from_file_location("docs_hooks", ROOT / "scripts/docs_hooks.py")
    assert spec is not None and spec.loader is not None
    hooks = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(hooks)
    page = hooks.on_page_markdown((ROOT / "docs/pipe-catalog.md").read_text())
    assert hooks.MARKER not in page
    missing = [name for name in FUNCTIONS if f"`{{@{name}}}`" not in page]
    assert missing == [] and f"{len(FUNCTIONS)} functions" in page
