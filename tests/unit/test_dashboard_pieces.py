"""The dashboard's pure parts: pictures, record views, bind and form checks."""

from __future__ import annotations

import datetime as dt

import pytest

from hotmesh.dashboard.security import check_bind, is_loopback, safe_next
from hotmesh.dashboard.svg import Bar, gantt_svg, graph_svg, sparkline_svg
from hotmesh.dashboard.views import activity_runs, parse_stamp, waiting_hooks
from hotmesh.errors import ConfigError
from hotmesh.spi.inspect import JobDetail, JobSummary

T0 = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
GRAPH = {
    "activities": {
        "t<1>": {"type": "trigger"},
        "w": {"type": "worker", "topic": "a&b"},
        "h": {"type": "hook"},
        "c": {"type": "cycle", "ancestor": "w"},
    },
    "transitions": {"t<1>": [{"to": "w"}], "w": [{"to": "h"}, {"to": "c"}]},
    "hooks": {"go.on": [{"to": "h", "conditions": {"match": [
        {"expected": "{$job.metadata.jid}", "actual": "{$self.hook.data.order}"}]}}]},
}  # fmt: skip


def test_graph_svg_escapes_labels_and_marks_the_path_taken() -> None:
    svg = graph_svg(GRAPH, done=["t<1>", "w"], active=["h"])
    assert "t&lt;1&gt;" in svg and "t<1>" not in svg and "a&amp;b" in svg
    assert svg.count('class="edge taken"') == 2  # t->w and w->h; w->c not taken
    assert '<g class="node active" data-activity="h">' in svg
    assert '<g class="node idle" data-activity="c">' in svg
    assert 'class="edge back"' in svg  # the cycle back to its ancestor
    assert graph_svg({}).startswith("<svg")


def test_gantt_and_sparkline_draw_one_mark_per_value() -> None:
    bars = [Bar("a", T0, T0 + dt.timedelta(seconds=1), "done"), Bar("<b>", T0, None, "active")]
    svg = gantt_svg(bars, now=T0 + dt.timedelta(seconds=2))
    assert svg.count('<g class="bar') == 2 and "&lt;b&gt;" in svg and "2.0 s" in svg
    assert sparkline_svg([1, 5, 2]).count(",") == 3


def _stamps(started: str, updated: str) -> dict[str, object]:
    return {"metadata": {"ac": f"20260101{started}", "au": f"20260101{updated}"}}


def test_runs_and_waiting_hooks_from_a_job_state() -> None:
    state = {
        "meta": {"jid": "j1", "aid": "t<1>"},
        "a/t<1>,0": {"done": True, "output": _stamps("000000.000", "000000.000")},
        "a/w,0,0": {"done": True, "output": _stamps("000000.100", "000000.400")},
        "a/h,0,0,0": {"output": _stamps("000000.400", "000000.400"), "hook_key": "go.on:j1"},
    }  # fmt: skip
    summary = JobSummary("j1", "running", 1, T0, T0, state["meta"])
    runs = activity_runs(JobDetail(summary, state, None), GRAPH)
    assert [(r.activity, r.state, r.label) for r in runs] == [
        ("t<1>", "done", "t<1>"), ("w", "done", "w"), ("h", "active", "h"),
    ]  # fmt: skip
    assert runs[1].updated == parse_stamp("20260101000000.400")
    [hook] = waiting_hooks(runs, GRAPH)
    assert (hook.topic, hook.data) == ("go.on", {"order": "j1"})
    assert parse_stamp("garbage") is None


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "::1", "127.0.0.2"])
def test_loopback_needs_no_token(host: str) -> None:
    assert is_loopback(host)
    check_bind(host, None)


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "10.1.2.3", "example.org"])
def test_other_addresses_need_a_token(host: str) -> None:
    with pytest.raises(ConfigError, match="without a token"):
        check_bind(host, None)
    check_bind(host, "secret")


def test_actions_only_go_back_to_this_site() -> None:
    assert safe_next("/apps/a/jobs?x=1", "/") == "/apps/a/jobs?x=1"
    for evil in ("//evil.example", "https://evil.example/", "/\\evil", "", None):
        assert safe_next(evil, "/home") == "/home"
