"""Store contract: escalation rows (file, list, claim, release, finish with a wake, expire)."""

from __future__ import annotations

import asyncio
from typing import Any

from hotmesh.spi import Backend, OutgoingMessage
from hotmesh_conformance.harness import assert_eventually

MISSING = "00000000-0000-0000-0000-000000000000"


def row(signal_key: str | None, **extra: Any) -> dict[str, Any]:
    return {"namespace": "hmsh", "app_id": "conf", "signal_key": signal_key, "topic": "approve",
            "workflow_id": signal_key, "role": "approver", "type": "order", **extra}  # fmt: skip


async def test_create_get_and_unique_signal_key(backend: Backend) -> None:
    store = backend.store
    meta = {"orderId": "o1", "region": "west"}
    created = await store.create_escalation(
        row("k1", subtype="regional", priority=2, metadata=meta, envelope={"a": [1]}, bogus=1)
    )
    assert created is not None
    assert created["status"] == "pending" and created["priority"] == 2
    assert (created["signal_key"], created["workflow_id"], created["topic"]) == (
        "k1",
        "k1",
        "approve",
    )
    assert created["metadata"] == meta and created["envelope"] == {"a": [1]}
    assert created["milestones"] == [] and created["assigned_to"] is None
    assert isinstance(created["created_at"], str) and "bogus" not in created
    assert await store.get_escalation(created["id"]) == created
    assert await store.create_escalation(row("k1", role="other")) is None, "one row per key"
    assert await store.get_escalation(MISSING) is None
    assert await store.get_escalation("not-a-uuid") is None
    standalone = await store.create_escalation(row(None))
    assert standalone is not None and standalone["priority"] == 5
    assert standalone["signal_key"] is None


async def test_list_filters_and_order(backend: Backend) -> None:
    store = backend.store
    low = await store.create_escalation(row("a", priority=9, metadata={"region": "east"}))
    high = await store.create_escalation(row("b", priority=1, subtype="x"))
    other = await store.create_escalation(row("c", role="clerk", type="refund"))
    assert low and high and other
    listed = await store.list_escalations({})
    assert [r["id"] for r in listed] == [high["id"], other["id"], low["id"]]
    assert all(r["available"] is True for r in listed)
    assert [r["id"] for r in await store.list_escalations({"roles": ["clerk"]})] == [other["id"]]
    assert [r["id"] for r in await store.list_escalations({"type": "order", "subtype": "x"})] == [
        high["id"]
    ]
    by_meta = await store.list_escalations({"metadata": {"region": "east"}})
    assert [r["id"] for r in by_meta] == [low["id"]]
    assert [r["id"] for r in await store.list_escalations({"signal_key": "c"})] == [other["id"]]
    by_ids = await store.list_escalations({"ids": [low["id"], "junk", MISSING]})
    assert [r["id"] for r in by_ids] == [low["id"]]
    assert len(await store.list_escalations({}, limit=2)) == 2
    assert [r["id"] for r in await store.list_escalations({}, limit=1, offset=2)] == [low["id"]]
    assert await store.list_escalations({"status": "resolved"}) == []


async def test_claim_release_lifecycle(backend: Backend) -> None:
    store = backend.store
    created = await store.create_escalation(row("k"))
    assert created is not None
    first = await store.claim_escalation(created["id"], "ana", 60)
    assert first.ok and not first.is_extension and first.entry is not None
    assert first.entry["assigned_to"] == "ana" and first.entry["status"] == "pending"
    assert first.entry["assigned_until"] is not None and first.entry["claimed_at"] is not None
    again = await store.claim_escalation(created["id"], "ana", 60)
    assert again.ok and again.is_extension
    other = await store.claim_escalation(created["id"], "bob", 60)
    assert (other.ok, other.reason) == (False, "conflict")
    assert (await store.claim_escalation(MISSING, "bob", 60)).reason == "not-found"
    assert await store.list_escalations({"available": True}) == []
    assert [r["id"] for r in await store.list_escalations({"assigned_to": "ana"})] == [
        created["id"]
    ]
    wrong = await store.release_escalation(created["id"], "bob")
    assert (wrong.ok, wrong.reason) == (False, "wrong-assignee")
    released = await store.release_escalation(created["id"], "ana")
    assert released.ok and released.entry is not None and released.entry["assigned_to"] is None
    assert (await store.release_escalation(created["id"])).reason == "not-found"
    lapsed = await store.claim_escalation(created["id"], "bob", 0.05)
    assert lapsed.ok

    async def available() -> list[dict[str, Any]]:
        return await store.list_escalations({"available": True})

    await assert_eventually(available, lambda rows: len(rows) == 1, timeout=5)
    taken = await store.claim_escalation(created["id"], "cy", 60)  # bob's window lapsed
    assert taken.ok and not taken.is_extension


async def test_finish_publishes_the_wake_once(backend: Backend) -> None:
    store, stream = backend.store, backend.stream
    created = await store.create_escalation(row("k", metadata={"a": 1}))
    assert created is not None
    wake = [OutgoingMessage("wake", {"id": "k"})]
    results = await asyncio.gather(
        *(
            store.finish_escalation(
                created["id"], "resolved", payload={"ok": n}, metadata={"by": n}, wake=wake
            )
            for n in range(2)
        )
    )
    winners = [r for r in results if r.ok]
    assert len(winners) == 1, "exactly one concurrent finish wins"
    [loser] = [r for r in results if not r.ok]
    assert loser.reason == "already-resolved" and loser.entry is None
    entry = winners[0].entry
    assert entry is not None and entry["status"] == "resolved" and entry["resolved_at"]
    assert entry["metadata"] == {"a": 1, "by": entry["resolver_payload"]["ok"]}
    claimed = await stream.claim("wake")
    assert [m.payload for m in claimed] == [{"id": "k"}], "one wake, in the same change"
    assert (await store.finish_escalation(MISSING, "resolved")).reason == "not-found"
    assert (await store.claim_escalation(created["id"], "ana", 60)).reason == "not-found"


async def test_expire_and_cancel(backend: Backend) -> None:
    store = backend.store
    timed = await store.create_escalation(row("t"))
    cancelled = await store.create_escalation(row("c"))
    assert timed and cancelled
    expired = await store.expire_escalation("t")
    assert expired is not None and expired["status"] == "expired"
    assert await store.expire_escalation("t") is None, "only a pending row expires"
    assert await store.expire_escalation("nobody") is None
    late = await store.finish_escalation(timed["id"], "resolved", payload={"x": 1})
    assert (late.ok, late.reason) == (False, "already-expired")
    done = await store.finish_escalation(cancelled["id"], "cancelled")
    assert done.ok and done.entry is not None and done.entry["status"] == "cancelled"
    again = await store.finish_escalation(cancelled["id"], "resolved")
    assert again.reason == "already-cancelled"
