"""Process settings for a long-running hotmesh process (``hotmesh serve`` applies them).

Python's cyclic garbage collector runs whenever 700 more container objects have been made
than freed, and now and then walks every object of the process. A hotmesh step frees what
it made by reference counting alone (a run of 3,000 seed jobs left the collector nothing
to collect), so those runs find no garbage: on the seed benchmark they took 5-7 % of the
process's CPU. :func:`tune_gc` makes them rare. It changes the whole interpreter, so
hotmesh never calls it on its own: ``hotmesh serve`` does, and so may a service of yours,
once, after it has started.

Example:
    >>> import hotmesh
    >>> hm = await hotmesh.HotMesh.init(config)  # doctest: +SKIP
    >>> hotmesh.tune_gc()  # doctest: +SKIP
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable
from typing import Any

from hotmesh.errors import InvalidArgument

__all__ = ["PYTHON_YOUNG", "YOUNG_THRESHOLD", "GcMeter", "gc_tuned", "tune_gc"]

#: Python's own threshold of the collector's youngest generation.
PYTHON_YOUNG = 700
#: Net container allocations between two collections of the youngest generation, tuned.
YOUNG_THRESHOLD = 50_000


def tune_gc(young: int = YOUNG_THRESHOLD) -> None:
    """Collect once, freeze every object that exists now (modules, deployed manifests:
    never walked again), and collect the youngest generation every ``young`` net
    allocations instead of every 700.

    Reference cycles are still collected, less often; frozen objects are never freed
    (call it after start-up, not while work is under way). Idempotent.

    Example:
        >>> tune_gc()  # doctest: +SKIP
        >>> import gc; gc.get_threshold()[0]  # doctest: +SKIP
        50000
    """
    if young < 1:
        raise InvalidArgument(f"young must be at least 1, got {young}", value="young")
    gc.collect()
    gc.freeze()
    _, middle, old = gc.get_threshold()
    gc.set_threshold(young, middle, old)


def gc_tuned() -> bool:
    """Whether the youngest generation is collected less often than Python's default."""
    return gc.get_threshold()[0] > PYTHON_YOUNG


class GcMeter:
    """CPU time spent in the garbage collector while open (benchmarks report it per job).

    Example:
        >>> with GcMeter() as meter:
        ...     _ = [[i] for i in range(10_000)]
        >>> meter.seconds >= 0.0
        True
    """

    def __init__(self) -> None:
        self.seconds = 0.0
        self.collections = 0
        self._started = 0.0
        self._callback: Callable[[str, dict[str, Any]], None] = self._on_gc

    def _on_gc(self, phase: str, _info: dict[str, Any]) -> None:
        if phase == "start":
            self._started = time.process_time()
        else:
            self.seconds += time.process_time() - self._started
            self.collections += 1

    def __enter__(self) -> GcMeter:
        gc.callbacks.append(self._callback)
        return self

    def __exit__(self, *_exc: object) -> None:
        gc.callbacks.remove(self._callback)
