"""§6.15 hook-escalation and the escalations API (durable.md §7), on both providers."""

from __future__ import annotations

from typing import Any

import pytest

from hotmesh import HotMesh
from hotmesh.errors import ConfigError
from hotmesh.types import JobOutput
from tests.engine._app_files import eventually, load_app
from tests.engine.conftest import MeshFactory

ORDER = {"orderId": "o-7", "region": "us-west"}


async def escalating(mesh: MeshFactory, app_id: str, version: str = "1", **replace: str) -> HotMesh:
    hm = await mesh()
    await hm.deploy(load_app(f"hook-escalation-v{version}", app_id, **replace))
    await hm.activate(version)
    return hm


async def filed(hm: HotMesh, job_id: str) -> dict[str, Any]:
    async def probe() -> dict[str, Any] | None:
        rows = await hm.escalations.list(workflow_id=job_id)
        return rows[0] if rows else None

    row: dict[str, Any] = await eventually(probe, timeout=10)
    return row


async def finished(hm: HotMesh, job_id: str) -> JobOutput:
    async def probe() -> JobOutput | None:
        state = await hm.get_state("hook-escalation.test", job_id)
        return state if state.metadata["js"] == 0 else None

    output: JobOutput = await eventually(probe, timeout=10)
    return output


async def test_suspending_hook_files_a_row(mesh: MeshFactory, app_id: str) -> None:
    hm = await escalating(mesh, app_id)
    jid = await hm.pub("hook-escalation.test", ORDER)
    row = await filed(hm, jid)
    assert (row["signal_key"], row["workflow_id"]) == (jid, jid)
    assert (row["topic"], row["status"]) == ("hook-escalation.approve", "pending")
    assert (row["role"], row["type"], row["subtype"], row["priority"]) == (
        "approver", "order-approval", "regional", 2,
    )  # fmt: skip
    assert row["metadata"] == ORDER  # resolved against the job
    assert row["envelope"] == {"instructions": "Review the order and approve or reject it"}
    assert (row["namespace"], row["app_id"]) == ("hmsh", app_id)
    claim = await hm.escalations.claim(row["id"], assignee="human-agent-1", duration=300)
    assert claim.ok and claim.entry is not None
    assert claim.entry["assigned_to"] == "human-agent-1"
    # a direct signal completes the job; the row is an audit record and stays pending
    await hm.signal(
        "hook-escalation.approve", {"id": jid, "approved": True, "approvedBy": "human-agent-1"}
    )
    out = await finished(hm, jid)
    assert out.data == {"approved": True, "approvedBy": "human-agent-1"}
    assert (await hm.escalations.get(row["id"]) or {})["status"] == "pending"


async def test_resolving_the_row_signals_the_hook(mesh: MeshFactory, app_id: str) -> None:
    hm = await escalating(mesh, app_id)
    jid = await hm.pub("hook-escalation.test", ORDER)
    row = await filed(hm, jid)
    listed = await hm.escalations.list(role="approver", type="order-approval", available=True)
    assert [r["id"] for r in listed] == [row["id"]]
    payload = {"approved": True, "approvedBy": "reviewer-1"}
    resolved = await hm.escalations.resolve(
        row["id"], resolver_payload=payload, metadata={"note": "ok"}
    )
    assert resolved.ok and resolved.entry is not None
    assert resolved.entry["status"] == "resolved" and resolved.entry["resolver_payload"] == payload
    assert resolved.entry["metadata"] == {**ORDER, "note": "ok"}
    out = await finished(hm, jid)
    assert out.data == payload
    again = await hm.escalations.resolve(row["id"], resolver_payload=payload)
    assert (again.ok, again.reason) == (False, "already-resolved")
    assert (await hm.escalations.resolve("nope")).reason == "not-found"
    assert await hm.escalations.list(status="pending") == []


async def test_cancel_wakes_the_hook_with_the_cancel_flag(mesh: MeshFactory, app_id: str) -> None:
    extra = "approvedBy: '{a1.hook.data.approvedBy}'"
    flagged = extra + "\n              cancelled: '{a1.hook.data.__escalation_cancelled}'"
    hm = await escalating(mesh, app_id, **{extra: flagged})
    jid = await hm.pub("hook-escalation.test", ORDER)
    row = await filed(hm, jid)
    cancelled = await hm.escalations.cancel(row["id"])
    assert cancelled.ok and cancelled.entry is not None
    assert cancelled.entry["status"] == "cancelled"
    assert (await finished(hm, jid)).data["cancelled"] is True
    assert (await hm.escalations.cancel(row["id"])).reason == "already-cancelled"


async def test_the_hook_timer_expires_the_row(mesh: MeshFactory, app_id: str) -> None:
    hm = await escalating(mesh, app_id, **{"type: hook\n": "type: hook\n          sleep: 0.2\n"})
    jid = await hm.pub("hook-escalation.test", ORDER)
    row = await filed(hm, jid)
    await finished(hm, jid)  # the timer won

    async def expired() -> bool:
        return (await hm.escalations.get(row["id"]) or {}).get("status") == "expired"

    await eventually(expired, timeout=10)
    late = await hm.escalations.resolve(row["id"], resolver_payload={"approved": True})
    assert (late.ok, late.reason) == (False, "already-expired")


async def test_no_block_no_row(mesh: MeshFactory, app_id: str) -> None:
    hm = await escalating(mesh, app_id, version="2")
    jid = await hm.pub("hook-escalation.test", ORDER)

    async def waiting() -> bool:
        return await hm.get_status(jid) == 1

    await eventually(waiting, timeout=10)
    await hm.signal("hook-escalation.approve", {"id": jid, "approved": False})
    await finished(hm, jid)
    assert await hm.escalations.list(workflow_id=jid) == []


async def test_claim_needs_an_assignee_and_a_duration(mesh: MeshFactory, app_id: str) -> None:
    hm = await escalating(mesh, app_id)
    with pytest.raises(ConfigError, match="assignee"):
        await hm.escalations.claim("x", assignee="")
    with pytest.raises(ConfigError, match="duration"):
        await hm.escalations.claim("x", assignee="a", duration=0)
    assert (await hm.escalations.claim("x", assignee="a")).reason == "not-found"


async def test_standalone_row_resolves_without_a_wake(mesh: MeshFactory, app_id: str) -> None:
    hm = await escalating(mesh, app_id)
    row = await hm.escalations.create(role="clerk", type="refund", metadata={"order": "o-1"})
    assert row["signal_key"] is None and row["status"] == "pending" and row["priority"] == 5
    assert [r["id"] for r in await hm.escalations.list(metadata={"order": "o-1"})] == [row["id"]]
    done = await hm.escalations.resolve(row["id"], resolver_payload={"refunded": True})
    assert done.ok and done.entry is not None and done.entry["status"] == "resolved"
    expired = await hm.escalations.create(role="clerk")
    assert (await hm.escalations.expire(expired["id"])).ok
    with pytest.raises(ConfigError, match="priority"):
        await hm.escalations.create(role="clerk", priority="high")  # type: ignore[arg-type]
