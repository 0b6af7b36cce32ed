"""Part-2 names of the Durable API: exported so imports work, not implemented yet.

Each raises :class:`NotImplementedError` naming itself when called.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NoReturn

__all__ = [
    "exec_hook",
    "hook",
    "not_implemented",
]


def not_implemented(name: str) -> Callable[..., NoReturn]:
    """A function named ``name`` that raises NotImplementedError saying so."""

    def stub(*_args: Any, **_kwargs: Any) -> NoReturn:
        raise NotImplementedError(
            f"hotmesh.durable: {name} is part 2 of Durable and not implemented yet"
        )

    stub.__name__ = name.rsplit(".", 1)[-1]
    stub.__qualname__ = stub.__name__
    stub.__doc__ = f"Not implemented yet (Durable part 2): {name}."
    return stub


hook = not_implemented("wf.hook")
exec_hook = not_implemented("wf.exec_hook")
