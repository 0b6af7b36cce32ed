"""The registry every namespace module writes its functions into."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

__all__ = ["FUNCTIONS", "register"]

_F = TypeVar("_F", bound=Callable[..., Any])

#: Every callable of the catalog by its qualified name, e.g. ``"math.add"``.
FUNCTIONS: dict[str, Callable[..., Any]] = {}


def register(namespace: str, name: str | None = None) -> Callable[[_F], _F]:
    """Decorate a function to enter it in :data:`FUNCTIONS` as ``namespace.name``.

    ``name`` defaults to the function's ``__name__`` without trailing underscores, so
    ``def and_`` registers as ``and``.

    Example:
        >>> @register("demo")
        ... def twice(x: int) -> int:
        ...     return 2 * x
        >>> FUNCTIONS.pop("demo.twice")(4)
        8
    """

    def decorate(function: _F) -> _F:
        qualified = f"{namespace}.{name or function.__name__.rstrip('_')}"
        if qualified in FUNCTIONS:
            raise RuntimeError(f"@pipe function {qualified} registered twice")
        FUNCTIONS[qualified] = function
        return function

    return decorate
