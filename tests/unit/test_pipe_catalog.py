"""The catalog as a whole: names, coverage by the tests, and the docstring examples."""

from __future__ import annotations

import doctest
import importlib
import pkgutil
import re
from pathlib import Path

import pytest

import hotmesh.engine.mapper
import hotmesh.engine.pipe
from hotmesh.engine.pipe import FUNCTIONS, NAMESPACES, has_function

EXPECTED_NAMESPACES = {
    "array", "bitwise", "conditional", "cron", "date", "json", "logical",
    "math", "number", "object", "string", "symbol", "unary",
}  # fmt: skip


def test_thirteen_namespaces() -> None:
    assert set(NAMESPACES) == EXPECTED_NAMESPACES


def test_has_function() -> None:
    assert has_function("math.add")
    assert has_function("date.UTC")
    assert has_function("logical.and")
    assert not has_function("math.nope")
    assert not has_function("{@math.add}")


def test_every_function_has_a_docstring() -> None:
    assert [name for name, function in FUNCTIONS.items() if not function.__doc__] == []


def test_every_function_is_named_in_a_test() -> None:
    sources = "".join(path.read_text() for path in Path(__file__).parent.glob("test_pipe_*.py"))
    named = set(re.findall(r"[\"'{@]([a-z]+\.[A-Za-z_0-9]+)", sources))
    assert sorted(set(FUNCTIONS) - named) == []


def _modules() -> list[str]:
    names = [hotmesh.engine.mapper.__name__, hotmesh.engine.pipe.__name__]
    for info in pkgutil.iter_modules(hotmesh.engine.pipe.__path__):
        names.append(f"{hotmesh.engine.pipe.__name__}.{info.name}")
    return names


@pytest.mark.parametrize("module_name", _modules())
def test_docstring_examples(module_name: str) -> None:
    module = importlib.import_module(module_name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.failed == 0
