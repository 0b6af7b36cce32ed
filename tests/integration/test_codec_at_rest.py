"""What a registered codec does to payloads at rest, read straight from the table."""

from __future__ import annotations

from typing import Any

import pytest

from hotmesh.serializer import MARKER, register_codec
from hotmesh.spi import Backend, OutgoingMessage
from hotmesh_codecs.gzip import GzipCodec
from hotmesh_postgres.naming import quote_ident, schema_name

pytestmark = pytest.mark.usefixtures("no_codec")

CANARY = "plaintext-canary-7f3a Ünïcode ✓ " * 3


async def stored_payloads(backend: Backend) -> list[str]:
    table = f"{quote_ident(schema_name(backend.app_id))}.stream_messages"
    driver: Any = backend.driver  # type: ignore[attr-defined]
    return [row[0] for row in await driver.fetch(f"SELECT payload FROM {table} ORDER BY id")]


async def test_gzip_codec_hides_plaintext_at_rest(backend: Backend) -> None:
    register_codec(GzipCodec())
    payload = {"secret": CANARY, "n": 1}
    await backend.stream.publish([OutgoingMessage("s", payload)])
    [raw] = await stored_payloads(backend)
    assert raw.startswith(MARKER + "gzip:")
    assert "plaintext-canary" not in raw
    assert "secret" not in raw
    [got] = await backend.stream.claim("s")
    assert got.payload == payload


async def test_without_codec_the_plaintext_is_stored(backend: Backend) -> None:
    payload = {"secret": CANARY}
    await backend.stream.publish([OutgoingMessage("s", payload)])
    [raw] = await stored_payloads(backend)
    assert CANARY in raw
    assert not raw.startswith(MARKER)
    [got] = await backend.stream.claim("s")
    assert got.payload == payload


async def test_plain_and_encoded_rows_coexist(backend: Backend) -> None:
    await backend.stream.publish([OutgoingMessage("s", {"i": 0})])
    register_codec(GzipCodec())
    await backend.stream.publish([OutgoingMessage("s", {"i": 1})])
    plain, packed = await stored_payloads(backend)
    assert (plain.startswith(MARKER), packed.startswith(MARKER)) == (False, True)
    claimed = await backend.stream.claim("s", limit=2)
    assert [m.payload for m in claimed] == [{"i": 0}, {"i": 1}]


async def test_rows_unreadable_without_the_codec_keep_their_stored_bytes(
    backend: Backend,
) -> None:
    register_codec(GzipCodec())
    await backend.stream.publish([OutgoingMessage("s", {"secret": CANARY})])
    [raw] = await stored_payloads(backend)
    register_codec(None)
    assert await backend.stream.claim("s") == [], "an undecodable message is not delivered"
    [dead] = await backend.stream.dead_letters("s")
    assert "gzip" in (dead.error or "")
    table = f"{quote_ident(schema_name(backend.app_id))}.dead_letters"
    driver: Any = backend.driver  # type: ignore[attr-defined]
    assert await driver.fetchval(f"SELECT payload FROM {table}") == raw, "bytes kept as stored"
    register_codec(GzipCodec())
    [readable] = await backend.stream.dead_letters("s")
    assert readable.payload == {"secret": CANARY}
