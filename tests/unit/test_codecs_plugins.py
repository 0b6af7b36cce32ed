"""hotmesh_codecs: the codec plugins, key rotation, chaining, and the value serializer."""

from __future__ import annotations

from typing import Any

import pytest

import hotmesh_codecs
from hotmesh import HotMesh
from hotmesh.errors import CodecError, CodecNotFound
from hotmesh.serializer import (
    MARKER,
    current_codec,
    decode_state,
    decode_value,
    encode_state,
    encode_value,
    key_id_of,
    loads_payload,
    register_codec,
)
from hotmesh_codecs import AesGcmCodec, ChainCodec, FernetCodec, GzipCodec, ZstdCodec, chain
from hotmesh_conformance.codecs import contract_codec

pytestmark = pytest.mark.usefixtures("no_codec")

TEXT = '{"card":"4111 1111 1111 1111","name":"Zoë"}'
KEYED = [AesGcmCodec, FernetCodec]


def test_every_codec_loads_by_name() -> None:
    assert {"gzip", "zstd", "fernet", "aesgcm", "chain"} <= set(hotmesh_codecs.names())
    assert isinstance(hotmesh_codecs.load("zstd", level=5), ZstdCodec)
    assert isinstance(hotmesh_codecs.load("fernet", key=FernetCodec.generate_key()), FernetCodec)
    assert isinstance(hotmesh_codecs.load("aesgcm", key=AesGcmCodec.generate_key()), AesGcmCodec)
    codec = hotmesh_codecs.load("chain", codecs=["gzip", {"name": "zstd", "level": 1}])
    assert codec.name == "gzip+zstd" and codec.decode(codec.encode(TEXT)) == TEXT


def test_unknown_codec_names_the_installed_ones() -> None:
    with pytest.raises(CodecNotFound, match="aesgcm"):
        hotmesh_codecs.load("rot26")


@pytest.mark.parametrize("cls", KEYED)
def test_a_keyed_codec_needs_a_key(cls: Any) -> None:
    with pytest.raises(CodecError, match="needs a key"):
        cls()


@pytest.mark.parametrize("cls", KEYED)
@pytest.mark.parametrize("bad", ["short", b"\x00" * 7, "!!!not base64!!!"])
def test_malformed_keys_are_rejected(cls: Any, bad: Any) -> None:
    with pytest.raises(CodecError, match="bytes"):
        cls(key=bad)


@pytest.mark.parametrize("cls", KEYED)
def test_key_ids_are_checked(cls: Any) -> None:
    with pytest.raises(CodecError, match="key ids"):
        cls(key=cls.generate_key(), key_id="has.dot")
    with pytest.raises(CodecError, match="'k3'"):
        cls(keys={"k1": cls.generate_key()}, current="k3")


@pytest.mark.parametrize("cls", KEYED)
def test_default_key_id_is_a_stable_fingerprint(cls: Any) -> None:
    key = cls.generate_key()
    assert cls(key=key).current_key_id == cls(key=key).current_key_id
    assert cls(key=key).current_key_id != cls(key=cls.generate_key()).current_key_id


@pytest.mark.parametrize("cls", KEYED)
def test_rotation_old_data_reads_with_old_key_new_data_uses_new(cls: Any) -> None:
    k1, k2 = cls.generate_key(), cls.generate_key()
    before = cls(key=k1, key_id="k1").encode(TEXT)
    rotated = cls(keys={"k1": k1, "k2": k2})
    assert rotated.current_key_id == "k2" and rotated.key_ids == ["k1", "k2"]
    after = rotated.encode(TEXT)
    assert key_id_of(before) == "k1" and key_id_of(after) == "k2"
    assert rotated.decode(before) == rotated.decode(after) == TEXT
    retired = cls(key=k2, key_id="k2")  # k1 retired: its data no longer reads
    with pytest.raises(CodecError, match="'k1'") as info:
        retired.decode(before)
    assert info.value.value == {"key_id": "k1"}


@pytest.mark.parametrize("cls", KEYED)
def test_wrong_key_under_the_same_id_is_a_codec_error(cls: Any) -> None:
    stored = cls(key=cls.generate_key(), key_id="k1").encode(TEXT)
    with pytest.raises(CodecError, match="wrong key") as info:
        cls(key=cls.generate_key(), key_id="k1").decode(stored)
    assert info.value.value == {"key_id": "k1"}


@pytest.mark.parametrize("cls", KEYED)
def test_encryption_is_randomised(cls: Any) -> None:
    codec = cls(key=cls.generate_key())
    assert codec.encode(TEXT) != codec.encode(TEXT)


def test_aesgcm_binds_the_key_id_to_the_ciphertext() -> None:
    key = AesGcmCodec.generate_key()
    codec = AesGcmCodec(keys={"a": key, "b": key}, current="a")
    swapped = "b" + codec.encode(TEXT)[1:]
    with pytest.raises(CodecError, match="'b'"):
        codec.decode(swapped)


def test_aesgcm_accepts_raw_and_base64_keys_of_every_size() -> None:
    for size in (16, 24, 32):
        raw = bytes(range(size))
        assert AesGcmCodec(key=raw).current_key_id == AesGcmCodec(key=raw).current_key_id
        codec = AesGcmCodec(key=AesGcmCodec.generate_key(size * 8))
        assert codec.decode(codec.encode(TEXT)) == TEXT


@pytest.mark.parametrize("name", ["gzip", "zstd", "fernet", "aesgcm", "chain"])
def test_truncated_output_is_a_codec_error(name: str) -> None:
    codec = contract_codec(name)
    encoded = codec.encode("some text that is long enough to be cut " * 4)
    with pytest.raises(CodecError):
        codec.decode(encoded[: len(encoded) // 2])


@pytest.mark.parametrize("level", [0, 23])
def test_zstd_level_is_checked(level: int) -> None:
    with pytest.raises(CodecError, match="level"):
        ZstdCodec(level=level)


def test_compression_shrinks_repetitive_payloads() -> None:
    big = '{"rows":[' + ",".join(['{"sku":"ABC-123","qty":1}'] * 500) + "]}"
    for codec in (GzipCodec(), ZstdCodec()):
        assert len(codec.encode(big)) < len(big) / 10


def test_chain_compresses_then_encrypts_and_reverses() -> None:
    aes = AesGcmCodec(key=AesGcmCodec.generate_key(), key_id="k1")
    codec = chain("zstd", aes)
    assert isinstance(codec, ChainCodec) and codec.name == "zstd+aesgcm"
    stored = codec.encode(TEXT * 50)
    assert key_id_of(stored) == "k1", "the encrypting codec is outermost"
    assert aes.decode(stored) != TEXT * 50, "the inner layer is compressed"
    assert codec.decode(stored) == TEXT * 50


@pytest.mark.parametrize("parts", [[], [42], [{"level": 1}]])
def test_chain_rejects_bad_parts(parts: list[Any]) -> None:
    with pytest.raises(CodecError):
        ChainCodec(parts)


def test_hotmesh_register_codec_is_process_wide() -> None:
    codec = GzipCodec()
    HotMesh.register_codec(codec)
    assert current_codec() is codec
    HotMesh.register_codec(None)
    assert current_codec() is None


# -- the value serializer ------------------------------------------------------------------


@pytest.mark.parametrize("value", [None, True, 0, -1.5, "", "ü", [1, {"a": None}], {"k": []}])
def test_values_roundtrip_with_and_without_a_codec(value: Any) -> None:
    assert decode_value(encode_value(value)) == value
    register_codec(GzipCodec())
    stored = encode_value(value)
    assert isinstance(stored, str) and stored.startswith(MARKER + "gzip:")
    assert decode_value(stored) == value


def test_a_plain_string_starting_with_the_marker_is_escaped() -> None:
    tricky = MARKER + "gzip:H4sI"
    stored = encode_value(tricky)
    assert stored == MARKER + ":" + '"' + "\\u001ehm:gzip:H4sI" + '"'
    assert decode_value(stored) == tricky


def test_state_keeps_meta_and_flags_clear() -> None:
    register_codec(GzipCodec())
    state = {"meta": {"jid": "j"}, "-cancelled-": "1", "d/x": 1, "a/t1,0": {}, "_s": "v"}
    stored = encode_state(state)
    assert stored["meta"] == {"jid": "j"} and stored["-cancelled-"] == "1"
    assert all(stored[k].startswith(MARKER) for k in ("d/x", "a/t1,0", "_s"))
    assert decode_state(stored, job_id="j") == state


def test_decode_errors_name_the_job_field_codec_and_key() -> None:
    register_codec(AesGcmCodec(key=AesGcmCodec.generate_key(), key_id="k1"))
    stored = encode_state({"d/x": 1})
    register_codec(AesGcmCodec(key=AesGcmCodec.generate_key(), key_id="k2"))
    with pytest.raises(CodecError) as info:
        decode_state(stored, job_id="job-7")
    assert "'job-7'" in str(info.value) and "'k1'" in str(info.value)
    assert info.value.value == {
        "codec": "aesgcm",
        "key_id": "k1",
        "job_id": "job-7",
        "field": "d/x",
    }
    register_codec(None)
    with pytest.raises(CodecError, match="not registered") as missing:
        decode_state(stored, job_id="job-7")
    assert missing.value.value["key_id"] == "k1", "named even without the codec"


def test_a_codec_raising_a_foreign_exception_becomes_a_codec_error() -> None:
    class Broken:
        name = "broken"

        def encode(self, text: str) -> str:
            return text

        def decode(self, text: str) -> str:
            raise ValueError("boom")

    register_codec(Broken())
    with pytest.raises(CodecError, match="ValueError: boom") as info:
        loads_payload(MARKER + "broken:{}", job_id="j9")
    assert info.value.value["job_id"] == "j9" and info.value.value["field"] == "payload"


@pytest.mark.parametrize(
    ("body", "key_id"),
    [("k1.abc", "k1"), ("H4sIAAAA+/=", None), ("no-dot", None), ("." + "x", None)],
)
def test_key_id_of(body: str, key_id: str | None) -> None:
    assert key_id_of(body) == key_id
