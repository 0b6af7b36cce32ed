"""Activity types: one module each, registered by ``type`` (like the ``@pipe`` catalog).

A module holds its type's model class, how its YAML is read and what its legs plan
(:class:`~hotmesh.engine.activities._kind.ActivityKind`); importing it registers it in
:data:`KINDS`. Adding a type is one module here (and its import below) plus its tests:

1. ``activities/<type>.py``: the model (an ``Activity`` subclass with ``type = "<type>"``
   and its fields) and an ``ActivityKind`` subclass decorated with :func:`register`
   (``keys``, ``read`` for its YAML, ``leg1``; ``heard``/``settled`` if leg 2 needs more
   than the shared output-and-transitions; ``check_topics`` for compile-time checks).
2. One import line below (it fixes the type's place in :data:`KINDS`).
3. Tests: planner-level ones need no database (see ``tests/unit/test_planner.py``).

Only a new kind of stream message or after-commit work touches another module
(:mod:`hotmesh.engine.messages`, :mod:`hotmesh.engine.effects`).

Example:
    >>> list(KINDS)
    ['trigger', 'worker', 'await', 'hook', 'signal', 'cycle', 'interrupt']
    >>> sorted(kind_of(KINDS["hook"].model(id="h1", graph="g")).keys)
    ['escalation', 'sleep']
"""

from __future__ import annotations

from hotmesh.engine.activities._kind import KINDS, ActivityKind, kind_of, register

# Importing a type's module registers it; this order is the order types are listed in.
# isort: off
from hotmesh.engine.activities.trigger import StatsMeasure, TriggerActivity, TriggerStats
from hotmesh.engine.activities.worker import WorkerActivity
from hotmesh.engine.activities.await_ import AwaitActivity
from hotmesh.engine.activities.hook import HookActivity
from hotmesh.engine.activities.signal import SignalActivity
from hotmesh.engine.activities.cycle import CycleActivity
from hotmesh.engine.activities.interrupt import InterruptActivity
# isort: on

__all__ = [
    "KINDS",
    "ActivityKind",
    "AwaitActivity",
    "CycleActivity",
    "HookActivity",
    "InterruptActivity",
    "SignalActivity",
    "StatsMeasure",
    "TriggerActivity",
    "TriggerStats",
    "WorkerActivity",
    "kind_of",
    "register",
]
