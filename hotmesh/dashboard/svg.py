"""Pictures drawn on the server as SVG text: graphs, activity timelines, sparklines.

Every label goes through :func:`html.escape`; styling is by class (``static/dashboard.css``)
so the page's Content-Security-Policy needs no inline styles.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from html import escape
from typing import Any

from attrs import define

__all__ = ["Bar", "gantt_svg", "graph_svg", "human_duration", "sparkline_svg"]

_NODE_W, _NODE_H, _GAP_X, _GAP_Y, _PAD = 150, 46, 70, 22, 16


def _levels(
    ids: Sequence[str], edges: Sequence[tuple[str, str]], root: str | None
) -> dict[str, int]:
    """Longest-path layers from the trigger (a back edge cannot push a node forever)."""
    level = dict.fromkeys(ids, 0)
    for _ in range(len(ids)):
        changed = False
        for src, dst in edges:
            if dst == root or src not in level or dst not in level:
                continue
            if level[dst] < level[src] + 1 <= len(ids):
                level[dst] = level[src] + 1
                changed = True
        if not changed:
            break
    return level


def graph_svg(
    graph: Mapping[str, Any],
    *,
    done: Iterable[str] = (),
    active: Iterable[str] = (),
    failed: Iterable[str] = (),
    uid: str = "g",
) -> str:
    """One graph of an app as an SVG: activities (boxes) and transitions (arrows).

    ``done``, ``active`` and ``failed`` name the activities a job ran (the path taken is
    the transitions between activities it ran); without them the graph is drawn plain.

    Example:
        >>> svg = graph_svg({"activities": {"t": {"type": "trigger"}, "w": {"type": "worker"}},
        ...                  "transitions": {"t": [{"to": "w"}]}}, done=["t"])
        >>> svg.startswith("<svg") and "edge taken" not in svg
        True
    """
    activities: dict[str, Any] = dict(graph.get("activities") or {})
    ids = list(activities)
    edges: list[tuple[str, str]] = []
    for src, targets in dict(graph.get("transitions") or {}).items():
        for target in targets or ():
            dst = target.get("to") if isinstance(target, Mapping) else None
            if isinstance(dst, str) and src in activities and dst in activities:
                edges.append((src, dst))
    back: list[tuple[str, str]] = []
    for aid, spec in activities.items():
        ancestor = spec.get("ancestor") if isinstance(spec, Mapping) else None
        if isinstance(ancestor, str) and ancestor in activities:
            back.append((aid, ancestor))
    root = next(
        (a for a, s in activities.items() if isinstance(s, Mapping) and s.get("type") == "trigger"),
        ids[0] if ids else None,
    )
    level = _levels(ids, edges, root)
    columns: dict[int, list[str]] = {}
    for aid in ids:
        columns.setdefault(level[aid], []).append(aid)
    rows = max((len(m) for m in columns.values()), default=1)
    pos: dict[str, tuple[float, float]] = {}
    for col, members in columns.items():
        shift = (rows - len(members)) * (_NODE_H + _GAP_Y) / 2  # centre shorter columns
        for row, aid in enumerate(members):
            pos[aid] = (_PAD + col * (_NODE_W + _GAP_X), _PAD + shift + row * (_NODE_H + _GAP_Y))
    width = _PAD * 2 + (max(columns, default=0) + 1) * (_NODE_W + _GAP_X) - _GAP_X
    height = _PAD * 2 + rows * (_NODE_H + _GAP_Y) - _GAP_Y
    ran = set(done) | set(active) | set(failed)
    marker = f"arrow-{escape(uid)}"
    parts = [
        f'<svg class="graph" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}"'
        f' width="{width}" height="{height}" role="img" aria-label="graph">',
        f'<defs><marker id="{marker}" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7"'
        ' markerHeight="7" orient="auto-start-reverse"><path d="M0,0L10,5L0,10z"/></marker></defs>',
    ]
    for src, dst in edges:
        (x1, y1), (x2, y2) = pos[src], pos[dst]
        sx, sy, ex, ey = x1 + _NODE_W, y1 + _NODE_H / 2, x2, y2 + _NODE_H / 2
        mid = (sx + ex) / 2
        taken = " taken" if src in ran and dst in ran else ""
        parts.append(
            f'<path class="edge{taken}" d="M{sx},{sy} C{mid},{sy} {mid},{ey} {ex - 2},{ey}"'
            f' marker-end="url(#{marker})" data-from="{escape(src)}" data-to="{escape(dst)}"/>'
        )
    for src, dst in back:
        (bx1, by1), (bx2, by2) = pos[src], pos[dst]
        cx, dx = bx1 + _NODE_W / 2, bx2 + _NODE_W / 2
        top = min(by1, by2) - _GAP_Y / 2 - 4
        parts.append(
            f'<path class="edge back" d="M{cx},{by1} C{cx},{top} {dx},{top} {dx},{by2 - 2}"'
            f' marker-end="url(#{marker})"/>'
        )
    done_set, active_set, failed_set = set(done), set(active), set(failed)
    for aid in ids:
        x, y = pos[aid]
        spec = activities[aid] if isinstance(activities[aid], Mapping) else {}
        kind = str(spec.get("type", ""))
        topic = spec.get("topic") or spec.get("subtype") or ""
        state = (
            "failed" if aid in failed_set
            else "active" if aid in active_set
            else "done" if aid in done_set
            else "idle"
        )  # fmt: skip
        detail = f"{kind} · {topic}" if topic else kind
        parts.append(
            f'<g class="node {state}" data-activity="{escape(aid)}">'
            f"<title>{escape(aid)} ({escape(detail)})</title>"
            f'<rect x="{x}" y="{y}" width="{_NODE_W}" height="{_NODE_H}" rx="8"/>'
            f'<text class="id" x="{x + 10}" y="{y + 19}">{escape(_clip(aid, 18))}</text>'
            f'<text class="kind" x="{x + 10}" y="{y + 36}">{escape(_clip(detail, 24))}</text>'
            "</g>"
        )
    parts.append("</svg>")
    return "".join(parts)


def _clip(text: str, size: int) -> str:
    return text if len(text) <= size else text[: size - 1] + "…"


@define(frozen=True)
class Bar:
    """One row of a timeline: an activity run from ``start`` to ``end`` (None: still open)."""

    label: str
    start: dt.datetime
    end: dt.datetime | None
    state: str  # done, active, failed


def gantt_svg(bars: Sequence[Bar], *, now: dt.datetime, width: int = 880) -> str:
    """The activity timeline of a job, one bar per activity run, on one time axis.

    Example:
        >>> t0 = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
        >>> "t1" in gantt_svg([Bar("t1", t0, t0, "done")], now=t0)
        True
    """
    if not bars:
        return '<svg class="gantt" xmlns="http://www.w3.org/2000/svg" width="10" height="10"/>'
    label_w, row_h, top = 190, 24, 26
    start = min(b.start for b in bars)
    end = max((b.end or now) for b in bars)
    span = max((end - start).total_seconds(), 0.001)
    plot = width - label_w - 20
    height = top + row_h * len(bars) + 8
    parts = [
        f'<svg class="gantt" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}"'
        f' width="{width}" height="{height}" role="img" aria-label="activity timeline">'
    ]
    for i in range(5):
        x = label_w + plot * i / 4
        parts.append(f'<line class="tick" x1="{x:.1f}" y1="{top - 6}" x2="{x:.1f}" y2="{height}"/>')
        parts.append(
            f'<text class="axis" x="{x:.1f}" y="{top - 10}">{human_duration(span * i / 4)}</text>'
        )
    for row, bar in enumerate(bars):
        y = top + row * row_h
        x0 = label_w + plot * (bar.start - start).total_seconds() / span
        x1 = label_w + plot * ((bar.end or now) - start).total_seconds() / span
        length = (bar.end or now) - bar.start
        parts.append(
            f'<g class="bar {escape(bar.state)}"><title>{escape(bar.label)}: '
            f"{human_duration(length.total_seconds())}</title>"
            f'<text class="label" x="4" y="{y + 16}">{escape(_clip(bar.label, 26))}</text>'
            f'<rect x="{x0:.1f}" y="{y + 4}" width="{max(x1 - x0, 3):.1f}" height="{row_h - 8}"'
            ' rx="3"/></g>'
        )
    parts.append("</svg>")
    return "".join(parts)


def human_duration(seconds: float) -> str:
    """``0.25`` → ``250 ms``, ``90`` → ``90.0 s``, ``600`` → ``10.0 min``, then hours."""
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    if seconds < 120:
        return f"{seconds:.1f} s"
    if seconds < 7200:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"


def sparkline_svg(
    values: Sequence[int], *, width: int = 240, height: int = 40, label: str = ""
) -> str:
    """A small line of ``values`` (oldest first), scaled to the largest.

    Example:
        >>> "polyline" in sparkline_svg([0, 3, 1])
        True
    """
    top = max(max(values, default=0), 1)
    count = max(len(values) - 1, 1)
    points = " ".join(
        f"{width * i / count:.1f},{height - 2 - (height - 4) * v / top:.1f}"
        for i, v in enumerate(values)
    )
    return (
        f'<svg class="spark" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}"'
        f' width="{width}" height="{height}" role="img" aria-label="{escape(label)}">'
        f'<title>{escape(label)}</title><polyline points="{points}"/></svg>'
    )
