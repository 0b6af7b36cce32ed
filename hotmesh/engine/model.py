"""The compiled plan of a YAML app: what :func:`hotmesh.engine.compiler.compile_app` returns.

Every class here is an immutable attrs value. Mapping rules (``input.maps``, ``job.maps``,
``output.maps``, ``signal.maps``, ``resolver.maps``, ``telemetry``, ``escalation``) and single
expressions (``sleep``, ``emit``, ``topic``, ...) stay as the plain data YAML produced: the mapper
evaluates them at run time. Treat those dicts and lists as read-only.

Besides the declared fields, the compiler derives what the engine and collator need at run
time: each activity's parent, ancestors and children, the trigger of every graph, the
graph that subscribes to a topic, the hook topic that wakes each hook activity, and the
state paths every activity reads (``consumes``) and writes (``produces``).

Example:
    >>> from hotmesh.engine.compiler import compile_app
    >>> app = compile_app('''
    ... app:
    ...   id: abc
    ...   version: '1'
    ...   graphs:
    ...     - subscribes: abc.test
    ...       activities:
    ...         t1: {type: trigger}
    ...         a1: {type: hook}
    ...       transitions:
    ...         t1: [{to: a1}]
    ... ''')
    >>> graph = app.graph_for_topic("abc.test")
    >>> (graph.trigger, graph.children_of("t1"), graph.activity("a1").ancestors)
    ('t1', ('a1',), ('t1',))
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Literal

from attrs import define, field

from hotmesh.engine._model_activities import Activity, ActivityRetry, ActivityType
from hotmesh.engine._source import DeployProblem, SourceLocation
from hotmesh.engine.activities import (
    KINDS,
    AwaitActivity,
    CycleActivity,
    HookActivity,
    InterruptActivity,
    SignalActivity,
    StatsMeasure,
    TriggerActivity,
    TriggerStats,
    WorkerActivity,
)
from hotmesh.errors import TopicNotFound

if TYPE_CHECKING:
    from jsonschema.protocols import Validator

__all__ = [
    "ACTIVITY_TYPES",
    "DEFAULT_EXPIRE_SECONDS",
    "Activity",
    "ActivityRetry",
    "ActivityType",
    "AppManifest",
    "AwaitActivity",
    "Conditions",
    "CycleActivity",
    "DeployProblem",
    "Graph",
    "HookActivity",
    "HookRule",
    "InterruptActivity",
    "Match",
    "SignalActivity",
    "SourceLocation",
    "StatsMeasure",
    "Transition",
    "TriggerActivity",
    "TriggerStats",
    "WorkerActivity",
]

#: The activity types a graph may use (``activity`` is accepted as a legacy name of ``hook``).
ACTIVITY_TYPES: tuple[ActivityType, ...] = tuple(KINDS)

#: Seconds a finished job survives when its graph declares no ``expire``.
#: How long a finished (completed or failed) job stays readable: 7 days. An app sets its
#: own default with ``app.expire``; a graph with ``expire``. ``<= 0`` keeps jobs forever.
DEFAULT_EXPIRE_SECONDS = 7 * 24 * 3600


# -- transitions and hooks ---------------------------------------------------------------


@define(frozen=True)
class Match:
    """One ``{expected, actual}`` clause of a condition.

    In a transition, ``actual`` is resolved against the activity context and compared with the
    literal ``expected`` (strict equality). In a hook rule, ``expected`` is resolved against the
    waiting job and ``actual`` against the signal payload.

    Example:
        >>> Match(expected=True, actual="{a1.output.data.ok}").expected
        True
    """

    expected: Any
    actual: Any


@define(frozen=True)
class Conditions:
    """The ``conditions`` block of a transition.

    Attributes:
        codes: status codes (as strings) that allow the transition; ``("200",)`` by default.
        gate: ``"and"`` (every match must hold) or ``"or"`` (one is enough).
        match: the clauses; none means "taken whenever the code matches".

    Example:
        >>> Conditions(codes=("200", "202")).accepts_code(202)
        True
    """

    codes: tuple[str, ...] = ("200",)
    gate: Literal["and", "or"] = "and"
    match: tuple[Match, ...] = ()

    def accepts_code(self, code: int | str | None) -> bool:
        """Tell whether a message with status ``code`` (``None`` = 200) may take this path."""
        return str(200 if code is None else code) in self.codes


@define(frozen=True)
class Transition:
    """An edge ``from -> to``; ``conditions`` is ``None`` for an unconditioned edge.

    An unconditioned transition is taken for any status and code, errors and 202s included.

    Example:
        >>> Transition("a2").unconditional
        True
    """

    to: str
    conditions: Conditions | None = None

    @property
    def unconditional(self) -> bool:
        """True when the edge has no ``conditions`` block."""
        return self.conditions is None


@define(frozen=True)
class HookRule:
    """A rule of the graph ``hooks`` map: signals on ``topic`` wake activity ``to``.

    The signal key is ``<topic>:<expected resolved in the waiting job>``; a signal finds it
    through ``actual`` resolved against the signal payload.

    Example:
        >>> match = Match("{$job.metadata.jid}", "{$self.hook.data.id}")
        >>> rule = HookRule("order.routed", "route", (match,))
        >>> rule.actual
        '{$self.hook.data.id}'
    """

    topic: str
    to: str
    match: tuple[Match, ...]
    gate: Literal["and", "or"] = "and"

    @property
    def expected(self) -> Any:
        """The expression that names the waiting job (first match clause)."""
        return self.match[0].expected

    @property
    def actual(self) -> Any:
        """The expression that names the job a signal is meant for (first match clause)."""
        return self.match[0].actual


# -- graphs and apps ----------------------------------------------------------------------


@define(frozen=True, kw_only=True)
class Graph:
    """One workflow: a tree of activities rooted at its trigger.

    Attributes:
        subscribes: the topic that starts a job of this graph.
        publishes: topic notified when a job completes or emits, if any.
        expire: seconds a completed job survives; ``<= 0`` means never expire.
        persistent: accepted and kept; no run-time effect.
        input_schema, output_schema: JSON Schemas; ``input_schema`` is enforced by
            :func:`hotmesh.engine.compiler.validate_input`.
        trigger: id of the trigger activity.
        activities: every activity by id, in declaration order.
        transitions: outgoing edges by source activity id.
        hooks: hook rules by hook topic.
        job_produces: job data paths (``data/a/b``) some ``job.maps`` writes.
        location: where the graph is declared.
        input_validator: compiled validator of ``input_schema`` (``None`` when absent).
    """

    subscribes: str
    publishes: str | None = None
    expire: int = DEFAULT_EXPIRE_SECONDS
    persistent: Any = None
    input_schema: Mapping[str, Any] | None = None
    output_schema: Mapping[str, Any] | None = None
    trigger: str
    activities: Mapping[str, Activity]
    transitions: Mapping[str, tuple[Transition, ...]] = field(factory=dict)
    hooks: Mapping[str, tuple[HookRule, ...]] = field(factory=dict)
    job_produces: tuple[str, ...] = ()
    location: SourceLocation | None = field(default=None, repr=False, eq=False)
    input_validator: Validator | None = field(default=None, repr=False, eq=False)

    @property
    def trigger_activity(self) -> TriggerActivity:
        """The graph's trigger."""
        trigger = self.activities[self.trigger]
        assert isinstance(trigger, TriggerActivity)
        return trigger

    @property
    def expires(self) -> bool:
        """False when completed jobs are kept forever (``expire <= 0``)."""
        return self.expire > 0

    def activity(self, activity_id: str) -> Activity:
        """Return the activity ``activity_id`` of this graph.

        Raises:
            KeyError: the graph has no such activity.
        """
        return self.activities[activity_id]

    def children_of(self, activity_id: str) -> tuple[str, ...]:
        """Transition targets of ``activity_id`` in declaration order."""
        return tuple(edge.to for edge in self.transitions.get(activity_id, ()))

    def dimension_map(self, activity_id: str, dad: str) -> dict[str, str]:
        """Address of the activity and each of its ancestors when it runs at ``dad``.

        The activity itself is read and written at ``dad``, its parent one segment up, the
        grand-parent two up, and so on; ``"$ADJACENT"`` is where its children run
        (``dad + ",0"``). Job fields have no dimension.

        Example:
            >>> # t1 -> a1 -> w1, w1 running at ,0,3,0
            >>> graph.dimension_map("w1", ",0,3,0")  # doctest: +SKIP
            {'w1': ',0,3,0', 'a1': ',0,3', 't1': ',0', '$ADJACENT': ',0,3,0,0'}
        """
        activity = self.activities[activity_id]
        segments = dad.split(",")[1:]
        if len(segments) != activity.depth:
            raise ValueError(
                f"address {dad!r} has {len(segments)} segments; {activity_id!r} "
                f"runs at depth {activity.depth}"
            )
        dims = {activity_id: dad}
        for distance, ancestor in enumerate(reversed(activity.ancestors), start=1):
            dims[ancestor] = "," + ",".join(segments[:-distance])
        dims["$ADJACENT"] = f"{dad},0"
        return dims

    def reentry_dad(self, cycle_id: str, dad: str) -> str:
        """Address of the message a ``cycle`` activity at ``dad`` sends to its ancestor.

        The address is cut to the ancestor's depth and ends with ``0`` (the ancestor's first
        dimension); the ancestor's own counter then picks the next index.

        Example:
            >>> graph.reentry_dad("c1", ",0,1,0,0")  # doctest: +SKIP
            ',0,0'
        """
        cycle = self.activities[cycle_id]
        if not isinstance(cycle, CycleActivity):
            raise ValueError(f"{cycle_id!r} is not a cycle activity")
        depth = self.activities[cycle.ancestor].depth
        segments = dad.split(",")[1:]
        return "," + ",".join([*segments[: depth - 1], "0"])


@define(frozen=True, kw_only=True)
class AppManifest:
    """A compiled app version.

    Attributes:
        id: ``app.id``.
        version: ``app.version`` as a string.
        settings: ``app.settings`` as written (unused by the engine).
        graphs: the graphs in declaration order.
        subscriptions: graph topic -> trigger id.
        activity_graphs: activity id -> ``subscribes`` of its graph.
        hook_rules: hook topic -> its rules, across all graphs.
        warnings: non-fatal problems found while compiling.
        source: the file the manifest was read from, if any.

    Example:
        >>> app.graph_for_topic("abc.test").trigger  # doctest: +SKIP
        't1'
    """

    id: str
    version: str
    settings: Mapping[str, Any] = field(factory=dict)
    graphs: tuple[Graph, ...]
    subscriptions: Mapping[str, str] = field(factory=dict)
    activity_graphs: Mapping[str, str] = field(factory=dict)
    hook_rules: Mapping[str, tuple[HookRule, ...]] = field(factory=dict)
    warnings: tuple[DeployProblem, ...] = field(default=(), eq=False)
    source: str | None = field(default=None, eq=False)
    _by_topic: Mapping[str, Graph] = field(init=False, repr=False, eq=False)

    @_by_topic.default
    def _index_graphs(self) -> Mapping[str, Graph]:
        return {graph.subscribes: graph for graph in self.graphs}

    def graph_for_topic(self, topic: str) -> Graph:
        """Return the graph that subscribes to ``topic``.

        Raises:
            TopicNotFound: no graph of this app subscribes to ``topic``.
        """
        try:
            return self._by_topic[topic]
        except KeyError:
            raise TopicNotFound(
                f"no graph of app {self.id!r} v{self.version} subscribes to {topic!r}",
                value=topic,
            ) from None

    def graph_of(self, activity_id: str) -> Graph:
        """Return the graph that declares ``activity_id``.

        Raises:
            KeyError: no graph declares it.
        """
        return self._by_topic[self.activity_graphs[activity_id]]

    def activity(self, activity_id: str) -> Activity:
        """Return the activity ``activity_id`` from whichever graph declares it.

        Raises:
            KeyError: no graph declares it.
        """
        return self.graph_of(activity_id).activities[activity_id]

    def hook_target(self, hook_topic: str) -> HookActivity:
        """Return the hook activity that signals on ``hook_topic`` wake.

        Raises:
            TopicNotFound: no graph declares a hook rule for ``hook_topic``.
        """
        rules = self.hook_rules.get(hook_topic)
        if not rules:
            raise TopicNotFound(
                f"app {self.id!r} v{self.version} has no hook rule for {hook_topic!r}",
                value=hook_topic,
            )
        target = self.activity(rules[0].to)
        assert isinstance(target, HookActivity)
        return target
