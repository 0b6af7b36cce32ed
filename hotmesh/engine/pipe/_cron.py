"""``cron``: seconds until the next occurrence of a cron expression (UTC).

Five fields (minute hour day-of-month month day-of-week) or six (seconds first), parsed
by `cronsim <https://pypi.org/project/cronsim/>`_: ``*``, numbers, names (``jan``,
``mon``), ranges ``a-b``, steps ``*/n`` / ``a-b/n`` and comma lists; day-of-week 7 is
Sunday; when both day fields are restricted a day matches either, as in Vixie cron.
``?`` is read as ``*``, and ``@yearly``, ``@monthly``, ``@weekly``, ``@daily`` and
``@hourly`` are accepted too.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from typing import Any

from attrs import frozen
from cronsim import CronSim, CronSimError

from hotmesh.engine.pipe._catalog import register
from hotmesh.engine.pipe._jsvalue import UNDEFINED
from hotmesh.errors import PipeError

__all__ = ["CronSchedule", "fidelity_seconds", "next_delay"]

_MACROS = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}
_ANY_DAY = 2  # index of day-of-month in a five-field expression


def fidelity_seconds() -> int:
    """The engine's timer granularity: ``HMSH_FIDELITY_SECONDS`` (default 5).

    Example:
        >>> fidelity_seconds() >= 1
        True
    """
    try:
        return max(1, int(os.environ.get("HMSH_FIDELITY_SECONDS", "5")))
    except ValueError:
        return 5


def _normalise(expression: str) -> list[str]:
    fields = _MACROS.get(expression.strip().lower(), expression).lower().split()
    return ["*" if part == "?" else part for part in fields]


def _check(fields: list[str], expression: str) -> None:
    """Raise the pipe's error for an expression cronsim refuses."""
    text = " ".join(fields)
    try:
        CronSim(text, datetime(2000, 1, 1, tzinfo=UTC))
    except CronSimError as error:
        # Well-formed fields that can never meet (``0 0 31 2 *``) read differently.
        relaxed = list(fields)
        relaxed[_ANY_DAY + len(fields) - 5] = "*"
        try:
            CronSim(" ".join(relaxed), datetime(2000, 1, 1, tzinfo=UTC))
        except CronSimError:
            raise PipeError(f"Invalid cron expression: {expression}", value=expression) from error
        raise PipeError(f"cron expression never fires: {expression}", value=expression) from error


@frozen
class CronSchedule:
    """A parsed cron expression.

    Example:
        >>> schedule = CronSchedule.parse("*/15 * * * *")
        >>> schedule.next_after(datetime(2024, 1, 1, 0, 7, tzinfo=UTC)).minute
        15
    """

    expression: str

    @classmethod
    def parse(cls, expression: str) -> CronSchedule:
        """Parse a 5- or 6-field expression (or a ``@daily``-style macro).

        Raises:
            PipeError: ``Invalid cron expression: <expression>``, or ``cron expression
                never fires`` for fields that can never meet (``0 0 31 2 *``).
        """
        fields = _normalise(expression)
        if len(fields) not in (5, 6):
            raise PipeError(f"Invalid cron expression: {expression}", value=expression)
        _check(fields, expression)
        return cls(" ".join(fields))

    def next_after(self, moment: datetime) -> datetime:
        """The first matching second strictly after ``moment`` (UTC)."""
        start = moment.astimezone(UTC).replace(microsecond=0)
        return next(CronSim(self.expression, start))


def next_delay(
    expression: Any,
    *,
    now: datetime | None = None,
    fidelity: int | None = None,
) -> int:
    """Whole seconds from ``now`` until the expression next fires, at least ``fidelity``.

    Returns -1 for a value that is not a string.

    Raises:
        PipeError: the expression is not valid cron.

    Example:
        >>> start = datetime(2024, 1, 1, 0, 0, 0, tzinfo=UTC)
        >>> next_delay("0 * * * *", now=start, fidelity=5), next_delay(None)
        (3600, -1)
    """
    if not isinstance(expression, str):
        return -1
    moment = now or datetime.now(UTC)
    following = CronSchedule.parse(expression).next_after(moment.astimezone(UTC))
    delay = round((following - moment).total_seconds())
    return max(delay, fidelity if fidelity is not None else fidelity_seconds())


@register("cron")
def nextDelay(expression: Any = UNDEFINED, *_: Any) -> int:
    """Seconds until ``expression`` next fires (UTC), never below the engine fidelity.

    Example:
        >>> nextDelay("* * * * *") >= 1, nextDelay(None)
        (True, -1)
    """
    return next_delay(expression)
