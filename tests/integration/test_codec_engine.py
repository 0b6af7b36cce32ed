"""Codecs on a running workflow: job state and queued payloads read straight from the tables.

Every test runs on both providers. A job is started while no worker runs, so its worker
message waits in the queue and the raw rows can be read; then a worker finishes it.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Sequence
from typing import Any

import pytest

from hotmesh import HotMesh, WorkerMessage
from hotmesh.errors import CodecError
from hotmesh.serializer import MARKER, register_codec
from hotmesh.spi import Backend
from hotmesh.types import JobOutput
from hotmesh_codecs import AesGcmCodec, chain, load
from hotmesh_conformance.harness import BackendFactory
from hotmesh_postgres.naming import quote_ident, schema_name

pytestmark = pytest.mark.usefixtures("no_codec")

CANARY = "4111-1111-1111-1111-canary"
K1, K2 = AesGcmCodec.generate_key(), AesGcmCodec.generate_key()

APP = """
app:
  id: {APP}
  version: '1'
  graphs:
    - subscribes: card.charge
      publishes: card.charged
      expire: 60
      activities:
        t1:
          type: trigger
          stats:
            id: '{$self.input.data.id}'
        w1:
          type: worker
          topic: card.process
          input:
            maps:
              id: '{t1.output.data.id}'
              card: '{t1.output.data.card}'
          job:
            maps:
              card: '{w1.output.data.card}'
              status: '{w1.output.data.status}'
      transitions:
        t1:
          - to: w1
"""


async def charge(message: WorkerMessage) -> dict[str, Any]:
    return {"data": {"card": message.data["card"], "status": "charged"}}


class Rig:
    """An engine-only mesh, a raw backend on the same app, and workers started on demand."""

    def __init__(self, provider: str, dsn: str, backend: Backend, app_id: str) -> None:
        self.connection = {"class": provider, "options": {"dsn": dsn}}
        self.backend = backend
        self.app_id = app_id
        self.meshes: list[HotMesh] = []
        self.done: dict[str, asyncio.Event] = {}
        self.engine: HotMesh

    async def start(self) -> None:
        self.engine = await self._mesh(engine=True)
        await self.engine.deploy(APP.replace("{APP}", self.app_id))
        await self.engine.activate("1")
        await self.engine.psub("card.charged.*", self._on_done)

    async def _mesh(self, *, engine: bool, workers: Sequence[Any] = ()) -> HotMesh:
        hm = await HotMesh.init(
            app_id=self.app_id,
            engine={"connection": self.connection} if engine else None,
            workers=list(workers),
        )
        self.meshes.append(hm)
        return hm

    def _on_done(self, _topic: str, output: JobOutput) -> None:
        self.done.setdefault(output.job_id, asyncio.Event()).set()

    async def pub(self, job_id: str) -> str:
        self.done.setdefault(job_id, asyncio.Event())
        return await self.engine.pub("card.charge", {"id": job_id, "card": CANARY})

    async def run_worker(self, *job_ids: str) -> None:
        """Start a worker and wait until the jobs have finished."""
        await self._mesh(
            engine=False,
            workers=[{"topic": "card.process", "callback": charge, "connection": self.connection}],
        )
        for jid in job_ids:
            await asyncio.wait_for(self.done[jid].wait(), 10)

    async def rows(self, table: str, column: str) -> list[str]:
        name = f"{quote_ident(schema_name(self.app_id))}.{table}"
        driver: Any = self.backend.driver  # type: ignore[attr-defined]
        return [r[0] for r in await driver.fetch(f"SELECT {column} FROM {name} ORDER BY 1")]

    async def job_state(self, job_id: str) -> dict[str, Any]:
        name = f"{quote_ident(schema_name(self.app_id))}.jobs"
        driver: Any = self.backend.driver  # type: ignore[attr-defined]
        text = await driver.fetchval(f"SELECT state::text FROM {name} WHERE id = $1", job_id)
        return dict(json.loads(text))

    async def semaphore(self, job_id: str) -> int:
        """The job's status, read raw with SQL."""
        name = f"{quote_ident(schema_name(self.app_id))}.jobs"
        driver: Any = self.backend.driver  # type: ignore[attr-defined]
        return int(await driver.fetchval(f"SELECT semaphore FROM {name} WHERE id = $1", job_id))

    async def stop(self) -> None:
        for hm in reversed(self.meshes):
            await hm.stop()


@pytest.fixture
async def rig(
    hotmesh_provider: str, hotmesh_dsn: str, backends: BackendFactory
) -> AsyncIterator[Rig]:
    app_id = f"c{uuid.uuid4().hex[:12]}"
    made = Rig(hotmesh_provider, hotmesh_dsn, await backends.open(app_id), app_id)
    try:
        await made.start()
        yield made
    finally:
        await made.stop()


async def test_codec_hides_plaintext_in_job_state_and_queue(rig: Rig) -> None:
    register_codec(chain("zstd", AesGcmCodec(key=K1, key_id="k1")))
    await rig.pub("job-1")
    [payload] = await rig.rows("stream_messages", "payload")
    states = await rig.rows("jobs", "state::text")
    assert CANARY not in payload and CANARY not in states[0]
    assert payload.startswith(MARKER + "zstd+aesgcm:k1.")
    # Routing stays clear: the queue's columns and the job's metadata.
    [(stream, job_id)] = [
        (r[0], r[1])
        for r in await rig.backend.driver.fetch(  # type: ignore[attr-defined]
            f"SELECT stream, job_id FROM {quote_ident(schema_name(rig.app_id))}.stream_messages"
        )
    ]
    assert (stream, job_id) == ("card.process", "job-1")
    raw = await rig.job_state("job-1")
    assert raw["meta"]["jid"] == "job-1" and raw["meta"]["tpc"] == "card.charge"
    assert all(v.startswith(MARKER) for k, v in raw.items() if k != "meta")
    await rig.run_worker("job-1")
    state = await rig.engine.get_state("card.charge", "job-1")
    assert state.data == {"card": CANARY, "status": "charged"}
    assert CANARY not in json.dumps(await rig.job_state("job-1"))


async def test_without_a_codec_the_plaintext_is_stored(rig: Rig) -> None:
    await rig.pub("job-1")
    [payload] = await rig.rows("stream_messages", "payload")
    assert CANARY in payload and not payload.startswith(MARKER)
    assert CANARY in json.dumps(await rig.job_state("job-1"))
    await rig.run_worker("job-1")
    assert (await rig.job_state("job-1"))["d/card"] == CANARY


async def test_plain_old_and_new_key_data_mix_in_one_job(rig: Rig) -> None:
    await rig.pub("plain")  # written before any codec
    register_codec(load("aesgcm", key=K1, key_id="k1"))
    await rig.pub("old-key")
    register_codec(load("aesgcm", keys={"k1": K1, "k2": K2}))  # rotate: k2 is current
    await rig.run_worker("plain", "old-key")
    for jid in ("plain", "old-key"):
        state = await rig.engine.get_state("card.charge", jid)
        assert state.data == {"card": CANARY, "status": "charged"}
    plain = await rig.job_state("plain")
    assert plain["a/t1,0"]["input"]["data"]["card"] == CANARY, "the first write stayed plain"
    assert plain["d/card"].startswith(MARKER + "aesgcm:k2."), "the worker's write used k2"
    old = await rig.job_state("old-key")
    assert old["a/t1,0"].startswith(MARKER + "aesgcm:k1."), "old values keep the old key"
    assert old["d/card"].startswith(MARKER + "aesgcm:k2.")


async def test_missing_key_fails_the_job_and_others_keep_flowing(rig: Rig) -> None:
    register_codec(AesGcmCodec(key=K1, key_id="k1"))
    await rig.pub("lost")
    register_codec(AesGcmCodec(key=K2, key_id="k2"))  # k1 is gone from this process
    assert await rig.backend.stream.claim("card.process") == [], "not delivered"
    [dead] = await rig.backend.stream.dead_letters("card.process")
    assert dead.error is not None and "'lost'" in dead.error and "'k1'" in dead.error
    assert await rig.semaphore("lost") < 0, "the job is marked errored"
    assert await rig.engine.get_status("lost") < 0, "status needs no key"
    err = json.loads((await rig.job_state("lost"))["meta"]["err"])
    assert (err["job_id"], err["key_id"], err["code"]) == ("lost", "k1", CodecError.code)
    with pytest.raises(CodecError) as info:
        await rig.engine.get_state("card.charge", "lost")
    assert info.value.value["job_id"] == "lost" and info.value.value["key_id"] == "k1"
    await rig.pub("fine")
    await rig.run_worker("fine")
    assert (await rig.engine.get_state("card.charge", "fine")).data["status"] == "charged"


async def test_wrong_key_fails_the_job_without_retries(rig: Rig) -> None:
    register_codec(AesGcmCodec(key=K1, key_id="k1"))
    await rig.pub("wrong")
    # The same key id with other key material: decryption fails (wrong key, not missing).
    register_codec(AesGcmCodec(key=K2, key_id="k1"))
    assert await rig.backend.stream.claim("card.process") == []
    [dead] = await rig.backend.stream.dead_letters("card.process")
    assert dead.error is not None and "wrong key" in dead.error and "'k1'" in dead.error
    assert await rig.semaphore("wrong") < 0
    # Nothing is left queued for the failed job: it is not retried forever.
    assert await rig.rows("stream_messages", "payload") == []
