"""hotmesh.serializer: JSON payloads at rest, the codec marker, and codec registration."""

from __future__ import annotations

import math
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hotmesh.errors import CodecError, PayloadError
from hotmesh.serializer import (
    MARKER,
    current_codec,
    dumps_payload,
    loads_payload,
    register_codec,
)

pytestmark = pytest.mark.usefixtures("no_codec")


class Reverse:
    """A toy codec: reverses the text (so the JSON is unreadable as stored)."""

    def __init__(self, name: str = "rev") -> None:
        self.name = name

    def encode(self, text: str) -> str:
        return text[::-1]

    def decode(self, text: str) -> str:
        if not text.endswith("{"):
            raise CodecError("not reversed JSON", value=text[:8])
        return text[::-1]


class Nameless:
    def encode(self, text: str) -> str:
        return text

    def decode(self, text: str) -> str:
        return text


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(), children, max_size=4)
    ),
    max_leaves=20,
)
payloads = st.dictionaries(st.text(), json_values, max_size=6)
# no_codec (function-scoped) only needs to run once around the whole property.
QUIET = [HealthCheck.function_scoped_fixture]


@pytest.mark.parametrize(
    "payload",
    [
        {},
        {"": ""},
        {"text": "héllo ✓ 日本 🚀", "ключ": "значение"},
        {"nested": {"a": [1, 2.5, None, True, {"b": []}], "c": {"d": {"e": "deep"}}}},
        {"quote": 'he said "hi"\n\t\\', "nul": "a\x00b", "marker": MARKER},
    ],
)
def test_roundtrip(payload: dict[str, Any]) -> None:
    text = dumps_payload(payload)
    assert isinstance(text, str)
    assert "\x00" not in text, "Postgres text cannot hold NUL"
    assert loads_payload(text) == payload


@settings(database=None, max_examples=200, deadline=None, suppress_health_check=QUIET)
@given(payload=payloads)
def test_roundtrip_property(payload: dict[str, Any]) -> None:
    assert loads_payload(dumps_payload(payload)) == payload


@settings(database=None, max_examples=100, deadline=None, suppress_health_check=QUIET)
@given(payload=payloads)
def test_roundtrip_property_through_a_codec(payload: dict[str, Any]) -> None:
    register_codec(Reverse())
    try:
        text = dumps_payload(payload)
        assert text.startswith(MARKER + "rev:")
        assert loads_payload(text) == payload
    finally:
        register_codec(None)


def test_unicode_is_stored_as_is() -> None:
    assert dumps_payload({"k": "日本"}) == '{"k":"日本"}'


@pytest.mark.parametrize("payload", [[1, 2], "text", 3, None, ("a",)])
def test_non_dict_payload_is_rejected(payload: Any) -> None:
    with pytest.raises(PayloadError) as info:
        dumps_payload(payload)
    assert info.value.value == type(payload).__name__


@pytest.mark.parametrize(
    "bad",
    [{1, 2}, object(), math.nan, math.inf, -math.inf, b"bytes", {"nested": {("tuple", "key"): 1}}],
    ids=["set", "object", "nan", "inf", "-inf", "bytes", "tuple-key"],
)
def test_values_json_cannot_carry_are_rejected(bad: Any) -> None:
    with pytest.raises(PayloadError):
        dumps_payload({"v": bad})


def test_oversize_payload_is_rejected_with_its_size() -> None:
    payload = {"v": "x" * 100}
    size = len(dumps_payload(payload).encode())
    assert dumps_payload(payload, limit=size)
    with pytest.raises(PayloadError) as info:
        dumps_payload(payload, limit=size - 1)
    assert info.value.value == size


def test_limit_counts_utf8_bytes_not_characters() -> None:
    payload = {"v": "é" * 10}  # 10 characters, 20 bytes
    with pytest.raises(PayloadError):
        dumps_payload(payload, limit=len(dumps_payload(payload)))


def test_codec_output_carries_the_marker_and_name() -> None:
    register_codec(Reverse())
    assert current_codec() is not None
    text = dumps_payload({"secret": "plain"})
    assert text == MARKER + "rev:" + '{"secret":"plain"}'[::-1]
    assert loads_payload(text) == {"secret": "plain"}


def test_plain_data_still_reads_after_a_codec_is_registered() -> None:
    plain = dumps_payload({"a": 1})
    assert not plain.startswith(MARKER)
    register_codec(Reverse())
    assert loads_payload(plain) == {"a": 1}


def test_encoded_data_without_the_codec_is_a_codec_error() -> None:
    register_codec(Reverse("x"))
    text = dumps_payload({"a": 1})
    register_codec(None)
    with pytest.raises(CodecError) as info:
        loads_payload(text)
    assert info.value.value["codec"] == "x"


def test_encoded_data_read_with_another_codec_is_a_codec_error() -> None:
    register_codec(Reverse("x"))
    text = dumps_payload({"a": 1})
    register_codec(Reverse("y"))
    with pytest.raises(CodecError, match="'x'"):
        loads_payload(text)


def test_malformed_marker_is_a_codec_error() -> None:
    register_codec(Reverse())
    with pytest.raises(CodecError):
        loads_payload(MARKER + "no-separator")


def test_codec_decode_failure_propagates_as_codec_error() -> None:
    register_codec(Reverse())
    with pytest.raises(CodecError):
        loads_payload(MARKER + "rev:not reversed json")


@pytest.mark.parametrize("text", ["[1]", '"s"', "1", "null"])
def test_stored_non_object_is_a_payload_error(text: str) -> None:
    with pytest.raises(PayloadError):
        loads_payload(text)


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_stored_nan_is_a_payload_error(constant: str) -> None:
    with pytest.raises(PayloadError):
        loads_payload(f'{{"v": {constant}}}')


@pytest.mark.parametrize("codec", [Nameless(), Reverse(""), Reverse("a:b"), Reverse(7)])  # type: ignore[arg-type]
def test_register_codec_rejects_bad_names(codec: Any) -> None:
    register_codec(Reverse("kept"))
    with pytest.raises(CodecError):
        register_codec(codec)
    current = current_codec()
    assert current is not None and current.name == "kept", "a rejected codec must not replace"


def test_register_none_removes_the_codec() -> None:
    register_codec(Reverse())
    register_codec(None)
    assert current_codec() is None
    assert not dumps_payload({"a": 1}).startswith(MARKER)
