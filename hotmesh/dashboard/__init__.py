"""The hotmesh dashboard: every app, job and worker of a mesh, in a browser.

Install with ``pip install "hotmesh[dashboard]"``; run ``hotmesh dashboard`` or mount
:func:`create_app` in your own ASGI server. See docs/dashboard.md.

Example:
    >>> from hotmesh.dashboard import create_app  # doctest: +SKIP
    >>> app = create_app("postgresql://localhost/db", token="s3cret")  # doctest: +SKIP
"""

from __future__ import annotations

from hotmesh.dashboard.app import Dashboard, create_app

__all__ = ["Dashboard", "create_app"]
