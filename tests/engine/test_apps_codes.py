"""§6.5 ``def`` status codes and §6.8 ``emit`` interim results, on both providers."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from hotmesh import HotMesh, WorkerMessage
from hotmesh.engine.runtime import guid
from hotmesh.engine.steps import ENGINE_STREAM, engine_message
from hotmesh.errors import JobFailed
from hotmesh.types import JobOutput
from tests.engine._app_files import eventually, load_app
from tests.engine.conftest import MeshFactory

INVALID = {"code": 422, "message": "invalid input", "reason": "the account_id field is missing"}


def def_worker(pending: asyncio.Queue[dict[str, Any]]) -> Any:
    """The status test's worker: 202 → pending (the test sends the second answer)."""

    async def work(message: WorkerMessage) -> dict[str, Any]:
        code = message.data.get("code")
        if code == 202:
            await pending.put(dict(message.metadata))
            return {"status": "pending", "code": 202, "data": {"code": 202, "percentage": 49}}
        if code == 422:
            return {"status": "error", "code": 422, "data": dict(INVALID)}
        return {"status": "success", "code": 200, "data": {"code": 200}}

    return work


async def def_mesh(
    mesh: MeshFactory, app_id: str, version: int
) -> tuple[HotMesh, asyncio.Queue[dict[str, Any]]]:
    pending: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    hm = await mesh([("work.do", def_worker(pending))])
    await hm.deploy(load_app(f"def-v{version}", app_id))
    await hm.activate(str(version))
    return hm, pending


async def test_def_v1_unconditioned_transition(mesh: MeshFactory, app_id: str) -> None:
    hm, _ = await def_mesh(mesh, app_id, 1)
    ok = await hm.pubsub("def.test", {"code": 200}, timeout=10)
    assert ok.data == {"code": 200, "message": "success"}
    # The unconditioned a1 → a200 also fires for the error: the job completes normally,
    # and the error's data is a1's output (a200 copies its message).
    handled = await hm.pubsub("def.test", {"code": 422}, timeout=10)
    assert "err" not in handled.metadata and handled.metadata["js"] == 0
    assert handled.data == {"code": 422, "message": "invalid input"}


async def test_def_v2_unhandled_error_fails_the_job(mesh: MeshFactory, app_id: str) -> None:
    hm, _ = await def_mesh(mesh, app_id, 2)
    ok = await hm.pubsub("def.test", {"code": 200}, timeout=10)
    assert ok.data == {"code": 200, "message": "success"}
    # `code: 422` beside `to:` is ignored: a422 waits for code 200, so nothing handles 422.
    with pytest.raises(JobFailed) as caught:
        await hm.pubsub("def.test", {"code": 422}, timeout=10)
    failed = caught.value
    assert failed.error["message"] == "invalid input" and failed.error["code"] == 422
    assert failed.output.metadata["js"] == 0
    state = await hm.get_state("def.test", failed.job_id)
    err = state.metadata["err"]
    assert isinstance(err, str)
    assert json.loads(err) == {**INVALID, "is_stream_error": True}
    assert await hm.get_status(failed.job_id) == 0


async def test_def_v3_pending_then_success(mesh: MeshFactory, app_id: str) -> None:
    """A 202 keeps a1 open (js 1 → 2 → 1); the later 200 answer routes to a200."""
    hm, pending = await def_mesh(mesh, app_id, 3)
    waiting = asyncio.create_task(hm.pubsub("def.test", {"code": 202}, timeout=10))
    request = await asyncio.wait_for(pending.get(), 10)
    jid = str(request["jid"])

    async def interim() -> JobOutput | None:
        state = await hm.get_state("def.test", jid)
        return state if state.data.get("percentage") == 49 else None

    state = await eventually(interim)  # a202 ran with the pending answer's data
    assert state.data == {"code": 202, "message": "success", "percentage": 49}
    assert await hm.get_status(jid) == 1  # only a1 is still open
    assert not waiting.done()
    second = {
        "jid": jid, "gid": request["gid"], "aid": request["aid"], "dad": request["dad"],
        "guid": guid(), "status": "success", "code": 200,
        "data": {"code": 200, "percentage": 99},
    }  # fmt: skip
    assert hm.engine is not None
    await hm.engine.backend.stream.publish([engine_message("response", jid, second)])
    out = await waiting
    assert out.data == {"code": 200, "message": "success", "percentage": 99}
    assert out.metadata["js"] == 0 and "err" not in out.metadata
    export = await hm.export(jid)
    names = {(a["name"], a["dimension"]) for a in export.activities}
    # the second answer is a1's second leg-2 event: its children run in dimension 1
    assert ("a202", "0/0/0") in names and ("a200", "0/0/1") in names


async def test_def_v3_codes_route_transitions(mesh: MeshFactory, app_id: str) -> None:
    hm, _ = await def_mesh(mesh, app_id, 3)
    ok = await hm.pubsub("def.test", {"code": 200}, timeout=10)
    assert ok.data == {"code": 200, "message": "success"}  # a200 only (a1 has no percentage)
    routed = await hm.pubsub("def.test", {"code": 422}, timeout=10)
    assert "err" not in routed.metadata  # a422 handled the error (code and match)
    assert routed.data == {"code": 422, "message": "invalid input"}
    names = {a["name"] for a in (await hm.export(routed.job_id)).activities}
    assert names == {"t1", "a1", "a422"}


async def test_def_v3_duplicate_pending_answer_is_ignored(mesh: MeshFactory, app_id: str) -> None:
    """The pending answer delivered again (same event id) does not re-run a1's branch."""
    hm, pending = await def_mesh(mesh, app_id, 3)
    waiting = asyncio.create_task(hm.pubsub("def.test", {"code": 202}, timeout=10))
    request = await asyncio.wait_for(pending.get(), 10)
    jid = str(request["jid"])
    assert hm.engine is not None
    stream = hm.engine.backend.stream

    async def interim() -> bool:
        state = await hm.get_state("def.test", jid)
        return state.data.get("percentage") == 49 and await hm.get_status(jid) == 1

    await eventually(interim)
    answer = {
        "jid": jid, "gid": request["gid"], "aid": request["aid"], "dad": request["dad"],
        "guid": request["guid"], "status": "pending", "code": 202,
        "data": {"code": 202, "percentage": 49},
    }  # fmt: skip
    await stream.publish([engine_message("response", jid, answer)])

    async def drained() -> bool:
        return (await stream.depth([ENGINE_STREAM]))[ENGINE_STREAM].total == 0

    await eventually(drained)
    assert await hm.get_status(jid) == 1
    dims = [a["dimension"] for a in (await hm.export(jid)).activities if a["name"] == "a202"]
    assert dims == ["0/0/0"]
    final = {**answer, "guid": guid(), "status": "success", "code": 200,
             "data": {"code": 200, "percentage": 99}}  # fmt: skip
    await stream.publish([engine_message("response", jid, final)])
    assert (await waiting).data["percentage"] == 99


# -- §6.8 emit ------------------------------------------------------------------------------


async def test_emit_interim_then_final(mesh: MeshFactory, app_id: str) -> None:
    async def worker(message: WorkerMessage) -> dict[str, Any]:
        return {"status": "success", "data": {"status": "success"}}

    hm = await mesh([("emit.test.worker", worker)])
    await hm.deploy(load_app("emit-v1", app_id, **{"sleep: 5": "sleep: 1"}))
    await hm.activate("1")
    seen: list[tuple[str, JobOutput]] = []
    final = asyncio.Event()

    def on_emit(topic: str, output: JobOutput) -> None:
        seen.append((topic, output))
        if output.metadata.get("js") == 0:
            final.set()

    await hm.psub("emit.tested.*", on_emit)
    job_id = f"myjob-{app_id}"
    assert await hm.pub("emit.test", {"job_id": job_id}) == job_id
    await asyncio.wait_for(final.wait(), 10)
    assert [t for t, _ in seen] == ["emit.tested"] * 2
    interim, last = (o for _, o in seen)
    assert interim.data == {"done": False, "status": "success"}
    assert interim.metadata["js"] > 0 and interim.metadata["jid"] == job_id
    assert last.data == {"done": True, "status": "success"}
    assert last.metadata["js"] == 0
    assert await hm.get_status(job_id) == 0
