"""Fixtures shared by the project's own tests (the conformance plugin adds the rest)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from hotmesh.serializer import register_codec
from hotmesh_conformance.profiles import DSN

HERE = Path(__file__).parent
#: Folders whose tests are about Postgres itself (SQL, roles, processes sharing one
#: database, the CLI's embedded cluster): they run on the Postgres providers only. The
#: engine tests run on every provider, the in-memory one included.
POSTGRES_ONLY = {"integration", "mesh", "security", "e2e"}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        parts = item.path.relative_to(HERE).parts if item.path.is_relative_to(HERE) else ()
        if parts and parts[0] in POSTGRES_ONLY:
            item.add_marker(pytest.mark.hotmesh_requires(DSN))


@pytest.fixture
def no_codec() -> Iterator[None]:
    """Start with no process-wide codec and remove any a test registers."""
    register_codec(None)
    try:
        yield
    finally:
        register_codec(None)
