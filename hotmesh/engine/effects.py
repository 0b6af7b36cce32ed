"""What a step does once it has committed: values the planner returns, the engine runs.

A planned :class:`~hotmesh.engine.steps.Step` lists its after-commit work as effects
(registering the hook a step now waits on, filing an escalation, interrupting a job...).
Each is a frozen value; :meth:`Effect.run` carries it out against an
:class:`EffectPort` (the engine), so the planner stays pure and the engine never asks
which effect it holds.

Example:
    >>> ForgetHook(key="order.approved:o1")
    ForgetHook(key='order.approved:o1')
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any, Protocol

from attrs import define, field

from hotmesh.engine.messages import Signal
from hotmesh.errors import JobNotFound, ProviderError
from hotmesh.spi import Store, Stream

__all__ = [
    "Effect",
    "EffectPort",
    "Escalate",
    "ExpireEscalation",
    "ForgetHook",
    "Interrupt",
    "RegisterHook",
]

log = logging.getLogger(__name__)


class EffectPort(Protocol):
    """What effects need of the engine that runs them."""

    store: Store
    stream: Stream
    #: the namespace escalation rows are filed under
    namespace: str

    async def interrupt(
        self,
        job_id: str,
        *,
        reason: str | None = None,
        throw: bool = True,
        code: int = 410,
        stack: str | None = None,
        expire: float | None = None,
    ) -> None:
        """Stop a running job."""

    async def fail_job(self, jid: str, error: Mapping[str, Any] | None = None) -> None:
        """Complete a running job as failed."""


@define(frozen=True)
class Effect:
    """Work a committed step leaves to do."""

    async def run(self, port: EffectPort) -> None:
        """Carry it out."""
        raise NotImplementedError  # pragma: no cover - every effect defines it


@define(frozen=True)
class RegisterHook(Effect):
    """The hook record ``target`` now waits on signal key ``key``; a signal that came
    first (parked under the key) is delivered now."""

    key: str
    target: Mapping[str, Any]
    ttl: float
    #: More keys the same wait registers under (a signal by any of them wakes it).
    also: tuple[str, ...] = ()

    async def run(self, port: EffectPort) -> None:
        # Keys in order; the first holding a parked signal ends the registration (the
        # others keep theirs for a later wait).
        for key in (self.key, *self.also):
            try:
                parked = await port.store.register_hook(key, dict(self.target), ttl=self.ttl)
            except ProviderError as err:  # the step committed: never wait on a missing hook
                reason = f"could not register hook {key}: {err}"
                await port.fail_job(str(self.target["jid"]), {"message": reason, "code": err.code})
                return
            if parked is not None:
                await port.stream.publish([Signal.read(parked).outgoing()])
                return


@define(frozen=True)
class ForgetHook(Effect):
    """Signal key ``key`` wakes no one any more (``None``: nothing to forget); with
    ``target``, only while it is still registered for that target."""

    key: str | None
    target: Mapping[str, Any] | None = None

    async def run(self, port: EffectPort) -> None:
        if self.key and self.target is not None:
            await port.store.delete_hook(str(self.key), target=dict(self.target))
        elif self.key:
            await port.store.delete_hook(str(self.key))


@define(frozen=True)
class Escalate(Effect):
    """File an escalation row (idempotent: one row per signal key)."""

    row: Mapping[str, Any]

    async def run(self, port: EffectPort) -> None:
        await port.store.create_escalation({**self.row, "namespace": port.namespace})


@define(frozen=True)
class ExpireEscalation(Effect):
    """The hook's timer won: its escalation row (by signal key) expires."""

    signal_key: str

    async def run(self, port: EffectPort) -> None:
        await port.store.expire_escalation(self.signal_key)


@define(frozen=True)
class Interrupt(Effect):
    """Interrupt job ``jid`` (an ``interrupt`` activity); a job already gone is fine."""

    jid: str
    options: Mapping[str, Any] = field(factory=dict)

    async def run(self, port: EffectPort) -> None:
        try:
            await port.interrupt(self.jid, **self.options)
        except JobNotFound:
            log.info("interrupt target is gone", extra={"jid": self.jid})
