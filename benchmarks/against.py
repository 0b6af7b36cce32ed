"""One benchmark, this tree against an earlier commit, alternated on the same host.

    python -m benchmarks.against BASE [--rounds 2] -- MODULE [ARGS...]

e.g. ``python -m benchmarks.against 06a709b -- seed --provider asyncpg --jobs 6000
--concurrency 50`` runs ``python -m benchmarks.seed ...`` in a worktree of ``BASE``, then in
this tree, ``--rounds`` times, and prints each run's output under a ``== base <commit>`` or
``== head <commit>`` line. Figures from one host drift between runs (other tenants, clock
speed): alternating both trees in one command is what makes them comparable.

Each side imports its own code: the editable install maps the provider and codec packages
(``hotmesh_postgres``, ``hotmesh_asyncpg``...) to this tree, so a worktree run as is would
mix an old core with today's providers. Each run gets its tree's package folders (read
from that tree's ``pyproject.toml``) first on ``PYTHONPATH``. The base's worktree is removed
at the end. Nothing is asserted.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import tomllib
from collections.abc import Sequence
from pathlib import Path

__all__ = ["main", "package_path", "run_in"]

ROOT = Path(__file__).resolve().parent.parent


def package_path(tree: Path) -> list[str]:
    """The folders ``tree``'s packages live in (its ``packages.find`` roots), in order."""
    try:
        config = tomllib.loads((tree / "pyproject.toml").read_text())
        roots = config["tool"]["setuptools"]["packages"]["find"]["where"]
    except (OSError, KeyError, tomllib.TOMLDecodeError):
        roots = ["."]
    return [str((tree / root).resolve()) for root in roots if (tree / root).is_dir()]


def run_in(tree: Path, argv: Sequence[str]) -> subprocess.CompletedProcess[str]:
    """``python ARGV`` in ``tree``, importing that tree's packages before any installed."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        [*package_path(tree), *filter(None, [os.environ.get("PYTHONPATH")])]
    )
    return subprocess.run(
        [sys.executable, *argv],
        cwd=tree,
        env=env,
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        check=False,
    )


def _commit(tree: Path, ref: str = "HEAD") -> str:
    return subprocess.run(
        ["git", "rev-parse", "--short", ref], cwd=tree, text=True, capture_output=True, check=True
    ).stdout.strip()


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.against",
        usage="%(prog)s BASE [--rounds N] -- MODULE [ARGS...]",
        description="Run benchmarks.MODULE in a worktree of BASE and in this tree, alternated.",
    )
    parser.add_argument("base", help="the commit to compare with (any git revision)")
    parser.add_argument("--rounds", type=int, default=2, help="base-then-head rounds")
    given = list(sys.argv[1:] if argv is None else argv)
    cut = given.index("--") if "--" in given else len(given)
    args = parser.parse_args(given[:cut])
    command = given[cut + 1 :]
    if not command:
        parser.error("name the benchmark after --, e.g. -- seed --jobs 6000")
    module, *rest = command
    base = _commit(ROOT, args.base)
    head = _commit(ROOT)
    with tempfile.TemporaryDirectory(prefix="hotmesh-against-") as folder:
        tree = Path(folder) / "base"
        subprocess.run(
            ["git", "worktree", "add", "--detach", "--quiet", str(tree), base],
            cwd=ROOT,
            check=True,
        )
        try:
            for _ in range(args.rounds):
                for side, where, commit in (("base", tree, base), ("head", ROOT, head)):
                    print(f"== {side} {commit}: python -m benchmarks.{module} {' '.join(rest)}")
                    done = run_in(where, ["-m", f"benchmarks.{module}", *rest])
                    print(done.stdout, end="", flush=True)
                    if done.returncode:
                        print(f"(exited with {done.returncode})", flush=True)
        finally:
            subprocess.run(
                ["git", "worktree", "remove", "--force", str(tree)], cwd=ROOT, check=False
            )


if __name__ == "__main__":
    main()
