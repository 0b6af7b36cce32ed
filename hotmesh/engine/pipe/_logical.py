"""``logical``: JS ``&&`` and ``||``, which return one of their operands."""

from __future__ import annotations

from typing import Any

from hotmesh.engine.pipe._catalog import register
from hotmesh.engine.pipe._jsvalue import UNDEFINED, truthy

__all__: list[str] = []


@register("logical")
def and_(left: Any = UNDEFINED, right: Any = UNDEFINED) -> Any:
    """``left && right``: ``left`` when falsy, else ``right``.

    Example:
        >>> and_(1, "x"), and_(0, "x")
        ('x', 0)
    """
    return right if truthy(left) else left


@register("logical")
def or_(left: Any = UNDEFINED, right: Any = UNDEFINED) -> Any:
    """``left || right``: ``left`` when truthy, else ``right``.

    Example:
        >>> or_(None, 120), or_([], 5)
        (120, [])
    """
    return left if truthy(left) else right
