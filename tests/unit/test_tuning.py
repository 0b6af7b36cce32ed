"""hotmesh.tuning: the collector settings for a long-running process, and its meter."""

from __future__ import annotations

import gc
import subprocess
import sys

import pytest

from hotmesh.errors import InvalidArgument
from hotmesh.tuning import YOUNG_THRESHOLD, GcMeter, gc_tuned, tune_gc


def test_tune_gc_freezes_and_raises_the_young_threshold() -> None:
    # In a process of its own: it changes the whole interpreter.
    code = (
        "import gc, hotmesh\n"
        "middle, old = gc.get_threshold()[1:]\n"
        "hotmesh.tune_gc()\n"
        "print(gc.get_threshold() == (hotmesh.tuning.YOUNG_THRESHOLD, middle, old),"
        " gc.get_freeze_count() > 0, gc.isenabled(), hotmesh.tuning.gc_tuned())\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["True", "True", "True", "True"]
    assert gc.get_threshold()[0] < YOUNG_THRESHOLD  # this test process is left as it was
    assert not gc_tuned()


def test_tune_gc_refuses_a_threshold_below_one() -> None:
    with pytest.raises(InvalidArgument, match="at least 1") as refused:
        tune_gc(0)
    assert refused.value.value == "young"


def test_the_meter_counts_the_collections_while_open() -> None:
    with GcMeter() as meter:
        gc.collect()
        gc.collect()
    gc.collect()  # closed: not counted
    assert meter.collections == 2
    assert meter.seconds >= 0.0
    assert meter._callback not in gc.callbacks
