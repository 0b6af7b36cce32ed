"""Architecture fence: the core package imports no provider and no database driver."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

FORBIDDEN = [
    "asyncpg",
    "psycopg",
    "psycopg_pool",
    "hotmesh_postgres",
    "hotmesh_asyncpg",
    "hotmesh_psycopg",
]

SCRIPT = textwrap.dedent(
    """
    import importlib, json, pkgutil, sys
    import hotmesh

    imported, failed = [], {}

    def on_error(name):
        failed[name] = "walk_packages could not import it"

    for info in pkgutil.walk_packages(hotmesh.__path__, "hotmesh.", onerror=on_error):
        try:
            importlib.import_module(info.name)
            imported.append(info.name)
        except ImportError as err:
            failed[info.name] = repr(err)
    roots = sorted({name.split(".")[0] for name in sys.modules})
    print(json.dumps({"imported": imported, "failed": failed, "roots": roots}))
    """
)


def test_core_modules_import_no_provider_or_driver() -> None:
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout.splitlines()[-1])
    if report["failed"]:  # pragma: no cover - only when an optional extra is missing
        print(f"modules not importable here (optional extras?): {report['failed']}")
    assert not report["failed"], "every hotmesh module must import without optional extras"
    assert {"hotmesh.errors", "hotmesh.plugins", "hotmesh.spi.provider", "hotmesh.embedded"} <= set(
        report["imported"]
    )
    assert len(report["imported"]) >= 20, report["imported"]
    leaked = sorted(set(FORBIDDEN) & set(report["roots"]))
    assert not leaked, f"importing hotmesh pulled in {leaked}"
