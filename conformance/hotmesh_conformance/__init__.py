"""The conformance suite every hotmesh provider must pass identically.

It is a pytest plugin (entry point ``pytest11``) plus a test package. Run it against an
installed provider with::

    python -m hotmesh_conformance --provider asyncpg
    python -m hotmesh_conformance --provider memory
    python -m hotmesh_conformance --provider my_provider --dsn postgresql://...

What a provider can do (and so which tests apply to it) is read from its class's
``capabilities`` (:mod:`hotmesh_conformance.profiles`); a test it cannot run is skipped
with the reason printed.

Helpers for the tests live in ``hotmesh_conformance.harness``. Or, inside a pytest
run that collects ``hotmesh_conformance/tests``, choose providers with
``--hotmesh-provider NAME`` (repeatable; default: every installed provider).
"""

from __future__ import annotations

from pathlib import Path

# Nothing here imports hotmesh: ``python -m hotmesh_conformance`` must start pytest before
# any hotmesh module is imported, so pytest can rewrite their assertions.
__all__ = ["tests_path"]


def tests_path() -> str:
    """The folder holding the suite's test modules."""
    return str(Path(__file__).parent / "tests")
