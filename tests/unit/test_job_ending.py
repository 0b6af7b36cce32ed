"""The engine holds its job ending: what a close enqueues is a pure function of metadata."""

from __future__ import annotations

from hotmesh.engine.ending import close_messages
from hotmesh.engine.messages import JobComplete, decode


def test_an_awaited_child_tells_its_parent_it_closed() -> None:
    [message] = close_messages({"jid": "c1", "gid": "g1", "pj": "p1"})
    assert decode(message.payload) == JobComplete(jid="c1", gid="g1")


def test_a_top_level_or_fire_and_forget_job_enqueues_nothing() -> None:
    assert close_messages({"jid": "j1", "gid": "g1"}) == []
    assert close_messages({"jid": "c1", "gid": "g1", "pj": "p1", "px": True}) == []
