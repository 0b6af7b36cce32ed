"""Activity types are registered modules: the compiler and planner know them by ``type``.

The test type below is what a newcomer writes to add one (its model, its YAML keys and its
leg 1), registered for the test's duration only.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, ClassVar

import pytest
from attrs import define

from hotmesh.engine._diagnostics import ManifestError
from hotmesh.engine._model_activities import Activity
from hotmesh.engine._reader import Reader
from hotmesh.engine.activities import KINDS, ActivityKind, kind_of, register
from hotmesh.engine.compiler import compile_app
from hotmesh.engine.model import ACTIVITY_TYPES, HookActivity
from hotmesh.engine.planner import Planner
from hotmesh.engine.state import activity_key
from hotmesh.engine.steps import record

if TYPE_CHECKING:
    from hotmesh.engine.messages import Address
    from hotmesh.engine.model import Graph
    from hotmesh.engine.planner import StepContext
    from hotmesh.engine.steps import Step


def test_the_built_in_types_are_registered_in_order() -> None:
    assert list(KINDS) == list(ACTIVITY_TYPES) == [
        "trigger", "worker", "await", "hook", "signal", "cycle", "interrupt",
    ]  # fmt: skip
    assert kind_of(HookActivity(id="h", graph="g")).wakes_on_signals
    assert [name for name, kind in KINDS.items() if kind.retries] == ["worker", "await"]


@define(frozen=True, kw_only=True)
class StampActivity(Activity):
    """Writes ``stamp`` into the job data and moves on."""

    type: ClassVar[str] = "stamp"

    stamp: Any = None


class Stamp(ActivityKind):
    model = StampActivity
    keys = frozenset({"stamp"})

    def read(self, reader: Reader) -> dict[str, Any]:
        return {"stamp": reader.expression("stamp", required=True)}

    def leg1(
        self,
        planner: Planner,
        graph: Graph,
        activity: StampActivity,
        context: dict[str, Any],
        ctl: StepContext,
        at: Address,
        step: Step,
    ) -> None:
        step.state["d/stamp"] = activity.stamp
        step.semaphore -= 1
        record(step, context, activity.id, at.dad, l1=True, done=True)


@pytest.fixture
def stamp() -> Iterator[None]:
    register(Stamp)
    try:
        yield
    finally:
        del KINDS["stamp"]


APP = """
app:
  id: kinds
  version: '1'
  graphs:
    - subscribes: k.test
      activities:
        t1: {type: trigger}
        s1: {type: stamp, stamp: hello, oops: 1}
      transitions:
        t1: [{to: s1}]
"""


@pytest.mark.usefixtures("stamp")
def test_a_new_type_is_one_registered_module() -> None:
    manifest = compile_app(APP)
    graph = manifest.graph_for_topic("k.test")
    assert isinstance(graph.activity("s1"), StampActivity)
    assert any("oops" in str(w) for w in manifest.warnings)  # its own keys, nothing else
    begun = Planner().plan_start(manifest, graph, {}, {}, "j1")
    assert begun.step.state["d/stamp"] == "hello" and begun.semaphore == 0
    assert begun.step.state[activity_key("s1", ",0,0")]["done"] is True


def test_an_unregistered_type_is_a_deploy_error() -> None:
    with pytest.raises(ManifestError, match="unknown activity type 'stamp'"):
        compile_app(APP)
