"""``string``: the JS ``String.prototype`` methods, with JS index rules.

The subject (first operand) is converted to text; a missing subject (``None`` or
UNDEFINED) is an error, as calling a method on it is in JS.
"""

from __future__ import annotations

import math
import re
from typing import Any

from hotmesh.engine.pipe._catalog import register
from hotmesh.engine.pipe._jsvalue import UNDEFINED, is_nullish, to_integer, to_number, to_string
from hotmesh.errors import PipeError

__all__ = ["relative_index"]

# JS engines refuse strings longer than about 2**29 characters; so do we.
_MAX_LENGTH = 2**29

_JS_SPACE = " \t\n\v\f\r\u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"  # noqa: E501


def _subject(name: str, value: Any) -> str:
    if is_nullish(value):
        raise PipeError(f"string.{name} needs a string, got {to_string(value)}", value=value)
    return to_string(value)


def relative_index(value: Any, length: int, default: int) -> int:
    """JS ``slice``-style index: negative counts from the end, result clamped to [0, length].

    Example:
        >>> relative_index(-2, 5, 0), relative_index(9, 5, 0), relative_index(UNDEFINED, 5, 5)
        (3, 5, 5)
    """
    if value is UNDEFINED:
        return default
    index = to_integer(value)
    if index < 0:
        return int(max(length + index, 0))
    return int(min(index, length))


def _clamped(value: Any, length: int, default: int) -> int:
    if value is UNDEFINED:
        return default
    return int(min(max(to_integer(value), 0), length))


@register("string")
def split(text: Any = UNDEFINED, separator: Any = UNDEFINED, limit: Any = UNDEFINED) -> list[str]:
    """``text.split(separator, limit)``; no separator gives ``[text]``, ``''`` splits chars.

    Example:
        >>> split("Luke Birdeau", " "), split("ab", ""), split("a b")
        (['Luke', 'Birdeau'], ['a', 'b'], ['a b'])
    """
    subject = _subject("split", text)
    if separator is UNDEFINED:
        parts = [subject]
    else:
        delimiter = to_string(separator)
        parts = list(subject) if delimiter == "" else subject.split(delimiter)
    if limit is not UNDEFINED:
        parts = parts[: int(to_integer(limit)) % 2**32]
    return parts


@register("string")
def charAt(text: Any = UNDEFINED, index: Any = UNDEFINED) -> str:
    """The character at ``index`` (``''`` when out of range).

    Example:
        >>> charAt("Luke", 0), charAt("Luke", 9)
        ('L', '')
    """
    subject = _subject("charAt", text)
    position = to_integer(index)
    return subject[int(position)] if 0 <= position < len(subject) else ""


@register("string")
def concat(*parts: Any) -> str:
    """Join the parts; ``None``/UNDEFINED count as ``''``.

    Example:
        >>> concat("Luke", "Birdeau"), concat("a", None, 5.0)
        ('LukeBirdeau', 'a5')
    """
    return "".join("" if is_nullish(part) else to_string(part) for part in parts)


@register("string")
def includes(text: Any = UNDEFINED, search: Any = UNDEFINED, position: Any = UNDEFINED) -> bool:
    """Whether ``search`` occurs at or after ``position``.

    Example:
        >>> includes("Luke Birdeau", "Bird")
        True
    """
    subject = _subject("includes", text)
    return to_string(search) in subject[_clamped(position, len(subject), 0) :]


@register("string")
def indexOf(text: Any = UNDEFINED, search: Any = UNDEFINED, start: Any = UNDEFINED) -> int:
    """First index of ``search`` at or after ``start``, else -1.

    Example:
        >>> indexOf("Luke Birdeau", "Birdeau")
        5
    """
    subject = _subject("indexOf", text)
    return subject.find(to_string(search), _clamped(start, len(subject), 0))


@register("string")
def lastIndexOf(text: Any = UNDEFINED, search: Any = UNDEFINED, start: Any = UNDEFINED) -> int:
    """Last index of ``search`` starting at or before ``start``, else -1.

    Example:
        >>> lastIndexOf("Luke Birdeau Birdeau", "Birdeau")
        13
    """
    subject = _subject("lastIndexOf", text)
    needle = to_string(search)
    number = to_number(start) if start is not UNDEFINED else math.nan
    limit = len(subject) if math.isnan(number) else _clamped(number, len(subject), 0)
    return subject.rfind(needle, 0, limit + len(needle))


@register("string")
def slice(text: Any = UNDEFINED, start: Any = UNDEFINED, end: Any = UNDEFINED) -> str:
    """``text.slice(start, end)``; negative indexes count from the end.

    Example:
        >>> slice("Luke Birdeau", 0, 4), slice("Luke Birdeau", -7)
        ('Luke', 'Birdeau')
    """
    subject = _subject("slice", text)
    length = len(subject)
    return subject[relative_index(start, length, 0) : relative_index(end, length, length)]


@register("string")
def substring(text: Any = UNDEFINED, start: Any = UNDEFINED, end: Any = UNDEFINED) -> str:
    """``text.substring(start, end)``: negatives are 0 and the bounds may be swapped.

    Example:
        >>> substring("  Luke Birdeau  ", 2, 6), substring("Luke", 4, 0)
        ('Luke', 'Luke')
    """
    subject = _subject("substring", text)
    low = _clamped(start, len(subject), 0)
    high = _clamped(end, len(subject), len(subject))
    return subject[min(low, high) : max(low, high)]


@register("string")
def toLowerCase(text: Any = UNDEFINED) -> str:
    """Lower case.

    Example:
        >>> toLowerCase("Luke")
        'luke'
    """
    return _subject("toLowerCase", text).lower()


@register("string")
def toUpperCase(text: Any = UNDEFINED) -> str:
    """Upper case.

    Example:
        >>> toUpperCase("Luke")
        'LUKE'
    """
    return _subject("toUpperCase", text).upper()


@register("string")
def trim(text: Any = UNDEFINED) -> str:
    """Strip JS white space at both ends.

    Example:
        >>> trim("  Luke  ")
        'Luke'
    """
    return _subject("trim", text).strip(_JS_SPACE)


@register("string")
def trimStart(text: Any = UNDEFINED) -> str:
    """Strip JS white space at the start.

    Example:
        >>> trimStart("  Luke  ")
        'Luke  '
    """
    return _subject("trimStart", text).lstrip(_JS_SPACE)


@register("string")
def trimEnd(text: Any = UNDEFINED) -> str:
    """Strip JS white space at the end.

    Example:
        >>> trimEnd("  Luke  ")
        '  Luke'
    """
    return _subject("trimEnd", text).rstrip(_JS_SPACE)


def _padding(name: str, text: Any, length: Any, pad: Any) -> tuple[str, str]:
    subject = _subject(name, text)
    filler = " " if pad is UNDEFINED else to_string(pad)
    missing = int(to_integer(length)) - len(subject) if length is not UNDEFINED else 0
    if missing <= 0 or filler == "":
        return subject, ""
    return subject, (filler * (missing // len(filler) + 1))[:missing]


@register("string")
def padStart(text: Any = UNDEFINED, length: Any = UNDEFINED, pad: Any = UNDEFINED) -> str:
    """Pad at the start to ``length`` with ``pad`` (default a space).

    Example:
        >>> padStart("Luke", 8, "-"), padStart("5", 3, "0")
        ('----Luke', '005')
    """
    subject, filler = _padding("padStart", text, length, pad)
    return filler + subject


@register("string")
def padEnd(text: Any = UNDEFINED, length: Any = UNDEFINED, pad: Any = UNDEFINED) -> str:
    """Pad at the end to ``length`` with ``pad`` (default a space).

    Example:
        >>> padEnd("Luke", 8, "-")
        'Luke----'
    """
    subject, filler = _padding("padEnd", text, length, pad)
    return subject + filler


def _expand(replacement: str, match: str, before: str, after: str) -> str:
    tokens = {"$$": "$", "$&": match, "$`": before, "$'": after}
    return re.sub(r"\$[$&`']", lambda found: tokens[found.group()], replacement)


@register("string")
def replace(text: Any = UNDEFINED, search: Any = UNDEFINED, replacement: Any = UNDEFINED) -> str:
    """Replace the first occurrence of ``search`` (``$&``, ``$$``, ``$```, ``$'`` expand).

    Example:
        >>> replace("a-b-c", "-", "+"), replace("cat", "a", "[$&]")
        ('a+b-c', 'c[a]t')
    """
    subject = _subject("replace", text)
    needle = to_string(search)
    index = subject.find(needle)
    if index < 0:
        return subject
    before, after = subject[:index], subject[index + len(needle) :]
    return before + _expand(to_string(replacement), needle, before, after) + after


@register("string")
def search(text: Any = UNDEFINED, pattern: Any = UNDEFINED) -> int:
    """Index of the first match of the regular expression ``pattern``, else -1.

    Raises:
        PipeError: the pattern is not a valid regular expression.

    Example:
        >>> search("order 66", "[0-9]+"), search("abc", "z")
        (6, -1)
    """
    subject = _subject("search", text)
    source = "(?:)" if pattern is UNDEFINED else to_string(pattern)
    try:
        found = re.search(source, subject)
    except re.error as error:
        raise PipeError(
            f"string.search: invalid pattern {source!r}: {error}", value=source
        ) from error
    return found.start() if found else -1


@register("string")
def startsWith(text: Any = UNDEFINED, search: Any = UNDEFINED, position: Any = UNDEFINED) -> bool:
    """Whether ``text`` starts with ``search`` at ``position``.

    Example:
        >>> startsWith("Luke Birdeau", "Bird"), startsWith("Luke Birdeau", "Bird", 5)
        (False, True)
    """
    subject = _subject("startsWith", text)
    return subject.startswith(to_string(search), _clamped(position, len(subject), 0))


@register("string")
def endsWith(text: Any = UNDEFINED, search: Any = UNDEFINED, length: Any = UNDEFINED) -> bool:
    """Whether the first ``length`` characters of ``text`` end with ``search``.

    Example:
        >>> endsWith("Luke Birdeau", "deau"), endsWith("Luke Birdeau", "Luke", 4)
        (True, True)
    """
    subject = _subject("endsWith", text)
    return subject[: _clamped(length, len(subject), len(subject))].endswith(to_string(search))


@register("string")
def repeat(text: Any = UNDEFINED, count: Any = UNDEFINED) -> str:
    """``text`` repeated ``count`` times.

    Raises:
        PipeError: ``count`` is negative or infinite.

    Example:
        >>> repeat("Luke", 3)
        'LukeLukeLuke'
    """
    subject = _subject("repeat", text)
    times = to_integer(count)
    if times < 0 or math.isinf(times):
        raise PipeError(f"string.repeat: invalid count {to_string(count)}", value=count)
    if len(subject) * times > _MAX_LENGTH:
        raise PipeError("string.repeat: the result would be too long", value=count)
    return subject * int(times)
