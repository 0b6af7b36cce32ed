"""pytest plugin: options and fixtures of the provider conformance suite.

Fixtures:
    hotmesh_dsn: a DSN to a real Postgres (``HOTMESH_TEST_DSN``, ``--hotmesh-dsn``, or an
        embedded cluster started for the session).
    hotmesh_provider: the provider name under test (parametrised over
        ``--hotmesh-provider``, default every installed provider).
    hotmesh_codec: the codec plugin name under test (parametrised over ``--hotmesh-codec``,
        default every installed codec); build it with
        :func:`hotmesh_conformance.codecs.contract_codec`.
    backends: a :class:`~hotmesh_conformance.harness.BackendFactory` for the test.
    backend: one connected backend for a fresh app.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import AsyncIterator, Iterator

import pytest

from hotmesh.plugins import provider_names
from hotmesh.spi import Backend
from hotmesh_conformance.codecs import installed_codecs
from hotmesh_conformance.harness import BackendFactory


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("hotmesh", "hotmesh provider conformance")
    group.addoption(
        "--hotmesh-provider",
        action="append",
        default=[],
        help="provider to test (repeatable); default: every installed provider",
    )
    group.addoption(
        "--hotmesh-dsn",
        default=None,
        help="Postgres DSN; default: $HOTMESH_TEST_DSN, else an embedded cluster",
    )
    group.addoption(
        "--hotmesh-codec",
        action="append",
        default=[],
        help="codec plugin to test (repeatable); default: every installed codec",
    )


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "hotmesh_provider" in metafunc.fixturenames:
        chosen = metafunc.config.getoption("--hotmesh-provider") or provider_names()
        metafunc.parametrize("hotmesh_provider", chosen, scope="session")
    if "hotmesh_codec" in metafunc.fixturenames:
        codecs = metafunc.config.getoption("--hotmesh-codec") or installed_codecs()
        metafunc.parametrize("hotmesh_codec", codecs, scope="session")


@pytest.fixture(scope="session")
def hotmesh_dsn(request: pytest.FixtureRequest) -> Iterator[str]:
    """A DSN to a real Postgres for the whole session."""
    dsn = request.config.getoption("--hotmesh-dsn") or os.environ.get("HOTMESH_TEST_DSN")
    if dsn:
        yield dsn
        return
    from hotmesh.embedded import start

    folder = tempfile.mkdtemp(prefix="hotmesh-test-pg-")
    handle = start(os.path.join(folder, "data"), delete_on_exit=True)
    try:
        yield handle.dsn
    finally:
        handle.stop()


@pytest.fixture
async def backends(hotmesh_provider: str, hotmesh_dsn: str) -> AsyncIterator[BackendFactory]:
    """Backends of the provider under test, closed after the test."""
    factory = BackendFactory(hotmesh_provider, {"dsn": hotmesh_dsn})
    try:
        yield factory
    finally:
        await factory.close()


@pytest.fixture
async def backend(backends: BackendFactory) -> Backend:
    """One connected backend for a fresh app id."""
    return await backends.open()
