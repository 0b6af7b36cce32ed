"""Every message the engine, its workers and its routers exchange, typed.

Two kinds of stream carry them. A worker topic's stream carries :class:`WorkerRequest`
(leg 1 of a ``worker`` activity); the engine stream (:data:`ENGINE_STREAM`) carries the
rest, each tagged with its ``type``:

============== ======================= ======== =============================================
``type``       class                   priority what it does
============== ======================= ======== =============================================
``response``   :class:`Response`       2        a worker's answer, or a cycle re-entering
``result``     :class:`ChildResult`    3        a child job's result for its awaiting parent
``complete``   :class:`JobComplete`    3        a child job closed: tell its parent
``await``      :class:`StartChild`     1        start a child job (an ``await`` activity)
``timehook``   :class:`Timer`          5        a hook's ``sleep`` is over
``webhook``    :class:`Signal`         5        a signal for the hook waiting on its key
``signal_all`` :class:`SignalAll`      4        signal every job a stats query finds
``transition`` :class:`Transition`     4        run an activity's leg 1 (older engines)
============== ======================= ======== =============================================

Lower priorities are claimed first. ``message.outgoing()`` encodes a message for
``Stream.publish``; :func:`decode` turns a claimed engine-stream payload back into its
class. The encoding is the one every earlier version wrote (plain JSON objects with the
keys listed on each class), so the rows of a running deployment decode unchanged; unknown
keys are ignored and missing ones take the defaults the engine always assumed (a message
without a known ``type`` is read as a :class:`Response`).

History for a worker callback (opt-in): a worker registered with
``WorkerConfig(history=True)`` claims each request together with its job's record, in
the same statement, and :meth:`WorkerRequest.decode` hands that record's state to the
callback as :attr:`WorkerRequest.history` (``WorkerMessage.history``): every activity's
recorded input, output and hook data so far, keyed as stored (``<aid>/<dad>``, ``d/...``
for job data, ``m`` for metadata). The history is never written into the message (a
request stays small whatever the job's size), and workers that do not ask for it pay
nothing: the seed workflow's hot path claims without it.

Example:
    >>> timer = Timer(jid="j1", gid="g1", aid="a1", dad=",0,0", guid="e1", delay=5)
    >>> sent = timer.outgoing()
    >>> (sent.stream, sent.priority, sent.payload["type"], sent.delay)
    ('$engine', 5, 'timehook', 5)
    >>> decode(sent.payload) == timer
    True
"""

from __future__ import annotations

from hotmesh.engine.messages._engine import (
    Address,
    ChildResult,
    EngineMessage,
    JobComplete,
    Response,
    Signal,
    SignalAll,
    StartChild,
    Timer,
    Transition,
    decode,
)
from hotmesh.engine.messages._wire import (
    ENGINE_STREAM,
    PRIORITY,
    WORKER_DELIVERY,
    engine_message,
    guid,
)
from hotmesh.engine.messages._worker import WorkerRequest

__all__ = [
    "ENGINE_STREAM",
    "PRIORITY",
    "WORKER_DELIVERY",
    "Address",
    "ChildResult",
    "EngineMessage",
    "JobComplete",
    "Response",
    "Signal",
    "SignalAll",
    "StartChild",
    "Timer",
    "Transition",
    "WorkerRequest",
    "decode",
    "engine_message",
    "guid",
]
