"""Errors as stored in the history: ``{message, code, type, stack}`` and back."""

from __future__ import annotations

import traceback
from typing import Any

from hotmesh.durable.errors import (
    DurableError,
    DurableFatalError,
    DurableMaxedError,
    DurableRetryError,
    DurableTimeoutError,
)

__all__ = ["error_from_wire", "error_to_wire"]

_BY_CODE: dict[int, type[DurableError]] = {
    596: DurableTimeoutError,
    597: DurableMaxedError,
    598: DurableFatalError,
    599: DurableRetryError,
}


def error_to_wire(err: BaseException, code: int | None = None) -> dict[str, Any]:
    """``err`` as a JSON dict keeping its type name, message and stack."""
    stack = getattr(err, "stack", None) or "".join(traceback.format_exception(err))
    type_name = getattr(err, "type_name", None) or type(err).__name__
    if code is None:
        code = int(getattr(err, "code", 599) or 599)
    return {
        "message": str(getattr(err, "message", None) or err),
        "code": code,
        "type": type_name,
        "stack": stack[-8000:],
    }


def error_from_wire(error: dict[str, Any], *, default: type[DurableError]) -> DurableError:
    """The Durable error a workflow sees for a failed activity or child."""
    code = int(error.get("code") or 0)
    cls = _BY_CODE.get(code, default)
    if cls is DurableRetryError and default is DurableFatalError:
        cls = DurableFatalError
    result = cls(str(error.get("message") or ""), error.get("stack"))
    result.type_name = error.get("type")
    return result
