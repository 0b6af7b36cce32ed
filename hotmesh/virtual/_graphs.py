"""The two fixed graphs Virtual deploys into its namespace's app (durable.md §8.1).

``{ns}.call`` runs one call: the trigger takes the job id from ``input.id`` (the cache
key), the worker runs the callback of ``input.topic`` with ``input.args``, the job keeps
the response and lives ``expire`` seconds once complete (the cache entry's ttl, given
in the job context at publish).

``{ns}.cron`` runs a callback on a schedule: a cycle pivot, a sleeping hook, the worker,
and a cycle back to the pivot while ``iterationCount < maxCycles``. Unlike the reference,
a cycle whose callback failed (after its retries) still cycles: the transition accepts
code 500 as well as 200, so one bad run never stops the schedule.
"""

from __future__ import annotations

#: Bump when a graph changes: a process that finds an older active version deploys this one.
VERSION = 1

_TEMPLATE = """
app:
  id: '{ns}'
  version: '{version}'
  graphs:
    - subscribes: {ns}.call
      publishes: {ns}.called
      expire: 1  # each call's own: exec publishes it (its ttl) in the job context
      input:
        schema:
          type: object
          required: [id, topic, args, expire]
          properties:
            id: {{type: string}}
            topic: {{type: string}}
            args: {{type: array}}
            expire: {{type: number}}
      activities:
        trigger_call:
          type: trigger
          stats:
            id: '{{$self.input.data.id}}'
          job:
            maps:
              args: '{{$self.input.data.args}}'
        worker_call:
          type: worker
          topic: '{{trigger_call.output.data.topic}}'
          input:
            maps:
              args: '{{trigger_call.output.data.args}}'
          job:
            maps:
              response: '{{$self.output.data.response}}'
      transitions:
        trigger_call:
          - to: worker_call

    - subscribes: {ns}.cron
      expire: 1
      activities:
        trigger_cron:
          type: trigger
          stats:
            id: '{{$self.input.data.id}}'
        cycle_hook_cron:
          type: hook
          cycle: true
          output:
            maps:
              sleepSeconds: '{{trigger_cron.output.data.delay}}'
              iterationCount: 1
        sleep_cron:
          type: hook
          sleep: '{{cycle_hook_cron.output.data.sleepSeconds}}'
        worker_cron:
          type: worker
          topic: '{{trigger_cron.output.data.topic}}'
          input:
            maps:
              args: '{{trigger_cron.output.data.args}}'
        cycle_cron:
          type: cycle
          ancestor: cycle_hook_cron
          input:
            maps:
              iterationCount:
                '@pipe':
                  - ['{{cycle_hook_cron.output.data.iterationCount}}', 1]
                  - ['{{@math.add}}']
              sleepSeconds:
                '@pipe':
                  - '@pipe':
                      - ['{{trigger_cron.output.data.cron}}']
                      - ['{{@cron.nextDelay}}']
                  - '@pipe':
                      - ['{{trigger_cron.output.data.interval}}']
                  - ['{{@math.max}}']
      transitions:
        trigger_cron:
          - to: cycle_hook_cron
        cycle_hook_cron:
          - to: sleep_cron
        sleep_cron:
          - to: worker_cron
        worker_cron:
          - to: cycle_cron
            conditions:
              code: [200, 500]
              match:
                - expected: true
                  actual:
                    '@pipe':
                      - ['{{cycle_hook_cron.output.data.iterationCount}}',
                         '{{trigger_cron.output.data.maxCycles}}']
                      - ['{{@conditional.less_than}}']
"""


def app_yaml(namespace: str) -> str:
    """The YAML app Virtual deploys as app ``namespace``.

    Example:
        >>> "subscribes: hmsh.cron" in app_yaml("hmsh")
        True
    """
    return _TEMPLATE.format(ns=namespace, version=VERSION)
