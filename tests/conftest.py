"""Fixtures shared by the project's own tests (the conformance plugin adds the rest)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from hotmesh.serializer import register_codec
from hotmesh_conformance.profiles import DSN, profile_of

HERE = Path(__file__).parent
#: Folders whose provider-parametrised tests run on every installed provider, the
#: in-memory one included. Elsewhere (integration, mesh, security, e2e...: SQL, roles,
#: processes sharing one database, the CLI's embedded cluster) a test that takes
#: ``hotmesh_provider`` runs on the Postgres providers only: its runs on the others are
#: deselected (pytest counts them in "deselected"), not collected as skips.
EVERY_PROVIDER = {"dashboard", "engine", "memory", "unit"}
NEEDS_DSN = frozenset({DSN})


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    kept: list[pytest.Item] = []
    dropped: list[pytest.Item] = []
    for item in items:
        parts = item.path.relative_to(HERE).parts if item.path.is_relative_to(HERE) else ()
        if len(parts) > 1 and parts[0] not in EVERY_PROVIDER:
            callspec = getattr(item, "callspec", None)
            provider = callspec.params.get("hotmesh_provider") if callspec is not None else None
            if provider is not None and profile_of(provider).missing(NEEDS_DSN) is not None:
                dropped.append(item)
                continue
            item.add_marker(pytest.mark.hotmesh_requires(DSN))
        kept.append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept


@pytest.fixture
def no_codec() -> Iterator[None]:
    """Start with no process-wide codec and remove any a test registers."""
    register_codec(None)
    try:
        yield
    finally:
        register_codec(None)
