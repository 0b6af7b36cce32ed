"""The value model the catalog shares: JSON values plus ``undefined``, with JS coercions.

Mapping rules were written against a JavaScript engine, so the catalog keeps the
observable JS rules where YAML authors depend on them: truthiness (``[]`` and ``{}`` are
truthy), operand-returning ``and``/``or``, loose ``==``, number-to-string formatting
(``5.0`` prints as ``5``) and 32-bit bitwise arithmetic. Everything is expressed on
plain Python values: ``None`` is JS ``null``, ``int``/``float`` (never ``bool``) are
numbers, ``list``/``dict`` are arrays/objects and :data:`UNDEFINED` stands for a value
that is absent (a reference that walks off the data, ``{@symbol.undefined}``...).
"""

from __future__ import annotations

import copy
import math
import re
from datetime import datetime
from decimal import Decimal
from typing import Any, Final

__all__ = [
    "UNDEFINED",
    "Undefined",
    "copy_value",
    "get_property",
    "is_nullish",
    "is_number",
    "js_type",
    "less_than",
    "loose_eq",
    "normalize_number",
    "strict_eq",
    "to_int32",
    "to_integer",
    "to_number",
    "to_property_key",
    "to_string",
    "to_uint32",
    "truthy",
]


_ATOMS: Final = frozenset({str, int, float, bool, type(None)})


def copy_value(value: Any) -> Any:
    """A deep copy of a JSON-shaped value (dicts, lists and atoms; anything else is
    deep-copied the slow way). Several times faster than ``copy.deepcopy`` on the
    payloads and records a step copies.

    Example:
        >>> source = {"a": [1, {"b": 2}]}
        >>> copied = copy_value(source)
        >>> copied == source, copied["a"] is source["a"]
        (True, False)
    """
    kind = type(value)
    if kind is dict:
        return {key: copy_value(item) for key, item in value.items()}
    if kind is list:
        return [copy_value(item) for item in value]
    if kind in _ATOMS:
        return value
    return copy.deepcopy(value)


class Undefined:
    """The type of :data:`UNDEFINED`, the "no value at all" marker (JS ``undefined``).

    It is falsy, equal only to itself, and survives ``copy.deepcopy`` as the same object.

    Example:
        >>> bool(UNDEFINED), repr(UNDEFINED)
        (False, 'UNDEFINED')
    """

    __slots__ = ()
    _instance: Undefined | None = None

    def __new__(cls) -> Undefined:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __bool__(self) -> bool:
        return False

    def __repr__(self) -> str:
        return "UNDEFINED"

    def __copy__(self) -> Undefined:
        return self

    def __deepcopy__(self, memo: dict[int, Any]) -> Undefined:
        return self

    def __reduce__(self) -> str:
        return "UNDEFINED"


#: The single "absent value" marker.
UNDEFINED: Final = Undefined()

_JS_SPACE = " \t\n\v\f\r\u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"  # noqa: E501
_DECIMAL = re.compile(r"[+-]?(?:\d+\.?\d*(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?)")
_RADIX = {"0x": 16, "0o": 8, "0b": 2}


def is_number(value: Any) -> bool:
    """Tell whether ``value`` is a JS number (``int`` or ``float``, but not ``bool``)."""
    return isinstance(value, int | float) and not isinstance(value, bool)


def is_nullish(value: Any) -> bool:
    """Tell whether ``value`` is ``None`` or :data:`UNDEFINED`."""
    return value is None or value is UNDEFINED


def js_type(value: Any) -> str:
    """Name the JS type of ``value``: undefined, null, boolean, number, string or object."""
    if value is UNDEFINED:
        return "undefined"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if is_number(value):
        return "number"
    if isinstance(value, str):
        return "string"
    return "object"


def truthy(value: Any) -> bool:
    """JS truthiness: ``0``, ``NaN``, ``''``, ``False``, ``None`` and UNDEFINED are falsy.

    Example:
        >>> truthy([]), truthy({}), truthy(0.0), truthy("0")
        (True, True, False, True)
    """
    if is_nullish(value) or value is False:
        return False
    if is_number(value):
        return not (value == 0 or math.isnan(value))
    if isinstance(value, str):
        return value != ""
    return True


def normalize_number(value: float) -> int | float:
    """Return an integral finite float as ``int`` so results print as JS prints them.

    Example:
        >>> normalize_number(5.0), normalize_number(2.5)
        (5, 2.5)
    """
    if isinstance(value, int):
        return value
    if math.isfinite(value) and value.is_integer() and abs(value) < 2**63:
        return int(value)
    return value


def _string_to_number(text: str) -> float:
    text = text.strip(_JS_SPACE)
    if text == "":
        return 0.0
    prefix = text[:2].lower()
    if prefix in _RADIX:
        try:
            return float(int(text[2:], _RADIX[prefix]))
        except ValueError:
            return math.nan
    if text in ("Infinity", "+Infinity"):
        return math.inf
    if text == "-Infinity":
        return -math.inf
    if _DECIMAL.fullmatch(text):
        return float(text)
    return math.nan


def to_number(value: Any) -> int | float:
    """JS ``Number(value)``.

    Example:
        >>> to_number(" 42 "), to_number(None), to_number(True), to_number("4px")
        (42, 0, 1, nan)
    """
    if isinstance(value, bool):
        return int(value)
    if is_number(value):
        return value  # type: ignore[no-any-return]
    if value is None:
        return 0
    if value is UNDEFINED:
        return math.nan
    if isinstance(value, str):
        return normalize_number(_string_to_number(value))
    if isinstance(value, datetime):
        return int(value.timestamp() * 1000)
    if isinstance(value, list):
        return to_number(to_string(value))
    return math.nan


def to_integer(value: Any) -> int | float:
    """JS ``ToIntegerOrInfinity``: NaN → 0, truncation toward zero, infinities kept."""
    number = to_number(value)
    if math.isnan(number):
        return 0
    if math.isinf(number):
        return number
    return int(number)


def to_int32(value: Any) -> int:
    """JS ``ToInt32`` (the operand conversion of the bitwise operators)."""
    number = to_number(value)
    if not math.isfinite(number):
        return 0
    unsigned = int(number) % 2**32
    return unsigned - 2**32 if unsigned >= 2**31 else unsigned


def to_uint32(value: Any) -> int:
    """JS ``ToUint32``."""
    number = to_number(value)
    if not math.isfinite(number):
        return 0
    return int(number) % 2**32


def _number_to_string(value: float) -> str:
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    if value == 0:
        return "0"
    if isinstance(value, int):
        if abs(value) < 10**21:
            return str(value)
        value = float(value)
    sign = "-" if value < 0 else ""
    decimal = Decimal(repr(abs(value))).normalize()
    _, digit_tuple, exponent = decimal.as_tuple()
    assert isinstance(exponent, int)
    digits = "".join(map(str, digit_tuple))
    k = len(digits)
    n = exponent + k
    if k <= n <= 21:
        return sign + digits + "0" * (n - k)
    if 0 < n <= 21:
        return sign + digits[:n] + "." + digits[n:]
    if -6 < n <= 0:
        return sign + "0." + "0" * (-n) + digits
    e = n - 1
    mantissa = digits if k == 1 else digits[0] + "." + digits[1:]
    return f"{sign}{mantissa}e{'+' if e >= 0 else '-'}{abs(e)}"


def to_string(value: Any) -> str:
    """JS ``String(value)``.

    Example:
        >>> to_string(5.0), to_string(1e-7), to_string([1, None, "a"]), to_string(None)
        ('5', '1e-7', '1,,a', 'null')
    """
    if isinstance(value, str):
        return value
    if value is UNDEFINED:
        return "undefined"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if is_number(value):
        return _number_to_string(value)
    if isinstance(value, list):
        return ",".join("" if is_nullish(item) else to_string(item) for item in value)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return "[object Object]"
    return str(value)


def to_property_key(value: Any) -> str:
    """JS property-key conversion: every key is its string form (``1`` → ``'1'``)."""
    return to_string(value)


def _to_primitive(value: Any) -> Any:
    if isinstance(value, datetime):
        return to_number(value)
    if isinstance(value, list | dict):
        return to_string(value)
    return value


def strict_eq(left: Any, right: Any) -> bool:
    """JS ``===``: same type and value; arrays/objects only equal to themselves.

    Example:
        >>> strict_eq(1, 1.0), strict_eq(1, True), strict_eq("1", 1)
        (True, False, False)
    """
    left_type, right_type = js_type(left), js_type(right)
    if left_type != right_type:
        return False
    if left_type == "object":
        return left is right
    return bool(left == right)


def loose_eq(left: Any, right: Any) -> bool:
    """JS ``==`` with its coercions.

    Example:
        >>> loose_eq("1", 1), loose_eq(None, UNDEFINED), loose_eq(0, None), loose_eq([2], "2")
        (True, True, False, True)
    """
    left_type, right_type = js_type(left), js_type(right)
    if left_type == right_type:
        return strict_eq(left, right)
    if is_nullish(left) or is_nullish(right):
        return is_nullish(left) and is_nullish(right)
    if left_type == "boolean":
        return loose_eq(int(left), right)
    if right_type == "boolean":
        return loose_eq(left, int(right))
    if {left_type, right_type} == {"number", "string"}:
        return bool(to_number(left) == to_number(right))
    if left_type == "object":
        return loose_eq(_to_primitive(left), right)
    if right_type == "object":
        return loose_eq(left, _to_primitive(right))
    return False


def _utf16(text: str) -> bytes:
    return text.encode("utf-16-be", "surrogatepass")


def less_than(left: Any, right: Any) -> bool | None:
    """JS abstract relational comparison ``left < right``; ``None`` when undecidable (NaN).

    Two strings compare by UTF-16 code units, everything else as numbers.

    Example:
        >>> less_than("10", "9"), less_than(10, "9"), less_than(1, "x")
        (True, False, None)
    """
    left, right = _to_primitive(left), _to_primitive(right)
    if isinstance(left, str) and isinstance(right, str):
        return _utf16(left) < _utf16(right)
    left_number, right_number = to_number(left), to_number(right)
    if math.isnan(left_number) or math.isnan(right_number):
        return None
    return bool(left_number < right_number)


def get_property(value: Any, key: Any) -> Any:
    """Read an *own* property the way ``value[key]`` does, UNDEFINED when absent.

    Dicts by key (tried as given, then as its string form), lists and strings by index
    or ``length``; anything else has no own properties here.

    Example:
        >>> get_property([10, 20], "1"), get_property("abc", "length"), get_property({}, "x")
        (20, 3, UNDEFINED)
    """
    if isinstance(value, dict):
        if key in value:
            return value[key]
        text = to_property_key(key)
        return value.get(text, UNDEFINED)
    if isinstance(value, list | str):
        text = to_property_key(key)
        if text == "length":
            return len(value)
        if text.isascii() and text.isdigit() and (text == "0" or not text.startswith("0")):
            index = int(text)
            if index < len(value):
                return value[index]
    return UNDEFINED
