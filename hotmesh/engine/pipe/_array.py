"""``array``: the JS ``Array.prototype`` methods; some mutate their array (marked *mut*).

Operand arrays are copies of what the mapping rules referenced, so mutation is only ever
visible inside the pipe that performed it.
"""

from __future__ import annotations

import functools
import unicodedata
from typing import Any

from hotmesh.engine.pipe._catalog import register
from hotmesh.engine.pipe._jsvalue import (
    UNDEFINED,
    get_property,
    is_nullish,
    less_than,
    strict_eq,
    to_integer,
    to_string,
    truthy,
)
from hotmesh.engine.pipe._string import relative_index
from hotmesh.errors import PipeError

__all__: list[str] = []


def _array(name: str, value: Any) -> list[Any]:
    if not isinstance(value, list):
        raise PipeError(f"array.{name} needs an array, got {to_string(value)}", value=value)
    return value


@register("array")
def get(array: Any = UNDEFINED, index: Any = UNDEFINED) -> Any:
    """``array[index || 0]``; UNDEFINED when ``array`` is missing or too short.

    Example:
        >>> get(["Luke", "Birdeau"], 1), get(["Luke"]), get(None, 0)
        ('Birdeau', 'Luke', UNDEFINED)
    """
    if is_nullish(array):
        return UNDEFINED
    return get_property(array, index if truthy(index) else 0)


@register("array")
def length(array: Any = UNDEFINED) -> Any:
    """Number of elements (characters for a string); UNDEFINED when missing.

    Example:
        >>> length([1, 2, 3]), length(None)
        (3, UNDEFINED)
    """
    return get_property(array, "length")


@register("array")
def concat(array: Any = UNDEFINED, *items: Any) -> list[Any]:
    """A new array: ``array`` then each item (array items are spread one level).

    Example:
        >>> concat([1], [2, [3]], 4)
        [1, 2, [3], 4]
    """
    result = list(_array("concat", array))
    for item in items:
        if isinstance(item, list):
            result.extend(item)
        else:
            result.append(item)
    return result


@register("array")
def indexOf(array: Any = UNDEFINED, element: Any = UNDEFINED, start: Any = UNDEFINED) -> int:
    """First index holding ``element`` (strict equality) at or after ``start``, else -1.

    Example:
        >>> indexOf(["a", "b", "a"], "a", 1), indexOf([1], "1")
        (2, -1)
    """
    items = _array("indexOf", array)
    for index in range(relative_index(start, len(items), 0), len(items)):
        if strict_eq(items[index], element):
            return index
    return -1


@register("array")
def lastIndexOf(array: Any = UNDEFINED, element: Any = UNDEFINED, start: Any = UNDEFINED) -> int:
    """Last index holding ``element`` (strict equality) at or before ``start``, else -1.

    Example:
        >>> lastIndexOf(["a", "b", "a"], "a"), lastIndexOf(["a", "b", "a"], "a", -2)
        (2, 0)
    """
    items = _array("lastIndexOf", array)
    if start is UNDEFINED:
        first = len(items) - 1
    else:
        position = to_integer(start)
        first = int(min(position, len(items) - 1)) if position >= 0 else int(len(items) + position)
    for index in range(first, -1, -1):
        if strict_eq(items[index], element):
            return index
    return -1


@register("array")
def join(array: Any = UNDEFINED, separator: Any = UNDEFINED) -> str:
    """Elements as text joined by ``separator`` (default ``','``; null elements are ``''``).

    Example:
        >>> join(["Luke", "Birdeau"], " "), join([1, None, 2.5])
        ('Luke Birdeau', '1,,2.5')
    """
    items = _array("join", array)
    glue = "," if separator is UNDEFINED else to_string(separator)
    return glue.join("" if is_nullish(item) else to_string(item) for item in items)


@register("array")
def pop(array: Any = UNDEFINED) -> Any:
    """*mut* Remove and return the last element (UNDEFINED when empty).

    Example:
        >>> pop([1, 2]), pop([])
        (2, UNDEFINED)
    """
    items = _array("pop", array)
    return items.pop() if items else UNDEFINED


@register("array")
def push(array: Any = UNDEFINED, *items: Any) -> list[Any]:
    """*mut* Append the items; returns the same array.

    Example:
        >>> push([1], 2, 3)
        [1, 2, 3]
    """
    target = _array("push", array)
    target.extend(items)
    return target


@register("array")
def reverse(array: Any = UNDEFINED) -> list[Any]:
    """*mut* Reverse in place; returns the same array.

    Example:
        >>> reverse([1, 2, 3])
        [3, 2, 1]
    """
    target = _array("reverse", array)
    target.reverse()
    return target


@register("array")
def shift(array: Any = UNDEFINED) -> Any:
    """*mut* Remove and return the first element (UNDEFINED when empty).

    Example:
        >>> shift([1, 2]), shift([])
        (1, UNDEFINED)
    """
    items = _array("shift", array)
    return items.pop(0) if items else UNDEFINED


@register("array")
def slice(array: Any = UNDEFINED, start: Any = UNDEFINED, end: Any = UNDEFINED) -> list[Any]:
    """A copy of ``array[start:end]``; negative indexes count from the end.

    Example:
        >>> slice([1, 2, 3, 4], 1, -1)
        [2, 3]
    """
    items = _array("slice", array)
    size = len(items)
    return items[relative_index(start, size, 0) : relative_index(end, size, size)]


def _text_key(text: str) -> tuple[str, str]:
    # An approximation of a locale-aware comparison: accents and case only break ties,
    # and lower case sorts before upper case, as ICU's root collation does.
    base = "".join(c for c in unicodedata.normalize("NFD", text) if not unicodedata.combining(c))
    return base.casefold(), text.swapcase()


def _compare(left: Any, right: Any) -> int:
    if is_nullish(left) or is_nullish(right):
        if is_nullish(left) and is_nullish(right):
            return 0
        return -1 if is_nullish(left) else 1
    if isinstance(left, str) and isinstance(right, str):
        left_key, right_key = _text_key(left), _text_key(right)
        return -1 if left_key < right_key else (1 if left_key > right_key else 0)
    if less_than(left, right):
        return -1
    if less_than(right, left):
        return 1
    return 0


@register("array")
def sort(array: Any = UNDEFINED, order: Any = "ASCENDING") -> list[Any]:
    """*mut* Sort in place, ``'ASCENDING'`` (default) or ``'DESCENDING'``.

    Missing values sort first when ascending and last when descending; two strings
    compare alphabetically ignoring case, anything else with ``<``.

    Example:
        >>> sort([3, None, 1]), sort(["b", "A", "a"], "DESCENDING")
        ([None, 1, 3], ['b', 'A', 'a'])
    """
    target = _array("sort", array)
    sign = -1 if order == "DESCENDING" else 1
    target.sort(key=functools.cmp_to_key(lambda a, b: sign * _compare(a, b)))
    return target


@register("array")
def splice(
    array: Any = UNDEFINED, start: Any = UNDEFINED, count: Any = UNDEFINED, *items: Any
) -> list[Any]:
    """*mut* Remove ``count`` elements at ``start`` (all when omitted), insert ``items``.

    Returns the removed elements.

    Example:
        >>> letters = ["a", "b", "c", "d"]
        >>> splice(letters, 1, 2, "x"), letters
        (['b', 'c'], ['a', 'x', 'd'])
    """
    target = _array("splice", array)
    first = relative_index(start, len(target), 0)
    if count is UNDEFINED:
        last = len(target)
    else:
        last = first + int(min(max(to_integer(count), 0), len(target) - first))
    removed = target[first:last]
    target[first:last] = list(items)
    return removed


@register("array")
def unshift(array: Any = UNDEFINED, *items: Any) -> int:
    """*mut* Insert the items at the front; returns the new length.

    Example:
        >>> unshift([3], 1, 2)
        3
    """
    target = _array("unshift", array)
    target[:0] = list(items)
    return len(target)
