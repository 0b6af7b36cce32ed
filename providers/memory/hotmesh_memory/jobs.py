"""Job rows: how state is kept at rest, merged by a step, and closed on a codec failure.

A job's state is stored key by key as JSON text of the value *as at rest* (through the
codec, :func:`hotmesh.serializer.encode_state`), the way Postgres keeps a ``jsonb`` object:
a step replaces whole keys, and reading parses fresh copies.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from typing import Any

from hotmesh.errors import ConfigError
from hotmesh.serializer import decode_state, encode_state, is_clear_key
from hotmesh_memory.space import AppSpace, JobRow, now, to_json

__all__ = [
    "check_expect",
    "close_job",
    "fail_jobs",
    "holds",
    "merge_state",
    "read_state",
    "stored_state",
]

#: What a codec failure subtracts from a job's semaphore (as an interrupted job's).
FAILED = 1_000_000_000


def stored_state(state: Mapping[str, Any]) -> dict[str, str]:
    """``state`` as stored: each value through the codec, then JSON text."""
    return {k: to_json(v, "job state") for k, v in encode_state(state).items()}


def read_state(row: JobRow, job_id: str) -> dict[str, Any]:
    """The job's decoded state (a fresh copy).

    Raises:
        CodecError: a value was encoded by a codec that cannot decode it here.
    """
    return decode_state({k: json.loads(v) for k, v in row.state.items()}, job_id=job_id)


def merge_state(row: JobRow, delta: Mapping[str, Any]) -> None:
    """Apply a step's writes: keys replace stored keys; a ``None`` value removes the key.

    Every value is encoded before the row changes, so a bad one changes nothing.
    """
    kept = stored_state({k: v for k, v in delta.items() if v is not None})
    for key, value in delta.items():
        if value is None:
            row.state.pop(key, None)
    row.state.update(kept)
    row.updated_at = time.time()


def check_expect(expect: Mapping[str, Any] | None) -> None:
    """Refuse a step guard on keys whose values are encoded (they cannot be compared).

    Raises:
        ConfigError: a key of ``expect`` is not clear (:func:`is_clear_key`).
    """
    for key in expect or {}:
        if not is_clear_key(key):
            raise ConfigError(f"an expect key must be a clear state key, got {key!r}", value=key)


def holds(row: JobRow, expect: Mapping[str, Any]) -> bool:
    """The step guard: the job is open and each key holds its value (None: is absent)."""
    if row.semaphore <= 0:
        return False
    for key, value in expect.items():
        stored = row.state.get(key)
        if value is None:
            if stored is not None:
                return False
        elif stored is None or json.loads(stored) != value:
            return False
    return True


def close_job(row: JobRow, expire: float | None) -> None:
    """Start a closed job's expiry: ``None`` keeps it, ``<= 0`` never, else in ``expire`` s."""
    if expire is None:
        return
    row.expires_at = None if expire <= 0 else now() + float(expire)


def fail_jobs(space: AppSpace, errors: Mapping[str, str]) -> None:
    """Close running jobs whose stored values cannot be decoded, as errored.

    Retrying cannot help (the key is missing or wrong in this process), so the error text
    goes into the job's (clear) metadata, the semaphore goes negative as an interrupted
    job's does, its pending messages are dropped and its usual expiry starts.
    """
    for job_id, error in errors.items():
        row = space.live_job(job_id)
        if row is None or row.semaphore <= 0:
            continue
        stored_meta = json.loads(row.state.get("meta", "null"))
        meta = dict(stored_meta) if isinstance(stored_meta, dict) else {}
        expire = meta.get("expire")
        meta["err"] = error
        row.state["meta"] = to_json(meta, "job metadata")
        row.semaphore -= FAILED
        row.updated_at = time.time()
        if isinstance(expire, int | float) and not isinstance(expire, bool):
            close_job(row, float(expire))
        space.drop_messages(job_id=job_id)
