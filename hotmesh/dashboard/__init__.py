"""The hotmesh dashboard: every app, job and worker of a mesh, in a browser.

Install with ``pip install "hotmesh[dashboard]"``; run ``hotmesh dashboard`` or mount
:func:`create_app` in your own ASGI server. See docs/dashboard.md.

The web stack (Starlette, Jinja2) is imported only when :func:`create_app` is used, so
``hotmesh.dashboard.history`` (where Durable registers its execution histories) imports
without the extra.

Example:
    >>> from hotmesh.dashboard import create_app  # doctest: +SKIP
    >>> app = create_app("postgresql://localhost/db", token="s3cret")  # doctest: +SKIP
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from hotmesh.dashboard.app import Dashboard, create_app

__all__ = ["Dashboard", "create_app"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from hotmesh.dashboard import app

        return getattr(app, name)
    raise AttributeError(f"module 'hotmesh.dashboard' has no attribute {name!r}")
