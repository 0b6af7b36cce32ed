"""How values are encoded at rest, and the process-wide codec.

A payload is stored as JSON text. When a codec is registered, the JSON is passed through
it and prefixed with a marker naming the codec, so plain and encoded values coexist: data
written before a codec was registered still reads after, and encoded data names the codec
that must read it.

Example:
    >>> from hotmesh.serializer import dumps_payload, loads_payload
    >>> loads_payload(dumps_payload({"id": 1}))
    {'id': 1}
"""

from __future__ import annotations

import json
from typing import Any

from hotmesh.errors import CodecError, PayloadError
from hotmesh.spi.codec import Codec

__all__ = [
    "MARKER",
    "MAX_PAYLOAD_BYTES",
    "current_codec",
    "dumps_payload",
    "loads_payload",
    "register_codec",
]

#: Prefix of an encoded value: ``MARKER + codec.name + ":" + codec output``.
MARKER = "\x1ehm:"
#: The largest JSON payload a stream message may carry.
MAX_PAYLOAD_BYTES = 16 * 1024 * 1024

_codec: Codec | None = None


def register_codec(codec: Codec | None) -> None:
    """Set the process-wide codec (``None`` removes it).

    Example:
        >>> register_codec(None)
    """
    global _codec
    if codec is not None:
        name = getattr(codec, "name", None)
        if not isinstance(name, str) or not name or ":" in name:
            raise CodecError(f"a codec needs a non-empty name without ':', got {name!r}")
    _codec = codec


def current_codec() -> Codec | None:
    """The registered codec, if any."""
    return _codec


def _reject_nan(value: str) -> Any:
    raise PayloadError(f"payload contains {value}, which is not valid JSON", value=value)


def dumps_payload(payload: dict[str, Any], *, limit: int = MAX_PAYLOAD_BYTES) -> str:
    """Encode a JSON object for storage (through the codec when one is registered).

    Raises:
        PayloadError: ``payload`` is not a JSON object, holds a value JSON cannot carry, or
            is larger than ``limit`` bytes.
    """
    if not isinstance(payload, dict):
        raise PayloadError(
            f"a payload must be a JSON object (dict), got {type(payload).__name__}",
            value=type(payload).__name__,
        )
    try:
        text = json.dumps(payload, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError) as err:
        raise PayloadError(f"payload is not JSON-serialisable: {err}", value=str(err)) from err
    size = len(text.encode("utf-8"))
    if size > limit:
        raise PayloadError(f"payload is {size} bytes; the limit is {limit} bytes", value=size)
    if "\x00" in text:
        # Postgres text cannot hold NUL; JSON escapes it, so this only guards codecs' input.
        raise PayloadError("payload contains a NUL character", value="\\u0000")
    codec = _codec
    if codec is None:
        return text
    return f"{MARKER}{codec.name}:{codec.encode(text)}"


def loads_payload(text: str) -> dict[str, Any]:
    """Decode what :func:`dumps_payload` produced, whichever codec was active then.

    Raises:
        CodecError: the value was encoded by a codec that is not registered here, or the
            codec could not decode it.
    """
    if text.startswith(MARKER):
        name, sep, body = text[len(MARKER) :].partition(":")
        codec = _codec
        if not sep:
            raise CodecError("stored value has a malformed codec marker", value=text[:32])
        if codec is None or codec.name != name:
            raise CodecError(
                f"stored value was encoded with codec {name!r}, which is not registered",
                value=name,
            )
        text = codec.decode(body)
    value = json.loads(text, parse_constant=_reject_nan)
    if not isinstance(value, dict):
        raise PayloadError("stored payload is not a JSON object", value=type(value).__name__)
    return value
