"""What each codec costs on the seed workflow (trigger → worker → done), end to end.

    python -m benchmarks.codecs [--provider asyncpg|psycopg] [--jobs 1000]
                                [--concurrency 20] [--codecs none,gzip,zstd,...]
                                [--repeat 3] [--json out.json]

For each codec it registers the codec process-wide (engine and worker run in this process),
runs the seed benchmark (:func:`hotmesh.cli.bench.run_provider`) ``--repeat`` times, and
reports the best jobs/s, its cost against the first codec listed, this process's CPU time
per job (engine and worker; steadier than jobs/s on a shared machine), and the codec's own
time to encode and decode one seed job's values (measured apart from Postgres).
Uses ``$HOTMESH_BENCH_DSN`` or an embedded Postgres. Nothing is asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from typing import Any

from hotmesh.cli.bench import run_provider
from hotmesh.serializer import decode_state, dumps_payload, encode_state, loads_payload
from hotmesh.serializer import register_codec as set_codec
from hotmesh.spi import Codec
from hotmesh_codecs import AesGcmCodec, FernetCodec, chain, load

__all__ = ["CODECS", "main", "make_codec", "serializer_cost_us"]

WARMUP = 200
CODECS = ["none", "gzip", "zstd", "fernet", "aesgcm", "zstd+aesgcm"]

# One seed job's state and messages, as the engine writes them (a representative shape).
_STATE: dict[str, Any] = {
    "meta": {"jid": "b1c2d3e4-17", "gid": "g", "app": "bench", "vrs": "1", "tpc": "order.placed"},
    "a/t1,0": {"input": {"data": {"id": "b1c2d3e4-17"}}, "output": {"data": {"id": "b1"}}},
    "a/w1,0": {"output": {"data": {"orderId": "b1c2d3e4-17", "status": "fulfilled"}}},
    "d/orderId": "b1c2d3e4-17",
    "d/status": "fulfilled",
}
_PAYLOADS: list[dict[str, Any]] = [
    {"metadata": {"jid": "b1c2d3e4-17", "aid": "w1", "dad": ",0"}, "data": {"id": "b1c2"}},
    {"metadata": {"jid": "b1c2d3e4-17", "aid": "w1"}, "data": {"orderId": "b1", "s": "ok"}},
]


def make_codec(name: str) -> Codec | None:
    """The codec benchmarked as ``name`` (with a fresh random key where one is needed)."""
    if name == "none":
        return None
    if name == "fernet":
        return FernetCodec(key=FernetCodec.generate_key(), key_id="bench")
    if name == "aesgcm":
        return AesGcmCodec(key=AesGcmCodec.generate_key(), key_id="bench")
    if "+" in name:
        return chain(*(make_codec(part) or load(part) for part in name.split("+")))
    return load(name)


def serializer_cost_us(codec: Codec | None, rounds: int = 2000) -> float:
    """Microseconds to encode and decode one seed job's state and payloads through ``codec``."""
    set_codec(codec)
    try:
        started = time.perf_counter()
        for _ in range(rounds):
            decode_state(encode_state(_STATE), job_id="b")
            for payload in _PAYLOADS:
                loads_payload(dumps_payload(payload))
        return (time.perf_counter() - started) / rounds * 1e6
    finally:
        set_codec(None)


def main() -> None:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.codecs")
    parser.add_argument("--provider", default="asyncpg", choices=["asyncpg", "psycopg"])
    parser.add_argument("--jobs", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument("--codecs", default=",".join(CODECS))
    parser.add_argument("--repeat", type=int, default=3, help="runs per codec; best is kept")
    parser.add_argument("--json", default=None)
    args = parser.parse_args()
    from benchmarks._pg import target_dsn

    rows: list[dict[str, Any]] = []
    with target_dsn() as dsn:
        for name in args.codecs.split(","):
            codec = make_codec(name)
            best: dict[str, Any] | None = None
            for _ in range(args.repeat):
                set_codec(codec)
                cpu = time.process_time()
                try:
                    [level] = asyncio.run(
                        run_provider(
                            args.provider, dsn, args.jobs, [args.concurrency], 1, warmup=WARMUP
                        )
                    )
                finally:
                    set_codec(None)
                level["cpu_ms_per_job"] = (time.process_time() - cpu) / (args.jobs + WARMUP) * 1e3
                if best is None or level["jobs_per_s"] > best["jobs_per_s"]:
                    best = level
            assert best is not None
            row = {
                "codec": name,
                "provider": args.provider,
                "concurrency": args.concurrency,
                "jobs_per_s": best["jobs_per_s"],
                "p50_ms": best["p50_ms"],
                "cpu_ms_per_job": best["cpu_ms_per_job"],
                "serializer_us_per_job": serializer_cost_us(codec),
            }
            base = rows[0]["jobs_per_s"] if rows else row["jobs_per_s"]
            row["vs_first"] = row["jobs_per_s"] / base - 1
            rows.append(row)
            print(
                f"{name:12} {row['jobs_per_s']:8.1f} jobs/s  {row['vs_first']:+6.1%}  "
                f"p50 {row['p50_ms']:5.2f} ms  process CPU {row['cpu_ms_per_job']:.3f} ms/job  "
                f"codec work {row['serializer_us_per_job']:.1f} µs/job",
                flush=True,
            )
    if args.json:
        with open(args.json, "w") as out:
            json.dump({"results": rows}, out, indent=2)


if __name__ == "__main__":
    main()
