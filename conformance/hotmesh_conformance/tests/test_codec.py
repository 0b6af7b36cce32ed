"""Codec contract, for every installed codec plugin, and codecs on stream payloads."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from hotmesh import serializer
from hotmesh.errors import CodecError
from hotmesh.plugins import codec_names, load_codec
from hotmesh.spi import Backend, Codec, OutgoingMessage

SAMPLES = ["", "a", "héllo ✓ 日本 🚀", "x" * 100_000, '{"json": [1, 2, {"a": null}]}', "\n\t\\"]


@pytest.fixture(params=codec_names())
def codec(request: pytest.FixtureRequest) -> Codec:
    return load_codec(request.param)


@pytest.fixture
def registered(codec: Codec) -> Iterator[Codec]:
    serializer.register_codec(codec)
    try:
        yield codec
    finally:
        serializer.register_codec(None)


def test_at_least_one_codec_is_installed() -> None:
    assert codec_names(), "no codec plugin found through the hotmesh.codecs entry points"


@pytest.mark.parametrize("text", SAMPLES, ids=range(len(SAMPLES)))
def test_roundtrip(codec: Codec, text: str) -> None:
    encoded = codec.encode(text)
    assert isinstance(encoded, str) and "\x00" not in encoded
    assert codec.decode(encoded) == text


def test_foreign_input_is_a_codec_error(codec: Codec) -> None:
    with pytest.raises(CodecError):
        codec.decode("this was never encoded by the codec ☃")


def test_name_is_a_marker_safe_string(codec: Codec) -> None:
    assert isinstance(codec.name, str) and codec.name and ":" not in codec.name


async def test_payloads_through_the_codec(backend: Backend, registered: Codec) -> None:
    payload = {"card": "4111 1111 1111 1111", "n": 1}
    await backend.stream.publish([OutgoingMessage("s", payload)])
    [got] = await backend.stream.claim("s")
    assert got.payload == payload


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
