"""How values are encoded at rest, and the process-wide codec.

A payload is stored as JSON text. When a codec is registered, the JSON is passed through
it and prefixed with a marker naming the codec, so plain and encoded values coexist: data
written before a codec was registered still reads after, and encoded data names the codec
that must read it.

JSON is written and read with orjson when it gives the same result as the json module,
and by the json module otherwise (:func:`json_text`, :func:`json_value`), so what is stored
and what is refused do not depend on which one ran.

Job state is stored value by value (:func:`encode_state`): keys stay clear, so Postgres can
merge a step's writes key by key, and routing values (``meta``) stay clear too.

Example:
    >>> from hotmesh.serializer import dumps_payload, loads_payload
    >>> loads_payload(dumps_payload({"id": 1}))
    {'id': 1}
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from typing import Any

import orjson

from hotmesh.errors import CodecError, PayloadError
from hotmesh.spi.codec import Codec
from hotmesh.validation import check_depth, check_payload

__all__ = [
    "MARKER",
    "MAX_PAYLOAD_BYTES",
    "codec_failure",
    "current_codec",
    "decode_state",
    "decode_value",
    "dumps_payload",
    "encode_state",
    "encode_value",
    "is_clear_key",
    "json_text",
    "json_value",
    "key_id_of",
    "loads_payload",
    "payload_text",
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


# Everything orjson would write differently from the json module goes to ``default``
# (subclasses of str/int/dict/list, datetimes, dataclasses), which sends it to json.
_ORJSON_OPTIONS = (
    orjson.OPT_PASSTHROUGH_SUBCLASS
    | orjson.OPT_PASSTHROUGH_DATETIME
    | orjson.OPT_PASSTHROUGH_DATACLASS
)


def _to_json_module(value: Any) -> Any:
    raise TypeError(type(value).__name__)


def _fast_json(value: Any) -> bytes | None:
    """orjson's compact UTF-8 JSON of ``value`` when the json module would write the same."""
    try:
        data = orjson.dumps(value, default=_to_json_module, option=_ORJSON_OPTIONS)
    except TypeError:  # orjson.JSONEncodeError: non-str keys, huge ints, surrogates, depth
        return None
    # orjson writes NaN and infinities as null where json refuses them: let json decide
    # when there is such a float (a null in the text is usually a None or a string).
    if b"null" in data and _not_finite(value):
        return None
    return data


def _not_finite(value: Any) -> bool:
    """Whether a NaN or an infinity is anywhere in a JSON-shaped ``value``.

    Iterative, and by exact type: plain dicts and lists only (what orjson writes; it sends
    subclasses to ``default``, which refuses them).
    """
    stack = [value]
    while stack:
        item = stack.pop()
        kind = type(item)
        if kind is dict:
            stack.extend(item.values())
        elif kind is list or kind is tuple:
            stack.extend(item)
        elif kind is float and not math.isfinite(item):
            return True
    return False


def json_text(value: Any) -> str:
    """Compact JSON text, exactly as ``json.dumps(value, separators=(",", ":"),
    ensure_ascii=False, allow_nan=False)`` means it (faster: orjson when it agrees).

    Raises:
        TypeError: a value JSON cannot carry.
        ValueError: NaN or an infinity.

    Example:
        >>> json_text({"a": [1, "é", None], 2: True})
        '{"a":[1,"é",null],"2":true}'
    """
    data = _fast_json(value)
    if data is None:
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    return data.decode("utf-8")


#: Every digit as "0": a run of 19 zeros in the mapped text is a run of 19 digits.
_DIGITS_AS_ZERO = bytes.maketrans(b"123456789", b"000000000")
_LONG_RUN = b"0" * 19


def json_value(text: str) -> Any:
    """Parse JSON text as ``json.loads`` does, refusing ``NaN`` and ``Infinity``.

    orjson parses it when it can; what orjson refuses or reads differently (integers of 19
    digits or more, lone surrogate escapes, the constants) goes to the json module.

    Raises:
        PayloadError: the text holds ``NaN``, ``Infinity`` or ``-Infinity``.
        ValueError: the text is not JSON.

    Example:
        >>> json_value('{"n": 1, "big": 123456789012345678901234567890}')
        {'n': 1, 'big': 123456789012345678901234567890}
    """
    # orjson reads integers past 64 bits as floats: leave any run of 19 digits to json.
    # (Found by mapping every digit to "0" and searching for 19 of them: a tenth of the
    # time of a regular expression, which tries each digit as a start.)
    if _LONG_RUN not in text.encode("utf-8", "surrogatepass").translate(_DIGITS_AS_ZERO):
        try:
            return orjson.loads(text)
        except orjson.JSONDecodeError:
            pass
    return json.loads(text, parse_constant=_reject_nan)


def payload_text(payload: dict[str, Any], *, limit: int = MAX_PAYLOAD_BYTES) -> str:
    """The JSON text a payload is stored as (before any codec), checked as storing it is.

    Raises:
        PayloadError: ``payload`` is not a JSON object, holds a value JSON cannot carry, or
            is larger than ``limit`` bytes.

    Example:
        >>> payload_text({"id": 1})
        '{"id":1}'
    """
    if not isinstance(payload, dict):
        raise PayloadError(
            f"a payload must be a JSON object (dict), got {type(payload).__name__}",
            value=type(payload).__name__,
        )
    data = _fast_json(payload)
    if data is not None:
        text, size = data.decode("utf-8"), len(data)
    else:
        try:
            text = json.dumps(payload, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
        except (TypeError, ValueError, RecursionError) as err:
            check_payload(payload, "payload")  # raises naming the bad field when it finds it
            raise PayloadError(f"payload is not JSON-serialisable: {err}", value=str(err)) from err
        size = len(text.encode("utf-8"))
    if size > limit:
        raise PayloadError(f"payload is {size} bytes; the limit is {limit} bytes", value=size)
    if "\x00" in text:
        # Postgres text cannot hold NUL; JSON escapes it, so this only guards codecs' input.
        raise PayloadError("payload contains a NUL character", value="\\u0000")
    return text


def dumps_payload(payload: dict[str, Any], *, limit: int = MAX_PAYLOAD_BYTES) -> str:
    """Encode a JSON object for storage (:func:`payload_text`, then the codec when one is
    registered).

    Raises:
        PayloadError: ``payload`` is not a JSON object, holds a value JSON cannot carry, or
            is larger than ``limit`` bytes.
    """
    text = payload_text(payload, limit=limit)
    codec = _codec
    if codec is None:
        return text
    return f"{MARKER}{codec.name}:{codec.encode(text)}"


def loads_payload(text: str, *, job_id: str | None = None) -> dict[str, Any]:
    """Decode what :func:`dumps_payload` produced, whichever codec was active then.

    ``job_id`` (the message's job) is named in a :class:`CodecError`.

    Raises:
        CodecError: the value was encoded by a codec that is not registered here, or the
            codec could not decode it (wrong or missing key, corrupt data).
    """
    if text.startswith(MARKER):
        text = _unmark(text, job_id=job_id, field="payload")
    value = json_value(text)
    if not isinstance(value, dict):
        raise PayloadError("stored payload is not a JSON object", value=type(value).__name__)
    return value


# -- values of job state ------------------------------------------------------------------


def is_clear_key(key: str) -> bool:
    """Whether the state value under ``key`` is kept clear (never encoded).

    ``meta`` (ids, topics, times, status: what routes a job), the flag keys that start
    with ``-`` and the step counters ``f/…`` (the engine's per-activity fences) stay
    clear; every other value (job data ``d/…``, activity records ``a/…``, search fields)
    goes through the codec.

    Example:
        >>> is_clear_key("meta"), is_clear_key("-cancelled-"), is_clear_key("d/card")
        (True, True, False)
    """
    return key == "meta" or key.startswith(("-", "f/"))


def encode_value(value: Any) -> Any:
    """A JSON value as stored: through the codec (as a marked string) when one is registered.

    Without a codec the value is stored as it is, except a string that itself starts with
    the marker, which is escaped (marker with an empty codec name) so it reads back intact.

    Raises:
        PayloadError: ``value`` is not JSON-serialisable.

    Example:
        >>> encode_value({"n": 1})
        {'n': 1}
        >>> decode_value(encode_value(MARKER + "x")) == MARKER + "x"
        True
    """
    codec = _codec
    if codec is None:
        if isinstance(value, str) and value.startswith(MARKER):
            return f"{MARKER}:{_text(value)}"
        return value
    return f"{MARKER}{codec.name}:{codec.encode(_text(value))}"


def decode_value(value: Any, *, job_id: str | None = None, field: str | None = None) -> Any:
    """Reverse :func:`encode_value` (plain values pass through unchanged).

    Raises:
        CodecError: the value was encoded by a codec that is not registered here, or the
            codec could not decode it; the message and ``.value`` name ``job_id``, ``field``,
            the codec and the key id.

    Example:
        >>> decode_value({"n": 1})
        {'n': 1}
    """
    if not (isinstance(value, str) and value.startswith(MARKER)):
        return value
    return json_value(_unmark(value, job_id=job_id, field=field))


def encode_state(state: Mapping[str, Any]) -> dict[str, Any]:
    """A job's state as stored: every value but the clear ones (:func:`is_clear_key`) encoded.

    Keys stay clear, so Postgres merges states key by key (``state || delta``).

    Example:
        >>> encode_state({"meta": {"jid": "j1"}, "d/total": 3})
        {'meta': {'jid': 'j1'}, 'd/total': 3}
    """
    if _codec is None:  # only a string can need escaping: no call for the other values
        return {
            k: encode_value(v) if isinstance(v, str) and not is_clear_key(k) else v
            for k, v in state.items()
        }
    return {k: v if is_clear_key(k) else encode_value(v) for k, v in state.items()}


def decode_state(state: Mapping[str, Any], *, job_id: str | None = None) -> dict[str, Any]:
    """Reverse :func:`encode_state`.

    Raises:
        CodecError: a value cannot be decoded; names the job, the field and the key id.

    Example:
        >>> decode_state(encode_state({"d/a": [1, 2]}), job_id="j1")
        {'d/a': [1, 2]}
    """
    return {
        k: decode_value(v, job_id=job_id, field=k) if isinstance(v, str) else v
        for k, v in state.items()
    }


def _text(value: Any) -> str:
    try:
        return json_text(value)
    except (TypeError, ValueError, RecursionError) as err:
        check_depth(value, "value")
        raise PayloadError(f"value is not JSON-serialisable: {err}", value=str(err)) from err


_KEY_ID = re.compile(r"([A-Za-z0-9_-]{1,64})\.")


def key_id_of(body: str) -> str | None:
    """The key id a keyed codec wrote in front of its output (``<key id>.<data>``), if any.

    Codecs that use keys follow this convention so that errors can name the key even in a
    process that does not have the codec.

    Example:
        >>> key_id_of("k2.c2VjcmV0"), key_id_of("H4sIAAAA")
        ('k2', None)
    """
    found = _KEY_ID.match(body)
    return found.group(1) if found else None


def _unmark(text: str, *, job_id: str | None, field: str | None) -> str:
    """The plain JSON text of a marked value."""
    name, sep, body = text[len(MARKER) :].partition(":")
    if not sep:
        raise _codec_error("stored value has a malformed codec marker", None, None, job_id, field)
    if not name:
        return body  # an escaped plain value
    codec = _codec
    key_id = key_id_of(body)
    if codec is None or codec.name != name:
        raise _codec_error(
            f"stored value was encoded with codec {name!r}, which is not registered",
            name,
            key_id,
            job_id,
            field,
        )
    try:
        return codec.decode(body)
    except Exception as err:
        detail = err.message if isinstance(err, CodecError) else f"{type(err).__name__}: {err}"
        if isinstance(err, CodecError) and isinstance(err.value, Mapping):
            key_id = err.value.get("key_id", key_id)
        raise _codec_error(
            f"codec {name!r} cannot decode it: {detail}", name, key_id, job_id, field
        ) from err


def _codec_error(
    problem: str, codec: str | None, key_id: str | None, job_id: str | None, field: str | None
) -> CodecError:
    where = f"job {job_id!r}" if job_id else "a value"
    if field:
        where += f", field {field!r}"
    key = f" (key id {key_id!r})" if key_id and repr(key_id) not in problem else ""
    return CodecError(
        f"{where}: {problem}{key}",
        value={"codec": codec, "key_id": key_id, "job_id": job_id, "field": field},
    )


def codec_failure(job_id: str, err: CodecError) -> str:
    """The job's ``err`` metadata (JSON text, as the engine stores errors) for a codec failure.

    Providers write it into a job whose stored values cannot be decoded, when they close
    that job instead of retrying it forever.

    Example:
        >>> json.loads(codec_failure("j1", CodecError("no key")))["job_id"]
        'j1'
    """
    detail = err.value if isinstance(err.value, dict) else {}
    return json.dumps(
        {
            "code": err.code,
            "message": err.message,
            "stack": "",
            "job_id": job_id,
            "key_id": detail.get("key_id"),
            "codec": detail.get("codec"),
        },
        separators=(",", ":"),
    )
