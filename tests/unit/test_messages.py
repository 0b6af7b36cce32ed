"""Typed wire messages: each kind round-trips, and rows written before they existed decode."""

from __future__ import annotations

from typing import Any

import pytest

from hotmesh.engine.messages import (
    ENGINE_STREAM,
    PRIORITY,
    ChildResult,
    EngineMessage,
    JobComplete,
    Response,
    Signal,
    SignalAll,
    StartChild,
    Timer,
    Transition,
    WorkerRequest,
    decode,
)
from hotmesh.errors import ConfigError

MESSAGES: list[EngineMessage] = [
    Response(jid="j", gid="g", aid="w1", dad=",0,0", guid="r", status="pending", code=202,
             data={"n": 1}),
    Response(jid="j", gid="g", aid="h1", dad=",0,0", guid="c", data={"n": 2}, cycle=True),
    ChildResult(jid="p", gid="g", aid="a1", dad=",0,0", guid="result:c:success",
                status="success", code=200, data={"x": 1}),
    JobComplete(jid="c", gid="g"),
    StartChild(topic="child", data={"n": 1}, parent={"pj": "p", "pa": "a1"}, child="c"),
    Timer(jid="j", gid="g", aid="h1", dad=",0,0", guid="t", delay=3),
    Transition(jid="j", gid="g", aid="a1", dad=",0,0"),
    Signal.new("order.approved", {"id": "o1"}, key="order.approved:o1"),
    SignalAll(topic="t", data={"a": 1}, query={"data": {}}, facets=["k:v"], scrub=True),
]  # fmt: skip


@pytest.mark.parametrize("message", MESSAGES, ids=lambda m: type(m).__name__)
def test_every_engine_message_round_trips(message: EngineMessage) -> None:
    sent = message.outgoing()
    assert sent.stream == ENGINE_STREAM
    assert sent.payload["type"] == message.kind
    assert sent.priority == PRIORITY[message.kind]
    assert decode(sent.payload) == message


# Payloads as earlier versions wrote them (copied from their stream rows).
OLD_ROWS: list[tuple[dict[str, Any], type[EngineMessage], dict[str, Any]]] = [
    ({"type": "response", "jid": "j", "gid": "g", "aid": "w1", "dad": ",0,0", "guid": "r",
      "status": "error", "code": 500, "data": {"message": "boom"}},
     Response, {"status": "error", "code": 500, "data": {"message": "boom"}}),
    ({"type": "response", "jid": "j", "gid": "g", "aid": "h1", "dad": ",0", "data": {},
      "guid": "c", "cycle": True},
     Response, {"status": "success", "code": 200, "cycle": True}),
    ({"type": "result", "jid": "p", "gid": "g", "aid": "a1", "dad": ",0,0", "data": {"x": 1},
      "code": 202, "status": "pending", "guid": "e"},
     ChildResult, {"status": "pending", "code": 202, "data": {"x": 1}}),
    ({"type": "timehook", "jid": "j", "gid": "g", "aid": "h1", "dad": ",0,0", "guid": "t"},
     Timer, {"status": "success", "code": 200, "data": {}}),
    ({"type": "webhook", "topic": "t", "data": {"id": 1}, "status": "success", "code": 200,
      "guid": "s"},
     Signal, {"topic": "t", "key": None, "data": {"id": 1}}),
    ({"type": "webhook", "topic": "t", "data": {"id": "k"}, "status": "success", "code": 200,
      "guid": "s", "key": "t:k"},
     Signal, {"key": "t:k"}),
    ({"type": "await", "topic": "c", "data": {}, "parent": {"pj": "p", "px": True},
      "child": "H1"},
     StartChild, {"child": "H1", "parent": {"pj": "p", "px": True}}),
    ({"type": "signal_all", "topic": "t", "data": {}, "query": {}, "facets": None,
      "scrub": False},
     SignalAll, {"facets": None, "scrub": False}),
    ({"type": "complete", "jid": "c", "gid": "g"}, JobComplete, {"jid": "c"}),
    ({"jid": "j", "gid": "g", "aid": "w1", "dad": ",0,0"}, Response, {"guid": None}),
]  # fmt: skip


@pytest.mark.parametrize("row,cls,expected", OLD_ROWS, ids=lambda v: str(v)[:30])
def test_rows_written_by_earlier_versions_decode(
    row: dict[str, Any], cls: type[EngineMessage], expected: dict[str, Any]
) -> None:
    message = decode(row)
    assert type(message) is cls
    for name, value in expected.items():
        assert getattr(message, name) == value, name
    assert decode(message.outgoing().payload) == message  # re-encoded, it reads the same


def test_a_parked_signal_keeps_the_keys_it_came_with() -> None:
    parked = {"type": "webhook", "topic": "t", "data": {}, "status": "success", "code": 200,
              "guid": "s", "via": "escalation"}  # fmt: skip
    assert Signal.read(parked).outgoing().payload == parked


def test_a_delivered_signal_names_its_hook_record() -> None:
    signal = Signal.new("t", {"id": 1}).delivered(
        {"jid": "j", "gid": "g", "aid": "h1", "dad": ",0,0"}, "t:1"
    )
    assert (signal.jid, signal.aid, signal.dad, signal.key) == ("j", "h1", ",0,0", "t:1")
    assert signal.at.gid == "g" and signal.status == "success" and signal.code == 200


WORKER_ROW: dict[str, Any] = {
    "metadata": {"jid": "j", "gid": "g", "aid": "w1", "dad": ",0,0", "topic": "work.do",
                 "guid": "r", "try": 0, "trc": "trace", "spn": "span"},
    "data": {"x": 1},
    "policies": {"retry": {"500": [2]}, "timeout": 5},
}  # fmt: skip


def test_a_worker_request_decodes_as_stored_and_re_encodes_identically() -> None:
    request = WorkerRequest.decode(WORKER_ROW, attempt=3)
    assert request.metadata == {**WORKER_ROW["metadata"], "try": 2}
    assert request.retry_rules == {"500": [2]} and request.timeout == 5.0
    assert request.outgoing().payload == WORKER_ROW
    sent = request.outgoing()
    assert sent.stream == "work.do" and sent.priority == 1 and sent.job_id == "j"


def test_history_reaches_the_request_but_never_the_wire() -> None:
    history = {"a/w1,0,0": {"output": {"data": {"y": 1}}}}
    request = WorkerRequest.decode(WORKER_ROW, history=history)
    assert request.history == history
    assert "history" not in str(request.outgoing().payload)


def test_a_worker_answer_is_a_response_with_the_request_id() -> None:
    request = WorkerRequest.decode(WORKER_ROW)
    answer = request.answer(None, None, None, "m1")
    assert answer == Response(jid="j", gid="g", aid="w1", dad=",0,0", guid="r",
                              status="success", code=200, data={})  # fmt: skip
    without_id = WorkerRequest.decode({**WORKER_ROW, "metadata": {"jid": "j"}})
    assert without_id.answer("error", 500, {}, "m1").guid == "m1"


def test_a_raw_answer_needs_its_address() -> None:
    with pytest.raises(ConfigError):
        Response.answer({"metadata": {"jid": "j"}, "data": {}}, "e")
    with pytest.raises(ConfigError):
        Response.answer({"metadata": WORKER_ROW["metadata"], "data": [1]}, "e")
    ok = Response.answer({"metadata": WORKER_ROW["metadata"], "data": {"a": 1}}, "e")
    assert ok.outgoing().payload["data"] == {"a": 1}
