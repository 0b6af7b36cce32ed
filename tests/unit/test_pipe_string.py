"""``string.*`` functions (spec §3.6 string)."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hotmesh.engine.pipe import FUNCTIONS, UNDEFINED, resolve_pipe
from hotmesh.errors import PipeError


def call(name: str, *args: Any) -> Any:
    return FUNCTIONS[name](*args)


NAME = "Luke Birdeau"


@pytest.mark.parametrize(
    ("name", "args", "expected"),
    [
        ("string.split", (NAME, " "), ["Luke", "Birdeau"]),
        ("string.split", (NAME,), [NAME]),
        ("string.split", ("abc", ""), ["a", "b", "c"]),
        ("string.split", ("a,b,c", ",", 2), ["a", "b"]),
        ("string.charAt", (NAME, 0), "L"),
        ("string.charAt", (NAME, 99), ""),
        ("string.concat", ("Luke", "Birdeau"), "LukeBirdeau"),
        ("string.concat", ("a", None, UNDEFINED, 5, 2.0, True), "a52true"),
        ("string.concat", (), ""),
        ("string.includes", (NAME, "Bird"), True),
        ("string.includes", (NAME, "Luke", 1), False),
        ("string.indexOf", (NAME, "Birdeau"), 5),
        ("string.indexOf", (NAME, "x"), -1),
        ("string.indexOf", ("aXbX", "X", 2), 3),
        ("string.lastIndexOf", (NAME, "Birdeau"), 5),
        ("string.lastIndexOf", ("aXbX", "X", 2), 1),
        ("string.lastIndexOf", ("aXbX", "X"), 3),
        ("string.slice", (NAME, 0, 4), "Luke"),
        ("string.slice", (NAME, -7), "Birdeau"),
        ("string.slice", (NAME,), NAME),
        ("string.substring", ("  Luke Birdeau  ", 2, 6), "Luke"),
        ("string.substring", ("Luke", 4, 0), "Luke"),
        ("string.substring", ("Luke", -3, 2), "Lu"),
        ("string.toLowerCase", ("Luke",), "luke"),
        ("string.toUpperCase", ("Luke",), "LUKE"),
        ("string.trim", ("  Luke\n\u00a0",), "Luke"),
        ("string.trimStart", ("  Luke  ",), "Luke  "),
        ("string.trimEnd", ("  Luke  ",), "  Luke"),
        ("string.padStart", ("Luke", 8, "-"), "----Luke"),
        ("string.padStart", ("Luke", 7, "ab"), "abaLuke"),
        ("string.padStart", ("5", 3), "  5"),
        ("string.padStart", ("Luke", 2, "-"), "Luke"),
        ("string.padEnd", ("Luke", 8, "-"), "Luke----"),
        ("string.padEnd", ("Luke", 6, ""), "Luke"),
        ("string.replace", ("a-b-c", "-", "+"), "a+b-c"),
        ("string.replace", ("cat", "a", "[$&]"), "c[a]t"),
        ("string.replace", ("cat", "a", "$$"), "c$t"),
        ("string.replace", ("abc", "b", "$`$'"), "aacc"),
        ("string.replace", ("cat", "z", "y"), "cat"),
        ("string.search", ("order 66", "[0-9]+"), 6),
        ("string.search", ("abc", "z"), -1),
        ("string.startsWith", (NAME, "Bird"), False),
        ("string.startsWith", (NAME, "Bird", 5), True),
        ("string.endsWith", (NAME, "Birdeau"), True),
        ("string.endsWith", (NAME, "Luke", 4), True),
        ("string.repeat", ("Luke", 3), "LukeLukeLuke"),
        ("string.repeat", ("Luke", 0), ""),
    ],
)
def test_string_function(name: str, args: tuple[Any, ...], expected: Any) -> None:
    assert call(name, *args) == expected


def test_numbers_are_converted_to_text() -> None:
    assert call("string.padStart", 7, 3, "0") == "007"
    assert call("string.split", 1.5, ".") == ["1", "5"]


@pytest.mark.parametrize("subject", [None, UNDEFINED])
def test_missing_subject_is_an_error(subject: Any) -> None:
    with pytest.raises(PipeError, match=r"string\.toUpperCase"):
        call("string.toUpperCase", subject)


@pytest.mark.parametrize("count", [-1, float("inf")])
def test_repeat_rejects_bad_counts(count: float) -> None:
    with pytest.raises(PipeError, match="repeat"):
        call("string.repeat", "x", count)


def test_repeat_rejects_huge_results() -> None:
    with pytest.raises(PipeError, match="too long"):
        call("string.repeat", "x" * 1000, 2**20)


def test_search_with_an_invalid_pattern() -> None:
    with pytest.raises(PipeError, match="invalid pattern"):
        call("string.search", "abc", "(")


def test_stats_id_concat_from_test_app() -> None:
    context = {"a1": {"input": {"data": {"id": "wdg_1"}}}}
    assert (
        resolve_pipe([["{a1.input.data.id}", "_caller"], ["{@string.concat}"]], context)
        == "wdg_1_caller"
    )


@given(st.text(max_size=20), st.text(min_size=1, max_size=3))
def test_split_then_join_round_trips(text: str, separator: str) -> None:
    parts = call("string.split", text, separator)
    assert parts == text.split(separator)
    assert FUNCTIONS["array.join"](parts, separator) == text


@given(st.text(max_size=20), st.integers(-30, 30), st.integers(-30, 30))
def test_slice_matches_python_slicing(text: str, start: int, end: int) -> None:
    assert call("string.slice", text, start, end) == text[start:end]
    assert call("string.indexOf", text + "needle", "needle") == (text + "needle").find("needle")
