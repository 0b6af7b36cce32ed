"""Store contract: escalation rows (file, list, claim, release, finish, expire)."""

from __future__ import annotations

import asyncio

from hotmesh.spi import Backend, OutgoingMessage

ROW = {"namespace": "hmsh", "app_id": "app", "role": "approver", "type": "refund"}


async def test_create_and_get(backend: Backend) -> None:
    store = backend.store
    row = await store.create_escalation({**ROW, "signal_key": "k1", "metadata": {"o": 1},
                                         "unknown": "ignored"})  # fmt: skip
    assert row is not None
    assert (row["status"], row["priority"], row["signal_key"], row["metadata"]) == (
        "pending", 5, "k1", {"o": 1},
    )  # fmt: skip
    assert row["created_at"] and row["assigned_to"] is None and "unknown" not in row
    assert await store.create_escalation({**ROW, "signal_key": "k1"}) is None, "one per key"
    assert await store.get_escalation(row["id"]) == row
    assert await store.get_escalation("not-a-uuid") is None
    assert await store.get_escalation("00000000-0000-0000-0000-000000000000") is None


async def test_list_filters_and_order(backend: Backend) -> None:
    store = backend.store
    low = await store.create_escalation({**ROW, "priority": 9})
    urgent = await store.create_escalation({**ROW, "priority": 1, "metadata": {"a": {"b": 2}}})
    other = await store.create_escalation({**ROW, "role": "clerk", "type": "other"})
    assert low and urgent and other
    listed = await store.list_escalations({})
    assert [r["id"] for r in listed] == [urgent["id"], other["id"], low["id"]]
    assert all(r["available"] is True for r in listed)
    by_role = await store.list_escalations({"roles": ["approver"], "type": "refund"})
    assert [r["id"] for r in by_role] == [urgent["id"], low["id"]]
    meta = await store.list_escalations({"metadata": {"a": {"b": 2}}})
    assert [r["id"] for r in meta] == [urgent["id"]], "metadata is matched by containment"
    assert [r["id"] for r in await store.list_escalations({}, limit=1, offset=1)] == [other["id"]]
    await store.claim_escalation(urgent["id"], "ann", 300)
    taken = await store.list_escalations({"available": False})
    assert [r["id"] for r in taken] == [urgent["id"]]
    assert [r["id"] for r in await store.list_escalations({"ids": [low["id"], "x"]})] == [low["id"]]


async def test_claim_release(backend: Backend) -> None:
    store = backend.store
    row = await store.create_escalation(dict(ROW))
    assert row is not None
    first = await store.claim_escalation(row["id"], "ann", 300)
    assert first.ok and not first.is_extension and first.entry is not None
    assert first.entry["assigned_to"] == "ann" and first.entry["assigned_until"]
    assert (await store.claim_escalation(row["id"], "bob", 300)).reason == "conflict"
    again = await store.claim_escalation(row["id"], "ann", 600)
    assert again.ok and again.is_extension
    assert (await store.release_escalation(row["id"], "bob")).reason == "wrong-assignee"
    released = await store.release_escalation(row["id"], "ann")
    assert released.ok and released.entry is not None and released.entry["assigned_to"] is None
    assert (await store.release_escalation(row["id"])).reason == "not-found", "not assigned"
    assert (await store.claim_escalation("nope", "ann", 1)).reason == "not-found"


async def test_a_lapsed_claim_can_be_taken(backend: Backend) -> None:
    store = backend.store
    row = await store.create_escalation(dict(ROW))
    assert row is not None
    assert (await store.claim_escalation(row["id"], "ann", 0.2)).ok
    await asyncio.sleep(0.3)  # the claim window lapsing is the point here
    taken = await store.claim_escalation(row["id"], "bob", 300)
    assert taken.ok and not taken.is_extension


async def test_finish_exactly_once_with_its_wake(backend: Backend) -> None:
    store, stream = backend.store, backend.stream
    row = await store.create_escalation({**ROW, "metadata": {"o": 1}})
    assert row is not None
    wake = [OutgoingMessage("wake", {"id": row["id"]})]

    async def resolve() -> bool:
        done = await store.finish_escalation(
            row["id"], "resolved", payload={"ok": True}, metadata={"n": 2}, wake=wake
        )
        return done.ok

    assert sorted(await asyncio.gather(*(resolve() for _ in range(4)))) == [False] * 3 + [True]
    assert len(await stream.claim("wake", limit=10)) == 1, "published once, with the change"
    final = await store.get_escalation(row["id"])
    assert final is not None and final["status"] == "resolved" and final["resolved_at"]
    assert (final["resolver_payload"], final["metadata"]) == ({"ok": True}, {"o": 1, "n": 2})
    late = await store.finish_escalation(row["id"], "cancelled")
    assert (late.ok, late.reason) == (False, "already-resolved")
    assert (await store.finish_escalation("nope", "resolved")).reason == "not-found"


async def test_expire_by_signal_key(backend: Backend) -> None:
    store = backend.store
    row = await store.create_escalation({**ROW, "signal_key": "k"})
    assert row is not None
    expired = await store.expire_escalation("k")
    assert expired is not None and (expired["id"], expired["status"]) == (row["id"], "expired")
    assert await store.expire_escalation("k") is None, "only a pending row expires"
    late = await store.finish_escalation(row["id"], "resolved")
    assert late.reason == "already-expired"
