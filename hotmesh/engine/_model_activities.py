"""The activity classes of the compiled plan (re-exported by :mod:`hotmesh.engine.model`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from attrs import define, field

from hotmesh.spi import RetryPolicy

if TYPE_CHECKING:
    from hotmesh.engine.model import SourceLocation

__all__ = [
    "Activity",
    "ActivityRetry",
    "ActivityType",
    "AwaitActivity",
    "CycleActivity",
    "HookActivity",
    "InterruptActivity",
    "SignalActivity",
    "StatsMeasure",
    "TriggerActivity",
    "TriggerStats",
    "WorkerActivity",
]

ActivityType = Literal["trigger", "worker", "await", "hook", "signal", "cycle", "interrupt"]


@define(frozen=True)
class ActivityRetry:
    """The ``retry`` block of a worker or await activity.

    Two shapes are accepted: the per-code form ``{"500": [3]}`` (``per_code``: error code ->
    retries) and the backoff form ``{maximumAttempts, backoffCoefficient, maximumInterval,
    initialInterval}``, read into the library's one :class:`~hotmesh.RetryPolicy`
    (``backoff``; the fields not given keep its defaults). Durations are in seconds
    (``"2m"`` is 120).

    Example:
        >>> ActivityRetry(per_code={"500": 3}).retries_for(500)
        3
    """

    per_code: Mapping[str, int] = field(factory=dict)
    backoff: RetryPolicy | None = None

    def retries_for(self, code: int | str) -> int:
        """Retries the per-code form allows for an error ``code`` (0 when not listed)."""
        return self.per_code.get(str(code), 0)

    @property
    def has_backoff(self) -> bool:
        """True when the block uses the backoff form."""
        return self.backoff is not None


@define(frozen=True)
class StatsMeasure:
    """One trigger ``stats.measures`` entry: ``measure`` (sum, avg, count, index, mdn)
    applied to the expression ``target``.

    Example:
        >>> StatsMeasure("sum", "{a5.input.data.price}").measure
        'sum'
    """

    measure: str
    target: str


@define(frozen=True)
class TriggerStats:
    """The trigger ``stats`` block: job id and key expressions, bucket size, measures.

    Example:
        >>> TriggerStats(id="{$self.input.data.id}").granularity
        '5m'
    """

    id: Any = None
    key: Any = None
    granularity: str = "5m"
    measures: tuple[StatsMeasure, ...] = ()
    parent: Any = None
    adjacent: Any = None


# -- activities ---------------------------------------------------------------------------


@define(frozen=True, kw_only=True)
class Activity:
    """Fields every activity type has. Subclasses add the type-specific ones.

    Attributes:
        id: the activity id, unique across the app.
        graph: ``subscribes`` of the graph the activity belongs to.
        title: documentation only.
        parent: the activity whose transition leads here (``None`` for the trigger).
        ancestors: ids from the trigger down to the parent (trigger: ``()``).
        children: transition targets in declaration order.
        cycle: True when some ``cycle`` activity re-enters this one (a cycle pivot).
        input_maps, output_maps, job_maps: raw mapping rules, or ``None``.
        input_schema, output_schema: JSON Schemas (documentation), or ``None``.
        emit, persist: ``True``/``False`` or an expression that must resolve to ``True``.
        status_threshold: number or expression (2.9.3), ``None`` when absent.
        retry: the retry policy, when declared.
        telemetry: raw mapping rules for span attributes, or ``None``.
        consumes: state paths this activity reads, grouped by owner (an activity id or
            ``$job``), e.g. ``{"t1": ("output/data/a",)}``.
        produces: this activity's paths (``output/data/x``, ``hook/data/y``) that some
            expression in the app reads; only these need persisting.
        config: the activity's YAML map as written (after ``$ref`` resolution).
        location: where the activity is declared.
    """

    type: ClassVar[ActivityType]

    id: str
    graph: str
    title: str | None = None
    parent: str | None = None
    ancestors: tuple[str, ...] = ()
    children: tuple[str, ...] = ()
    cycle: bool = False
    input_maps: Mapping[str, Any] | None = None
    output_maps: Mapping[str, Any] | None = None
    job_maps: Mapping[str, Any] | None = None
    input_schema: Mapping[str, Any] | None = None
    output_schema: Mapping[str, Any] | None = None
    emit: Any = False
    persist: Any = False
    status_threshold: Any = None
    retry: ActivityRetry | None = None
    telemetry: Mapping[str, Any] | None = None
    consumes: Mapping[str, tuple[str, ...]] = field(factory=dict)
    produces: tuple[str, ...] = ()
    config: Mapping[str, Any] = field(factory=dict, repr=False)
    location: SourceLocation | None = field(default=None, repr=False, eq=False)

    @property
    def depth(self) -> int:
        """Number of segments of this activity's dimensional address (trigger ``,0`` -> 1)."""
        return len(self.ancestors) + 1


@define(frozen=True, kw_only=True)
class TriggerActivity(Activity):
    """The activity that starts a job (exactly one per graph).

    Example:
        >>> TriggerActivity(id="t1", graph="abc.test").type
        'trigger'
    """

    type: ClassVar[ActivityType] = "trigger"

    stats: TriggerStats | None = None
    entity: Any = None


@define(frozen=True, kw_only=True)
class WorkerActivity(Activity):
    """Sends ``input.maps`` to the worker stream ``topic`` and waits for the response.

    Attributes:
        topic: static topic or an expression.
        subtype: the topic when it is static (no ``{...}``), else ``None``.
        timeout: seconds one callback attempt may run before it is cancelled and counts
            as a failed attempt (``None``: the worker's own ``timeout``, if any).

    Example:
        >>> WorkerActivity(id="a1", graph="abc.test", topic="work.do").topic
        'work.do'
    """

    type: ClassVar[ActivityType] = "worker"

    topic: Any = None
    subtype: str | None = None
    timeout: float | None = None


@define(frozen=True, kw_only=True)
class AwaitActivity(Activity):
    """Starts a child job of the graph subscribed to ``topic``.

    Attributes:
        topic: the child graph's ``subscribes`` (static or expression).
        subtype: the topic when it is static, else ``None``.
        await_result: ``True`` (default) or an expression; only a value resolving to
            strictly ``False`` detaches the child.

    Example:
        >>> AwaitActivity(id="a1", graph="abc.test", topic="tests.b").await_result
        True
    """

    type: ClassVar[ActivityType] = "await"

    topic: Any = None
    subtype: str | None = None
    await_result: Any = True
    #: Seconds the finished child job is kept (an expression); ``None``: its graph's.
    expire: Any = None


@define(frozen=True, kw_only=True)
class HookActivity(Activity):
    """Waits for a signal (``hook_topic``), a timer (``sleep``), both, or neither.

    Attributes:
        sleep: seconds (number or expression), ``None`` when absent.
        hook_topic: the graph ``hooks`` topic whose signals wake this activity.
        hook_schema: the ``hook`` schema object as written (documentation).
        escalation: raw escalation rules, or ``None``.

    Example:
        >>> HookActivity(id="a1", graph="abc.test", sleep=5).sleep
        5
    """

    type: ClassVar[ActivityType] = "hook"

    sleep: Any = None
    hook_topic: str | None = None
    hook_schema: Mapping[str, Any] | None = None
    escalation: Mapping[str, Any] | None = None


@define(frozen=True, kw_only=True)
class SignalActivity(Activity):
    """Sends a signal to one hook (``subtype="one"``) or to every indexed job (``"all"``).

    Example:
        >>> SignalActivity(id="s1", graph="g", topic="hook.resume").code
        200
    """

    type: ClassVar[ActivityType] = "signal"

    subtype: Literal["one", "all"] = "one"
    topic: Any = None
    signal_maps: Mapping[str, Any] | None = None
    status: Any = "success"
    code: Any = 200
    key_name: Any = None
    key_value: Any = None
    resolver_maps: Mapping[str, Any] | None = None
    scrub: Any = False


@define(frozen=True, kw_only=True)
class CycleActivity(Activity):
    """Re-enters ``ancestor`` (one of its ancestors) in a new dimension.

    Example:
        >>> CycleActivity(id="c1", graph="cycle.test", ancestor="a1").ancestor
        'a1'
    """

    type: ClassVar[ActivityType] = "cycle"

    ancestor: str


@define(frozen=True, kw_only=True)
class InterruptActivity(Activity):
    """Interrupts its own job (no ``target``) or the job ``target`` of graph ``topic``.

    Example:
        >>> InterruptActivity(id="i1", graph="g").code
        410
    """

    type: ClassVar[ActivityType] = "interrupt"

    target: Any = None
    topic: Any = None
    reason: Any = None
    throw: Any = True
    descend: Any = False
    code: Any = 410
    stack: Any = None
    #: Seconds the interrupted job is kept (an expression); ``None``: its own setting.
    expire: Any = None
