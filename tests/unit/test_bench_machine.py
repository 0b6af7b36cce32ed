"""The machine line every benchmark prints names the CPU: two 2-core hosts can differ
twofold in speed, and figures from them must not be read as one series."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from hotmesh.cli.bench import cpu_model, describe_machine


def test_the_cpu_is_named() -> None:
    name = cpu_model()
    assert name and name == name.strip()
    cpuinfo = Path("/proc/cpuinfo")
    if sys.platform.startswith("linux") and cpuinfo.exists():
        models = [
            line.partition(":")[2].strip()
            for line in cpuinfo.read_text().splitlines()
            if line.partition(":")[0].strip() == "model name"
        ]
        if models:
            assert name == models[0]


@pytest.mark.parametrize("cpu", ["AMD EPYC", "Intel(R) Xeon(R) CPU @ 2.20GHz"])
def test_the_machine_line_starts_with_the_cpu(cpu: str) -> None:
    found = {
        "cpu": cpu,
        "cores": 2,
        "python": "3.11.7",
        "postgres_local": True,
        "server_version": "18.6",
        "fsync": "on",
        "synchronous_commit": "on",
        "shared_buffers": "128MB",
        "wal_level": "replica",
    }
    line = describe_machine(found)
    assert line.startswith(f"machine: {cpu}, 2 cores, Python 3.11.7, PostgreSQL 18.6")
