"""Job data stored leaf by leaf: random nested maps written by racing branches (issue 14.1).

The store merges a step's state into the job key by key (``state || delta`` minus the
removed keys); these properties replay exactly that merge in memory, so they check the
storage model itself. ``tests/engine/test_parallel_data.py`` runs it on Postgres.
"""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from hotmesh.engine.state import data_state, job_data
from hotmesh.engine.steps import Step, _deep_merge, merge_data

KEYS = st.sampled_from(["a", "b", "c", "x/y", "t~0", "~1", "", "null", "$hm"])
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.text(max_size=4),
    st.lists(st.integers(), max_size=2),
)
VALUES = st.recursive(
    SCALARS, lambda inner: st.dictionaries(KEYS, inner, max_size=3), max_leaves=12
)
UPDATES = st.dictionaries(KEYS, VALUES, min_size=1, max_size=3)


def store_merge(state: dict[str, Any], step: Step) -> dict[str, Any]:
    """What ``apply_step`` does with a step's state: set the keys, drop the ``None`` ones."""
    merged = {**state, **{k: v for k, v in step.state.items() if v is not None}}
    return {k: v for k, v in merged.items() if step.state.get(k, 0) is not None}


def step_for(state: dict[str, Any], update: dict[str, Any]) -> Step:
    """The step a branch computes from ``state`` (its snapshot) for ``update``."""
    step, data = Step(), job_data(state)
    for key, value in update.items():
        merge_data(step, data, key, value)
    return step


def leaves(value: Any, path: tuple[str, ...] = ()) -> dict[tuple[str, ...], Any]:
    if isinstance(value, dict) and value:
        out: dict[tuple[str, ...], Any] = {}
        for key, item in value.items():
            out.update(leaves(item, (*path, key)))
        return out
    return {path: value}


@settings(max_examples=300, deadline=None)
@given(st.lists(UPDATES, min_size=1, max_size=5))
def test_sequential_steps_read_back_as_the_deep_merge(updates: list[dict[str, Any]]) -> None:
    """One step after another: the stored leaves read back as the merged object."""
    state: dict[str, Any] = {}
    expected: dict[str, Any] = {}
    for update in updates:
        state = store_merge(state, step_for(state, update))
        for key, value in update.items():
            current = expected.get(key)
            expected[key] = _deep_merge(current, value) if isinstance(current, dict) else value
    assert job_data(state) == expected


@settings(max_examples=300, deadline=None)
@given(VALUES.filter(lambda v: isinstance(v, dict)), st.data())
def test_branches_from_one_snapshot_keep_every_leaf(full: dict[str, Any], data: Any) -> None:
    """Branches that computed their steps from the same snapshot and write different
    leaves of one object, committed in any order: every leaf survives."""
    base = {"shared": {"started": True}}
    state = data_state(base)
    paths = leaves(full)
    branches = data.draw(st.integers(min_value=1, max_value=4))
    owner = {p: data.draw(st.integers(min_value=0, max_value=branches - 1)) for p in paths}
    steps = []
    for branch in range(branches):
        update: dict[str, Any] = {}
        for path, value in paths.items():
            if owner[path] != branch:
                continue
            node = update.setdefault("shared", {})
            for part in path[:-1]:
                node = node.setdefault(part, {})
            if path:
                node[path[-1]] = value
        if update:
            steps.append(step_for(state, update))
    for step in data.draw(st.permutations(steps)):
        state = store_merge(state, step)
    got = job_data(state)["shared"]
    want = _deep_merge({"started": True}, full) if full else {"started": True}
    assert got == want
