"""Crash points x graphs: every job completes exactly once with the right data.

CI runs a bounded matrix (every graph and every boundary at least once, per provider).
The full matrix (every graph x every boundary it passes x skips 0 and 2, per provider):

    HOTMESH_CRASH_MATRIX=full python -m pytest tests/crash -q

See :mod:`tests.crash._harness` for what one case does.
"""

from __future__ import annotations

import os

import pytest

from hotmesh import HotMesh
from tests.crash._harness import GRAPHS, run_case

BOUNDED = [
    ("worker", "worker.before_answer", 0),
    ("worker", "engine.after_commit", 1),
    ("signal", "engine.signal", 0),
    ("timer", "engine.timer", 0),
    ("await", "engine.before_commit", 2),
    ("cycle", "engine.after_claim", 3),
    ("parallel", "worker.after_answer", 1),
]
FULL = [(g, p, s) for g, points in GRAPHS.items() for p in points for s in (0, 2)]
CASES = FULL if os.environ.get("HOTMESH_CRASH_MATRIX") == "full" else BOUNDED


@pytest.mark.timeout(180)
@pytest.mark.parametrize(
    ("graph", "point", "skip"), CASES, ids=[f"{g}-{p}-{s}" for g, p, s in CASES]
)
async def test_crash_point(
    hm: HotMesh, hotmesh_provider: str, hotmesh_dsn: str, graph: str, point: str, skip: int
) -> None:
    outcome = await run_case(hm, hotmesh_provider, hotmesh_dsn, graph, point, skip)
    print(
        f"\nCRASH-CASE {hotmesh_provider} {graph} {point} skip={skip}: "
        f"crashed={outcome.crashed} wrong={len(outcome.wrong)} "
        f"unpublished={len(outcome.unpublished)}"
    )
    assert not outcome.wrong, outcome.wrong
    assert outcome.crashed, "the victim passed the boundary and died there"
