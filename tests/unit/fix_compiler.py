"""Shared helpers of the compiler tests (``tests/unit/test_compiler_*.py``)."""

from __future__ import annotations

import itertools
import textwrap
from pathlib import Path
from typing import Any

import pytest

from hotmesh.engine import pipe
from hotmesh.engine.compiler import ManifestError, compile_app
from hotmesh.engine.model import AppManifest

#: The YAML test apps of spec §6 (reused by the engine's integration tests).
APPS = Path(__file__).resolve().parents[1] / "apps"

#: The ``@pipe`` functions the test apps and the tests use. Registered as stubs so the
#: compiler tests do not depend on the state of the real catalog.
CATALOG = (
    "array.get",
    "conditional.equality",
    "conditional.less_than",
    "conditional.nullish",
    "conditional.ternary",
    "date.now",
    "date.toLocaleString",
    "logical.or",
    "math.add",
    "math.multiply",
    "number.gte",
    "number.lt",
    "object.create",
    "string.concat",
    "string.split",
)


def _stub(*args: Any) -> Any:
    return args[0] if args else None


def register_catalog(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make every name of :data:`CATALOG` (and only those, plus the real ones) known."""
    for name in CATALOG:
        monkeypatch.setitem(pipe.FUNCTIONS, name, _stub)


def compile_yaml(text: str, **kwargs: Any) -> AppManifest:
    """Compile dedented YAML text."""
    return compile_app(textwrap.dedent(text), **kwargs)


def graph(subscribes: str = "t.go", **fields: Any) -> dict[str, Any]:
    """A graph mapping; ``activities`` defaults to a lone trigger ``t1``."""
    fields.setdefault("activities", {"t1": {"type": "trigger"}})
    return {"subscribes": subscribes, **fields}


def app_doc(*graphs: dict[str, Any], app_id: str = "t", version: str = "1") -> dict[str, Any]:
    """A whole manifest mapping around ``graphs`` (one default graph when none given)."""
    return {"app": {"id": app_id, "version": version, "graphs": list(graphs) or [graph()]}}


def chain(*ids: str, **extra: dict[str, Any]) -> dict[str, Any]:
    """A graph t1 -> ids[0] -> ids[1] ... of hooks; ``extra`` merges activity fields."""
    activities: dict[str, Any] = {"t1": {"type": "trigger"}}
    for activity_id in ids:
        activities[activity_id] = {"type": "hook", **extra.get(activity_id, {})}
    path = ("t1", *ids)
    transitions = {src: [{"to": dst}] for src, dst in itertools.pairwise(path)}
    return graph(activities=activities, transitions=transitions)


def deploy_errors(source: Any, **kwargs: Any) -> ManifestError:
    """Compile ``source`` expecting it to fail; return the error."""
    with pytest.raises(ManifestError) as caught:
        compile_app(source, **kwargs)
    return caught.value


def messages(err: ManifestError) -> list[str]:
    """Every problem of ``err`` as text."""
    return [str(problem) for problem in err.errors]
