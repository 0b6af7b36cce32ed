"""What every activity of the compiled plan has (re-exported by :mod:`hotmesh.engine.model`);
each type adds its own fields in its module of :mod:`hotmesh.engine.activities`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar

from attrs import define, field

from hotmesh.spi import RetryPolicy

if TYPE_CHECKING:
    from hotmesh.engine._source import SourceLocation

__all__ = [
    "Activity",
    "ActivityRetry",
    "ActivityType",
]

#: An activity type's YAML name (each registered in :mod:`hotmesh.engine.activities`).
ActivityType = str


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
