"""Codecs on job state and parked signals, at the provider level, read raw with SQL."""

from __future__ import annotations

import json
from typing import Any

import pytest

from hotmesh.errors import CodecError
from hotmesh.serializer import MARKER, register_codec
from hotmesh.spi import Backend, OutgoingMessage
from hotmesh_codecs import AesGcmCodec, FernetCodec
from hotmesh_postgres.naming import quote_ident, schema_name

pytestmark = pytest.mark.usefixtures("no_codec")

SECRET = "ssn-078-05-1120-canary"
KEY = FernetCodec.generate_key()


def table(backend: Backend, name: str) -> str:
    return f"{quote_ident(schema_name(backend.app_id))}.{name}"


async def raw_state(backend: Backend, job_id: str) -> dict[str, Any]:
    driver: Any = backend.driver  # type: ignore[attr-defined]
    sql = f"SELECT state::text FROM {table(backend, 'jobs')} WHERE id = $1"
    return dict(json.loads(await driver.fetchval(sql, job_id)))


def job(secret: str = SECRET) -> dict[str, Any]:
    return {
        "meta": {"jid": "j1", "gid": "g1", "tpc": "t"},
        "d/ssn": secret,
        "a/w1,0": {"output": {"data": {"ssn": secret}}},
        "-cancelled-": "1",
    }


async def test_state_values_are_encoded_keys_and_meta_stay_clear(backend: Backend) -> None:
    register_codec(FernetCodec(key=KEY, key_id="f1"))
    assert await backend.store.create_job("j1", job(), semaphore=2)
    raw = await raw_state(backend, "j1")
    assert SECRET not in json.dumps(raw)
    assert set(raw) == set(job()), "keys stay clear so steps merge key by key"
    assert raw["meta"] == job()["meta"] and raw["-cancelled-"] == "1"
    assert raw["d/ssn"].startswith(MARKER + "fernet:f1.")
    step = await backend.store.apply_step(
        "j1", {"d/more": [1, 2], "a/w1,0": None}, semaphore_delta=-2
    )
    expected = {k: v for k, v in job().items() if k != "a/w1,0"} | {"d/more": [1, 2]}
    assert step.state == expected
    stored = await backend.store.get_job("j1")
    assert stored is not None and stored.state == step.state


async def test_without_a_codec_state_is_plain_json(backend: Backend) -> None:
    assert await backend.store.create_job("j1", job(), semaphore=1)
    assert await raw_state(backend, "j1") == job()


async def test_a_plain_string_that_looks_encoded_reads_back_intact(backend: Backend) -> None:
    tricky = MARKER + "aesgcm:k1.not really"
    assert await backend.store.create_job("j1", job(tricky), semaphore=1)
    register_codec(AesGcmCodec(key=AesGcmCodec.generate_key(), key_id="k1"))
    got = await backend.store.get_job("j1")
    assert got is not None and got.state["d/ssn"] == tricky


async def test_plain_values_merge_with_encoded_ones(backend: Backend) -> None:
    assert await backend.store.create_job("j1", job(), semaphore=1)
    register_codec(FernetCodec(key=KEY))
    await backend.store.apply_step("j1", {"d/new": {"x": SECRET}})
    raw = await raw_state(backend, "j1")
    assert raw["d/ssn"] == SECRET and raw["d/new"].startswith(MARKER + "fernet:k")
    got = await backend.store.get_job("j1")
    assert got is not None and got.state == {**job(), "d/new": {"x": SECRET}}


async def test_undecodable_state_at_the_engine_claim_fails_that_job_only(
    backend: Backend,
) -> None:
    register_codec(FernetCodec(key=KEY, key_id="old"))
    assert await backend.store.create_job("lost", job(), semaphore=1)
    register_codec(FernetCodec(key=FernetCodec.generate_key(), key_id="new"))
    assert await backend.store.create_job("fine", job(), semaphore=1)
    await backend.stream.publish(
        [
            OutgoingMessage("engine", {"step": 1}, job_id="lost"),
            OutgoingMessage("engine", {"step": 2}, job_id="fine"),
            OutgoingMessage("other", {"step": 3}, job_id="lost"),
        ]
    )
    got = await backend.stream.claim("engine", limit=10, with_job=True)
    assert [(m.job_id, m.payload) for m in got] == [("fine", {"step": 2})]
    assert got[0].job is not None and got[0].job.state == job()
    [dead] = await backend.stream.dead_letters("engine")
    assert dead.job_id == "lost" and dead.error is not None
    assert "job 'lost'" in dead.error and "'old'" in dead.error
    driver: Any = backend.driver  # type: ignore[attr-defined]
    sql = f"SELECT semaphore, state->'meta'->>'err' FROM {table(backend, 'jobs')} WHERE id = $1"
    semaphore, err = await driver.fetchrow(sql, "lost")
    assert semaphore < 0
    assert json.loads(err)["key_id"] == "old" and json.loads(err)["job_id"] == "lost"
    assert await backend.stream.claim("other") == [], "the failed job's messages are dropped"
    with pytest.raises(CodecError, match="'old'"):
        await backend.store.get_job("lost")


async def test_parked_signals_are_encoded(backend: Backend) -> None:
    register_codec(AesGcmCodec(key=AesGcmCodec.generate_key(), key_id="k9"))
    assert await backend.store.signal_hook("h:1", {"data": SECRET}, ttl=60) is None
    driver: Any = backend.driver  # type: ignore[attr-defined]
    raw = await driver.fetchval(f"SELECT value::text FROM {table(backend, 'hook_signals')}")
    assert SECRET not in raw and "aesgcm:k9." in raw
    parked = await backend.store.register_hook("h:1", {"jid": "j1"}, ttl=60)
    assert parked == {"data": SECRET}
    raw = await driver.fetchval(f"SELECT value::text FROM {table(backend, 'hook_signals')}")
    assert json.loads(raw) == {"jid": "j1"}, "hook targets (routing) stay clear"
