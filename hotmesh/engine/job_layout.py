"""A stored job's layout, decoded and marked: ``export``, ``get_raw``, ``get_query_state``
(spec 5.1, 5.4) and the ``cancel`` flag.

The engine owns how a job is laid out in its field map (``a/<aid>,<dims>`` activity
records, ``_<name>`` search fields, ``-flag-`` markers, ``d/<path>`` job data); the facade
fetches the job record once and hands it to these pure functions.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Mapping
from typing import Any

from hotmesh.engine.runtime import job_output
from hotmesh.errors import ConfigError
from hotmesh.spi import JobRecord
from hotmesh.types import JobExport, job_error, job_status

__all__ = [
    "EXPORT_SECTIONS",
    "cancel_fields",
    "export_job",
    "query_state",
    "raw_state",
]

#: The sections of a :class:`~hotmesh.types.JobExport` that ``allow``/``block`` name.
EXPORT_SECTIONS = ("dependencies", "status", "process", "activities")


def export_job(
    job: JobRecord,
    *,
    enrich_inputs: bool = False,
    allow: Iterable[str] | None = None,
    block: Iterable[str] | None = None,
    values: bool = True,
) -> JobExport:
    """The job's full record (see :meth:`hotmesh.HotMesh.export` for the options).

    Example:
        >>> from hotmesh.spi import JobRecord
        >>> export_job(JobRecord("j1", {"meta": {"jid": "j1"}}), allow=["status"]).to_dict()
        {'status': '0'}
    """
    sections = _sections(allow, block)
    output = job_output(job.state, job.semaphore)
    process: dict[str, Any] = {
        "metadata": output.metadata,
        "data": output.data if values else {},
    }
    activities = []
    for key, record in job.state.items():
        if not key.startswith("a/") or not isinstance(record, Mapping):
            continue
        aid, _, dims = key[2:].partition(",")
        node = process
        for segment in dims.split(","):
            node = node.setdefault(segment, {})
        node[aid] = {part: _io(record.get(part), values) for part in ("input", "output", "hook")}
        activities.append(_activity(aid, dims.split(","), record, enrich_inputs, values))
    activities.sort(key=lambda a: (a["started_at"] or "", a["dimension"], a["name"]))
    return JobExport(
        status=str(job.semaphore) if "status" in sections else "",
        process=process if "process" in sections else {},
        activities=activities if "activities" in sections else [],
        sections=sections,
        job_status=job_status(job.semaphore, output.metadata),
        error=job_error(output.metadata),
    )


def raw_state(job: JobRecord) -> dict[str, Any]:
    """The stored field map of the job, with ``":"`` = its semaphore (as the reference's hash).

    Example:
        >>> from hotmesh.spi import JobRecord
        >>> raw_state(JobRecord("j1", {"_color": "red"}, semaphore=1))
        {'_color': 'red', ':': 1}
    """
    return {**job.state, ":": job.semaphore}


def query_state(job: JobRecord, fields: Iterable[str]) -> dict[str, Any]:
    """Search fields of the job: ``name`` reads ``_name``; ``'"name"'`` reads ``name`` as is.

    Missing fields are ``None``; the result is keyed by the unquoted names.

    Example:
        >>> from hotmesh.spi import JobRecord
        >>> job = JobRecord("j1", {"_color": "red", "-flag-": "1"})
        >>> query_state(job, ["color", '"-flag-"', "size"])
        {'color': 'red', '-flag-': '1', 'size': None}
    """
    out: dict[str, Any] = {}
    for name in fields:
        if not isinstance(name, str) or not name:
            raise ConfigError("query fields must be non-empty strings", value=name)
        if len(name) > 1 and name[0] == name[-1] == '"':
            out[name[1:-1]] = job.state.get(name[1:-1])
        else:
            out[name] = job.state.get(f"_{name}")
    return out


def cancel_fields() -> dict[str, str]:
    """The fields that flag a job as cancelled: the ``-cancelled-`` marker, and the same
    flag as job data (so a worker's ``{$job.data}`` input carries it).

    Example:
        >>> cancel_fields()
        {'-cancelled-': '1', 'd/-cancelled-': '1'}
    """
    return {"-cancelled-": "1", "d/-cancelled-": "1"}


def _sections(allow: Iterable[str] | None, block: Iterable[str] | None) -> tuple[str, ...]:
    chosen = list(EXPORT_SECTIONS)
    for option, names in (("allow", allow), ("block", block)):
        if names is None:
            continue
        if isinstance(names, str):
            raise ConfigError(f"export {option} must be a list of sections", value=names)
        listed = list(names)
        unknown = [n for n in listed if n not in EXPORT_SECTIONS]
        if unknown:
            raise ConfigError(
                f"unknown export section {unknown[0]!r} in {option}; "
                f"the sections are {', '.join(EXPORT_SECTIONS)}",
                value=unknown[0],
            )
        if option == "allow":
            chosen = [n for n in chosen if n in listed]
        else:
            chosen = [n for n in chosen if n not in listed]
    return tuple(chosen)


def _io(part: Any, values: bool) -> dict[str, Any]:
    """An activity's input/output/hook; without ``values`` its ``data`` is ``{}``."""
    copied: dict[str, Any] = dict(part) if isinstance(part, Mapping) else {}
    if not values and "data" in copied:
        copied["data"] = {}
    return copied


def _activity(
    aid: str, dims: list[str], record: Mapping[str, Any], enrich: bool, values: bool
) -> dict[str, Any]:
    output, meta = _part(record, "output"), _part(_part(record, "output"), "metadata")
    started, updated = _when(meta.get("ac")), _when(meta.get("au"))
    completed = updated if record.get("done") else None
    entry: dict[str, Any] = {
        "name": aid,
        "type": aid,
        "dimension": "/".join(dims),
        "output": output.get("data") if values else {},
        "started_at": _iso(started),
        "completed_at": _iso(completed),
        "duration_ms": (
            round((completed - started).total_seconds() * 1000)
            if started is not None and completed is not None
            else None
        ),
        "cycle_iteration": int(dims[1]) if len(dims) > 1 and dims[1].isdigit() else 0,
        "error": _error(meta.get("err")),
    }
    if enrich:
        entry["input"] = _part(record, "input").get("data") if values else {}
    return entry


def _part(record: Mapping[str, Any], name: str) -> Mapping[str, Any]:
    value = record.get(name)
    return value if isinstance(value, Mapping) else {}


def _when(stamp: Any) -> dt.datetime | None:
    """A ``YYYYMMDDHHmmss.mmm`` stamp as a UTC datetime (None when absent or malformed)."""
    if not isinstance(stamp, str):
        return None
    try:
        return dt.datetime.strptime(stamp, "%Y%m%d%H%M%S.%f").replace(tzinfo=dt.UTC)
    except ValueError:
        return None


def _iso(moment: dt.datetime | None) -> str | None:
    if moment is None:
        return None
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _error(err: Any) -> Any:
    if not isinstance(err, str):
        return err
    try:
        return json.loads(err)
    except ValueError:
        return err
