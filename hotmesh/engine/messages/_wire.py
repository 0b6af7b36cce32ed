"""The engine stream's name, message priorities and ids (shared by every message)."""

from __future__ import annotations

import base64
import os
from collections.abc import Iterator, Mapping
from typing import Any

from hotmesh.spi import OutgoingMessage, RetryPolicy

__all__ = [
    "ENGINE_STREAM",
    "PRIORITY",
    "WORKER_DELIVERY",
    "WORKER_PRIORITY",
    "engine_message",
    "guid",
]

#: The stream every engine of an app consumes. Worker topics cannot start with "$".
ENGINE_STREAM = "$engine"

#: Priority of each engine message ``type`` (lower is claimed first); 4 for any other.
PRIORITY: Mapping[str, int] = {
    "interrupt": 6,
    "timehook": 5,
    "webhook": 5,
    "transition": 4,
    "result": 3,
    "response": 2,
    "complete": 3,
    "await": 1,
    "signal_all": 4,
}

#: Worker messages may be delivered this often (crash loops); the worker's own retry
#: policy decides how often a failing callback is retried.
WORKER_DELIVERY = RetryPolicy(maximum_attempts=50)

#: The priority of a worker request on its topic's stream.
WORKER_PRIORITY = 1


#: Ids made at once by :func:`guid` (one ``os.urandom`` call and one base64 pass for all).
_BATCH = 128
_made: Iterator[str] = iter(())


def _make() -> Iterator[str]:
    # 18 random bytes are 24 base64 characters, aligned: each id takes the first 22 of its
    # own 24 (132 random bits, as before).
    text = base64.urlsafe_b64encode(os.urandom(18 * _BATCH)).decode()
    return iter([text[i : i + 22] for i in range(0, 24 * _BATCH, 24)])


def _forget() -> None:
    """A forked child must not hand out the ids its parent also holds."""
    global _made
    _made = iter(())


os.register_at_fork(after_in_child=_forget)


def guid(size: int = 22) -> str:
    """A new id: ``"H"`` and ``size`` random URL-safe characters (``[A-Za-z0-9_-]``), from
    the operating system's random source (as :func:`secrets.token_urlsafe`).

    Ids of the default size are made a batch at a time (several per job: one system call
    for many). Taking one is a single ``next`` on a list iterator, which no other thread
    can interleave, so no id is handed out twice; a forked child starts a batch of its own.

    Example:
        >>> len(guid()), guid().startswith("H")
        (23, True)
    """
    global _made
    if size == 22:
        made = next(_made, None)
        if made is None:
            _made = _make()
            made = next(_made)
        return "H" + made
    need = (size * 3 + 3) // 4  # bytes whose base64 has at least ``size`` characters
    return "H" + base64.urlsafe_b64encode(os.urandom(need))[:size].decode()


def engine_message(
    kind: str, job_id: str, body: Mapping[str, Any], delay: float = 0.0
) -> OutgoingMessage:
    """An engine-stream message of ``type`` ``kind`` from a raw body (tests, tools).

    Example:
        >>> engine_message("complete", "j1", {"jid": "j1", "gid": "g"}).priority
        3
    """
    payload = {"type": kind, **body}
    return OutgoingMessage(
        ENGINE_STREAM, payload, priority=PRIORITY.get(kind, 4), delay=delay, job_id=job_id
    )


def as_dict(value: Any) -> dict[str, Any]:
    """``value`` as a dict (``{}`` when it is not a mapping)."""
    if type(value) is dict:  # as decoded: skip the abstract-class check
        return dict(value)
    return dict(value) if isinstance(value, Mapping) else {}
