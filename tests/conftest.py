"""Fixtures shared by the project's own tests (the conformance plugin adds the rest)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from hotmesh.serializer import register_codec


@pytest.fixture
def no_codec() -> Iterator[None]:
    """Start with no process-wide codec and remove any a test registers."""
    register_codec(None)
    try:
        yield
    finally:
        register_codec(None)
