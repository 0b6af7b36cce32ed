"""``symbol.*`` constants (spec §3.6 symbol)."""

from __future__ import annotations

import math
from datetime import UTC, datetime

from hotmesh.engine.mapper import map_rules
from hotmesh.engine.pipe import FUNCTIONS, UNDEFINED, resolve_pipe


def test_constants() -> None:
    assert FUNCTIONS["symbol.null"]() is None
    assert FUNCTIONS["symbol.undefined"]() is UNDEFINED
    assert FUNCTIONS["symbol.whitespace"]() == " "
    assert FUNCTIONS["symbol.posInfinity"]() == math.inf
    assert FUNCTIONS["symbol.negInfinity"]() == -math.inf
    assert math.isnan(FUNCTIONS["symbol.NaN"]())


def test_containers_are_fresh_each_call() -> None:
    first, second = FUNCTIONS["symbol.object"](), FUNCTIONS["symbol.object"]()
    assert first == {} and first is not second
    assert FUNCTIONS["symbol.array"]() == []
    assert FUNCTIONS["symbol.array"]() is not FUNCTIONS["symbol.array"]()


def test_date_is_aware_now() -> None:
    moment = FUNCTIONS["symbol.date"]()
    assert moment.tzinfo is UTC
    assert abs((datetime.now(UTC) - moment).total_seconds()) < 5


def test_symbols_ignore_operands_as_operators() -> None:
    assert resolve_pipe([["x"], ["{@symbol.null}"]], {}) is None
    assert map_rules({"gone": "{@symbol.undefined}", "kept": "{@symbol.null}"}, {}) == {
        "kept": None
    }
