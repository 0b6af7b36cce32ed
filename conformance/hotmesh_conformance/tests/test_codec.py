"""Codec contract, for every installed codec plugin (or those named by --hotmesh-codec).

Any codec plugin can run it: ``python -m hotmesh_conformance --provider asyncpg
--hotmesh-codec NAME -k codec``. A codec needing options offers ``conformance_instance()``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from hotmesh import serializer
from hotmesh.errors import CodecError
from hotmesh.spi import Backend, Codec, OutgoingMessage
from hotmesh_conformance.codecs import contract_codec, installed_codecs

SAMPLES = [
    "",
    "a",
    "héllo ✓ 日本 🚀",
    "x" * 100_000,
    '{"json": [1, 2, {"a": null}]}',
    "\n\t\\",
    "\x1e\x01 control",
    "\ud7ff\ue000 edge of the BMP \U0010ffff",
]
CANARY = "conformance-canary-4111111111111111"


@pytest.fixture
def codec(hotmesh_codec: str) -> Codec:
    return contract_codec(hotmesh_codec)


@pytest.fixture
def registered(codec: Codec) -> Iterator[Codec]:
    serializer.register_codec(codec)
    try:
        yield codec
    finally:
        serializer.register_codec(None)


def test_at_least_one_codec_is_installed() -> None:
    assert installed_codecs(), "no codec plugin found through the hotmesh.codecs entry points"


@pytest.mark.parametrize("text", SAMPLES, ids=range(len(SAMPLES)))
def test_roundtrip(codec: Codec, text: str) -> None:
    encoded = codec.encode(text)
    assert isinstance(encoded, str) and "\x00" not in encoded
    encoded.encode("utf-8")  # storable as Postgres text: no lone surrogates
    assert codec.decode(encoded) == text


def test_decode_is_deterministic_and_repeatable(codec: Codec) -> None:
    encoded = codec.encode("same text")
    assert codec.decode(encoded) == codec.decode(encoded) == "same text"


def test_foreign_input_is_a_codec_error(codec: Codec) -> None:
    with pytest.raises(CodecError):
        codec.decode("this was never encoded by the codec ☃")


def test_name_is_a_marker_safe_string(codec: Codec) -> None:
    assert isinstance(codec.name, str) and codec.name and ":" not in codec.name
    assert codec.name.isprintable() and not codec.name.isspace()


def test_registers_through_the_serializer(registered: Codec) -> None:
    stored = serializer.dumps_payload({"card": CANARY})
    assert stored.startswith(f"{serializer.MARKER}{registered.name}:")
    assert serializer.loads_payload(stored) == {"card": CANARY}
    state = {"meta": {"jid": "j1"}, "d/card": CANARY, "a/w1,0": {"output": [1, None, "ü"]}}
    at_rest = serializer.encode_state(state)
    assert at_rest["meta"] == {"jid": "j1"}, "routing metadata stays clear"
    json.dumps(at_rest)  # still a JSON object, key by key
    assert serializer.decode_state(at_rest, job_id="j1") == state


async def test_payloads_through_the_codec(backend: Backend, registered: Codec) -> None:
    payload = {"card": "4111 1111 1111 1111", "n": 1}
    await backend.stream.publish([OutgoingMessage("s", payload)])
    [got] = await backend.stream.claim("s")
    assert got.payload == payload


async def test_job_state_through_the_codec(backend: Backend, registered: Codec) -> None:
    state: dict[str, Any] = {"meta": {"jid": "j1"}, "d/card": CANARY, "d/n": 2}
    assert await backend.store.create_job("j1", state, semaphore=1)
    job = await backend.store.get_job("j1")
    assert job is not None and job.state == state


async def test_plain_and_encoded_payloads_coexist(backend: Backend, codec: Codec) -> None:
    await backend.stream.publish([OutgoingMessage("s", {"plain": 1})])
    serializer.register_codec(codec)
    try:
        await backend.stream.publish([OutgoingMessage("s", {"encoded": 2})])
        got = await backend.stream.claim("s", limit=5)
        assert [m.payload for m in got] == [{"plain": 1}, {"encoded": 2}]
    finally:
        serializer.register_codec(None)


async def test_encoded_payload_without_its_codec_is_dead_lettered(
    backend: Backend, codec: Codec
) -> None:
    serializer.register_codec(codec)
    try:
        await backend.stream.publish([OutgoingMessage("s", {"secret": 1})])
    finally:
        serializer.register_codec(None)
    await backend.stream.publish([OutgoingMessage("s", {"plain": 2})])
    got = await backend.stream.claim("s", limit=5)
    assert [m.payload for m in got] == [{"plain": 2}], "undecodable messages are not delivered"
    [dead] = await backend.stream.dead_letters("s")
    assert dead.error is not None and codec.name in dead.error


async def test_job_whose_state_cannot_be_decoded_is_closed_as_failed(
    backend: Backend, codec: Codec
) -> None:
    """Retrying cannot bring a key back: the message is dead-lettered, the job fails."""
    store, stream = backend.store, backend.stream
    serializer.register_codec(codec)
    try:
        first = [OutgoingMessage("engine", {"go": 1}, job_id="j")]
        await store.create_job("j", {"meta": {"jid": "j"}, "d/card": CANARY}, semaphore=1,
                               messages=first)  # fmt: skip
    finally:
        serializer.register_codec(None)
    await stream.publish([OutgoingMessage("timers", {"t": 1}, job_id="j", delay=120)])
    assert await stream.claim("engine", with_job=True) == []
    [dead] = await stream.dead_letters("engine")
    assert dead.job_id == "j" and dead.error is not None and codec.name in dead.error
    status = await store.get_status("j")
    assert status is not None and status < 0, "closed as failed, like an interrupted job"
    assert (await stream.depth(["timers"]))["timers"].total == 0, "its pending work is dropped"
