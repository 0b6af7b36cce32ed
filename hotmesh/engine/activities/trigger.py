"""The ``trigger`` activity: the one that starts a job (exactly one per graph).

Its leg is planned when the job is created (:meth:`hotmesh.engine.planner.Planner.plan_start`);
here live its model, its ``stats`` block and how they are read.
"""

from __future__ import annotations

from typing import Any, ClassVar

from attrs import define

from hotmesh.engine._model_activities import Activity, ActivityType
from hotmesh.engine._reader import Reader
from hotmesh.engine.activities._kind import ActivityKind, register

__all__ = ["StatsMeasure", "TriggerActivity", "TriggerStats"]

_GRANULARITIES = frozenset({"5m", "10m", "15m", "30m", "1h", "infinity"})
_MEASURES = frozenset({"sum", "avg", "count", "index", "mdn"})


@define(frozen=True)
class StatsMeasure:
    """One trigger ``stats.measures`` entry: ``measure`` (sum, avg, count, index, mdn)
    applied to the expression ``target``.

    Example:
        >>> StatsMeasure("sum", "{a5.input.data.price}").measure
        'sum'
    """

    measure: str
    target: str


@define(frozen=True)
class TriggerStats:
    """The trigger ``stats`` block: job id and key expressions, bucket size, measures.

    Example:
        >>> TriggerStats(id="{$self.input.data.id}").granularity
        '5m'
    """

    id: Any = None
    key: Any = None
    granularity: str = "5m"
    measures: tuple[StatsMeasure, ...] = ()
    parent: Any = None
    adjacent: Any = None


@define(frozen=True, kw_only=True)
class TriggerActivity(Activity):
    """The activity that starts a job (exactly one per graph).

    Example:
        >>> TriggerActivity(id="t1", graph="abc.test").type
        'trigger'
    """

    type: ClassVar[ActivityType] = "trigger"

    stats: TriggerStats | None = None
    entity: Any = None


@register
class Trigger(ActivityKind):
    """A trigger declines nothing (``statusThreshold`` does not apply) and has no legs of
    its own once the job exists."""

    model = TriggerActivity
    keys = frozenset({"stats", "entity"})
    thresholds = False

    def read(self, reader: Reader) -> dict[str, Any]:
        return {"stats": _read_stats(reader), "entity": reader.expression("entity")}


def _read_stats(reader: Reader) -> TriggerStats | None:
    stats = reader.child("stats") if "stats" in reader.data else None
    if stats is None:
        return None
    granularity = stats.data.get("granularity", "5m")
    if granularity not in _GRANULARITIES:
        stats.error("granularity", f"must be one of {sorted(_GRANULARITIES)}")
        granularity = "5m"
    measures: list[StatsMeasure] = []
    raw_measures = stats.data.get("measures", [])
    if not isinstance(raw_measures, list):
        stats.error("measures", "must be a list of {measure, target}")
        raw_measures = []
    for index, item in enumerate(raw_measures):
        measure = item.get("measure") if isinstance(item, dict) else None
        target = item.get("target") if isinstance(item, dict) else None
        if measure not in _MEASURES or not isinstance(target, str):
            stats.error(
                f"measures[{index}]",
                f"needs measure (one of {sorted(_MEASURES)}) and a target expression",
            )
            continue
        measures.append(StatsMeasure(measure, target))
    return TriggerStats(
        id=stats.expression("id"),
        key=stats.expression("key"),
        granularity=str(granularity),
        measures=tuple(measures),
        parent=stats.data.get("parent"),
        adjacent=stats.data.get("adjacent"),
    )
