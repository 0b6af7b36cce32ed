"""Checking caller input before anything reaches Postgres.

Every public entry point that takes an id, a topic or a payload runs it through these
checks, so bad input fails at once with a typed error that names what was wrong (never a
driver error, a ``RecursionError``, or a ``DatabaseUnavailable`` for input the database
refused).

Rules:

* **ids and topics**: a non-empty ``str`` of at most :data:`MAX_NAME_LENGTH` characters,
  without NUL and without lone surrogates (Postgres text cannot hold either) →
  :class:`~hotmesh.errors.InvalidArgument`;
* **payloads**: a ``Mapping`` whose values are JSON (str, int, float, bool, None, lists,
  mappings with string keys), nested at most :data:`MAX_DEPTH` levels, with finite
  numbers and storable strings → :class:`~hotmesh.errors.PayloadError` naming the path
  of the bad value (``data.items[3].name``).

Example:
    >>> check_name("order.create", "topic")
    'order.create'
    >>> try:
    ...     check_payload({"items": [{"name": "a\\x00b"}]})
    ... except PayloadError as err:
    ...     err.value
    'data.items[0].name'
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from hotmesh.errors import InvalidArgument, PayloadError

__all__ = [
    "MAX_DEPTH",
    "MAX_NAME_LENGTH",
    "check_depth",
    "check_name",
    "check_optional_mapping",
    "check_payload",
    "text_problem",
]

#: The longest id or topic accepted (characters). Keeps every key well inside a btree row.
MAX_NAME_LENGTH = 512
#: How deeply a payload (or a manifest) may nest mappings and lists.
MAX_DEPTH = 128
# Python's int -> str conversion refuses more than 4,300 digits; stay below it.
_MAX_INT_BITS = 14_000


def text_problem(text: str) -> str | None:
    """Why Postgres cannot store ``text`` (NUL, lone surrogate), or None.

    Example:
        >>> text_problem("ok"), text_problem("a\\ud800")
        (None, 'contains a lone surrogate (U+D800), which is not valid UTF-8')
    """
    if "\x00" in text:
        return "contains a NUL character, which Postgres cannot store"
    if text.isascii():
        return None
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as err:
        bad = ord(text[err.start])
        return f"contains a lone surrogate (U+{bad:04X}), which is not valid UTF-8"
    return None


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else f"{text[:57]}..."


def check_name(value: Any, argument: str) -> str:
    """Return ``value`` when it is a usable id or topic; else raise.

    Raises:
        InvalidArgument: not a string, empty, longer than :data:`MAX_NAME_LENGTH`, or
            holding text Postgres cannot store. ``value`` is ``argument``.

    Example:
        >>> check_name("", "job_id")
        Traceback (most recent call last):
        ...
        hotmesh.errors.InvalidArgument: job_id must not be empty
    """
    if not isinstance(value, str):
        raise InvalidArgument(
            f"{argument} must be a string, not {type(value).__name__} ({_shown(value)})",
            value=argument,
        )
    if not value:
        raise InvalidArgument(f"{argument} must not be empty", value=argument)
    if len(value) > MAX_NAME_LENGTH:
        raise InvalidArgument(
            f"{argument} is {len(value)} characters long; the limit is {MAX_NAME_LENGTH}",
            value=argument,
        )
    problem = text_problem(value)
    if problem is not None:
        raise InvalidArgument(f"{argument} {problem}", value=argument)
    return value


def check_optional_mapping(value: Any, argument: str) -> Mapping[str, Any]:
    """``value`` as a mapping (``None`` gives ``{}``), its contents checked as a payload.

    Raises:
        PayloadError: not a mapping, or holding a value that cannot be stored.
    """
    if value is None:
        return {}
    return check_payload(value, argument)


def check_payload(value: Any, path: str = "data") -> Mapping[str, Any]:
    """Return ``value`` when it is a JSON object Postgres can store; else raise.

    Raises:
        PayloadError: ``value`` is not a mapping, or something inside it is not JSON, is
            nested deeper than :data:`MAX_DEPTH`, or is text Postgres cannot store.
            ``value`` (of the error) is the path of the bad item, e.g. ``data.items[3]``.

    Example:
        >>> check_payload([1, 2])
        Traceback (most recent call last):
        ...
        hotmesh.errors.PayloadError: data must be a mapping (dict), not list
    """
    if not isinstance(value, Mapping):
        raise PayloadError(
            f"{path} must be a mapping (dict), not {type(value).__name__}", value=path
        )
    _check_tree(value, path, MAX_DEPTH, strict=True)
    return value


def check_depth(value: Any, path: str, limit: int = MAX_DEPTH) -> None:
    """Raise :class:`PayloadError` when ``value`` nests deeper than ``limit``.

    Only the shape is checked (any leaf but a giant integer is accepted); used on
    manifests before the compiler walks them recursively.
    """
    _check_tree(value, path, limit, strict=False)


def _fail(path: str, message: str) -> PayloadError:
    return PayloadError(f"{path} {message}", value=path)


#: Leaves that are never containers (checked by exact type, before any abstract class).
_NUMBERS = frozenset({int, float, bool, type(None)})

#: A node of the walk: its value, its parent node, its key (str) or index (int) there, and
#: its depth. Paths are spelt out only for an error: formatting one per node was most of
#: the cost of checking a payload.
_Node = tuple[Any, Any, Any, int]


def _where(path: str, node: _Node) -> str:
    steps: list[str] = []
    while node[1] is not None:
        step = node[2]
        steps.append(f"[{step}]" if isinstance(step, int) else f".{step}")
        node = node[1]
    return path + "".join(reversed(steps))


def _check_tree(root: Any, path: str, limit: int, *, strict: bool) -> None:
    # Iterative, so a deeply nested value cannot exhaust the interpreter's stack. Exact
    # types first: the abstract-class checks only for what is neither JSON nor a leaf.
    stack: list[_Node] = [(root, None, None, 0)]
    while stack:
        node = stack.pop()
        value, _, _, depth = node
        kind = type(value)
        if kind is str:
            if strict and text_problem(value) is not None:
                _check_leaf(value, path, node)
            continue
        if kind is dict or kind is list or kind is tuple:
            mapping = kind is dict
        elif kind in _NUMBERS or not isinstance(value, Mapping | list | tuple):
            if strict:
                _check_leaf(value, path, node)
            elif isinstance(value, int) and value.bit_length() > _MAX_INT_BITS:
                where = _where(path, node)
                raise _fail(
                    where, f"is an integer of {value.bit_length()} bits, too large for JSON"
                )
            continue
        else:
            mapping = isinstance(value, Mapping)
        if depth >= limit:
            where = _where(path, node)
            shown = where if len(where) <= 80 else f"{where[:77]}..."
            raise PayloadError(f"{shown} is nested more than {limit} levels deep", value=path)
        if mapping:
            for key, item in value.items():
                if strict and (type(key) is not str or text_problem(key) is not None):
                    _check_key(key, path, node)
                stack.append((item, node, key, depth + 1))
        else:
            for index, item in enumerate(value):
                stack.append((item, node, index, depth + 1))


def _check_key(key: Any, path: str, node: _Node) -> None:
    if not isinstance(key, str):
        raise _fail(_where(path, node), f"has a key {_shown(key)} that is not a string")
    problem = text_problem(key)
    if problem is not None:
        raise _fail(_where(path, node), f"has a key {_shown(key)} that {problem}")


def _check_leaf(value: Any, path: str, node: _Node) -> None:
    if value is None or isinstance(value, bool):
        return
    if isinstance(value, str):
        problem = text_problem(value)
        if problem is not None:
            raise _fail(_where(path, node), problem)
    elif isinstance(value, int):
        if value.bit_length() > _MAX_INT_BITS:
            raise _fail(
                _where(path, node),
                f"is an integer of {value.bit_length()} bits, too large for JSON",
            )
    elif isinstance(value, float):
        if not math.isfinite(value):
            raise _fail(_where(path, node), f"is {value}, which JSON cannot carry")
    else:
        raise _fail(
            _where(path, node),
            f"has type {type(value).__name__} ({_shown(value)}), which JSON cannot carry",
        )
