"""``date``: JS ``Date`` functions over epoch milliseconds and timezone-aware datetimes.

Every date operand is coerced the same way: a ``datetime`` is used as is (naive means
UTC); a number is epoch milliseconds; a string is ``YYYY-MM-DD``, an ISO 8601 date-time
with ``Z`` or an offset, or digits (epoch milliseconds). Anything else — including NaN —
raises :class:`~hotmesh.errors.PipeError` rather than producing an invalid date.

"Local" functions (``getHours``, ``setHours``, ``toString``…) use the process time zone;
the ``UTC`` variants use UTC. Setters return the new epoch milliseconds, and optional
components that are left out keep their current value.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, tzinfo
from email.utils import parsedate_to_datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from hotmesh.engine.pipe._catalog import register
from hotmesh.engine.pipe._json import iso_string
from hotmesh.engine.pipe._jsvalue import (
    UNDEFINED,
    is_nullish,
    is_number,
    to_number,
    to_string,
    truthy,
)
from hotmesh.errors import PipeError

__all__ = ["epoch_ms", "from_epoch_ms", "to_datetime"]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MILLISECOND = timedelta(milliseconds=1)
_DATE_ONLY = re.compile(r"\d{4}-\d{2}-\d{2}")
_DIGITS = re.compile(r"-?\d+(?:\.\d+)?")
_WEEKDAYS = ("Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_FIELDS = ("year", "month", "day", "hour", "minute", "second", "ms")


def epoch_ms(moment: datetime) -> int:
    """Milliseconds since the Unix epoch (a naive datetime counts as UTC).

    Example:
        >>> epoch_ms(datetime(1970, 1, 2, tzinfo=UTC))
        86400000
    """
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return (moment - _EPOCH) // _MILLISECOND


def from_epoch_ms(milliseconds: float, name: str = "date") -> datetime:
    """The UTC datetime ``milliseconds`` after the epoch.

    Raises:
        PipeError: NaN, infinite, or outside the years 1–9999.

    Example:
        >>> from_epoch_ms(0).isoformat()
        '1970-01-01T00:00:00+00:00'
    """
    try:
        return _EPOCH + timedelta(milliseconds=int(milliseconds))
    except (OverflowError, ValueError) as error:
        raise PipeError(
            f"{name}: {to_string(milliseconds)} is not a valid time", value=milliseconds
        ) from error


def _parse_iso(text: str) -> datetime | None:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    if moment.tzinfo is None:
        # A bare date is UTC midnight; a date-time without an offset is local time.
        moment = moment.replace(tzinfo=UTC) if _DATE_ONLY.fullmatch(text) else moment.astimezone()
    return moment.astimezone(UTC)


def to_datetime(value: Any, name: str = "date") -> datetime:
    """Coerce a date operand to a timezone-aware UTC datetime.

    Raises:
        PipeError: the value is not a date this catalog understands.

    Example:
        >>> to_datetime("2024-02-29").isoformat()
        '2024-02-29T00:00:00+00:00'
        >>> to_datetime(86400000).day
        2
    """
    if isinstance(value, datetime):
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    if is_number(value):
        return from_epoch_ms(value, name)
    if isinstance(value, str):
        text = value.strip()
        if _DIGITS.fullmatch(text):
            return from_epoch_ms(float(text), name)
        moment = _parse_iso(text) if len(text) >= 10 else None
        if moment is not None:
            return moment
    raise PipeError(f"{name}: invalid date format {to_string(value)!r}", value=value)


def _local(moment: datetime) -> datetime:
    return moment.astimezone()


# -- creation and parsing -----------------------------------------------------------------


@register("date")
def now(*_: Any) -> int:
    """The current time in epoch milliseconds.

    Example:
        >>> now() > 1_700_000_000_000
        True
    """
    return time.time_ns() // 1_000_000


@register("date")
def yyyymmdd(*_: Any) -> str:
    """Today's UTC date as ``YYYY-MM-DD``.

    Example:
        >>> len(yyyymmdd())
        10
    """
    today = datetime.now(UTC)
    return f"{today.year:04d}-{today.month:02d}-{today.day:02d}"


@register("date")
def fromISOString(text: Any = UNDEFINED) -> datetime:
    """Parse an ISO 8601 string into a UTC datetime.

    Example:
        >>> fromISOString("2024-01-02T03:04:05.678Z").isoformat()
        '2024-01-02T03:04:05.678000+00:00'
    """
    if not isinstance(text, str):
        raise PipeError(f"date.fromISOString needs a string, got {to_string(text)}", value=text)
    return to_datetime(text, "date.fromISOString")


@register("date")
def parse(text: Any = UNDEFINED) -> int | float:
    """JS ``Date.parse``: epoch milliseconds of an ISO 8601 or RFC 2822 string, else NaN.

    Example:
        >>> parse("1970-01-02"), parse("Thu, 01 Jan 1970 00:00:01 GMT"), parse("soon")
        (86400000, 1000, nan)
    """
    source = to_string(text).strip()
    moment = _parse_iso(source)
    if moment is None:
        try:
            moment = parsedate_to_datetime(source)
        except (TypeError, ValueError):
            return float("nan")
        if moment.tzinfo is None:
            moment = moment.astimezone()
    return epoch_ms(moment)


@register("date", "UTC")
def utc(
    year: Any = UNDEFINED,
    month: Any = UNDEFINED,
    day: Any = UNDEFINED,
    hour: Any = UNDEFINED,
    minute: Any = UNDEFINED,
    second: Any = UNDEFINED,
    millisecond: Any = UNDEFINED,
) -> int:
    """Epoch milliseconds of a UTC date; omitted parts default to the start of the period.

    Years 0–99 mean 1900–1999, as in JS. Out-of-range parts carry over.

    Example:
        >>> utc(1970, 0, 2), utc(2020, 1, 30)
        (86400000, 1583020800000)
    """
    parts = {"year": year, "month": month, "day": day, "hour": hour}
    parts |= {"minute": minute, "second": second, "ms": millisecond}
    defaults = {"year": 1970, "month": 0, "day": 1, "hour": 0, "minute": 0, "second": 0, "ms": 0}
    values = {
        field: defaults[field] if is_nullish(parts[field]) else _integer("date.UTC", parts[field])
        for field in _FIELDS
    }
    if 0 <= values["year"] <= 99:
        values["year"] += 1900
    return epoch_ms(_compose("date.UTC", values).replace(tzinfo=UTC))


# -- components ---------------------------------------------------------------------------

_GETTERS: dict[str, Callable[[datetime], int]] = {
    "Date": lambda moment: moment.day,
    "Day": lambda moment: moment.isoweekday() % 7,
    "FullYear": lambda moment: moment.year,
    "Hours": lambda moment: moment.hour,
    "Milliseconds": lambda moment: moment.microsecond // 1000,
    "Minutes": lambda moment: moment.minute,
    "Month": lambda moment: moment.month - 1,
    "Seconds": lambda moment: moment.second,
}


def _getter(component: str, utc_based: bool) -> None:
    name = f"get{'UTC' if utc_based else ''}{component}"
    extract = _GETTERS[component]

    def get(value: Any = UNDEFINED, *_: Any) -> int:
        moment = to_datetime(value, f"date.{name}")
        return extract(moment if utc_based else _local(moment))

    get.__name__ = name
    get.__doc__ = (
        f"The {component.lower()} of a date in {'UTC' if utc_based else 'local time'}"
        f"{' (0 = January)' if component == 'Month' else ''}"
        f"{' (0 = Sunday)' if component == 'Day' else ''}."
    )
    register("date", name)(get)


for _component in _GETTERS:
    _getter(_component, utc_based=False)
    _getter(_component, utc_based=True)


@register("date")
def getTimezoneOffset(value: Any = UNDEFINED) -> int:
    """Minutes to add to local time to get UTC at that date (``-60`` in Paris in winter).

    Example:
        >>> isinstance(getTimezoneOffset(0), int)
        True
    """
    offset = _local(to_datetime(value, "date.getTimezoneOffset")).utcoffset()
    return -int(offset.total_seconds() // 60) if offset is not None else 0


@register("date")
def getTime(value: Any = UNDEFINED) -> int:
    """Epoch milliseconds.

    Example:
        >>> getTime("1970-01-01T00:00:01.500Z")
        1500
    """
    return epoch_ms(to_datetime(value, "date.getTime"))


@register("date")
def valueOf(value: Any = UNDEFINED) -> int:
    """Epoch milliseconds (same as ``getTime``).

    Example:
        >>> valueOf("1970-01-02")
        86400000
    """
    return epoch_ms(to_datetime(value, "date.valueOf"))


def _integer(name: str, value: Any) -> int:
    number = to_number(value)
    if number != number or number in (float("inf"), float("-inf")):
        raise PipeError(f"{name}: {to_string(value)} is not a number", value=value)
    return int(number)


def _compose(name: str, parts: dict[str, int]) -> datetime:
    """A naive datetime from JS-style parts (0-based month; every part may overflow)."""
    year = parts["year"] + parts["month"] // 12
    try:
        start = datetime(year, parts["month"] % 12 + 1, 1)
        return start + timedelta(
            days=parts["day"] - 1,
            hours=parts["hour"],
            minutes=parts["minute"],
            seconds=parts["second"],
            milliseconds=parts["ms"],
        )
    except (OverflowError, ValueError) as error:
        raise PipeError(f"{name}: the date is out of range", value=parts) from error


def _setter(name: str, fields: tuple[str, ...], utc_based: bool) -> None:
    qualified = f"date.{name}"

    def set_parts(value: Any = UNDEFINED, *arguments: Any) -> int:
        moment = to_datetime(value, qualified)
        if not utc_based:
            moment = _local(moment)
        parts = {
            "year": moment.year,
            "month": moment.month - 1,
            "day": moment.day,
            "hour": moment.hour,
            "minute": moment.minute,
            "second": moment.second,
            "ms": moment.microsecond // 1000,
        }
        if not arguments or is_nullish(arguments[0]):
            raise PipeError(f"{qualified} needs a {fields[0]}", value=value)
        for field, argument in zip(fields, arguments, strict=False):
            if not is_nullish(argument):
                parts[field] = _integer(qualified, argument)
        wall = _compose(qualified, parts)
        return epoch_ms(wall.replace(tzinfo=UTC) if utc_based else wall.astimezone(UTC))

    set_parts.__name__ = name
    set_parts.__doc__ = (
        f"Set the {', '.join(fields)} of a date ({'UTC' if utc_based else 'local time'}); "
        "returns the new epoch milliseconds. Parts left out keep their value."
    )
    register("date", name)(set_parts)


_SETTERS: dict[str, tuple[str, ...]] = {
    "Date": ("day",),
    "FullYear": ("year", "month", "day"),
    "Hours": ("hour", "minute", "second", "ms"),
    "Minutes": ("minute", "second", "ms"),
    "Month": ("month", "day"),
    "Seconds": ("second", "ms"),
    "Milliseconds": ("ms",),
}

for _component, _fields in _SETTERS.items():
    _setter(f"set{_component}", _fields, utc_based=False)
    _setter(f"setUTC{_component}", _fields, utc_based=True)


@register("date")
def setTime(value: Any = UNDEFINED, milliseconds: Any = UNDEFINED) -> int:
    """Replace the whole date by ``milliseconds`` since the epoch (validated).

    Example:
        >>> setTime("2024-01-01", 5)
        5
    """
    to_datetime(value, "date.setTime")
    return epoch_ms(from_epoch_ms(_integer("date.setTime", milliseconds), "date.setTime"))


# -- text ---------------------------------------------------------------------------------


def _offset_text(moment: datetime) -> str:
    offset = moment.utcoffset() or timedelta(0)
    minutes = int(offset.total_seconds() // 60)
    sign = "+" if minutes >= 0 else "-"
    return f"GMT{sign}{abs(minutes) // 60:02d}{abs(minutes) % 60:02d}"


def _date_text(moment: datetime) -> str:
    weekday = _WEEKDAYS[moment.isoweekday() % 7]
    return f"{weekday} {_MONTHS[moment.month - 1]} {moment.day:02d} {moment.year:04d}"


@register("date")
def toDateString(value: Any = UNDEFINED) -> str:
    """Local date as ``'Thu Jan 01 1970'``.

    Example:
        >>> len(toDateString(0))
        15
    """
    return _date_text(_local(to_datetime(value, "date.toDateString")))


@register("date")
def toISOString(value: Any = UNDEFINED) -> str:
    """``'1970-01-01T00:00:00.000Z'``.

    Example:
        >>> toISOString(0)
        '1970-01-01T00:00:00.000Z'
    """
    return iso_string(to_datetime(value, "date.toISOString"))


@register("date")
def toJSON(value: Any = UNDEFINED) -> str:
    """Same as ``toISOString``.

    Example:
        >>> toJSON(1)
        '1970-01-01T00:00:00.001Z'
    """
    return iso_string(to_datetime(value, "date.toJSON"))


@register("date")
def toString(value: Any = UNDEFINED) -> str:
    """Local time as ``'Thu Jan 01 1970 00:00:00 GMT+0000 (UTC)'``.

    Example:
        >>> "GMT" in toString(0)
        True
    """
    moment = _local(to_datetime(value, "date.toString"))
    clock = moment.strftime("%H:%M:%S")
    return f"{_date_text(moment)} {clock} {_offset_text(moment)} ({moment.tzname()})"


@register("date")
def toISOXString(value: Any = UNDEFINED) -> str:
    """UTC ``YYYYMMDDHHmmss.mmm``; a falsy date means now.

    Example:
        >>> toISOXString(1500)
        '19700101000001.500'
    """
    moment = to_datetime(value, "date.toISOXString") if truthy(value) else datetime.now(UTC)
    return (
        f"{moment.year:04d}" + moment.strftime("%m%d%H%M%S.") + f"{moment.microsecond // 1000:03d}"
    )


# Numeric locale formats: (date, 24-hour time, separator, 12-hour clock by default).
_LOCALES: dict[str, tuple[str, str, str, bool]] = {
    "en-US": ("{M}/{D}/{Y}", "{h}:{mm}:{ss}", ", ", True),
    "en-GB": ("{DD}/{MM}/{Y}", "{HH}:{mm}:{ss}", ", ", False),
    "de": ("{D}.{M}.{Y}", "{HH}:{mm}:{ss}", ", ", False),
    "fr": ("{DD}/{MM}/{Y}", "{HH}:{mm}:{ss}", " ", False),
    "es": ("{D}/{M}/{Y}", "{H}:{mm}:{ss}", ", ", False),
    "it": ("{D}/{M}/{Y}", "{HH}:{mm}:{ss}", ", ", False),
    "nl": ("{D}-{M}-{Y}", "{HH}:{mm}:{ss}", ", ", False),
    "ja": ("{Y}/{M}/{D}", "{H}:{mm}:{ss}", " ", False),
    "sv": ("{Y}-{MM}-{DD}", "{HH}:{mm}:{ss}", " ", False),
}


def _locale(locales: Any) -> tuple[str, str, str, bool]:
    tags = locales if isinstance(locales, list) else [locales]
    for tag in tags:
        if not isinstance(tag, str):
            continue
        if tag in _LOCALES:
            return _LOCALES[tag]
        language = tag.split("-", 1)[0].lower()
        if language == "en" and tag != "en":
            return _LOCALES["en-GB"]
        if language in _LOCALES:
            return _LOCALES[language]
    return _LOCALES["en-US"]


def _zone(options: Any) -> tzinfo | None:
    name = options.get("timeZone") if isinstance(options, dict) else None
    if name is None:
        return None
    if to_string(name).upper() == "UTC":
        return UTC
    try:
        return ZoneInfo(to_string(name))
    except (ZoneInfoNotFoundError, ValueError) as error:
        raise PipeError(f"date: unknown time zone {to_string(name)!r}", value=name) from error


def _locale_parts(name: str, value: Any, locales: Any, options: Any) -> tuple[str, str, str]:
    moment = to_datetime(value, f"date.{name}")
    zone = _zone(options)
    moment = moment.astimezone(zone) if zone is not None else _local(moment)
    date_format, time_format, separator, twelve_hour = _locale(locales)
    if isinstance(options, dict) and isinstance(options.get("hour12"), bool):
        twelve_hour = options["hour12"]
    fields = {
        "Y": str(moment.year),
        "M": str(moment.month),
        "MM": f"{moment.month:02d}",
        "D": str(moment.day),
        "DD": f"{moment.day:02d}",
        "H": str(moment.hour),
        "HH": f"{moment.hour:02d}",
        "h": str(moment.hour % 12 or 12),
        "mm": f"{moment.minute:02d}",
        "ss": f"{moment.second:02d}",
    }
    clock = "{h}:{mm}:{ss}" if twelve_hour else time_format.replace("{h}", "{HH}")
    time_text = clock.format(**fields)
    if twelve_hour:
        time_text += " AM" if moment.hour < 12 else " PM"
    return date_format.format(**fields), time_text, separator


@register("date")
def toLocaleString(
    value: Any = UNDEFINED, locales: Any = UNDEFINED, options: Any = UNDEFINED
) -> str:
    """Date and time as the locale writes them (``en-US``: ``'1/1/1970, 12:00:00 AM'``).

    ``options`` may carry ``timeZone`` (an IANA name) and ``hour12``; without a time zone
    the process time zone is used.

    Example:
        >>> toLocaleString(0, "en-US", {"timeZone": "UTC"})
        '1/1/1970, 12:00:00 AM'
    """
    date_text, time_text, separator = _locale_parts("toLocaleString", value, locales, options)
    return date_text + separator + time_text


@register("date")
def toLocaleDateString(
    value: Any = UNDEFINED, locales: Any = UNDEFINED, options: Any = UNDEFINED
) -> str:
    """The date part of ``toLocaleString``.

    Example:
        >>> toLocaleDateString(0, "de-DE", {"timeZone": "UTC"})
        '1.1.1970'
    """
    return _locale_parts("toLocaleDateString", value, locales, options)[0]


@register("date")
def toLocaleTimeString(
    value: Any = UNDEFINED, locales: Any = UNDEFINED, options: Any = UNDEFINED
) -> str:
    """The time part of ``toLocaleString``.

    Example:
        >>> toLocaleTimeString(0, "en-GB", {"timeZone": "UTC"})
        '00:00:00'
    """
    return _locale_parts("toLocaleTimeString", value, locales, options)[1]
