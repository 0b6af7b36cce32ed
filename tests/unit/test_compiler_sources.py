"""Where manifests come from: files, text, mappings, ``$ref`` and YAML positions."""

from __future__ import annotations

from pathlib import Path

import pytest
from fix_compiler import APPS, app_doc, deploy_errors, register_catalog

from hotmesh.engine.compiler import compile_app


@pytest.fixture(autouse=True)
def _catalog(monkeypatch: pytest.MonkeyPatch) -> None:
    register_catalog(monkeypatch)


MINIMAL = (
    "app:\n  id: m\n  version: '1'\n  graphs:\n    - subscribes: m.go\n"
    "      activities:\n        t1: {type: trigger}\n"
)


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_text_path_object_and_mapping_give_the_same_app(tmp_path: Path) -> None:
    file = write(tmp_path / "m.yaml", MINIMAL)
    from_text = compile_app(MINIMAL)
    from_str_path = compile_app(str(file))
    from_path = compile_app(file)
    from_mapping = compile_app(
        {
            "app": {
                "id": "m",
                "version": "1",
                "graphs": [{"subscribes": "m.go", "activities": {"t1": {"type": "trigger"}}}],
            }
        }
    )
    assert from_text == from_str_path == from_path == from_mapping
    assert (from_text.source, from_path.source) == (None, str(file))


def test_mapping_source_is_not_mutated() -> None:
    doc = app_doc()
    snapshot = repr(doc)
    compile_app(doc)
    assert repr(doc) == snapshot


def test_missing_file_that_looks_like_a_path() -> None:
    err = deploy_errors("./nowhere/app.yaml")
    assert err.value == "./nowhere/app.yaml"
    assert "not found" in str(err)


def test_missing_path_object(tmp_path: Path) -> None:
    err = deploy_errors(tmp_path / "absent.yaml")
    assert str(tmp_path / "absent.yaml") in str(err)


def test_ref_resolution_is_recursive_and_relative(tmp_path: Path) -> None:
    write(
        tmp_path / "graphs" / "g.yaml",
        "subscribes: r.go\nactivities:\n  $ref: ../parts/activities.yaml\n",
    )
    write(
        tmp_path / "parts" / "activities.yaml",
        "t1: {type: trigger}\na1:\n  type: hook\n  job:\n    maps: {$ref: ./maps.yaml#/a1}\n",
    )
    write(tmp_path / "parts" / "maps.yaml", "a1:\n  done: true\n")
    main = write(
        tmp_path / "app.yaml",
        "app:\n  id: r\n  version: '1'\n  graphs:\n    - $ref: graphs/g.yaml\n",
    )
    before = sorted(tmp_path.rglob("*"))
    app = compile_app(main)
    assert app.activity("a1").job_maps == {"done": True}
    assert app.graphs[0].activities.keys() == {"t1", "a1"}
    assert sorted(tmp_path.rglob("*")) == before  # compiling writes nothing


def test_ref_in_text_uses_base_dir(tmp_path: Path) -> None:
    write(tmp_path / "g.yaml", "subscribes: b.go\nactivities: {t1: {type: trigger}}\n")
    text = "app: {id: b, version: '1', graphs: [{$ref: g.yaml}]}"
    assert compile_app(text, base_dir=tmp_path).graphs[0].subscribes == "b.go"
    err = deploy_errors(text)
    assert err.value == "app.graphs[0]"
    assert "needs a file source" in str(err)


def test_ref_to_missing_file_names_the_node_and_line(tmp_path: Path) -> None:
    main = write(
        tmp_path / "app.yaml",
        "app:\n  id: r\n  version: '1'\n  graphs:\n    - $ref: ./graphs/missing.yaml\n",
    )
    err = deploy_errors(main)
    assert err.value == "app.graphs[0]"
    assert "missing.yaml" in str(err)
    assert "file not found" in str(err)
    location = err.errors[0].location
    assert location is not None
    assert (location.file, location.line) == (str(main), 5)


def test_ref_with_missing_pointer(tmp_path: Path) -> None:
    write(tmp_path / "parts.yaml", "a: 1\n")
    main = write(
        tmp_path / "app.yaml", "app: {id: r, version: '1', graphs: [{$ref: 'parts.yaml#/nope'}]}\n"
    )
    err = deploy_errors(main)
    assert "pointer '/nope' not found" in str(err)


def test_ref_cycle_is_detected(tmp_path: Path) -> None:
    write(tmp_path / "a.yaml", "x:\n  $ref: b.yaml\n")
    write(tmp_path / "b.yaml", "y:\n  $ref: a.yaml\n")
    main = write(tmp_path / "app.yaml", "app: {id: r, version: '1', graphs: [{$ref: a.yaml}]}\n")
    err = deploy_errors(main)
    assert "$ref cycle" in str(err)
    assert "a.yaml -> b.yaml -> a.yaml" in str(err)


def test_internal_schema_refs_are_left_alone() -> None:
    app = compile_app(str(APPS / "test-app.yaml"))
    output = app.graph_for_topic("order.approval.requested").output_schema
    assert output is not None
    assert output["properties"]["approvals"] == {"$ref": "#/definitions/approvals"}


def test_yaml_error_in_a_referenced_file_names_that_file(tmp_path: Path) -> None:
    bad = write(tmp_path / "bad.yaml", "subscribes: x\nactivities: {t1: [\n")
    main = write(tmp_path / "app.yaml", "app: {id: r, version: '1', graphs: [{$ref: bad.yaml}]}\n")
    err = deploy_errors(main)
    assert err.value.startswith(f"{bad}:")
    assert "invalid YAML" in str(err)


def test_problem_locations_point_at_the_bad_line() -> None:
    text = MINIMAL + "        a1: {type: nope}\n      transitions:\n        t1: [{to: a1}]\n"
    err = deploy_errors(text)
    (problem,) = err.errors
    assert problem.location is not None
    assert (problem.location.file, problem.location.line) == (None, 8)
    assert str(err).startswith("cannot deploy app 'm': <yaml>:8:")


def test_non_mapping_manifest() -> None:
    err = deploy_errors("- just\n- a list\n")
    assert err.value == "app"
