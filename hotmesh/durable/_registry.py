"""Process-wide registries: activities by name, and names of workflows."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping, Sequence
from types import ModuleType
from typing import Any

from hotmesh.errors import ConfigError

__all__ = [
    "Activities",
    "activity",
    "register_activities",
    "registered_activities",
    "workflow_name",
]

_ACTIVITIES: dict[str, Callable[..., Any]] = {}


def workflow_name(workflow: str | Callable[..., Any]) -> str:
    """The registered name of a workflow given as a name or a function."""
    if isinstance(workflow, str):
        if not workflow:
            raise ConfigError("a workflow name cannot be empty", value=workflow)
        return workflow
    name = getattr(workflow, "__name__", None)
    if not callable(workflow) or not isinstance(name, str) or not name:
        raise ConfigError(
            f"a workflow is a name or an async function, not {type(workflow).__name__}",
            value=workflow,
        )
    return name


def _check(name: str, fn: Any) -> None:
    if not callable(fn):
        raise ConfigError(f"activity {name!r} is not callable", value=name)


Activities = Mapping[str, Callable[..., Any]] | Sequence[Callable[..., Any]] | ModuleType


def register_activities(activities: Any) -> list[str]:
    """Register activities from a mapping, a list of functions or a module; return names.

    A module contributes its public functions defined in it (not imported ones).
    """
    found: dict[str, Callable[..., Any]] = {}
    if isinstance(activities, ModuleType):
        for name, fn in vars(activities).items():
            if (
                not name.startswith("_")
                and inspect.isfunction(fn)
                and fn.__module__ == activities.__name__
            ):
                found[name] = fn
    elif isinstance(activities, Mapping):
        for name, fn in activities.items():
            _check(str(name), fn)
            found[str(name)] = fn
    elif isinstance(activities, Sequence) and not isinstance(activities, str | bytes):
        for fn in activities:
            fn_name = getattr(fn, "__name__", None)
            if not isinstance(fn_name, str):
                raise ConfigError(f"activity {fn!r} has no __name__", value=fn)
            _check(fn_name, fn)
            found[fn_name] = fn
    else:
        raise ConfigError(
            "activities must be a mapping, a list of functions or a module, not "
            f"{type(activities).__name__}",
            value=activities,
        )
    _ACTIVITIES.update(found)
    return sorted(found)


def activity(name: str) -> Callable[..., Any] | None:
    """The registered activity ``name``, if any."""
    return _ACTIVITIES.get(name)


def registered_activities() -> list[str]:
    """Every registered activity name, sorted."""
    return sorted(_ACTIVITIES)
