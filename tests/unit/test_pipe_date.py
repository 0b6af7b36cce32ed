"""``date.*`` functions (spec §3.6 date); local-time cases run under a fixed TZ."""

from __future__ import annotations

import math
import re
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hotmesh.engine.pipe import FUNCTIONS, resolve_pipe
from hotmesh.errors import PipeError

# 2024-02-29T13:45:30.250Z, a Thursday.
MOMENT = 1709214330250


def call(name: str, *args: Any) -> Any:
    return FUNCTIONS[name](*args)


@pytest.fixture
def new_york(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("TZ", "America/New_York")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def test_now_is_epoch_milliseconds() -> None:
    before = int(time.time() * 1000)
    assert before - 5 <= call("date.now") <= int(time.time() * 1000) + 5


def test_yyyymmdd_is_today_utc() -> None:
    assert resolve_pipe([["{@date.yyyymmdd}"]], {}) == datetime.now(UTC).strftime("%Y-%m-%d")


@pytest.mark.parametrize(
    "value",
    [
        MOMENT,
        "2024-02-29T13:45:30.250Z",
        "2024-02-29T08:45:30.250-05:00",
        str(MOMENT),
        datetime(2024, 2, 29, 13, 45, 30, 250000, tzinfo=UTC),
    ],
)
def test_date_operand_coercion(value: Any) -> None:
    assert call("date.getTime", value) == MOMENT


def test_naive_datetime_is_utc_and_date_only_is_midnight() -> None:
    assert call("date.valueOf", datetime(1970, 1, 2)) == 86_400_000
    assert call("date.getTime", "1970-01-02") == 86_400_000


@pytest.mark.parametrize("value", ["tomorrow", None, math.nan, math.inf, {}, 1e20])
def test_invalid_dates_raise(value: Any) -> None:
    with pytest.raises(PipeError, match=r"date\.getTime"):
        call("date.getTime", value)


def test_from_iso_string() -> None:
    moment = call("date.fromISOString", "2024-02-29T13:45:30.250Z")
    assert moment == datetime(2024, 2, 29, 13, 45, 30, 250000, tzinfo=UTC)
    assert moment.tzinfo is not None
    with pytest.raises(PipeError):
        call("date.fromISOString", 5)


def test_parse() -> None:
    assert call("date.parse", "1970-01-02") == 86_400_000
    assert call("date.parse", "Thu, 01 Jan 1970 00:00:01 GMT") == 1000
    assert math.isnan(call("date.parse", "soon"))


def test_utc() -> None:
    assert call("date.UTC", 2024, 1, 29, 13, 45, 30, 250) == MOMENT
    assert call("date.UTC", 1970, 0, 2) == 86_400_000
    assert call("date.UTC", 2020, 12) == call("date.UTC", 2021, 0)
    assert call("date.UTC", 99, 0) == call("date.UTC", 1999, 0)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("date.getUTCDate", 29),
        ("date.getUTCDay", 4),
        ("date.getUTCFullYear", 2024),
        ("date.getUTCHours", 13),
        ("date.getUTCMilliseconds", 250),
        ("date.getUTCMinutes", 45),
        ("date.getUTCMonth", 1),
        ("date.getUTCSeconds", 30),
        ("date.getDate", 29),
        ("date.getDay", 4),
        ("date.getFullYear", 2024),
        ("date.getHours", 8),
        ("date.getMilliseconds", 250),
        ("date.getMinutes", 45),
        ("date.getMonth", 1),
        ("date.getSeconds", 30),
        ("date.getTimezoneOffset", 300),
    ],
)
def test_getters(new_york: None, name: str, expected: int) -> None:
    assert call(name, MOMENT) == expected


@pytest.mark.parametrize(
    ("name", "args", "expected"),
    [
        ("date.setUTCDate", (1,), "2024-02-01T13:45:30.250Z"),
        ("date.setUTCDate", (30,), "2024-03-01T13:45:30.250Z"),
        ("date.setUTCFullYear", (2023,), "2023-03-01T13:45:30.250Z"),
        ("date.setUTCFullYear", (2025, 0, 5), "2025-01-05T13:45:30.250Z"),
        ("date.setUTCHours", (0,), "2024-02-29T00:45:30.250Z"),
        ("date.setUTCHours", (25, 0, 0, 0), "2024-03-01T01:00:00.000Z"),
        ("date.setUTCMinutes", (5,), "2024-02-29T13:05:30.250Z"),
        ("date.setUTCMonth", (11,), "2024-12-29T13:45:30.250Z"),
        ("date.setUTCMonth", (-1, 1), "2023-12-01T13:45:30.250Z"),
        ("date.setUTCSeconds", (0, 0), "2024-02-29T13:45:00.000Z"),
        ("date.setUTCMilliseconds", (999,), "2024-02-29T13:45:30.999Z"),
        ("date.setDate", (1,), "2024-02-01T13:45:30.250Z"),
        ("date.setFullYear", (2020,), "2020-02-29T13:45:30.250Z"),
        ("date.setHours", (0,), "2024-02-29T05:45:30.250Z"),
        ("date.setMinutes", (0,), "2024-02-29T13:00:30.250Z"),
        ("date.setMonth", (6,), "2024-07-29T12:45:30.250Z"),
        ("date.setSeconds", (1,), "2024-02-29T13:45:01.250Z"),
        ("date.setMilliseconds", (0,), "2024-02-29T13:45:30.000Z"),
        ("date.setTime", (0,), "1970-01-01T00:00:00.000Z"),
    ],
)
def test_setters_return_epoch_ms(
    new_york: None, name: str, args: tuple[Any, ...], expected: str
) -> None:
    result = call(name, MOMENT, *args)
    assert isinstance(result, int)
    assert call("date.toISOString", result) == expected


def test_setter_with_omitted_parts_keeps_them() -> None:
    """The reference returns NaN for setMinutes(date, minutes) called from a pipe."""
    rows = [["{d}", 5], ["{@date.setUTCMinutes}"]]
    assert call("date.toISOString", resolve_pipe(rows, {"d": MOMENT})) == "2024-02-29T13:05:30.250Z"


def test_setter_needs_its_first_part() -> None:
    with pytest.raises(PipeError, match=r"date\.setMinutes needs a minute"):
        call("date.setMinutes", MOMENT)
    with pytest.raises(PipeError, match="not a number"):
        call("date.setMinutes", MOMENT, "x")


def test_text_forms(new_york: None) -> None:
    assert call("date.toISOString", MOMENT) == "2024-02-29T13:45:30.250Z"
    assert call("date.toJSON", MOMENT) == "2024-02-29T13:45:30.250Z"
    assert call("date.toDateString", MOMENT) == "Thu Feb 29 2024"
    assert call("date.toString", MOMENT) == "Thu Feb 29 2024 08:45:30 GMT-0500 (EST)"
    assert call("date.toISOXString", MOMENT) == "20240229134530.250"


def test_to_isox_string_defaults_to_now() -> None:
    assert re.fullmatch(r"\d{14}\.\d{3}", call("date.toISOXString"))
    assert call("date.toISOXString", 0)[:8] == datetime.now(UTC).strftime("%Y%m%d")


@pytest.mark.parametrize(
    ("locale", "options", "expected"),
    [
        ("en-US", {"timeZone": "UTC"}, "2/29/2024, 1:45:30 PM"),
        (None, {"timeZone": "UTC"}, "2/29/2024, 1:45:30 PM"),
        ("en-GB", {"timeZone": "UTC"}, "29/02/2024, 13:45:30"),
        ("de-DE", {"timeZone": "Europe/Berlin"}, "29.2.2024, 14:45:30"),
        (["fr-FR", "en-US"], {"timeZone": "UTC"}, "29/02/2024 13:45:30"),
        ("en-US", {"timeZone": "UTC", "hour12": False}, "2/29/2024, 13:45:30"),
    ],
)
def test_to_locale_string(locale: Any, options: dict[str, Any], expected: str) -> None:
    assert call("date.toLocaleString", MOMENT, locale, options) == expected


def test_to_locale_string_uses_local_time_by_default(new_york: None) -> None:
    assert call("date.toLocaleString", 0, "en-US") == "12/31/1969, 7:00:00 PM"
    assert call("date.toLocaleDateString", MOMENT, "en-US") == "2/29/2024"
    assert call("date.toLocaleTimeString", MOMENT, "en-GB") == "08:45:30"


def test_now_to_locale_string_pipe() -> None:
    text = resolve_pipe([["{@date.now}", "en-US"], ["{@date.toLocaleString}"]], {})
    assert re.fullmatch(r"\d{1,2}/\d{1,2}/\d{4}, \d{1,2}:\d{2}:\d{2} [AP]M", text)


def test_unknown_time_zone() -> None:
    with pytest.raises(PipeError, match="time zone"):
        call("date.toLocaleString", MOMENT, "en-US", {"timeZone": "Mars/Olympus"})


@given(
    st.datetimes(
        min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30), timezones=st.just(UTC)
    )
)
def test_epoch_round_trip(moment: datetime) -> None:
    millis = call("date.getTime", moment)
    assert millis == (moment - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(milliseconds=1)
    assert call("date.getUTCFullYear", millis) == moment.year
    assert call("date.getUTCMonth", millis) == moment.month - 1
    assert call("date.getTime", call("date.toISOString", millis)) == millis


def test_offset_timezone_input() -> None:
    moment = datetime(2024, 1, 1, 1, 0, tzinfo=timezone(timedelta(hours=2)))
    assert call("date.getUTCHours", moment) == 23
