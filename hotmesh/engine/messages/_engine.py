"""The engine stream's messages (see :mod:`hotmesh.engine.messages`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import attrs
from attrs import define, field

from hotmesh.engine.messages._wire import PRIORITY, as_dict, engine_message, guid
from hotmesh.errors import ConfigError
from hotmesh.spi import OutgoingMessage

__all__ = [
    "Address",
    "ChildResult",
    "EngineMessage",
    "JobComplete",
    "Response",
    "Signal",
    "SignalAll",
    "StartChild",
    "Timer",
    "Transition",
    "decode",
]


@define(frozen=True)
class Address:
    """Where an event lands: job ``jid`` (generation ``gid``), activity ``aid`` at ``dad``.

    Example:
        >>> Address("j1", "g1", "a1", ",0,0").dad
        ',0,0'
    """

    jid: str
    gid: Any
    aid: str
    dad: str


@define(frozen=True, kw_only=True)
class EngineMessage:
    """The base of every engine-stream message: its ``type`` and priority, and encoding."""

    kind: ClassVar[str] = ""
    _by_kind: ClassVar[dict[str, type[EngineMessage]]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls.kind:
            EngineMessage._by_kind[cls.kind] = cls

    @property
    def priority(self) -> int:
        """Lower is claimed first."""
        return PRIORITY.get(self.kind, 4)

    def body(self) -> dict[str, Any]:
        """The payload's keys besides ``type``."""
        raise NotImplementedError  # pragma: no cover - every message defines it

    def job_id(self) -> str:
        """The job the stream row is filed under (``""``: none yet)."""
        return str(getattr(self, "jid", "") or "")

    def outgoing(self, delay: float = 0.0) -> OutgoingMessage:
        """This message for ``Stream.publish``."""
        return engine_message(self.kind, self.job_id(), self.body(), delay)

    @classmethod
    def read(cls, body: Mapping[str, Any]) -> EngineMessage:
        """This class's message from a stored payload."""
        raise NotImplementedError  # pragma: no cover - every message defines it


def decode(payload: Mapping[str, Any]) -> EngineMessage:
    """The engine-stream message a stored payload holds (old rows included).

    Example:
        >>> decode({"type": "complete", "jid": "j1", "gid": "g1"})
        JobComplete(jid='j1', gid='g1')
        >>> type(decode({"jid": "j1", "aid": "a1"})).__name__
        'Response'
    """
    cls = EngineMessage._by_kind.get(str(payload.get("type")), Response)
    return cls.read(payload)


# -- activity events: what leg 2 of an activity hears ------------------------------------


@define(frozen=True, kw_only=True)
class _Event(EngineMessage):
    """An event for one activity record (the fields leg 2 reads)."""

    jid: str
    gid: Any = None
    aid: str = ""
    dad: str = ",0"
    guid: str | None = None

    @property
    def at(self) -> Address:
        """The activity record this event is for."""
        return Address(self.jid, self.gid, self.aid, self.dad)

    @property
    def status(self) -> str:
        """``success`` (default), ``pending`` or ``error``."""
        return "success"

    @property
    def code(self) -> int:
        """The status code (200 unless said otherwise)."""
        return 200

    @property
    def data(self) -> Any:
        """The event's data."""
        return {}


def _address(body: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "jid": str(body.get("jid") or ""),
        "gid": body.get("gid"),
        "aid": str(body.get("aid") or ""),
        "dad": str(body.get("dad", ",0")),
        "guid": None if body.get("guid") is None else str(body.get("guid")),
    }


@define(frozen=True, kw_only=True)
class Response(_Event):
    """A worker's answer to a :class:`WorkerRequest` (``cycle``: a cycle activity
    re-entering its ancestor with ``data``).

    ``status`` is ``success``, ``pending`` (a 202: the activity stays open) or
    ``error``; ``code`` routes transitions. ``guid`` is the request's id, so a second
    answer to one request is recognised and dropped.

    Example:
        >>> answer = Response(jid="j1", gid="g", aid="w1", dad=",0,0", guid="r1", code=202,
        ...                   status="pending", data={"n": 1})
        >>> decode(answer.outgoing().payload) == answer
        True
    """

    kind: ClassVar[str] = "response"

    status_: str | None = field(default=None, alias="status")
    code_: Any = field(default=None, alias="code")
    data_: Any = field(default=None, alias="data")
    cycle: bool = False

    @property
    def status(self) -> str:
        return str(self.status_ or "success")

    @property
    def code(self) -> int:
        return int(self.code_ or 200)

    @property
    def data(self) -> Any:
        return self.data_ or {}

    def body(self) -> dict[str, Any]:
        out: dict[str, Any] = {"jid": self.jid, "gid": self.gid, "aid": self.aid, "dad": self.dad}
        out["guid"] = self.guid
        if self.status_ is not None:
            out["status"] = self.status_
        if self.code_ is not None:
            out["code"] = self.code_
        if self.data_ is not None:
            out["data"] = self.data_
        if self.cycle:
            out["cycle"] = True
        return out

    @classmethod
    def read(cls, body: Mapping[str, Any]) -> Response:
        return cls(
            **_address(body), status=body.get("status"), code=body.get("code"),
            data=body.get("data"), cycle=bool(body.get("cycle")),
        )  # fmt: skip

    @classmethod
    def answer(cls, message: Mapping[str, Any], event: str) -> Response:
        """A raw worker answer (``{"metadata", "status", "code", "data"}``, as
        ``HotMesh.add`` takes it) with event id ``event``.

        Raises:
            ConfigError: ``metadata`` lacks ``jid``, ``gid``, ``aid`` or ``dad``, or
                ``data`` is not a mapping.
        """
        metadata = message.get("metadata")
        metadata = metadata if isinstance(metadata, Mapping) else {}
        missing = [k for k in ("jid", "gid", "aid", "dad") if not metadata.get(k)]
        if missing:
            raise ConfigError(
                f"an answer's metadata needs {', '.join(missing)} (the worker message's metadata)",
                value=missing[0],
            )
        data = message.get("data")
        if data is not None and not isinstance(data, Mapping):
            raise ConfigError("an answer's data must be a mapping", value=type(data).__name__)
        return cls(
            jid=str(metadata["jid"]), gid=metadata["gid"], aid=str(metadata["aid"]),
            dad=str(metadata["dad"]), guid=event, status=message.get("status") or "success",
            code=message.get("code") or 200, data=dict(data or {}),
        )  # fmt: skip


@define(frozen=True, kw_only=True)
class ChildResult(Response):
    """A child job's result (``success``/``error``, or ``pending`` for an emit) for the
    parent's ``await`` activity.

    Example:
        >>> ChildResult(jid="p1", aid="a1", data={}, code=200, status="success").priority
        3
    """

    kind: ClassVar[str] = "result"

    def body(self) -> dict[str, Any]:
        return {
            "jid": self.jid, "gid": self.gid, "aid": self.aid, "dad": self.dad,
            "data": self.data_ if self.data_ is not None else {}, "code": self.code_,
            "status": self.status_, "guid": self.guid,
        }  # fmt: skip

    @classmethod
    def read(cls, body: Mapping[str, Any]) -> ChildResult:
        return cls(
            **_address(body), status=body.get("status"), code=body.get("code"),
            data=body.get("data"),
        )  # fmt: skip

    @classmethod
    def for_parent(
        cls, metadata: Mapping[str, Any], data: Mapping[str, Any], code: int, status: str,
        event: str | None = None,
    ) -> ChildResult:  # fmt: skip
        """The result of the child job whose metadata is ``metadata`` (its ``p*`` fields
        name the parent)."""
        return cls(
            jid=str(metadata.get("pj")), gid=metadata.get("pg"), aid=str(metadata.get("pa")),
            dad=str(metadata.get("pd")), data=dict(data), code=code, status=status,
            guid=event or f"result:{metadata.get('jid')}:{status}",
        )  # fmt: skip


@define(frozen=True, kw_only=True)
class Timer(_Event):
    """A hook activity's ``sleep`` ran out (published with that delay).

    Example:
        >>> Timer(jid="j1", aid="h1", dad=",0,0", guid="t", delay=2.5).outgoing().delay
        2.5
    """

    kind: ClassVar[str] = "timehook"

    delay: float = field(default=0.0, eq=False)

    def body(self) -> dict[str, Any]:
        return {"jid": self.jid, "gid": self.gid, "aid": self.aid, "dad": self.dad,
                "guid": self.guid}  # fmt: skip

    def outgoing(self, delay: float | None = None) -> OutgoingMessage:
        wait = self.delay if delay is None else delay
        return engine_message(self.kind, self.jid, self.body(), wait)

    @classmethod
    def read(cls, body: Mapping[str, Any]) -> Timer:
        return cls(**_address(body))


@define(frozen=True, kw_only=True)
class Transition(_Event):
    """Run activity ``aid``'s leg 1 at ``dad`` (older engines sent these; a step now
    starts its children inline)."""

    kind: ClassVar[str] = "transition"

    def body(self) -> dict[str, Any]:
        return {"jid": self.jid, "gid": self.gid, "aid": self.aid, "dad": self.dad}

    @classmethod
    def read(cls, body: Mapping[str, Any]) -> Transition:
        return cls(**_address(body))


_SIGNAL_KEYS = frozenset(
    {"type", "topic", "data", "status", "code", "guid", "key", "jid", "gid", "aid", "dad"}
)


@define(frozen=True, kw_only=True)
class Signal(_Event):
    """A signal on hook ``topic`` (``key``: the hook's key when the sender knows it, as an
    escalation does). Delivered to the waiting hook, it also names its record
    (``jid``… ``dad``, empty until then).

    Example:
        >>> sent = Signal.new("order.approved", {"id": "o1"})
        >>> (sent.outgoing().payload["topic"], sent.status, sent.code)
        ('order.approved', 'success', 200)
    """

    kind: ClassVar[str] = "webhook"

    jid: str = ""
    topic: str = ""
    data_: Any = field(default=None, alias="data")
    status_: Any = field(default=None, alias="status")
    code_: Any = field(default=None, alias="code")
    key: str | None = None
    #: the stored payload's other keys (kept so a parked signal is re-sent as it came)
    extra: Mapping[str, Any] = field(factory=dict, eq=False, repr=False)

    @classmethod
    def new(
        cls,
        topic: str,
        data: Mapping[str, Any],
        status: str = "success",
        code: int = 200,
        key: str | None = None,
    ) -> Signal:
        """A fresh signal with a new event id (``key``: the hook's key, when known)."""
        return cls(topic=topic, data=dict(data), status=status, code=code, guid=guid(), key=key)

    @property
    def status(self) -> str:
        return str(self.status_ or "success")

    @property
    def code(self) -> int:
        return int(self.code_ or 200)

    @property
    def data(self) -> Any:
        return self.data_ or {}

    def job_id(self) -> str:
        return ""

    def body(self) -> dict[str, Any]:
        out: dict[str, Any] = dict(self.extra)
        out.update({"topic": self.topic, "data": self.data_, "status": self.status_,
                    "code": self.code_, "guid": self.guid})  # fmt: skip
        if self.key is not None:
            out["key"] = self.key
        if self.jid:
            out.update({"jid": self.jid, "gid": self.gid, "aid": self.aid, "dad": self.dad})
        return out

    def delivered(self, target: Mapping[str, Any], key: str) -> Signal:
        """This signal as the hook ``target`` (``{jid, gid, aid, dad}``) receives it."""
        return attrs.evolve(self, **_address({**self.body(), **target}), key=key)

    @classmethod
    def read(cls, body: Mapping[str, Any]) -> Signal:
        known = _SIGNAL_KEYS
        address = _address(body) if body.get("jid") else {"guid": _address(body)["guid"]}
        return cls(
            **address, topic=str(body.get("topic")), data=body.get("data"),
            status=body.get("status"), code=body.get("code"),
            key=None if body.get("key") is None else str(body.get("key")),
            extra={k: v for k, v in body.items() if k not in known},
        )  # fmt: skip


# -- engine work that belongs to no activity record yet -----------------------------------


@define(frozen=True, kw_only=True)
class JobComplete(EngineMessage):
    """Job ``jid`` (an awaited child) closed: send its parent the result."""

    kind: ClassVar[str] = "complete"

    jid: str
    gid: Any = None

    def body(self) -> dict[str, Any]:
        return {"jid": self.jid, "gid": self.gid}

    @classmethod
    def read(cls, body: Mapping[str, Any]) -> JobComplete:
        return cls(jid=str(body.get("jid") or ""), gid=body.get("gid"))


@define(frozen=True, kw_only=True)
class StartChild(EngineMessage):
    """Start a job of the graph subscribed to ``topic`` with id ``child``; ``parent``
    holds the fields the child's metadata gets (``pj``, ``pg``, ``pd``, ``pa``, ``px``
    when detached, the trace ids).

    Example:
        >>> StartChild(topic="t", data={}, parent={"pj": "p1"}, child="c1").job_id()
        'p1'
    """

    kind: ClassVar[str] = "await"

    topic: str
    data: Mapping[str, Any] = field(factory=dict)
    parent: Mapping[str, Any] = field(factory=dict)
    child: str | None = None

    def job_id(self) -> str:
        return str(self.parent.get("pj") or "")

    def body(self) -> dict[str, Any]:
        return {"topic": self.topic, "data": dict(self.data), "parent": dict(self.parent),
                "child": self.child}  # fmt: skip

    @classmethod
    def read(cls, body: Mapping[str, Any]) -> StartChild:
        child = body.get("child")
        return cls(
            topic=str(body.get("topic")), data=as_dict(body.get("data")),
            parent=as_dict(body.get("parent")), child=None if child is None else str(child),
        )  # fmt: skip


@define(frozen=True, kw_only=True)
class SignalAll(EngineMessage):
    """Signal hook ``topic`` once per job a stats ``query`` finds under ``facets``."""

    kind: ClassVar[str] = "signal_all"

    topic: str
    data: Mapping[str, Any] = field(factory=dict)
    query: Mapping[str, Any] = field(factory=dict)
    facets: list[str] | None = None
    scrub: bool = False

    def body(self) -> dict[str, Any]:
        return {"topic": self.topic, "data": dict(self.data), "query": dict(self.query),
                "facets": self.facets, "scrub": self.scrub}  # fmt: skip

    @classmethod
    def read(cls, body: Mapping[str, Any]) -> SignalAll:
        facets = body.get("facets")
        return cls(
            topic=str(body.get("topic")), data=as_dict(body.get("data")),
            query=as_dict(body.get("query")),
            facets=None if facets is None else [str(f) for f in facets],
            scrub=bool(body.get("scrub")),
        )  # fmt: skip
