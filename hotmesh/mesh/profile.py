"""What a member reports in a roll call: :class:`QuorumProfile` and the host's stats."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import attrs
import psutil
from attrs import define, field

from hotmesh.mesh.router import Router

__all__ = ["QuorumProfile", "host_stats", "router_stats", "stamp"]


def stamp() -> str:
    """Now, as a compact ISO timestamp (UTC)."""
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%S.%fZ")


def host_stats() -> dict[str, float]:
    """Memory and CPU of the host (and this process), from psutil."""
    memory = psutil.virtual_memory()
    gb = 1024.0**3
    try:
        load = float(psutil.getloadavg()[0])
    except (OSError, AttributeError):  # pragma: no cover - platforms without a load average
        load = 0.0
    return {
        "total_memory_gb": round(memory.total / gb, 3),
        "free_memory_gb": round(memory.available / gb, 3),
        "used_memory_gb": round((memory.total - memory.available) / gb, 3),
        "process_rss_mb": round(psutil.Process().memory_info().rss / 1024.0**2, 1),
        "cpu_percent": float(psutil.cpu_percent(interval=None)),
        "load_1m": round(load, 2),
    }


@define(kw_only=True, repr=False)
class QuorumProfile:
    """What one engine or worker reports in a roll call.

    Attributes:
        role: ``"engine"`` or ``"worker"``.
        guid: the member (HotMesh instance) it belongs to.
        app_id: the app.
        namespace: the key namespace.
        stream: the stream it consumes (the engine stream, or the worker topic).
        worker_topic: the worker's topic (None for an engine).
        version: the engine's cached active version (None for a worker, or not yet read).
        processed: messages handled successfully since start.
        failed: failed callback attempts since start (for a worker: raised, timed out,
            unencodable answer, or found past its attempts after lost leases).
        error_count: claim or loop failures (database errors) since start; for a worker,
            also the jobs it answered with an error once the attempts were used up.
        in_flight: callbacks running now.
        stream_depth: messages waiting in ``stream`` (ready, delayed or leased).
        throttle: seconds between messages; 0 full speed, -1 paused.
        held: the router is held by a version switch.
        pressured: backpressure (a deep engine stream) keeps it from claiming.
        readonly: an engine that does not consume.
        pid: the process id.
        host: the host name.
        inited: when the member started (compact ISO, UTC).
        timestamp: when this profile was taken (compact ISO, UTC).
        system: host memory and CPU (see :func:`host_stats`).

    Example:
        >>> QuorumProfile(role="worker", guid="H1", app_id="a1", namespace="hmsh",
        ...               stream="order.process", worker_topic="order.process", pid=7,
        ...               host="h")  # doctest: +ELLIPSIS
        QuorumProfile(worker 'order.process' guid=H1 pid=7 ...)
    """

    role: str
    guid: str
    app_id: str
    namespace: str
    stream: str
    worker_topic: str | None = None
    version: str | None = None
    processed: int = 0
    failed: int = 0
    error_count: int = 0
    in_flight: int = 0
    stream_depth: int = 0
    throttle: float = 0.0
    held: bool = False
    pressured: bool = False
    readonly: bool = False
    pid: int = 0
    host: str = ""
    inited: str = ""
    timestamp: str = ""
    system: dict[str, float] = field(factory=dict)

    def __repr__(self) -> str:
        who = f"worker {self.worker_topic!r}" if self.role == "worker" else "engine"
        if self.role == "engine" and self.version is not None:
            who += f" v{self.version}"
        return (
            f"QuorumProfile({who} guid={self.guid} pid={self.pid} host={self.host}"
            f" processed={self.processed} failed={self.failed} in_flight={self.in_flight}"
            f" depth={self.stream_depth} throttle={self.throttle:g})"
        )

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready copy."""
        return attrs.asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> QuorumProfile:
        """Rebuild a profile sent over the quorum (unknown keys are ignored)."""
        names = {a.name for a in attrs.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})


def router_stats(router: Router | None) -> dict[str, Any]:
    """A router's counters as :class:`QuorumProfile` fields (none without a router)."""
    if router is None:
        return {}
    return {
        "processed": router.processed,
        "failed": router.failed,
        "error_count": router.errors,
        "in_flight": router.in_flight,
        "throttle": router.delay,
        "held": router.held,
        "pressured": router.pressured,
    }
