"""``python -m hotmesh_conformance --provider NAME [--dsn DSN] [pytest args...]``.

Runs the conformance suite against one installed provider and exits with pytest's code
(non-zero on any failure, or when no test ran).
"""

from __future__ import annotations

import argparse
import sys
from importlib.metadata import entry_points

import pytest

from hotmesh_conformance import tests_path


def main(argv: list[str] | None = None) -> int:
    """Parse arguments and run the suite."""
    parser = argparse.ArgumentParser(prog="python -m hotmesh_conformance")
    parser.add_argument("--provider", action="append", required=True, help="provider name")
    parser.add_argument(
        "--dsn",
        default=None,
        help="Postgres DSN, for providers that take one (default: an embedded cluster)",
    )
    args, rest = parser.parse_known_args(argv)
    # Read the entry points directly: importing hotmesh here would stop pytest from
    # rewriting its assertions.
    installed = sorted(ep.name for ep in entry_points(group="hotmesh.providers"))
    unknown = [name for name in args.provider if name not in installed]
    if unknown:
        shown = ", ".join(installed) or "none"
        print(f"unknown provider(s) {', '.join(unknown)}; installed: {shown}", file=sys.stderr)
        return 4
    pytest_args = [
        tests_path(),
        "-p",
        "no:cacheprovider",
        "--rootdir",
        tests_path(),
        "-c",
        tests_path() + "/pytest.ini",
        *[opt for name in args.provider for opt in ("--hotmesh-provider", name)],
        *(["--hotmesh-dsn", args.dsn] if args.dsn else []),
        *rest,
    ]
    return int(pytest.main(pytest_args))


if __name__ == "__main__":
    sys.exit(main())
