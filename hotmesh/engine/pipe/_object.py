"""``object``: build, read and merge objects (``Object.*`` and its prototype methods).

Python dicts cannot be frozen or sealed in place, so ``freeze``, ``seal`` and
``preventExtensions`` return their object unchanged and the ``is*`` predicates answer
for plain, always-extensible dicts and lists.
"""

from __future__ import annotations

from typing import Any

from hotmesh.engine.pipe._catalog import register
from hotmesh.engine.pipe._jsvalue import (
    UNDEFINED,
    get_property,
    is_nullish,
    to_property_key,
    to_string,
    truthy,
)
from hotmesh.errors import PipeError

__all__: list[str] = []


def _own_keys(value: Any) -> list[str]:
    if isinstance(value, dict):
        return [to_property_key(key) for key in value]
    if isinstance(value, list | str):
        return [str(index) for index in range(len(value))]
    return []


def _target(name: str, value: Any) -> dict[str, Any]:
    if not truthy(value):
        return {}
    if not isinstance(value, dict):
        raise PipeError(f"object.{name} needs an object, got {to_string(value)}", value=value)
    return value


@register("object")
def get(source: Any = UNDEFINED, prop: Any = UNDEFINED) -> Any:
    """``source[prop]``; UNDEFINED when ``source`` is missing or lacks the property.

    Example:
        >>> get({"a": 1}, "a"), get(None, "a")
        (1, UNDEFINED)
    """
    return UNDEFINED if is_nullish(source) else get_property(source, prop)


@register("object", "set")
def set_(target: Any = UNDEFINED, prop: Any = UNDEFINED, value: Any = UNDEFINED) -> dict[str, Any]:
    """*mut* Set ``target[prop] = value`` (a new object when ``target`` is falsy).

    Example:
        >>> set_({"a": 1}, "b", 2), set_(None, "x", 0)
        ({'a': 1, 'b': 2}, {'x': 0})
    """
    result = _target("set", target)
    result[to_property_key(prop)] = value
    return result


@register("object")
def create(*pairs: Any) -> dict[str, Any]:
    """A new object from ``key, value, key, value, …`` (a trailing key gets UNDEFINED).

    Example:
        >>> create("first", "Luke", "last", "Birdeau")
        {'first': 'Luke', 'last': 'Birdeau'}
    """
    result: dict[str, Any] = {}
    for index in range(0, len(pairs), 2):
        value = pairs[index + 1] if index + 1 < len(pairs) else UNDEFINED
        result[to_property_key(pairs[index])] = value
    return result


@register("object")
def keys(source: Any = UNDEFINED) -> list[str]:
    """Own keys (``[]`` for a missing object).

    Example:
        >>> keys({"a": 1, "b": 2}), keys(["x"])
        (['a', 'b'], ['0'])
    """
    return _own_keys(source)


@register("object")
def values(source: Any = UNDEFINED) -> list[Any]:
    """Own values (``[]`` for a missing object).

    Example:
        >>> values({"a": 1, "b": 2})
        [1, 2]
    """
    return [get_property(source, key) for key in _own_keys(source)]


@register("object")
def entries(source: Any = UNDEFINED) -> list[list[Any]]:
    """``[key, value]`` pairs (``[]`` for a missing object).

    Example:
        >>> entries({"a": 1})
        [['a', 1]]
    """
    return [[key, get_property(source, key)] for key in _own_keys(source)]


@register("object")
def fromEntries(pairs: Any = UNDEFINED) -> dict[str, Any]:
    """An object from ``[key, value]`` pairs.

    Raises:
        PipeError: ``pairs`` is not a list of lists.

    Example:
        >>> fromEntries([["a", 1], ["b", 2]])
        {'a': 1, 'b': 2}
    """
    if not isinstance(pairs, list):
        raise PipeError(
            f"object.fromEntries needs a list of pairs, got {to_string(pairs)}", value=pairs
        )
    result: dict[str, Any] = {}
    for pair in pairs:
        if not isinstance(pair, list):
            raise PipeError(f"object.fromEntries: {to_string(pair)} is not a pair", value=pair)
        key = pair[0] if pair else UNDEFINED
        result[to_property_key(key)] = pair[1] if len(pair) > 1 else UNDEFINED
    return result


@register("object")
def assign(target: Any = UNDEFINED, *sources: Any) -> dict[str, Any]:
    """*mut* Copy the own properties of each source into ``target`` (``{}`` when falsy).

    Example:
        >>> assign({"a": 1}, {"b": 2}, None, {"a": 3})
        {'a': 3, 'b': 2}
    """
    result = _target("assign", target)
    for source in sources:
        for key in _own_keys(source):
            result[key] = get_property(source, key)
    return result


@register("object")
def getOwnPropertyNames(source: Any = UNDEFINED) -> list[str]:
    """Own property names; arrays and strings also have ``length``.

    Example:
        >>> getOwnPropertyNames(["x"])
        ['0', 'length']
    """
    names = _own_keys(source)
    return [*names, "length"] if isinstance(source, list | str) else names


@register("object")
def getOwnPropertySymbols(source: Any = UNDEFINED) -> list[Any]:
    """Always ``[]``: JSON data has no symbol keys.

    Example:
        >>> getOwnPropertySymbols({"a": 1})
        []
    """
    return []


@register("object")
def getOwnPropertyDescriptor(source: Any = UNDEFINED, prop: Any = UNDEFINED) -> Any:
    """``{value, writable, enumerable, configurable}`` of an own property, else UNDEFINED.

    Example:
        >>> getOwnPropertyDescriptor({"a": 1}, "a")["value"]
        1
    """
    if not hasOwnProperty(source, prop):
        return UNDEFINED
    return {
        "value": get_property(source, prop),
        "writable": not isinstance(source, str),
        "enumerable": to_property_key(prop) != "length",
        "configurable": isinstance(source, dict),
    }


@register("object")
def defineProperty(
    target: Any = UNDEFINED, prop: Any = UNDEFINED, descriptor: Any = UNDEFINED
) -> Any:
    """*mut* Set ``target[prop]`` to ``descriptor['value']``; returns ``target``.

    Example:
        >>> defineProperty({}, "a", {"value": 1})
        {'a': 1}
    """
    if not isinstance(target, dict):
        raise PipeError(
            f"object.defineProperty needs an object, got {to_string(target)}", value=target
        )
    value = descriptor.get("value", UNDEFINED) if isinstance(descriptor, dict) else UNDEFINED
    target[to_property_key(prop)] = value
    return target


@register("object")
def defineProperties(target: Any = UNDEFINED, descriptors: Any = UNDEFINED) -> Any:
    """*mut* :func:`defineProperty` for each ``name: descriptor`` of ``descriptors``.

    Example:
        >>> defineProperties({}, {"a": {"value": 1}, "b": {"value": 2}})
        {'a': 1, 'b': 2}
    """
    for prop in _own_keys(descriptors):
        defineProperty(target, prop, get_property(descriptors, prop))
    return target


@register("object")
def freeze(source: Any = UNDEFINED) -> Any:
    """Return ``source`` unchanged (dicts cannot be frozen in place).

    Example:
        >>> freeze({"a": 1})
        {'a': 1}
    """
    return source


@register("object")
def seal(source: Any = UNDEFINED) -> Any:
    """Return ``source`` unchanged.

    Example:
        >>> seal([1])
        [1]
    """
    return source


@register("object")
def preventExtensions(source: Any = UNDEFINED) -> Any:
    """Return ``source`` unchanged.

    Example:
        >>> preventExtensions({})
        {}
    """
    return source


def _is_container(value: Any) -> bool:
    return isinstance(value, dict | list)


@register("object")
def isFrozen(source: Any = UNDEFINED) -> bool:
    """``True`` for primitives, ``False`` for objects and arrays.

    Example:
        >>> isFrozen(5), isFrozen({})
        (True, False)
    """
    return not _is_container(source)


@register("object")
def isSealed(source: Any = UNDEFINED) -> bool:
    """``True`` for primitives, ``False`` for objects and arrays.

    Example:
        >>> isSealed("x"), isSealed([])
        (True, False)
    """
    return not _is_container(source)


@register("object")
def isExtensible(source: Any = UNDEFINED) -> bool:
    """``True`` for objects and arrays, ``False`` for primitives.

    Example:
        >>> isExtensible({}), isExtensible(1)
        (True, False)
    """
    return _is_container(source)


@register("object")
def hasOwnProperty(source: Any = UNDEFINED, prop: Any = UNDEFINED) -> bool:
    """Whether ``source`` has the own property ``prop``.

    Example:
        >>> hasOwnProperty({"a": None}, "a"), hasOwnProperty([1], 0), hasOwnProperty({}, "a")
        (True, True, False)
    """
    if isinstance(source, list | str) and to_property_key(prop) == "length":
        return True
    return to_property_key(prop) in _own_keys(source)


@register("object")
def isPrototypeOf(source: Any = UNDEFINED, other: Any = UNDEFINED) -> bool:
    """Always ``False``: plain data has no prototype chain to be part of.

    Example:
        >>> isPrototypeOf({}, {})
        False
    """
    return False


@register("object")
def propertyIsEnumerable(source: Any = UNDEFINED, prop: Any = UNDEFINED) -> bool:
    """Whether ``prop`` is an own, enumerable property (``length`` is not enumerable).

    Example:
        >>> propertyIsEnumerable(["a"], 0), propertyIsEnumerable(["a"], "length")
        (True, False)
    """
    return to_property_key(prop) in _own_keys(source)
