"""Deploy rejects broken input with a DeployError naming the node (issue 13, item 5).

Before: YAML with NUL, lone surrogates or C1 controls raised ``yaml.reader.ReaderError``,
deep nesting ``RecursionError``; negative ``expire``, a non-numeric ``sleep``, malformed
``@pipe`` shapes and unclosed references were accepted.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fix_compiler import app_doc, chain, deploy_errors, graph, register_catalog

from hotmesh.engine.compiler import compile_app
from hotmesh.errors import DeployError

GOOD = """app:
  id: t
  version: '1'
  graphs:
    - subscribes: t.go
      activities:
        t1:
          type: trigger
"""


@pytest.fixture(autouse=True)
def _catalog(monkeypatch: pytest.MonkeyPatch) -> None:
    register_catalog(monkeypatch)


@pytest.mark.parametrize("char", ["\x00", "\ud800", "\x85x\x9f", "\x01"])
def test_unreadable_characters_are_deploy_errors_with_a_position(char: str) -> None:
    err = deploy_errors(GOOD + f"# {char}\n")
    assert isinstance(err, DeployError)
    assert err.value.startswith("<yaml>:9:")
    assert "not allowed" in str(err)
    assert str(err).count("<yaml>:9:") == 1


def nested_list(levels: int) -> str:
    return GOOD + "  settings: " + "[" * levels + "]" * levels + "\n"


@pytest.mark.parametrize("levels", [200, 5000])
def test_deep_yaml_is_a_deploy_error(levels: int) -> None:
    err = deploy_errors(nested_list(levels))
    assert "nested" in str(err)


def test_deep_mapping_source_is_a_deploy_error() -> None:
    value: dict[str, Any] = {"leaf": 1}
    for _ in range(3000):
        value = {"n": value}
    doc = app_doc()
    doc["app"]["settings"] = value
    err = deploy_errors(doc)
    assert "nested more than" in str(err)


@pytest.mark.parametrize("expire", [-5, -2])
def test_negative_expire_is_rejected(expire: int) -> None:
    err = deploy_errors(app_doc(graph(expire=expire)))
    assert err.value == "app.graphs[0].expire"


@pytest.mark.parametrize("expire", [0, -1, 60])
def test_zero_and_minus_one_mean_never_expire(expire: int) -> None:
    assert compile_app(app_doc(graph(expire=expire))).id == "t"


@pytest.mark.parametrize("sleep", ["soon", -3, True, [1]])
def test_unusable_sleep_is_rejected(sleep: Any) -> None:
    err = deploy_errors(app_doc(chain("h1", h1={"sleep": sleep})))
    assert err.value == "app.graphs[0].activities.h1.sleep"


@pytest.mark.parametrize("sleep", [5, 0.5, "5", "{t1.output.data.s}"])
def test_usable_sleep_is_accepted(sleep: Any) -> None:
    compile_app(app_doc(chain("h1", h1={"sleep": sleep})))


def with_map(value: Any) -> dict[str, Any]:
    trigger = {"type": "trigger", "job": {"maps": {"x": value}}}
    return app_doc(graph(activities={"t1": trigger}))


@pytest.mark.parametrize(
    ("pipe", "node"),
    [
        (5, "x.@pipe"),
        ([], "x.@pipe"),
        ([[]], "x.@pipe[0]"),
        ([["{t1.output.data.a}"], "oops"], "x.@pipe[1]"),
        ([["{t1.output.data.a}", 1], ["not-a-function"]], "x.@pipe[1]"),
        ([{"@pipe": []}, ["{@math.add}"]], "x.@pipe[0].@pipe"),
    ],
)
def test_malformed_pipes_are_rejected_naming_the_node(pipe: Any, node: str) -> None:
    err = deploy_errors(with_map({"@pipe": pipe}))
    assert err.value == f"app.graphs[0].activities.t1.job.maps.{node}"


@pytest.mark.parametrize(
    "pipe",
    [
        [["{t1.output.data.a}", 1], ["{@math.add}"]],
        [{"@pipe": [["{t1.output.data.a}"]]}, {"@pipe": [[2]]}, ["{@math.add}"]],
        [["{t1.output.data.a}", {"@pipe": 5}], ["{@math.add}"]],  # an object cell: a literal
    ],
)
def test_well_formed_pipes_still_deploy(pipe: Any) -> None:
    compile_app(with_map({"@pipe": pipe}))


@pytest.mark.parametrize("text", ["{", "{@math.add", "{t1.output.data.a", "{$job.data.x"])
def test_unclosed_references_are_rejected(text: str) -> None:
    err = deploy_errors(with_map(text))
    assert err.value == "app.graphs[0].activities.t1.job.maps.x"
    assert "unclosed reference" in str(err)


@pytest.mark.parametrize("text", ["{ hello", '{"a": 1', "x{", "hello {x}"])
def test_other_brace_text_stays_literal(text: str) -> None:
    compile_app(with_map(text))


def test_a_file_that_is_not_utf8_is_a_deploy_error(tmp_path: Path) -> None:
    path = tmp_path / "app.yaml"
    path.write_bytes(b"app:\n  id: \xff\xfe\n")
    err = deploy_errors(str(path))
    assert "can't decode" in str(err)
