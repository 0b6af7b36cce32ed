"""benchmarks.against runs each side on its own code: a worktree of an earlier commit must
import that commit's core *and* providers, not the editable install's (which maps the
provider packages to the main tree)."""

from __future__ import annotations

import subprocess
from pathlib import Path

from benchmarks.against import ROOT, package_path, run_in

PROBE = (
    "import hotmesh, hotmesh_postgres, hotmesh_asyncpg, hotmesh_codecs;"
    "print(hotmesh.__file__, hotmesh_postgres.__file__, hotmesh_asyncpg.__file__,"
    " hotmesh_codecs.__file__)"
)


def test_the_package_folders_are_the_trees_own() -> None:
    folders = package_path(ROOT)
    assert folders[0] == str(ROOT)
    assert str(ROOT / "providers" / "postgres") in folders
    assert str(ROOT / "providers" / "postgres_asyncpg") in folders


def test_a_worktree_imports_its_own_core_and_providers(tmp_path: Path) -> None:
    tree = tmp_path / "base"
    subprocess.run(
        ["git", "worktree", "add", "--detach", "--quiet", str(tree), "HEAD"], cwd=ROOT, check=True
    )
    try:
        done = run_in(tree, ["-c", PROBE])
        assert done.returncode == 0, done.stdout
        files = done.stdout.split()
        assert len(files) == 4
        assert all(Path(f).resolve().is_relative_to(tree.resolve()) for f in files), files
    finally:
        subprocess.run(["git", "worktree", "remove", "--force", str(tree)], cwd=ROOT, check=False)
