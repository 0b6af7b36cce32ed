"""Workers: user callbacks consuming a topic's stream, answering the engine."""

from __future__ import annotations

import asyncio
import inspect
import logging
import traceback
from typing import Any

import attrs

from hotmesh import faults, telemetry
from hotmesh.alarms import Alarms, expire_task
from hotmesh.config import WorkerConfig
from hotmesh.engine.handoff import Handoff
from hotmesh.engine.messages import ENGINE_STREAM, WorkerRequest
from hotmesh.errors import PayloadError, StepError
from hotmesh.loopref import LoopRef
from hotmesh.mesh.router import Router
from hotmesh.serializer import payload_text
from hotmesh.spi import DEFAULT_RETRY, Backend, OutgoingMessage, RetryPolicy, StreamMessage
from hotmesh.types import WorkerMessage

__all__ = ["CallbackTimeout", "Worker"]

log = logging.getLogger("hotmesh.worker")  # the documented logger name (docs/guides)

DEFAULT_WORKER_RETRY = RetryPolicy(maximum_attempts=3, initial_interval=1.0, backoff_coefficient=10)
#: Workers claim nothing while the engine stream has more ready messages than this.
ENGINE_BACKPRESSURE_DEPTH = 10_000


class CallbackTimeout(TimeoutError):
    """A callback attempt ran past its timeout and was cancelled (error code 504)."""

    code = 504


class _LostDeliveries(Exception):
    """Earlier deliveries never answered (their lease lapsed): counted as failed attempts."""

    code = 500


class Worker:
    """Runs one worker callback over its topic's stream.

    The callback receives a :class:`~hotmesh.types.WorkerMessage` and returns
    ``{"data": {...}}`` (optionally with ``metadata``, ``status`` and ``code``), or None
    for an empty success. A returned ``{"status": "error", "code": N, "data": {...}}`` goes
    to the engine as is, where transitions may route it by code, unless the activity's
    YAML ``retry`` lists code N (``{"N": [retries]}``: retried 10 ms, 100 ms, 1 s… apart).

    ``async def`` callbacks run on the event loop; plain ``def`` callbacks run in the
    default thread pool (``asyncio.to_thread``), so they may block.

    Every failed attempt counts against one retry policy (the worker's ``retry``, else
    the activity's per-code or backoff policy, else 3 attempts), whatever the failure:
    the callback raised (``CancelledError`` included), ran past its timeout (the worker's
    ``timeout`` or the activity's YAML ``timeout``; the attempt is cancelled), returned a
    value JSON cannot carry (NaN, bytes, objects), or never answered because its lease
    lapsed (the process died or stalled). Each failed attempt is logged at WARNING with
    the job id. Once the attempts are used up the engine receives an error response
    (``code`` = the exception's ``code`` attribute or 500) and the job fails.
    """

    def __init__(self, backend: Backend, config: WorkerConfig, guid: str) -> None:
        self.backend = backend
        self.config = config
        self.guid = guid
        self.policy = config.retry or DEFAULT_WORKER_RETRY
        self._call = _caller(config.callback)
        self._alarms = Alarms()  # the callbacks' timeouts
        self._loop = LoopRef()
        #: This process's consumers that take the answers directly (the engine's router,
        #: when it shares this worker's backend).
        self.handoff = Handoff()
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
            with_job=config.history,  # the job's record, read by the claim (opt-in)
            on_dead_letter=self._dead_lettered,
            # A handed-off request carries no job record: only without history.
            handoff=not config.history,
        )

    async def start(self) -> None:
        """Begin consuming."""
        await self.router.start()

    async def stop(self, timeout: float = 10.0) -> None:
        """Stop consuming; wait for running callbacks up to ``timeout`` seconds."""
        await self.router.stop(timeout)

    def _policy(self, rules: Any, code: Any) -> RetryPolicy:
        """The retry policy that governs a failure with ``code``."""
        return self.config.retry or _per_code(rules, code) or _backoff(rules) or self.policy

    def _declared(self, rules: Any) -> bool:
        """True when a retry policy was declared (the worker's ``retry`` or the activity's
        YAML ``retry``): deliveries past it are refused. Without one, callbacks may carry
        their own policies on their exceptions (Durable's), which a later delivery cannot
        see, so lapsed leases are left to the stream's delivery cap."""
        return self.config.retry is not None or bool(rules)

    def _most_attempts(self, rules: Any) -> int:
        """The most deliveries any failure of this activity may take (every policy that
        could apply); a delivery past it follows lost ones."""
        codes = [500, *(rules.keys() if isinstance(rules, dict) else ())]
        return max(self._policy(rules, code).maximum_attempts for code in codes)

    async def _handle(self, message: StreamMessage) -> bool:
        job = message.job if self.config.history else None
        incoming = WorkerRequest.decode(
            message.payload,
            attempt=message.attempt,
            history=None if job is None else job.state,
        )
        metadata = incoming.metadata
        request = WorkerMessage(
            metadata,
            dict(incoming.data),
            _policies(incoming),
            history=incoming.history,
            delivery=message,
        )
        rules = incoming.retry_rules
        if self._declared(rules) and message.attempt > self._most_attempts(rules):
            # The earlier deliveries' leases lapsed without an answer (a crash, a stall, a
            # stop): they were attempts too, so the policy is used up. Do not run again.
            lost = _LostDeliveries(
                f"the callback did not answer in {message.attempt - 1} deliveries "
                "(its lease lapsed: the worker stopped, crashed or stalled)"
            )
            await self._answer(message, incoming, _error_response(lost))
            self.router.errors += 1
            return False
        timeout = incoming.timeout or self.config.timeout
        attributes = (
            {
                telemetry.ATTR["job_id"]: metadata.get("jid"),
                telemetry.ATTR["topic"]: self.config.topic,
                telemetry.ATTR["activity"]: metadata.get("aid"),
                telemetry.ATTR["attempt"]: message.attempt,
            }
            if telemetry.tracing()
            else None
        )
        # The timeout as asyncio.timeout keeps it (the task cancelled when due, the cancel
        # taken back after), on the worker's alarms rather than a loop timer per callback.
        task = asyncio.current_task(self._loop.get())
        assert task is not None
        cancelling = task.cancelling()
        alarm = None if timeout is None else self._alarms.later(timeout, expire_task, task)
        expired = False
        try:
            with telemetry.span("hotmesh.worker", attributes, parent=metadata):
                try:
                    result = await self._call(request)
                finally:
                    if alarm is not None and self._alarms.cancel(alarm):
                        expired = task.uncancel() <= cancelling
        except asyncio.CancelledError as err:
            if expired:
                failure = CallbackTimeout(f"the callback ran past its timeout of {timeout:g}s")
                failure.__cause__ = err
                await self._failed(message, incoming, rules, failure)
                return False
            if task.cancelling():
                raise  # this worker is stopping: the lease lapses, a redelivery counts
            await self._failed(message, incoming, rules, err)
            return False
        except Exception as err:
            await self._failed(message, incoming, rules, err)
            return False
        response = _normalise(result)
        # A returned error is retried only when the activity's per-code policy lists it.
        per_code = _per_code(rules, response.get("code") or 500)
        retried = per_code is not None and message.attempt < per_code.maximum_attempts
        if response.get("status") == "error" and per_code is not None and retried:
            await self.backend.stream.retry(
                attrs.evolve(message, retry=per_code), f"error {response.get('code')}"
            )
            return False
        try:
            await self._answer(message, incoming, response)
        except PayloadError as err:  # NaN, bytes, objects: a failed attempt like any other
            await self._failed(message, incoming, rules, err)
            return False
        return True

    async def _failed(
        self, message: StreamMessage, request: WorkerRequest, rules: Any, err: BaseException
    ) -> None:
        """Retry a failed attempt per policy, or answer the engine with the error."""
        metadata = request.metadata
        code = getattr(err, "code", 500)
        # An exception may carry its own policy (Durable: per-activity retry settings).
        own = getattr(err, "retry_policy", None)
        policy = own if isinstance(own, RetryPolicy) else self._policy(rules, code)
        where = {"jid": metadata.get("jid"), "topic": self.config.topic, "attempt": message.attempt}
        # The message's own stream cap is a backstop the policy never reaches past: a retry
        # beyond it would be dead-lettered at claim, where no one answers the engine.
        attempts = min(policy.maximum_attempts, message.retry.maximum_attempts)
        if message.attempt < attempts:
            delay = await self.backend.stream.retry(
                attrs.evolve(message, retry=policy), _describe(err)
            )
            log.warning(
                "job %s: worker callback on %r failed (attempt %d of %d), retrying in %ss: %s",
                metadata.get("jid"), self.config.topic, message.attempt, attempts,
                delay, _describe(err), extra={**where, "delay": delay},
            )  # fmt: skip
            return
        log.warning(
            "job %s: worker callback on %r failed (attempt %d of %d), giving up: %s",
            metadata.get("jid"), self.config.topic, message.attempt, attempts,
            _describe(err), extra=where,
        )  # fmt: skip
        self.router.errors += 1
        await self._answer(message, request, _error_response(err))

    async def _answer(
        self, message: StreamMessage, request: WorkerRequest, response: dict[str, Any]
    ) -> None:
        answer = request.answer(
            response.get("status"), response.get("code"), response.get("data"), str(message.id)
        )
        if faults.ARMED:
            faults.hit("worker.before_answer")
        outgoing = answer.outgoing()
        if await self._answer_directly(message, outgoing):
            if faults.ARMED:
                faults.hit("worker.after_answer")
            return
        offer = self.handoff.offer([outgoing])
        published: list[int] = []
        try:
            published = await self.backend.stream.publish(offer.messages, ack=message)
        finally:
            offer.settle(published or None)
        if faults.ARMED:
            faults.hit("worker.after_answer")
        if not published:
            log.warning(
                "job %s: worker lost its lease before answering; another delivery will answer",
                request.jid,
                extra={"jid": request.jid, "topic": self.config.topic, "id": message.id},
            )

    async def _answer_directly(self, message: StreamMessage, outgoing: OutgoingMessage) -> bool:
        """The answer as the engine's step right away, fenced by this delivery, when an
        engine of this process takes it (:meth:`Handoff.answer_directly`); False when the
        answer must be published instead (no such engine, or its step failed).

        Raises:
            PayloadError: the answer cannot be stored (as publishing it would).
        """
        if not self.handoff.has_consumer(outgoing.stream):
            return False
        payload_text(outgoing.payload)  # refused as a published answer would be (no codec)
        delivery = StreamMessage(
            id=message.id,
            stream=message.stream,
            payload=outgoing.payload,
            attempt=message.attempt,
            priority=outgoing.priority,
            retry=outgoing.retry or DEFAULT_RETRY,
            job_id=outgoing.job_id,
        )
        try:
            return await self.handoff.answer_directly(outgoing.stream, delivery)
        except asyncio.CancelledError:
            raise
        except Exception:
            # Nothing committed, or the step did and took the delivery with it: publishing
            # the answer acked by the delivery then publishes nothing.
            log.warning(
                "job %s: the engine could not take the answer directly; publishing it",
                outgoing.job_id,
                extra={"jid": outgoing.job_id, "topic": self.config.topic, "id": message.id},
                exc_info=True,
            )
            return False

    async def _dead_lettered(self, message: StreamMessage, error: str) -> None:
        """A request was dead-lettered: answer the engine with an error, so the job ends."""
        request = WorkerRequest.decode(message.payload)
        if not request.jid:
            return
        detail = f"worker message dead-lettered: {error}"
        data = {"message": detail, "code": StepError.code, "name": "DeadLetter"}
        answer = request.answer("error", StepError.code, data, str(message.id))
        await self.backend.stream.publish([answer.outgoing()])


def _policies(request: WorkerRequest) -> dict[str, Any] | None:
    """The activity's policies as the callback sees them (as sent)."""
    return None if request.policies is None else dict(request.policies)


def _caller(callback: Any) -> Any:
    """An async function calling ``callback``: sync callbacks run in the thread pool."""
    if inspect.iscoroutinefunction(callback) or inspect.iscoroutinefunction(
        getattr(callback, "__call__", None)  # noqa: B004 - an async __call__
    ):
        return callback

    async def in_thread(message: WorkerMessage) -> Any:
        result = await asyncio.to_thread(callback, message)
        return (await result) if inspect.isawaitable(result) else result

    return in_thread


def _error_response(err: BaseException) -> dict[str, Any]:
    code = getattr(err, "code", 500)
    code = code if isinstance(code, int) and not isinstance(code, bool) else 500
    return {
        "status": "error",
        "code": code,
        "data": {
            "message": str(err) or type(err).__name__,
            "code": code,
            "name": type(err).__name__,
            "stack": "".join(traceback.format_exception(err))[-4000:],
        },
    }


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
