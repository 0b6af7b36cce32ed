"""The worker stream's message (see :mod:`hotmesh.engine.messages`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from attrs import define, field

from hotmesh.engine.messages._engine import Response
from hotmesh.engine.messages._wire import WORKER_DELIVERY, WORKER_PRIORITY, as_dict
from hotmesh.spi import OutgoingMessage

__all__ = ["WorkerRequest"]

#: The metadata keys a request names itself (any other is kept as it came).
_NAMED = frozenset({"jid", "gid", "aid", "dad", "topic", "guid", "try", "trc", "spn"})


@define(frozen=True, kw_only=True)
class WorkerRequest:
    """A ``worker`` activity's call: ``data`` for the callback on stream ``topic``.

    On the wire: ``{"metadata": {jid, gid, aid, dad, topic, guid, try, trc?, spn?},
    "data": {...}, "policies"?: {"retry"?: {...}, "timeout"?: s}}``. ``attempt`` is the
    delivery (``try`` = attempt - 1); ``history`` is filled only for workers registered
    with ``history=True`` (see the module docstring) and is never encoded.

    Example:
        >>> request = WorkerRequest(jid="j1", gid="g", aid="w1", dad=",0,0", topic="t",
        ...                         guid="r1", data={"n": 1})
        >>> sent = request.outgoing()
        >>> (sent.stream, sent.priority, sent.payload["metadata"]["try"])
        ('t', 1, 0)
        >>> WorkerRequest.decode(sent.payload, attempt=2).metadata["try"]
        1
    """

    jid: str
    gid: Any
    aid: str
    dad: str
    topic: str
    guid: str | None
    data: Mapping[str, Any] = field(factory=dict)
    policies: Mapping[str, Any] | None = None
    #: the job's trace ids (``trc``, ``spn``), continued by the worker's span
    trace: Mapping[str, Any] = field(factory=dict)
    attempt: int = 1
    #: the job's recorded state, for workers that asked for it (not on the wire)
    history: Mapping[str, Any] | None = field(default=None, eq=False, repr=False)
    #: the stored metadata's other keys, kept as they came
    extra: Mapping[str, Any] = field(factory=dict, eq=False, repr=False)

    @property
    def metadata(self) -> dict[str, Any]:
        """The metadata as the callback sees it (``try`` counts from 0)."""
        out = {**self.extra, "jid": self.jid, "gid": self.gid, "aid": self.aid,
               "dad": self.dad, "topic": self.topic, "guid": self.guid,
               "try": self.attempt - 1}  # fmt: skip
        out.update(self.trace)
        return out

    @property
    def retry_rules(self) -> Mapping[str, Any]:
        """The activity's ``retry`` block as sent (``{"500": [3]}`` or backoff keys)."""
        rules = (self.policies or {}).get("retry")
        return rules if isinstance(rules, Mapping) else {}

    @property
    def timeout(self) -> float | None:
        """The activity's per-attempt timeout, if it declares one."""
        value = (self.policies or {}).get("timeout")
        return float(value) if value else None

    def outgoing(self) -> OutgoingMessage:
        """This request for ``Stream.publish`` on its topic's stream."""
        metadata = {"jid": self.jid, "gid": self.gid, "aid": self.aid, "dad": self.dad,
                    "topic": self.topic, "guid": self.guid, "try": 0, **self.trace}  # fmt: skip
        payload: dict[str, Any] = {"metadata": metadata, "data": dict(self.data)}
        if self.policies is not None:
            payload["policies"] = dict(self.policies)
        return OutgoingMessage(
            self.topic, payload, priority=WORKER_PRIORITY, job_id=self.jid, retry=WORKER_DELIVERY
        )

    @classmethod
    def decode(
        cls,
        payload: Mapping[str, Any],
        *,
        attempt: int = 1,
        history: Mapping[str, Any] | None = None,
    ) -> WorkerRequest:
        """A request from its stored payload (``attempt``: this delivery, from 1)."""
        meta = as_dict(payload.get("metadata"))
        policies = payload.get("policies")
        return cls(
            jid=str(meta.get("jid") or ""), gid=meta.get("gid"), aid=str(meta.get("aid") or ""),
            dad=str(meta.get("dad") or ""), topic=str(meta.get("topic") or ""),
            guid=None if meta.get("guid") is None else str(meta.get("guid")),
            data=as_dict(payload.get("data")),
            policies=dict(policies) if isinstance(policies, Mapping) else None,
            trace={k: meta[k] for k in ("trc", "spn") if k in meta},
            attempt=attempt, history=history,
            extra={k: v for k, v in meta.items() if k not in _NAMED},
        )  # fmt: skip

    def answer(self, status: str | None, code: Any, data: Any, fallback_id: str) -> Response:
        """The engine's :class:`Response` to this request (``fallback_id``: the stream
        message id, when the request carries no ``guid``)."""
        return Response(
            jid=self.jid, gid=self.gid, aid=self.aid, dad=self.dad,
            # Stable across redeliveries: the engine drops a second answer to one request.
            guid=str(self.guid or fallback_id), status=status or "success", code=code or 200,
            data=data or {},
        )  # fmt: skip
