"""An activity type: its model, how its YAML is read, and what its legs plan.

Each type is one module of :mod:`hotmesh.engine.activities` holding its model class (an
:class:`~hotmesh.engine.model.Activity` subclass) and an :class:`ActivityKind` registered
with :func:`register` under the model's ``type``. The compiler reads YAML with
:meth:`ActivityKind.read`, the planner runs :meth:`ActivityKind.leg1` when an activity
starts and the event hooks when it hears back; nothing else branches on the type.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

from hotmesh.engine._model_activities import Activity

if TYPE_CHECKING:
    from hotmesh.engine._reader import Reader
    from hotmesh.engine.messages import Address
    from hotmesh.engine.model import Graph
    from hotmesh.engine.planner import Planner, StepContext
    from hotmesh.engine.steps import Step

__all__ = ["KINDS", "ActivityKind", "kind_of", "register"]

#: Every activity type by its YAML ``type``, in registration order.
KINDS: dict[str, ActivityKind] = {}

K = TypeVar("K", bound="type[ActivityKind]")


class ActivityKind:
    """The behaviour of one activity type (subclass it once per type, then
    :func:`register` it).

    Attributes:
        model: the type's model class; its ``type`` names the type in YAML.
        keys: the YAML keys only this type has (the common ones are read for all).
        retries: whether a ``retry`` block applies to it.
        thresholds: whether ``statusThreshold`` can make it decline to start.
    """

    model: ClassVar[type[Activity]]
    keys: ClassVar[frozenset[str]] = frozenset()
    retries: ClassVar[bool] = False
    thresholds: ClassVar[bool] = True
    #: whether graph ``hooks`` rules may target it (signals wake it)
    wakes_on_signals: ClassVar[bool] = False

    @property
    def type(self) -> str:
        """The YAML ``type``."""
        return self.model.type

    def read(self, reader: Reader) -> dict[str, Any]:
        """The model fields only this type has, read from its YAML mapping (the
        graph-derived ones, such as a hook's topic, are added by the compiler)."""
        return {}

    def reenters(self, fields: dict[str, Any]) -> str | None:
        """The ancestor an activity with these read ``fields`` re-enters (a cycle)."""
        return None

    def check_topics(
        self, activity_id: str, fields: dict[str, Any], reader: Reader,
        graphs: Collection[str], hooks: Collection[str],
    ) -> None:  # fmt: skip
        """Check the topics it names against the app's ``graphs`` and hook topics."""

    def leg1(
        self,
        planner: Planner,
        graph: Graph,
        activity: Any,
        context: dict[str, Any],
        ctl: StepContext,
        at: Address,
        step: Step,
    ) -> None:
        """Plan the activity's start into ``step`` (pure: no I/O)."""

    def heard(self, activity: Any, kind: str, event: Any, own: Any, step: Step) -> None:
        """Leg 2 heard ``event`` (of message type ``kind``); runs before its children
        start. ``own`` is the activity's record as it was."""

    def settled(self, activity: Any, kind: str, event: Any, step: Step) -> None:
        """Leg 2 has planned its children; the last word on ``step``."""


def register(cls: K) -> K:
    """Class decorator: register one instance of an :class:`ActivityKind` subclass.

    Example:
        >>> from hotmesh.engine.activities import KINDS
        >>> KINDS["worker"].model.__name__
        'WorkerActivity'
    """
    kind = cls()
    KINDS[kind.type] = kind
    return cls


def kind_of(activity: Activity) -> ActivityKind:
    """The registered behaviour of ``activity``'s type."""
    return KINDS[activity.type]
