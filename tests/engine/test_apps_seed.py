"""§6.1: the seed app ``test-app`` (deployed from a file with ``$ref``s)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from hotmesh import HotMesh, WorkerMessage
from hotmesh.errors import DuplicateJob
from hotmesh_conformance.harness import assert_eventually
from tests.engine._apps import app_file
from tests.engine.conftest import MeshFactory

SIZES = ("sm", "md", "lg")
PRIMACIES = ("primary", "secondary", "tertiary")
COLORS = ("red", "yellow", "blue")


async def bundle(message: WorkerMessage) -> dict[str, Any]:
    assert message.data["id"] == "ord_unitofwork123"
    return {"status": "success", "data": {"some": "string", "is": True, "number": 1}}


@pytest.fixture
async def seeded(mesh: MeshFactory, app_id: str, tmp_path: Path) -> HotMesh:
    hm = await mesh([("order.bundle", bundle)])
    manifest = await hm.deploy(str(app_file("test-app", app_id, tmp_path)))
    assert manifest.id == app_id
    assert await hm.activate("1")
    return hm


async def test_approval_awaits_price_child(seeded: HotMesh) -> None:
    """Scenarios 1 and 2: a2 awaits the price graph; a3/a4 branch on its answer."""
    cheap = await seeded.pubsub(
        "order.approval.requested", {"id": "wdg_1", "price": 49.99, "object_type": "widgetA"}
    )
    assert cheap.job_id == "wdg_1_caller"
    assert cheap.data["price"] == 49.99
    assert cheap.data["approvals"] == {"price": True}
    assert cheap.data["approved"] is True and cheap.data["priciest"] == 555.55
    child = await seeded.get_state("order.approval.price.requested", "wdg_1")
    assert child.data["id"] == "wdg_1" and child.data["approved"] is True
    assert child.metadata["pj"] == "wdg_1_caller" and child.metadata["pa"] == "a2"

    pricey = await seeded.pubsub(
        "order.approval.requested", {"id": "wdg_2", "price": 149.99, "object_type": "widgetB"}
    )
    assert pricey.data["approvals"] == {"price": False}
    assert pricey.data["approved"] is False and "priciest" not in pricey.data


async def test_price_graph_directly(seeded: HotMesh) -> None:
    """Scenario 3: the child graph on its own."""
    out = await seeded.pubsub(
        "order.approval.price.requested", {"id": "ord_1", "price": 49.99, "object_type": "order"}
    )
    assert out.data["id"] == "ord_1" and out.data["approved"] is True
    assert out.data["object_type"] == "order"


def scheduled(order_id: str, n: int = 0) -> dict[str, Any]:
    return {
        "id": order_id,
        "size": SIZES[n % 3],
        "primacy": PRIMACIES[(n // 3) % 3],
        "color": COLORS[(n // 9) % 3],
        "send_date": "2023-04-12T00:15:00Z",
        "must_release_series": "202304120015",
    }


async def test_scheduled_orders_routed_by_signal(seeded: HotMesh) -> None:
    """Scenarios 4, 5, 7 and 12: orders wait in ``route`` until order.routed names them."""
    job_id = await seeded.pub("order.scheduled", scheduled("ord_10000002", 2))
    assert job_id == "ord_10000002"
    ids = [f"ord_{1001 + n}" for n in range(27)]
    for n, order_id in enumerate(ids):
        assert await seeded.pub("order.scheduled", scheduled(order_id, n)) == order_id
    with pytest.raises(DuplicateJob):
        await seeded.pub("order.scheduled", scheduled("ord_1002", 1))
    assert await seeded.get_status("ord_1002") == 1

    msg_id = await seeded.signal(
        "order.routed",
        {"id": "ord_10000002", "facility": "acme", "actual_release_series": "202304110015"},
    )
    assert msg_id
    await assert_eventually(lambda: seeded.get_status("ord_10000002"), lambda s: s == 0)
    state = await seeded.get_state("order.scheduled", "ord_10000002")
    assert state.data["facility"] == "acme"
    assert state.data["actual_release_series"] == "202304110015"
    assert state.data["must_release_series"] == "202304120015"

    await seeded.signal("order.routed", {"id": "ord_1054", "facility": "spacely"})
    await seeded.signal("order.routed", {"id": "ord_1020", "facility": "cogswell"})
    await assert_eventually(lambda: seeded.get_status("ord_1020"), lambda s: s == 0)
    assert (await seeded.get_state("order.scheduled", "ord_1020")).data["facility"] == "cogswell"
    # ord_1054 was never scheduled: its signal is parked, nothing else moves.
    assert await seeded.get_status("ord_1021") == 1
    assert await seeded.get_status("ord_1002") == 1


RED_PRIMARY_LG = {"data": {"color": "red", "primacy": "primary", "size": "lg"}}


async def test_stats_ids_and_signal_all(seeded: HotMesh) -> None:
    """Scenarios 9, 10 and 13: stats and the index of order.scheduled, then signal all."""
    for n in range(27):  # one order of each kind; n = 2 is red/primary/lg
        await seeded.pub("order.scheduled", scheduled(f"ord_{1001 + n}", n))
    await seeded.pub("order.scheduled", scheduled("ord_10000002", 2))
    query = {**RED_PRIMARY_LG, "range": "1h", "end": "NOW"}

    stats = await seeded.get_stats("order.scheduled", query)
    assert stats["key"] == "redprimarylg" and stats["granularity"] == "5m"
    assert len(stats["segments"]) == 13
    assert stats["count"] == 2
    assert {m["target"]: m["value"] for m in stats["measures"]} == {
        "count:color:red": 2,
        "count:primacy:primary": 2,
    }
    assert sum(seg["count"] for seg in stats["segments"]) == 2
    assert "segments" not in await seeded.get_stats("order.scheduled", {**query, "sparse": True})

    ids = await seeded.get_ids("order.scheduled", query)
    assert ids["facets"] == ["color:red", "primacy:primary"]
    assert ids["counts"] == [
        {"facet": "color:red", "count": 2},
        {"facet": "primacy:primary", "count": 2},
    ]
    found = [m["ids"] for seg in ids["segments"] for m in seg["measures"] if m["ids"]]
    assert sorted(found[0]) == ["ord_10000002", "ord_1003"]

    data = {"facility": "acme", "actual_release_series": "202304110015"}
    signalled = await seeded.signal_all("order.routed", data, query, ["color:red"])
    assert sorted(signalled) == ["ord_10000002", "ord_1003"]
    for job_id in signalled:
        await assert_eventually(lambda j=job_id: seeded.get_status(j), lambda s: s == 0)
        state = await seeded.get_state("order.scheduled", job_id)
        assert state.data["facility"] == "acme"
    assert await seeded.get_status("ord_1004") == 1  # another key: untouched


async def test_finalize_runs_worker(seeded: HotMesh) -> None:
    """Scenario 8: a trigger whose stats key is a literal, then a worker."""
    job_id = await seeded.pub("order.finalize", {"id": "ord_unitofwork123", "size": "lg"})
    assert job_id == "ord_unitofwork123"
    await assert_eventually(lambda: seeded.get_status(job_id), lambda s: s == 0)
    exported = await seeded.export(job_id)
    [bundler] = [a for a in exported.activities if a["name"] == "bundler"]
    assert bundler["output"] == {"some": "string", "is": True, "number": 1}


async def test_sleep_do(seeded: HotMesh) -> None:
    """Scenario 11: a hook whose sleep comes from job data."""
    job_id = await seeded.pub("sleep.do", {"duration": 0.5})
    assert await seeded.get_status(job_id) == 1
    await assert_eventually(lambda: seeded.get_status(job_id), lambda s: s == 0, timeout=5)
    state = await seeded.get_state("sleep.do", job_id)
    assert state.data == {"duration": 0.5, "done": True}
