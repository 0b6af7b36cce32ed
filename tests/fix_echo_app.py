"""A small app for input and connection tests: a trigger that takes its job id from
``data.id`` and a worker that echoes ``data.value`` (optionally followed by a hook that
keeps the job open until signalled)."""

from __future__ import annotations

from typing import Any

from hotmesh import WorkerMessage

__all__ = ["echo", "echo_app"]

_HEAD = """
app:
  id: {app}
  version: '1'
  graphs:
    - subscribes: {topic}
      expire: 300
      activities:
        t1:
          type: trigger
          stats:
            id: '{{$self.input.data.id}}'
        a1:
          type: worker
          topic: {worker}
          input:
            maps:
              value: '{{t1.output.data.value}}'
          job:
            maps:
              echoed: '{{$self.output.data.value}}'
"""
_PLAIN = """
      transitions:
        t1:
          - to: a1
"""
_HOOKED = """
        h1:
          type: hook
          hook:
            type: object
      transitions:
        t1:
          - to: a1
        a1:
          - to: h1
      hooks:
        {signal}:
          - to: h1
            conditions:
              match:
                - expected: '{{$job.metadata.jid}}'
                  actual: '{{$self.hook.data.id}}'
"""


def echo_app(app_id: str, topic: str, worker: str, *, hook_signal: str | None = None) -> str:
    """The app's YAML; with ``hook_signal`` its jobs wait on a hook after the worker."""
    tail = _PLAIN if hook_signal is None else _HOOKED
    return (_HEAD + tail).format(app=app_id, topic=topic, worker=worker, signal=hook_signal)


async def echo(message: WorkerMessage) -> dict[str, Any]:
    """The worker: answers ``{"value": <the input value>}``."""
    return {"data": {"value": message.data.get("value")}}
