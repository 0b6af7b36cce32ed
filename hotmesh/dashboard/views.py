"""From stored records to what a page shows: activity runs, errors, waiting hooks.

Pure functions (no I/O), so each is tested without a server.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping, Sequence
from typing import Any

from attrs import define, field

from hotmesh.dashboard.svg import Bar
from hotmesh.spi.inspect import JobDetail, VersionInfo
from hotmesh.types import job_error

__all__ = [
    "ActivityRun",
    "WaitingHook",
    "activity_runs",
    "find_graph",
    "job_error",
    "parse_stamp",
    "trigger_input",
    "waiting_hooks",
]

_STAMP = re.compile(r"^(\d{14})(?:\.(\d{1,6}))?$")
_HOOK_FIELD = re.compile(r"^\{\$self\.hook\.data\.([A-Za-z0-9_]+)\}$")


def parse_stamp(value: Any) -> dt.datetime | None:
    """The engine's ``YYYYMMDDHHmmss.mmm`` (UTC) as a datetime, or None.

    Example:
        >>> parse_stamp("20260102030405.250").isoformat()
        '2026-01-02T03:04:05.250000+00:00'
    """
    found = _STAMP.match(str(value or ""))
    if not found:
        return None
    base = dt.datetime.strptime(found[1], "%Y%m%d%H%M%S").replace(tzinfo=dt.UTC)
    fraction = (found[2] or "0").ljust(6, "0")
    return base + dt.timedelta(microseconds=int(fraction))


@define(frozen=True)
class ActivityRun:
    """One activity's record at one dimensional address."""

    activity: str
    dad: str
    kind: str
    state: str  # done, active, failed
    started: dt.datetime | None
    updated: dt.datetime | None
    record: dict[str, Any] = field(factory=dict)

    @property
    def label(self) -> str:
        """``activity`` plus its address when it is not the first one."""
        first = all(part == "0" for part in self.dad.split(",")[1:])
        return self.activity if first else f"{self.activity} {self.dad}"


def find_graph(versions: Sequence[VersionInfo], version: str, topic: str) -> dict[str, Any]:
    """The graph of ``version`` that subscribes to ``topic`` ({} when unknown)."""
    for info in versions:
        if info.version != version:
            continue
        for graph in (info.manifest.get("app") or {}).get("graphs") or ():
            if isinstance(graph, Mapping) and graph.get("subscribes") == topic:
                return dict(graph)
    return {}


def activity_runs(job: JobDetail, graph: Mapping[str, Any]) -> list[ActivityRun]:
    """Every activity record of the job, in the order they started."""
    activities = dict(graph.get("activities") or {})
    runs = []
    for key, value in job.state.items():
        if not key.startswith("a/") or not isinstance(value, Mapping):
            continue
        aid, sep, rest = key[2:].partition(",")
        dad = sep + rest
        spec = activities.get(aid) if isinstance(activities.get(aid), Mapping) else {}
        output = value.get("output")
        output = output if isinstance(output, Mapping) else {}
        stamps = output.get("metadata")
        stamps = stamps if isinstance(stamps, Mapping) else {}
        errored = bool(stamps.get("err"))
        state = "failed" if errored else "done" if value.get("done") else "active"
        runs.append(
            ActivityRun(
                activity=aid,
                dad=dad,
                kind=str((spec or {}).get("type", "")),
                state=state,
                started=parse_stamp(stamps.get("ac")),  # the engine's stamps, as the
                updated=parse_stamp(stamps.get("au")),  # reference keeps them
                record=dict(value),
            )
        )
    far = dt.datetime.max.replace(tzinfo=dt.UTC)
    runs.sort(key=lambda r: (r.started or far, r.dad, r.activity))
    return runs


def timeline(runs: Sequence[ActivityRun], job_open: bool) -> list[Bar]:
    """Bars for the Gantt picture: open activities of a running job run until now."""
    bars = []
    for run in runs:
        if run.started is None:
            continue
        end = None if (run.state == "active" and job_open) else (run.updated or run.started)
        bars.append(Bar(run.label, run.started, end, run.state))
    return bars


def trigger_input(job: JobDetail) -> dict[str, Any] | None:
    """The data the job was started with (its trigger's input), or None."""
    aid = job.summary.metadata.get("aid")
    record = job.state.get(f"a/{aid},0") if aid else None
    if not isinstance(record, Mapping):
        return None
    data = (record.get("input") or {}).get("data")
    return dict(data) if isinstance(data, Mapping) else None


@define(frozen=True)
class WaitingHook:
    """A hook activity waiting for a signal, and a signal that would wake it."""

    activity: str
    topic: str
    data: dict[str, Any]


def waiting_hooks(runs: Sequence[ActivityRun], graph: Mapping[str, Any]) -> list[WaitingHook]:
    """The job's hooks that wait for a signal, each with a matching signal to send."""
    hooks = dict(graph.get("hooks") or {})
    out = []
    for run in runs:
        key = run.record.get("hook_key")
        if run.state != "active" or not isinstance(key, str):
            continue
        topic = next((t for t in hooks if key.startswith(f"{t}:")), None)
        if topic is None:
            topic, _, expected = key.partition(":")
        else:
            expected = key[len(topic) + 1 :]
        name = "id"
        for rule in hooks.get(topic) or ():
            if not isinstance(rule, Mapping) or rule.get("to") != run.activity:
                continue
            for match in ((rule.get("conditions") or {}).get("match")) or ():
                found = _HOOK_FIELD.match(str((match or {}).get("actual", "")))
                if found:
                    name = found[1]
        out.append(WaitingHook(run.activity, topic, {name: expected}))
    return out
