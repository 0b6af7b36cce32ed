"""A third-party codec package, installed with pip, is found through its entry point alone.

The package (tests/fixtures/thirdparty_codec) is packed into a wheel here and installed
with pip (offline, no build step) into a scratch folder; child processes with that folder
on their path load it by name and run the conformance suite's codec contract against it.
"""

from __future__ import annotations

import base64
import hashlib
import os
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

SOURCE = Path(__file__).parent.parent / "fixtures" / "thirdparty_codec"


def build_wheel(source: Path, out: Path) -> Path:
    """A pure-Python wheel of ``source`` (its pyproject's name, version, entry points)."""
    project = tomllib.loads((source / "pyproject.toml").read_text())["project"]
    dist = project["name"].replace("-", "_")
    info = f"{dist}-{project['version']}.dist-info"
    files: dict[str, bytes] = {}
    for path in sorted(source.rglob("*.py")):
        files[path.relative_to(source).as_posix()] = path.read_bytes()
    groups = project.get("entry-points", {})
    entry_points = "".join(
        f"[{group}]\n" + "".join(f"{k} = {v}\n" for k, v in eps.items()) + "\n"
        for group, eps in groups.items()
    )
    files[f"{info}/METADATA"] = (
        f"Metadata-Version: 2.1\nName: {project['name']}\nVersion: {project['version']}\n"
    ).encode()
    files[f"{info}/WHEEL"] = (
        b"Wheel-Version: 1.0\nGenerator: hotmesh-tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
    )
    files[f"{info}/entry_points.txt"] = entry_points.encode()
    record = []
    for name, data in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        record.append(f"{name},sha256={digest},{len(data)}")
    record.append(f"{info}/RECORD,,")
    files[f"{info}/RECORD"] = ("\n".join(record) + "\n").encode()
    wheel = out / f"{dist}-{project['version']}-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return wheel


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder the third-party package was pip-installed into."""
    work = tmp_path_factory.mktemp("thirdparty")
    wheel = build_wheel(SOURCE, work)
    target = work / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-index",
         "--disable-pip-version-check", "--target", str(target), str(wheel)],
        check=True,
    )  # fmt: skip
    assert (target / "hotmesh_codec_rot13-0.1.0.dist-info" / "entry_points.txt").exists()
    return target


def run(site: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(site), os.environ.get("PYTHONPATH", "")]),
    }
    return subprocess.run(
        [sys.executable, *args], env=env, capture_output=True, text=True, timeout=120, check=False
    )


PROBE = """
import hotmesh_codecs
from hotmesh import HotMesh
from hotmesh.serializer import MARKER, dumps_payload, loads_payload
assert "rot13" in hotmesh_codecs.names(), hotmesh_codecs.names()
codec = hotmesh_codecs.load("rot13")
HotMesh.register_codec(codec)
stored = dumps_payload({"secret": "canary"})
assert stored.startswith(MARKER + "rot13:R13") and "canary" not in stored, stored
assert loads_payload(stored) == {"secret": "canary"}
print("ok", type(codec).__module__)
"""


def test_the_installed_package_is_found_by_entry_point(site: Path) -> None:
    done = run(site, "-c", PROBE)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["ok", "hotmesh_rot13"]


def test_not_installed_means_not_found() -> None:
    import hotmesh_codecs

    assert "rot13" not in hotmesh_codecs.names()


def test_the_conformance_codec_contract_runs_on_it(
    site: Path, hotmesh_dsn: str, hotmesh_provider: str
) -> None:
    done = run(
        site, "-m", "hotmesh_conformance", "--provider", hotmesh_provider, "--dsn", hotmesh_dsn,
        "--hotmesh-codec", "rot13", "-k", "test_codec", "-q",
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert " passed" in done.stdout and " failed" not in done.stdout
