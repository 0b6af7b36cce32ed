"""Workers: user callbacks consuming a topic's stream, answering the engine."""

from __future__ import annotations

import logging
import traceback
from typing import Any

import attrs

from hotmesh import faults
from hotmesh.config import WorkerConfig
from hotmesh.engine.steps import ENGINE_STREAM, engine_message
from hotmesh.errors import StepError
from hotmesh.router import Router
from hotmesh.spi import Backend, RetryPolicy, StreamMessage
from hotmesh.types import WorkerMessage

__all__ = ["Worker"]

log = logging.getLogger(__name__)

DEFAULT_WORKER_RETRY = RetryPolicy(maximum_attempts=3, initial_interval=1.0, backoff_coefficient=10)
#: Workers claim nothing while the engine stream has more ready messages than this.
ENGINE_BACKPRESSURE_DEPTH = 10_000


class Worker:
    """Runs one worker callback over its topic's stream.

    The callback receives a :class:`~hotmesh.types.WorkerMessage` and returns
    ``{"data": {...}}`` (optionally with ``metadata``, ``status`` and ``code``), or None
    for an empty success. A returned ``{"status": "error", "code": N, "data": {...}}`` goes
    to the engine as is, where transitions may route it by code, unless the activity's
    YAML ``retry`` lists code N (``{"N": [retries]}``: retried 10 ms, 100 ms, 1 s… apart).
    A raised exception is retried by the worker's ``retry`` policy (else the activity's
    per-code or backoff policy, else 3 attempts); once the attempts are used up the engine
    receives an error response (``code`` = the exception's ``code`` attribute or 500).
    """

    def __init__(self, backend: Backend, config: WorkerConfig, guid: str) -> None:
        self.backend = backend
        self.config = config
        self.guid = guid
        self.policy = config.retry or DEFAULT_WORKER_RETRY
        self.router = Router(
            backend.stream,
            config.topic,
            self._handle,
            concurrency=config.concurrency,
            batch=config.batch,
            lease=config.lease,
            poll_interval=config.poll_interval,
            ack=False,
            backpressure=(ENGINE_STREAM, ENGINE_BACKPRESSURE_DEPTH),
            on_dead_letter=self._dead_lettered,
        )

    async def start(self) -> None:
        """Begin consuming."""
        await self.router.start()

    async def stop(self, timeout: float = 10.0) -> None:
        """Stop consuming; wait for running callbacks up to ``timeout`` seconds."""
        await self.router.stop(timeout)

    async def _handle(self, message: StreamMessage) -> None:
        body = message.payload
        metadata = dict(body.get("metadata") or {})
        metadata["try"] = message.attempt - 1
        request = WorkerMessage(metadata, dict(body.get("data") or {}), body.get("policies"))
        rules = (body.get("policies") or {}).get("retry") or {}
        try:
            result = await self.config.callback(request)
        except Exception as err:
            code = getattr(err, "code", 500)
            # An exception may carry its own policy (Durable: per-activity retry settings).
            own = getattr(err, "retry_policy", None)
            policy = (
                (own if isinstance(own, RetryPolicy) else None)
                or self.config.retry
                or _per_code(rules, code)
                or _backoff(rules)
                or self.policy
            )
            if message.attempt < policy.maximum_attempts:
                delay = await self.backend.stream.retry(
                    attrs.evolve(message, retry=policy), _describe(err)
                )
                log.info(
                    "worker callback failed; retrying",
                    extra={"topic": self.config.topic, "attempt": message.attempt, "delay": delay},
                )
                return
            response: dict[str, Any] = {
                "status": "error",
                "code": code if isinstance(code, int) else 500,
                "data": {
                    "message": str(err),
                    "code": code if isinstance(code, int) else 500,
                    "name": type(err).__name__,
                    "stack": "".join(traceback.format_exception(err))[-4000:],
                },
            }
        else:
            response = _normalise(result)
            # A returned error is retried only when the activity's per-code policy lists it.
            per_code = _per_code(rules, response.get("code") or 500)
            retried = per_code is not None and message.attempt < per_code.maximum_attempts
            if response.get("status") == "error" and per_code is not None and retried:
                await self.backend.stream.retry(
                    attrs.evolve(message, retry=per_code), f"error {response.get('code')}"
                )
                return
        answer = {
            "jid": metadata.get("jid"),
            "gid": metadata.get("gid"),
            "aid": metadata.get("aid"),
            "dad": metadata.get("dad"),
            # Stable across redeliveries: the engine drops a second answer to one request.
            "guid": str(metadata.get("guid") or message.id),
            "status": response.get("status") or "success",
            "code": response.get("code") or 200,
            "data": response.get("data") or {},
        }
        if faults.ARMED:
            faults.hit("worker.before_answer")
        published = await self.backend.stream.publish(
            [engine_message("response", str(answer["jid"]), answer)], ack=message
        )
        if faults.ARMED:
            faults.hit("worker.after_answer")
        if not published:
            log.warning(
                "worker lost its lease before answering; another delivery will answer",
                extra={"topic": self.config.topic, "id": message.id},
            )

    async def _dead_lettered(self, message: StreamMessage, error: str) -> None:
        """A request was dead-lettered: answer the engine with an error, so the job ends."""
        metadata = dict(message.payload.get("metadata") or {})
        if not metadata.get("jid"):
            return
        detail = f"worker message dead-lettered: {error}"
        answer = {
            **{k: metadata.get(k) for k in ("jid", "gid", "aid", "dad")},
            "guid": str(metadata.get("guid") or message.id),
            "status": "error",
            "code": StepError.code,
            "data": {"message": detail, "code": StepError.code, "name": "DeadLetter"},
        }
        await self.backend.stream.publish(
            [engine_message("response", str(metadata["jid"]), answer)]
        )


def _normalise(result: Any) -> dict[str, Any]:
    if result is None:
        return {"data": {}}
    if not isinstance(result, dict):
        return {"data": {"response": result}}
    data = result.get("data")
    return {
        "status": result.get("status"),
        "code": result.get("code"),
        "data": data if isinstance(data, dict) else ({} if data is None else {"response": data}),
    }


def _per_code(rules: Any, code: Any) -> RetryPolicy | None:
    """The activity's per-code policy (``{"500": [3]}``) for ``code``: n retries, 10 ms·10^k
    apart (at most 1 s), as the reference spaces them."""
    counts = rules.get(str(code)) if isinstance(rules, dict) else None
    if not isinstance(counts, list) or not counts or not isinstance(counts[0], int):
        return None
    return RetryPolicy(
        maximum_attempts=max(counts[0], 0) + 1,
        initial_interval=0.01,
        backoff_coefficient=10,
        maximum_interval=1.0,
    )


def _backoff(rules: Any) -> RetryPolicy | None:
    """The activity's backoff policy (``maximumAttempts``...), if it declares one."""
    if not isinstance(rules, dict) or not any(name in rules for name in _BACKOFF_NAMES):
        return None
    try:
        return RetryPolicy.from_camel(rules)
    except (TypeError, ValueError):
        return None


_BACKOFF_NAMES = RetryPolicy().to_camel()


def _describe(err: BaseException) -> str:
    return "".join(traceback.format_exception_only(err)).strip()
