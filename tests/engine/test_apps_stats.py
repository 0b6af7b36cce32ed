"""§2.10.3 trigger stats (count / sum / avg / index), ``get_stats`` / ``get_ids``, and
§2.8.4 ``signal_all``: on an inline app, on both providers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from hotmesh import HotMesh
from hotmesh.errors import ConfigError, DuplicateJob, TopicNotFound
from hotmesh_conformance.harness import assert_eventually
from tests.engine.conftest import MeshFactory, app_yaml

APP = """
app:
  id: {APP}
  version: '1'
  graphs:
    - subscribes: sale.made
      expire: 120
      activities:
        t1:
          type: trigger
          stats:
            id: '{$self.input.data.id}'
            key: '{$self.input.data.shop}'
            measures:
              - measure: sum
                target: '{t1.input.data.price}'
              - measure: avg
                target: '{t1.input.data.price}'
              - measure: count
                target: '{t1.input.data.kind}'
              - measure: index
                target: '{t1.input.data.kind}'
              - measure: mdn
                target: '{t1.input.data.price}'
        wait:
          type: hook
          job:
            maps:
              note: '{$self.hook.data.note}'
      transitions:
        t1:
          - to: wait
      hooks:
        sale.noted:
          - to: wait
            conditions:
              match:
                - expected: '{t1.output.data.id}'
                  actual: '{$self.hook.data.id}'
    - subscribes: forever.made
      activities:
        f1:
          type: trigger
          stats:
            key: all
            granularity: infinity
            measures:
              - measure: index
                target: '{$self.input.data.tag}'
    - subscribes: plain.made
      activities:
        p1:
          type: trigger
"""

SALES = [("s1", 10.0, "toy"), ("s2", 20.5, "toy"), ("s3", 30.0, "book")]


async def shop(mesh: MeshFactory, app_id: str) -> HotMesh:
    hm = await mesh()
    await hm.deploy(app_yaml(APP, app_id))
    assert await hm.activate("1")
    for job_id, price, kind in SALES:
        await hm.pub("sale.made", {"id": job_id, "shop": "east", "price": price, "kind": kind})
    await hm.pub("sale.made", {"id": "w1", "shop": "west", "price": 99, "kind": "toy"})
    return hm


async def test_counts_sums_and_averages(mesh: MeshFactory, app_id: str) -> None:
    hm = await shop(mesh, app_id)
    stats = await hm.get_stats("sale.made", {"data": {"shop": "east"}, "range": "1h", "end": "NOW"})
    assert stats["key"] == "east" and stats["count"] == 3
    assert {m["target"]: (m["type"], m["value"]) for m in stats["measures"]} == {
        "sum:price": ("sum", 60.5),
        "avg:price": ("avg", pytest.approx(60.5 / 3)),
        "count:kind:toy": ("count", 2),
        "count:kind:book": ("count", 1),
        "mdn:price": ("mdn", 20.5),
    }
    assert len(stats["segments"]) == 13
    [busy] = [seg for seg in stats["segments"] if seg["count"]]
    assert busy["count"] == 3 and busy["time"].endswith("Z")
    west = await hm.get_stats("sale.made", {"data": {"shop": "west"}, "range": "1h", "end": "NOW"})
    assert west["count"] == 1


async def test_a_duplicate_job_adds_nothing(mesh: MeshFactory, app_id: str) -> None:
    hm = await shop(mesh, app_id)
    with pytest.raises(DuplicateJob):
        await hm.pub("sale.made", {"id": "s1", "shop": "east", "price": 1000, "kind": "toy"})
    stats = await hm.get_stats("sale.made", {"data": {"shop": "east"}, "range": "5m", "end": "NOW"})
    assert stats["count"] == 3
    ids = await hm.get_ids(
        "sale.made", {"data": {"shop": "east"}, "range": "5m", "end": "NOW"}, ["kind:toy"]
    )
    assert ids["counts"] == [{"facet": "kind:toy", "count": 2}]


async def test_ids_by_facet_and_windows(mesh: MeshFactory, app_id: str) -> None:
    hm = await shop(mesh, app_id)
    now = datetime.now(UTC)
    start = (now - timedelta(minutes=10)).isoformat()
    query: dict[str, Any] = {
        "data": {"shop": "east", "kind": "book"},
        "start": start,
        "range": "20m",
    }
    ids = await hm.get_ids("sale.made", query)
    assert ids["facets"] == ["kind:book"]  # the index facet of query["data"]
    assert ids["counts"] == [{"facet": "kind:book", "count": 1}]
    assert [m["ids"] for seg in ids["segments"] for m in seg["measures"] if m["ids"]] == [["s3"]]
    both = await hm.get_ids("sale.made", query, ["kind:toy", "kind:book"])
    assert [c["count"] for c in both["counts"]] == [2, 1]
    earlier = {
        "data": {"shop": "east"},
        "start": "2020-01-01T00:00:00Z",
        "end": "2020-01-01T01:00Z",
    }
    old = await hm.get_stats("sale.made", earlier)
    assert old["count"] == 0 and len(old["segments"]) == 13


async def test_infinity_granularity_needs_no_window(mesh: MeshFactory, app_id: str) -> None:
    hm = await shop(mesh, app_id)
    await hm.pub("forever.made", {"tag": "x"})
    await hm.pub("forever.made", {"tag": "x"})
    stats = await hm.get_stats("forever.made", {"data": {}})
    assert stats["count"] == 2 and stats["granularity"] == "infinity"
    assert [seg["time"] for seg in stats["segments"]] == ["0"]
    ids = await hm.get_ids("forever.made", {"data": {"tag": "x"}})
    assert ids["counts"] == [{"facet": "tag:x", "count": 2}]


async def test_bad_queries(mesh: MeshFactory, app_id: str) -> None:
    hm = await shop(mesh, app_id)
    data = {"data": {"shop": "east"}}
    for bad in ({**data, "range": "1h"}, {**data, "range": "1h", "end": "NOW", "start": "NOW"}):
        with pytest.raises(ConfigError, match="exactly two"):
            await hm.get_stats("sale.made", bad)
    with pytest.raises(ConfigError, match="range"):
        await hm.get_stats("sale.made", {**data, "range": "soon", "end": "NOW"})
    with pytest.raises(ConfigError, match="not a time"):
        await hm.get_stats("sale.made", {**data, "range": "1h", "end": "tomorrow"})
    with pytest.raises(ConfigError, match="keeps no stats"):
        await hm.get_stats("plain.made", {**data, "range": "1h", "end": "NOW"})
    with pytest.raises(ConfigError, match="does not resolve"):
        await hm.get_stats("sale.made", {"data": {}, "range": "1h", "end": "NOW"})
    with pytest.raises(TopicNotFound):
        await hm.get_stats("nobody.made", {**data, "range": "1h", "end": "NOW"})
    with pytest.raises(TopicNotFound):
        await hm.signal_all("nobody.noted", {}, {**data, "range": "1h", "end": "NOW"})


async def test_signal_all_wakes_every_indexed_job(mesh: MeshFactory, app_id: str) -> None:
    hm = await shop(mesh, app_id)
    query = {"data": {"shop": "east"}, "range": "1h", "end": "NOW"}
    woken = await hm.signal_all("sale.noted", {"note": "restock"}, query, ["kind:toy"])
    assert sorted(woken) == ["s1", "s2"]
    for job_id in woken:
        await assert_eventually(lambda j=job_id: hm.get_status(j), lambda s: s == 0)
        assert (await hm.get_state("sale.made", job_id)).data["note"] == "restock"
    assert await hm.get_status("s3") == 1 and await hm.get_status("w1") == 1
    # Without facets: every index facet of query["data"] (none here: kind is absent).
    assert await hm.signal_all("sale.noted", {}, {**query, "data": {"shop": "nowhere"}}) == []
    # The index is kept (no scrub): the same query finds the same ids again.
    again = await hm.get_ids("sale.made", query, ["kind:toy"])
    assert sorted(i for seg in again["segments"] for m in seg["measures"] for i in m["ids"]) == [
        "s1",
        "s2",
    ]
