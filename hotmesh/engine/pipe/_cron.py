"""``cron``: seconds until the next occurrence of a cron expression (UTC).

Five fields (minute hour day-of-month month day-of-week) or six (seconds first). Each
field takes ``*``, ``?``, numbers, names (``jan``, ``mon``), ranges ``a-b``, steps
``*/n`` / ``a-b/n`` / ``a/n`` and comma lists; day-of-week 7 is Sunday. When both day
fields are restricted a day matches either, as in Vixie cron. ``@yearly``, ``@monthly``,
``@weekly``, ``@daily`` and ``@hourly`` are accepted too.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from attrs import frozen

from hotmesh.engine.pipe._catalog import register
from hotmesh.engine.pipe._jsvalue import UNDEFINED
from hotmesh.errors import PipeError

__all__ = ["CronSchedule", "fidelity_seconds", "next_delay"]

_MONTH_NAMES = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_DAY_NAMES = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")
_MACROS = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}
# (low, high, names) per field, seconds first.
_BOUNDS: tuple[tuple[int, int, Sequence[str]], ...] = (
    (0, 59, ()),
    (0, 59, ()),
    (0, 23, ()),
    (1, 31, ()),
    (1, 12, _MONTH_NAMES),
    (0, 7, _DAY_NAMES),
)
_SEARCH_LIMIT = timedelta(days=366 * 5)


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


def _number(token: str, low: int, names: Sequence[str]) -> int:
    lowered = token.lower()
    if lowered in names:
        return names.index(lowered) + (1 if low == 1 else 0)
    if not token.isascii() or not token.isdigit():
        raise ValueError(token)
    return int(token)


def _field(text: str, low: int, high: int, names: Sequence[str]) -> frozenset[int]:
    values: set[int] = set()
    for part in text.split(","):
        span, _, step_text = part.partition("/")
        step = int(step_text) if step_text else 1
        if step < 1 or (step_text and not step_text.isdigit()):
            raise ValueError(part)
        if span in ("*", "?"):
            first, last = low, high
        elif "-" in span:
            start, end = span.split("-", 1)
            first, last = _number(start, low, names), _number(end, low, names)
        else:
            first = _number(span, low, names)
            last = high if step_text else first
        if not low <= first <= high or not low <= last <= high or first > last:
            raise ValueError(part)
        values.update(range(first, last + 1, step))
    return frozenset(values)


@frozen
class CronSchedule:
    """A parsed cron expression.

    Example:
        >>> schedule = CronSchedule.parse("*/15 * * * *")
        >>> schedule.next_after(datetime(2024, 1, 1, 0, 7, tzinfo=UTC)).minute
        15
    """

    seconds: frozenset[int]
    minutes: frozenset[int]
    hours: frozenset[int]
    days: frozenset[int]
    months: frozenset[int]
    weekdays: frozenset[int]
    any_day: bool
    any_weekday: bool

    @classmethod
    def parse(cls, expression: str) -> CronSchedule:
        """Parse a 5- or 6-field expression (or a ``@daily``-style macro).

        Raises:
            PipeError: ``Invalid cron expression: <expression>``.
        """
        fields = _MACROS.get(expression.strip().lower(), expression).split()
        if len(fields) == 5:
            fields = ["0", *fields]
        try:
            if len(fields) != 6:
                raise ValueError(expression)
            parsed = [_field(text, *bounds) for text, bounds in zip(fields, _BOUNDS, strict=True)]
        except ValueError as error:
            raise PipeError(f"Invalid cron expression: {expression}", value=expression) from error
        weekdays = frozenset(day % 7 for day in parsed[5])
        return cls(
            parsed[0],
            parsed[1],
            parsed[2],
            parsed[3],
            parsed[4],
            weekdays,
            any_day=fields[3] in ("*", "?"),
            any_weekday=fields[5] in ("*", "?"),
        )

    def _day_matches(self, moment: datetime) -> bool:
        in_month = moment.day in self.days
        in_week = moment.isoweekday() % 7 in self.weekdays
        if self.any_day or self.any_weekday:
            return in_month and in_week
        return in_month or in_week

    def next_after(self, moment: datetime) -> datetime:
        """The first matching second strictly after ``moment``.

        Raises:
            PipeError: nothing matches within five years (e.g. ``0 0 31 2 *``).
        """
        current = moment.replace(microsecond=0) + timedelta(seconds=1)
        limit = moment + _SEARCH_LIMIT
        while current <= limit:
            if current.month not in self.months:
                year, month = divmod(current.month, 12)
                current = current.replace(year=current.year + year, month=month + 1, day=1)
                current = current.replace(hour=0, minute=0, second=0)
            elif not self._day_matches(current):
                current = (current + timedelta(days=1)).replace(hour=0, minute=0, second=0)
            elif current.hour not in self.hours:
                current = (current + timedelta(hours=1)).replace(minute=0, second=0)
            elif current.minute not in self.minutes:
                current = (current + timedelta(minutes=1)).replace(second=0)
            elif current.second not in self.seconds:
                current += timedelta(seconds=1)
            else:
                return current
        raise PipeError("cron expression never fires", value=self)


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
