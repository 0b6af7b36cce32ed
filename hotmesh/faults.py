"""Fault injection for the crash tests: kill this process at a named boundary.

Off unless ``HOTMESH_CRASH_AT`` is set when this module is first imported; call sites
test :data:`ARMED` (a module constant) before calling :func:`hit`, so a process without
the variable pays one attribute read per boundary and nothing else.

``HOTMESH_CRASH_AT`` names one or more boundaries (comma-separated); the process sends
itself SIGKILL (like ``kill -9``: no cleanup, no acks, leases left to lapse) at the
``HOTMESH_CRASH_SKIP + 1``-th time any of them is reached. Boundaries:

* ``engine.after_claim`` – an engine message was claimed, nothing done yet;
* ``engine.before_commit`` / ``engine.after_commit`` – around a step's ``apply_step``;
* ``engine.timer`` / ``engine.signal`` – while a hook's timer / signal is being applied;
* ``worker.before_answer`` / ``worker.after_answer`` – around a worker's answer (the
  callback has run; the answer and the ack commit together).

Example:
    >>> from hotmesh import faults
    >>> if faults.ARMED:
    ...     faults.hit("engine.after_claim")
"""

from __future__ import annotations

import os
import signal

__all__ = ["ARMED", "POINTS", "hit"]

POINTS = (
    "engine.after_claim",
    "engine.before_commit",
    "engine.after_commit",
    "engine.timer",
    "engine.signal",
    "worker.before_answer",
    "worker.after_answer",
)

_CHOSEN = frozenset(p.strip() for p in os.environ.get("HOTMESH_CRASH_AT", "").split(",") if p)
_SKIP = int(os.environ.get("HOTMESH_CRASH_SKIP", "0") or 0)
#: True when this process was started with a crash point.
ARMED = bool(_CHOSEN)
_hits = 0


def hit(point: str) -> None:
    """Count a pass through ``point``; die (SIGKILL) at the chosen pass of a chosen point."""
    global _hits
    if point not in _CHOSEN:
        return
    _hits += 1
    if _hits > _SKIP:
        os.kill(os.getpid(), signal.SIGKILL)
