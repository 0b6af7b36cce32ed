"""Stats buckets and query windows (spec 2.10.2-2.10.3), without a database."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest

from hotmesh.engine.model import StatsMeasure, TriggerActivity, TriggerStats
from hotmesh.engine.stats import bucket_of, resolve_query, stats_update
from hotmesh.errors import ConfigError
from hotmesh_postgres.secured import SecuredStore

WHEN = datetime(2026, 3, 4, 5, 59, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    ("granularity", "bucket"),
    [("5m", "202603040555"), ("10m", "202603040550"), ("15m", "202603040545"),
     ("30m", "202603040530"), ("1h", "202603040500"), ("infinity", "0")],
)  # fmt: skip
def test_bucket_floors_to_the_granularity(granularity: str, bucket: str) -> None:
    assert bucket_of(granularity, WHEN) == bucket


def trigger(granularity: str = "5m") -> TriggerActivity:
    measures = (
        StatsMeasure("sum", "{t.input.data.n}"),
        StatsMeasure("avg", "{t.input.data.n}"),
        StatsMeasure("count", "{t.input.data.c}"),
        StatsMeasure("index", "{$self.input.data.c}"),
        StatsMeasure("index", "{$self.input.data.c}"),
    )
    stats = TriggerStats(key="{t.input.data.k}", granularity=granularity, measures=measures)
    return TriggerActivity(id="t", graph="g", stats=stats)


def test_update_fields_and_facets() -> None:
    update = stats_update(trigger(), {"k": "K", "n": "2.5", "c": True}, WHEN)
    assert update is not None
    assert update.key == "K" and update.bucket == "202603040555"
    assert update.fields == {"count": 1.0, "sum:n": 2.5, "avg:n": 2.5, "count:c:true": 1.0}
    assert update.facets == ("c:true",)
    assert stats_update(trigger(), {"n": 1}, WHEN) is None  # no key: no stats


def test_window_buckets() -> None:
    query = resolve_query(trigger(), {"data": {"k": "K"}, "range": "1h", "end": "NOW"}, WHEN)
    assert len(query.buckets) == 13
    assert query.buckets[0] == "202603040455" and query.buckets[-1] == "202603040555"
    hourly = resolve_query(
        trigger("1h"), {"data": {"k": "K"}, "start": "2026-03-04T01:30Z", "range": "2d"}, WHEN
    )
    assert len(hourly.buckets) == 49 and hourly.buckets[0] == "202603040100"
    with pytest.raises(ConfigError, match="ends before"):
        resolve_query(trigger(), {"data": {"k": "K"}, "start": "NOW", "end": "2020-01-01"}, WHEN)


def test_secured_store_refuses_stats() -> None:
    """A secured worker never reaches the stats tables (it is refused before the driver)."""
    store = SecuredStore.__new__(SecuredStore)
    for call in (
        store.get_stats("k", ["0"]),
        store.get_ids("k", ["0"], ["f:v"]),
        store.delete_stats("k", ["0"], ["f:v"]),
    ):
        with pytest.raises(ConfigError, match="secured worker"):
            asyncio.run(call)
