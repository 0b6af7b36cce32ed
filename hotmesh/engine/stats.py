"""Trigger stats (spec 2.10.2-2.10.3): time buckets, counters, index facets, and queries.

A trigger with a ``stats.key`` and ``stats.measures`` adds, for each new job, to the
counters of ``(key, bucket)``: ``count`` += 1, ``sum:<f>`` / ``avg:<f>`` += the value,
``count:<f>:<value>`` += 1, ``mdn:<f>:<value>`` += 1 (a histogram the median is read
from); an ``index`` measure files the job id under the facet ``<f>:<value>``. ``<f>`` is
the last segment of the measure's target path.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from hotmesh.engine.mapper import resolve
from hotmesh.engine.model import TriggerActivity, TriggerStats
from hotmesh.errors import ConfigError
from hotmesh.spi import StatsUpdate

__all__ = [
    "StatsQuery",
    "bucket_of",
    "facets_for",
    "ids_response",
    "median",
    "resolve_query",
    "stats_response",
    "stats_update",
]

_MINUTES = {"5m": 5, "10m": 10, "15m": 15, "30m": 30, "1h": 60}
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
INFINITY = "infinity"


def bucket_of(granularity: str, when: datetime) -> str:
    """The bucket (UTC ``YYYYMMDDHHmm`` floored to ``granularity``; ``'0'`` for infinity).

    Example:
        >>> bucket_of("15m", datetime(2026, 1, 2, 3, 44, tzinfo=UTC))
        '202601020330'
    """
    if granularity == INFINITY:
        return "0"
    return _floor(granularity, when).strftime("%Y%m%d%H%M")


def _floor(granularity: str, when: datetime) -> datetime:
    step = _MINUTES[granularity]
    when = when.astimezone(UTC).replace(second=0, microsecond=0)
    return when - timedelta(minutes=(when.hour * 60 + when.minute) % step)


def _field(target: str) -> str:
    return target.strip().strip("{}").split(".")[-1]


def _seed(trigger: TriggerActivity, data: Mapping[str, Any]) -> dict[str, Any]:
    io = {"data": dict(data)}
    return {trigger.id: {"input": io, "output": io}, "$self": {"input": io, "output": io}}


def stats_update(
    trigger: TriggerActivity, data: Mapping[str, Any], when: datetime
) -> StatsUpdate | None:
    """What a job started with input ``data`` adds to its trigger's stats, if anything."""
    stats = trigger.stats
    if stats is None or stats.key is None or not stats.measures:
        return None
    seed = _seed(trigger, data)
    key = resolve(stats.key, seed)
    if key in (None, ""):
        return None
    fields: dict[str, float] = {"count": 1.0}
    facets: list[str] = []
    for measure in stats.measures:
        value = resolve(measure.target, seed)
        name = _field(measure.target)
        if measure.measure in ("sum", "avg"):
            number = _number(value)
            if number is not None:
                field = f"{measure.measure}:{name}"
                fields[field] = fields.get(field, 0.0) + number
        elif measure.measure == "count":
            field = f"count:{name}:{_text(value)}"
            fields[field] = fields.get(field, 0.0) + 1.0
        elif measure.measure == "index":
            facets.append(f"{name}:{_text(value)}")
        elif measure.measure == "mdn" and (number := _number(value)) is not None:
            field = f"mdn:{name}:{_plain(number)}"  # a histogram: how often each value came
            fields[field] = fields.get(field, 0.0) + 1.0
    bucket = bucket_of(stats.granularity, when)
    return StatsUpdate(str(key), bucket, fields, tuple(dict.fromkeys(facets)))


def facets_for(trigger: TriggerActivity, data: Mapping[str, Any]) -> list[str]:
    """The index facets a job started with ``data`` is filed under (the default facets)."""
    stats = trigger.stats
    if stats is None:
        return []
    seed = _seed(trigger, data)
    return list(
        dict.fromkeys(
            f"{_field(m.target)}:{_text(resolve(m.target, seed))}"
            for m in stats.measures
            if m.measure == "index"
        )
    )


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _text(value: Any) -> str:
    if value is True:
        return "true"
    if value is False:
        return "false"
    return "" if value is None else str(value)


class StatsQuery:
    """A resolved stats query: key, granularity, and the buckets it spans (oldest first)."""

    def __init__(
        self,
        key: str,
        granularity: str,
        buckets: list[str],
        range_: str | None,
        start: str | None,
        end: str | None,
    ) -> None:
        self.key = key
        self.granularity = granularity
        self.buckets = buckets
        self.range = range_
        self.start = start
        self.end = end


def resolve_query(
    trigger: TriggerActivity, query: Mapping[str, Any], now: datetime | None = None
) -> StatsQuery:
    """Resolve ``{data, range|start|end}`` against the trigger's ``stats`` block.

    Exactly two of ``start``/``end``/``range`` are needed, except with granularity
    ``infinity`` (one bucket, ``'0'``). ``end`` may be ``'NOW'``; ``range`` is like
    ``'30m'``, ``'1h'``, ``'2d'``; ``start``/``end`` are ISO-8601 times or datetimes.

    Raises:
        ConfigError: the trigger keeps no stats, the key does not resolve, or the time
            window is ill-formed.
    """
    stats: TriggerStats | None = trigger.stats
    if stats is None or stats.key is None:
        raise ConfigError(f"trigger {trigger.id!r} keeps no stats", value=trigger.id)
    key = resolve(stats.key, _seed(trigger, query.get("data") or {}))
    if key in (None, ""):
        raise ConfigError("the stats key does not resolve from query['data']", value=query)
    granularity = stats.granularity
    range_ = query.get("range")
    start_raw, end_raw = query.get("start"), query.get("end")
    if granularity == INFINITY:
        return StatsQuery(str(key), granularity, ["0"], range_, start_raw, end_raw)
    given = [x is not None for x in (start_raw, end_raw, range_)]
    if sum(given) != 2:
        raise ConfigError("a stats query needs exactly two of start, end and range", value=query)
    now = now or datetime.now(UTC)
    start = None if start_raw is None else _time(start_raw, now)
    end = None if end_raw is None else _time(end_raw, now)
    span = None if range_ is None else timedelta(seconds=_duration(str(range_)))
    if start is None:
        assert end is not None and span is not None
        start = end - span
    elif end is None:
        assert span is not None
        end = start + span
    if end < start:
        raise ConfigError("a stats query ends before it starts", value=query)
    step = timedelta(minutes=_MINUTES[granularity])
    buckets: list[str] = []
    cursor = _floor(granularity, start)
    while cursor <= end and len(buckets) < 100_000:
        buckets.append(cursor.strftime("%Y%m%d%H%M"))
        cursor += step
    return StatsQuery(
        str(key), granularity, buckets, range_, _iso(start, start_raw), _iso(end, end_raw)
    )


def _time(value: Any, now: datetime) -> datetime:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if str(value).upper() == "NOW":
        return now
    try:
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError as err:
        raise ConfigError(f"not a time: {value!r}", value=value) from err
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _iso(when: datetime, raw: Any) -> str:
    return str(raw) if isinstance(raw, str) else when.strftime("%Y-%m-%dT%H:%MZ")


def _duration(text: str) -> float:
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhd])\s*", text)
    if match is None:
        raise ConfigError(f"not a range like '30m', '1h' or '2d': {text!r}", value=text)
    return float(match.group(1)) * _UNITS[match.group(2)]


def _segment_time(bucket: str) -> str:
    if bucket == "0":
        return "0"
    return datetime.strptime(bucket, "%Y%m%d%H%M").strftime("%Y-%m-%dT%H:%MZ")


def _measures(fields: Mapping[str, float]) -> list[dict[str, Any]]:
    count = fields.get("count", 0.0)
    out: list[dict[str, Any]] = []
    histograms: dict[str, dict[float, float]] = {}
    for name in sorted(fields):
        if name == "count":
            continue
        kind = name.split(":", 1)[0]
        value = fields[name]
        if kind == "mdn":
            target, _, seen = name.rpartition(":")
            histogram = histograms.setdefault(target, {})
            histogram[float(seen)] = histogram.get(float(seen), 0.0) + value
            continue
        if kind == "avg":
            value = value / count if count else 0.0
        out.append({"target": name, "type": kind, "value": _plain(value)})
    for target, histogram in sorted(histograms.items()):
        out.append({"target": target, "type": "mdn", "value": _plain(median(histogram))})
    return out


def median(histogram: Mapping[float, float]) -> float:
    """The median of values given as ``{value: how many times}`` (the mean of the two middle
    values when the count is even).

    Example:
        >>> (median({1.0: 1, 5.0: 1, 9.0: 1}), median({1.0: 2, 4.0: 1, 8.0: 1}))
        (5.0, 2.5)
    """
    total = sum(histogram.values())
    if total <= 0:
        return 0.0
    lower, upper = (total - 1) // 2, total // 2  # 0-based ranks of the middle value(s)
    seen, low, high = 0.0, None, None
    for value in sorted(histogram):
        seen += histogram[value]
        if low is None and seen > lower:
            low = value
        if seen > upper:
            high = value
            break
    assert low is not None and high is not None
    return (low + high) / 2


def _plain(value: float) -> float | int:
    return int(value) if float(value).is_integer() else value


def stats_response(
    query: StatsQuery, counters: Mapping[str, Mapping[str, float]], sparse: bool
) -> dict[str, Any]:
    """The ``get_stats`` answer: totals over the buckets, and one segment per bucket."""
    total: dict[str, float] = {}
    segments: list[dict[str, Any]] = []
    for bucket in query.buckets:
        fields = counters.get(bucket, {})
        for name, value in fields.items():
            total[name] = total.get(name, 0.0) + value
        segments.append(
            {
                "time": _segment_time(bucket),
                "count": _plain(fields.get("count", 0.0)),
                "measures": _measures(fields),
            }
        )
    response: dict[str, Any] = {
        "key": query.key,
        "granularity": query.granularity,
        "range": query.range,
        "start": query.start,
        "end": query.end,
        "count": _plain(total.get("count", 0.0)),
        "measures": _measures(total),
    }
    if not sparse:
        response["segments"] = segments
    return response


def ids_response(
    query: StatsQuery, facets: Sequence[str], ids: Mapping[str, Mapping[str, Sequence[str]]]
) -> dict[str, Any]:
    """The ``get_ids`` answer: per facet the number of ids, and per bucket the ids."""
    counts = dict.fromkeys(facets, 0)
    segments: list[dict[str, Any]] = []
    for bucket in query.buckets:
        by_facet = ids.get(bucket, {})
        time = _segment_time(bucket)
        measures = []
        for facet in facets:
            found = list(by_facet.get(facet, ()))
            counts[facet] += len(found)
            measures.append(
                {"type": "ids", "target": facet, "time": time, "count": len(found), "ids": found}
            )
        segments.append({"time": time, "measures": measures})
    return {
        "key": query.key,
        "facets": list(facets),
        "granularity": query.granularity,
        "range": query.range,
        "start": query.start,
        "end": query.end,
        "counts": [{"facet": f, "count": c} for f, c in counts.items()],
        "segments": segments,
    }
