"""Reading one graph: its fields, activities, transitions, hooks, and the tree they form."""

from __future__ import annotations

import re
from typing import Any

from attrs import define, field

from hotmesh.engine._activities import Reader, read_activity, read_section
from hotmesh.engine.activities import KINDS
from hotmesh.engine.model import (
    DEFAULT_EXPIRE_SECONDS,
    Activity,
    Conditions,
    HookRule,
    Match,
    Transition,
)

__all__ = ["GraphDraft", "read_graph"]

_GRAPH_KEYS = frozenset(
    {
        "subscribes",
        "publishes",
        "expire",
        "persistent",
        "input",
        "output",
        "activities",
        "transitions",
        "hooks",
        "title",
        "description",
    }
)
_INDEXED_KEY = re.compile(r"^(.*)\[(\d+|-|_)\]$")


@define
class GraphDraft:
    """A graph being compiled: what was read so far, before the model is built."""

    index: int
    node: str
    reader: Reader
    subscribes: str = ""
    publishes: str | None = None
    expire: int = DEFAULT_EXPIRE_SECONDS
    input_schema: dict[str, Any] | None = None
    output_schema: dict[str, Any] | None = None
    trigger: str | None = None
    activities_reader: Reader | None = None
    #: declared activities that could not be read (already reported; not reported again)
    broken: set[str] = field(factory=set)
    #: activity id -> (model class, declared fields, its YAML reader)
    activities: dict[str, tuple[type[Activity], dict[str, Any], Reader]] = field(factory=dict)
    transitions: dict[str, list[Transition]] = field(factory=dict)
    #: (source activity id, node path, match clause) for every transition clause
    clauses: list[tuple[str, str, Match, dict[str, Any]]] = field(factory=list)
    parents: dict[str, str] = field(factory=dict)
    ancestors: dict[str, tuple[str, ...]] = field(factory=dict)
    hooks: dict[str, list[HookRule]] = field(factory=dict)
    #: (hook topic, node path, rule) for every hook rule
    rule_nodes: list[tuple[str, str, HookRule, dict[str, Any]]] = field(factory=list)
    hook_topic_of: dict[str, str] = field(factory=dict)
    pivots: set[str] = field(factory=set)
    job_produces: list[str] = field(factory=list)

    def kind(self, activity_id: str) -> str:
        """The type of activity ``activity_id`` of this graph."""
        return self.activities[activity_id][0].type

    def visible_from(self, activity_id: str) -> tuple[str, ...]:
        """The activities whose state ``activity_id`` can read: its ancestors and itself."""
        return (*self.ancestors.get(activity_id, ()), activity_id)


def _activity_type(reader: Reader, activity_id: str, raw: dict[str, Any]) -> str | None:
    kind = raw.get("type")
    if kind == "activity":  # legacy name of a hook
        return "hook"
    if isinstance(kind, str) and kind in KINDS:
        return kind
    sub = Reader(raw, reader.path(activity_id), reader.diag, reader.locate, reader.at(activity_id))
    if kind is None:
        sub.node_error(f"activity {activity_id!r} has no 'type'")
    else:
        sub.error("type", f"unknown activity type {kind!r}; expected one of {list(KINDS)}")
    return None


def _read_fields(draft: GraphDraft) -> None:
    reader = draft.reader
    for key in reader.data:
        if key not in _GRAPH_KEYS:
            reader.warn(key, f"unknown graph key {key!r} is ignored")
    subscribes = reader.data.get("subscribes")
    if not isinstance(subscribes, str) or not subscribes:
        reader.node_error("a graph needs a non-empty 'subscribes' topic")
    else:
        draft.subscribes = subscribes
    publishes = reader.data.get("publishes")
    if publishes is not None and (not isinstance(publishes, str) or not publishes):
        reader.error("publishes", "must be a topic string")
    else:
        draft.publishes = publishes
    expire = reader.data.get("expire", draft.expire)
    if isinstance(expire, bool) or not isinstance(expire, int):
        reader.error("expire", f"must be a whole number of seconds, not {expire!r}")
    elif expire < -1:
        reader.error("expire", f"must be >= 0 seconds (0 or -1: never expire), not {expire}")
    else:
        draft.expire = expire
    for name in ("input", "output"):
        maps, schema = read_section(reader, name)
        if maps is not None:
            reader.warn(name, f"graph-level {name}.maps is ignored")
        setattr(draft, f"{name}_schema", schema)


def _read_activities(draft: GraphDraft, owners: dict[str, int]) -> None:
    reader = draft.reader
    activities = reader.child("activities") if "activities" in reader.data else None
    if activities is None:
        if "activities" not in reader.data:
            reader.node_error(f"graph {draft.subscribes!r} has no 'activities'")
        return
    draft.activities_reader = activities
    triggers: list[str] = []
    for activity_id, raw in activities.data.items():
        if not isinstance(activity_id, str) or not activity_id:
            activities.error(activity_id, "activity ids must be non-empty strings")
            continue
        if activity_id in owners:
            activities.error(
                activity_id,
                f"duplicate activity id {activity_id!r} (already declared in graph "
                f"app.graphs[{owners[activity_id]}]); ids must be unique across the app",
            )
            continue
        owners[activity_id] = draft.index
        sub = activities.child(activity_id)
        kind = _activity_type(activities, activity_id, raw) if sub is not None else None
        if sub is None or kind is None:
            draft.broken.add(activity_id)
            continue
        cls, fields = read_activity(kind, sub)
        draft.activities[activity_id] = (cls, fields, sub)
        if kind == "trigger":
            triggers.append(activity_id)
    if not triggers:
        reader.node_error(f"graph {draft.subscribes!r} has no activity of type 'trigger'")
    elif len(triggers) > 1:
        reader.node_error(f"graph {draft.subscribes!r} has {len(triggers)} triggers: {triggers}")
    else:
        draft.trigger = triggers[0]


def read_conditions(reader: Reader, key: Any) -> Conditions | None:
    """Read a ``conditions`` block (``code``, ``gate``, ``match``)."""
    block = reader.child(key)
    if block is None:
        return None
    for name in block.data:
        if name not in ("code", "gate", "match"):
            block.warn(name, f"unknown condition key {name!r} is ignored")
    raw_codes = block.data.get("code", 200)
    codes = raw_codes if isinstance(raw_codes, list) else [raw_codes]
    if not codes or any(isinstance(c, bool) or not str(c).strip().isdigit() for c in codes):
        block.error("code", f"must be a status code or a list of codes, not {raw_codes!r}")
    gate = block.data.get("gate", "and")
    if gate not in ("and", "or"):
        block.error("gate", "must be 'and' or 'or'")
        gate = "and"
    matches: list[Match] = []
    raw_match = block.data.get("match", [])
    if not isinstance(raw_match, list):
        block.error("match", "must be a list of {expected, actual}")
        raw_match = []
    for index, clause in enumerate(raw_match):
        if not isinstance(clause, dict) or "actual" not in clause or "expected" not in clause:
            block.error(f"match[{index}]", "each match clause needs 'expected' and 'actual'")
            continue
        matches.append(Match(clause["expected"], clause["actual"]))
    return Conditions(codes=tuple(str(c).strip() for c in codes), gate=gate, match=tuple(matches))


def _edges(reader: Reader, key: str) -> list[tuple[str, Reader]]:
    """The ``(source, list-entry reader)`` pairs of a ``transitions`` or ``hooks`` map."""
    block = reader.child(key) if key in reader.data else None
    if block is None:
        return []
    pairs: list[tuple[str, Reader]] = []
    for source, entries in block.data.items():
        if not isinstance(entries, list):
            block.error(source, "must be a list of {to, conditions?}")
            continue
        for index, entry in enumerate(entries):
            node = f"{block.path(source)}[{index}]"
            where = block.locate(entries, index)
            if not isinstance(entry, dict) or not isinstance(entry.get("to"), str):
                reader.diag.error(node, "each entry needs a 'to' activity id", where)
                continue
            pairs.append((str(source), Reader(entry, node, reader.diag, reader.locate, where)))
    return pairs


def _read_transitions(draft: GraphDraft) -> None:
    for source, entry in _edges(draft.reader, "transitions"):
        target = entry.data["to"]
        if source in draft.broken or target in draft.broken:
            continue
        if source not in draft.activities:
            entry.node_error(f"transition from missing activity {source!r}")
            continue
        if target not in draft.activities:
            entry.error("to", f"transition {source!r} -> {target!r}: no activity {target!r}")
            continue
        for key in entry.data:
            if key not in ("to", "conditions"):
                entry.warn(key, f"{key!r} beside 'to' is ignored (put it under 'conditions')")
        conditions = None
        if "conditions" in entry.data:
            conditions = read_conditions(entry, "conditions")
            for index, clause in enumerate(conditions.match if conditions else ()):
                where = entry.path("conditions") + f".match[{index}].actual"
                draft.clauses.append((source, where, clause, entry.data))
        if target == draft.trigger:
            entry.error("to", f"the trigger {target!r} cannot be a transition target")
        elif draft.kind(source) == "cycle":
            entry.node_error(f"cycle activity {source!r} cannot have transitions")
        elif draft.parents.get(target) == source:
            entry.error("to", f"transition {source!r} -> {target!r} is declared twice")
        elif target in draft.parents:
            entry.error(
                "to",
                f"activity {target!r} has two parents ({draft.parents[target]!r} and "
                f"{source!r}); a graph is a tree",
            )
        else:
            draft.parents[target] = source
            draft.transitions.setdefault(source, []).append(Transition(target, conditions))


def _derive_tree(draft: GraphDraft) -> None:
    """Ancestors by walking down from the trigger; report loops and unreachable activities."""
    if draft.trigger is None:
        return
    draft.ancestors[draft.trigger] = ()
    pending = [draft.trigger]
    while pending:
        current = pending.pop()
        for edge in draft.transitions.get(current, ()):
            draft.ancestors[edge.to] = (*draft.ancestors[current], current)
            pending.append(edge.to)
    activities = draft.activities_reader
    assert activities is not None
    for activity_id in draft.activities:
        if activity_id in draft.ancestors:
            continue
        seen = [activity_id]
        while seen[-1] in draft.parents and draft.parents[seen[-1]] not in seen:
            seen.append(draft.parents[seen[-1]])
        if seen[-1] in draft.parents:
            activities.error(
                activity_id,
                f"transitions loop through {activity_id!r}; loops need a cycle activity",
            )
        else:
            activities.warn(
                activity_id, f"activity {activity_id!r} is unreachable from the trigger"
            )


def _read_hooks(draft: GraphDraft) -> None:
    for topic, entry in _edges(draft.reader, "hooks"):
        target = entry.data["to"]
        if target in draft.broken:
            continue
        if target not in draft.activities:
            entry.error("to", f"hook {topic!r} targets missing activity {target!r}")
            continue
        if not KINDS[draft.activities[target][0].type].wakes_on_signals:
            entry.error("to", f"hook {topic!r} targets {target!r}, which is not a hook activity")
            continue
        conditions = read_conditions(entry, "conditions") if "conditions" in entry.data else None
        if conditions is None or not conditions.match:
            entry.node_error(f"hook rule {topic!r} needs conditions.match [{{expected, actual}}]")
            continue
        rule = HookRule(topic, target, conditions.match, conditions.gate)
        rules = draft.hooks.setdefault(topic, [])
        ignored = _ignored_rule(rules, rule)
        if ignored:
            entry.warn(
                "to", f"only the first rule of hook topic {topic!r} routes signals: {ignored}"
            )
        if len(rule.match) > 1:
            entry.warn("conditions", "only the first match clause of a hook rule is used")
        if target in draft.hook_topic_of and draft.hook_topic_of[target] != topic:
            entry.error(
                "to", f"{target!r} already waits on hook topic {draft.hook_topic_of[target]!r}"
            )
            continue
        rules.append(rule)
        draft.hook_topic_of.setdefault(target, topic)
        draft.rule_nodes.append((topic, entry.node, rule, entry.data))


def _ignored_rule(rules: list[HookRule], rule: HookRule) -> str | None:
    """Why a further rule of a hook topic does not do what it says, or ``None``.

    A signal is keyed by the first rule's ``actual``; every rule's ``expected`` is a key its
    activity waits under (a wait reachable by its id and by its workflow has two rules).
    So a further rule is useful when it keeps the first rule's ``actual`` and names its own
    key; it is not when its ``actual`` differs (ignored) or another activity already waits
    under the same ``expected`` (the two would share a key).
    """
    if not rules:
        return None
    if rule.actual != rules[0].actual:
        return f"this rule's actual {rule.actual!r} is ignored (signals are keyed by the first's)"
    for other in rules:
        if other.to != rule.to and other.expected == rule.expected:
            return f"{rule.to!r} and {other.to!r} would wait under the same key"
    return None


def _read_cycles(draft: GraphDraft) -> None:
    for activity_id, (cls, fields, reader) in draft.activities.items():
        if reader.data.get("cycle") is True:
            draft.pivots.add(activity_id)
        ancestor = KINDS[cls.type].reenters(fields)
        if ancestor is None:
            continue
        if ancestor not in draft.ancestors.get(activity_id, ()):
            reader.error(
                "ancestor", f"cycle {activity_id!r}: {ancestor!r} is not one of its ancestors"
            )
        else:
            draft.pivots.add(ancestor)


def _job_paths(maps: dict[Any, Any], prefix: str, out: list[str]) -> None:
    """Job data paths a ``job.maps`` block writes (``k[N]`` -> N items, ``k[-]`` -> none)."""
    for key, value in maps.items():
        indexed = _INDEXED_KEY.match(str(key))
        if indexed and indexed.group(2) in ("-", "_"):
            continue
        if indexed:
            base = f"{prefix}/{indexed.group(1)}"
            paths = [f"{base}/{i}" for i in range(int(indexed.group(2)))]
        elif isinstance(value, dict) and "@pipe" not in value:
            _job_paths(value, f"{prefix}/{key}", out)
            continue
        else:
            paths = [f"{prefix}/{key}"]
        out.extend(path for path in paths if path not in out)


def app_expire(app: Reader) -> int:
    """The app's ``expire`` (its graphs' default retention, seconds), checked."""
    expire = app.data.get("expire", DEFAULT_EXPIRE_SECONDS)
    if isinstance(expire, bool) or not isinstance(expire, int):
        app.error("expire", f"must be a whole number of seconds, not {expire!r}")
        return DEFAULT_EXPIRE_SECONDS
    return expire


def read_graph(
    index: int, reader: Reader, owners: dict[str, int], expire: int = DEFAULT_EXPIRE_SECONDS
) -> GraphDraft:
    """Read graph ``index``; ``owners`` maps every activity id seen so far to its graph.

    ``expire`` is the app's retention, the default of a graph that sets none. Problems
    are recorded on ``reader.diag``; the draft holds whatever could be read.
    """
    draft = GraphDraft(index=index, node=reader.node, reader=reader, expire=expire)
    _read_fields(draft)
    _read_activities(draft, owners)
    _read_transitions(draft)
    _derive_tree(draft)
    _read_hooks(draft)
    _read_cycles(draft)
    for _, fields, _ in draft.activities.values():
        if fields.get("job_maps"):
            _job_paths(fields["job_maps"], "data", draft.job_produces)
    return draft
