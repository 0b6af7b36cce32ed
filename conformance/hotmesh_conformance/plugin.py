"""pytest plugin: options and fixtures of the provider conformance suite.

Fixtures:
    hotmesh_dsn: a DSN to a real Postgres (``HOTMESH_TEST_DSN``, ``--hotmesh-dsn``, or an
        embedded cluster started for the session).
    hotmesh_provider: the provider name under test (parametrised over
        ``--hotmesh-provider``, default every installed provider).
    hotmesh_profile: its :class:`~hotmesh_conformance.profiles.ProviderProfile`.
    hotmesh_options: the connection options for it (a DSN only for providers that take one,
        so a provider such as ``memory`` never starts a Postgres).
    hotmesh_codec: the codec plugin name under test (parametrised over ``--hotmesh-codec``,
        default every installed codec); build it with
        :func:`hotmesh_conformance.codecs.contract_codec`.
    backends: a :class:`~hotmesh_conformance.harness.BackendFactory` for the test.
    backend: one connected backend for a fresh app.

Marker:
    ``@pytest.mark.hotmesh_requires("capability", ...)``: the test runs only on providers
    with those capabilities (:mod:`hotmesh_conformance.profiles`); on the others it is
    skipped with the reason printed.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from hotmesh.plugins import provider_names
from hotmesh.spi import Backend
from hotmesh_conformance.codecs import installed_codecs
from hotmesh_conformance.harness import BackendFactory
from hotmesh_conformance.profiles import DSN, ProviderProfile, profile_of

REQUIRES = "hotmesh_requires"


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


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        f"{REQUIRES}(*capabilities): run only on providers with these capabilities"
        " (hotmesh_conformance.profiles)",
    )


def pytest_runtest_setup(item: pytest.Item) -> None:
    """Skip (before any fixture starts) a test its provider lacks the capabilities for."""
    callspec = getattr(item, "callspec", None)
    provider = callspec.params.get("hotmesh_provider") if callspec is not None else None
    if provider is None:
        return
    wanted = frozenset(c for mark in item.iter_markers(REQUIRES) for c in mark.args)
    reason = profile_of(provider).missing(wanted) if wanted else None
    if reason is not None:
        pytest.skip(reason)


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
    from hotmesh.embedded import throwaway

    handle = throwaway("hotmesh-test-pg-")
    try:
        yield handle.dsn
    finally:
        handle.stop()


@pytest.fixture
def hotmesh_profile(hotmesh_provider: str) -> ProviderProfile:
    """What the suite knows of the provider under test (capabilities)."""
    return profile_of(hotmesh_provider)


@pytest.fixture
def hotmesh_options(
    hotmesh_profile: ProviderProfile, request: pytest.FixtureRequest
) -> dict[str, Any]:
    """Connection options for the provider under test (Postgres is started only if needed)."""
    needs_dsn = DSN in hotmesh_profile.capabilities
    return hotmesh_profile.options(request.getfixturevalue("hotmesh_dsn") if needs_dsn else None)


@pytest.fixture
async def backends(
    hotmesh_provider: str, hotmesh_options: dict[str, Any]
) -> AsyncIterator[BackendFactory]:
    """Backends of the provider under test, closed after the test."""
    factory = BackendFactory(hotmesh_provider, hotmesh_options)
    try:
        yield factory
    finally:
        await factory.close()


@pytest.fixture
async def backend(backends: BackendFactory) -> Backend:
    """One connected backend for a fresh app id."""
    return await backends.open()
