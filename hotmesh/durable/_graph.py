"""The graph Durable deploys into the engine, and its deployment (durable.md §1.2–§1.4).

One graph, ``{ns}.execute``, with two modes chosen by the trigger input's ``mode``:

* ``workflow``: a cycle pivot, the workflow worker and one branch per kind of durable
  call (sleeper, waiter, childer, proxyer, signaler, interrupter, collator), each
  recording its outcome as a marker field (``-proxy-3-``...) in the job and cycling back
  to the pivot; ``continuer`` cycles with new arguments.
* ``collate``: the job a ``collator`` awaits for a gathered group. Its own pivot cycles
  once per member, so every member is dispatched at once, each in its own dimension, and
  records its marker in this job; when all are done the parent spreads this job's data
  (only markers) into its own. One graph, not two, because a hook topic belongs to one
  graph and gathered waits use the same signal topic as single ones.

Hook topics: ``{ns}.wfs.wait`` (a ``condition``'s signal: a wait registers under its
workflow's key, ``signalKey``, for ``handle.signal``, and under its signal id for
namespace-wide signals; the first signal wins) and
``{ns}.wfs.wake`` (``handle.cancel`` waking a sleep, by ``{workflow id}{marker key}``).
Every marker also records ``ac``/``au``, when the call was asked and answered (epoch ms),
for the execution history; an activity's marker keeps its arguments (``in``).

Any change to the YAML must bump :data:`APP_VERSION`.
"""

from __future__ import annotations

import asyncio
import logging

from hotmesh import HotMesh

__all__ = ["APP_VERSION", "ensure_deployed", "graph_yaml"]

log = logging.getLogger(__name__)

#: The deployed graph's version; processes deploy it when the stored one is older (§1.4).
APP_VERSION = "3"
#: Seconds a finished workflow stays inspectable (result, status, state).
RETENTION_SECONDS = 7 * 86400


def _marker(out: str, source: str = "worker.output.data", fields: str | None = None) -> str:
    """A ``job.maps`` entry spreading ``{<call key>: {op, out}}`` into the job data
    (``fields`` replaces ``out`` with several ``name, value`` cells)."""
    cells = fields or f"'out', '{out}'"
    # When the call was asked for (``at``, set by the turn) and when its outcome came in:
    # the execution history's timestamps (epoch milliseconds).
    cells += f", 'ac', '{{{source}.at}}', 'au', '{{@date.now}}'"
    return f"""
          job:
            maps:
              'marker[-]':
                '@pipe':
                  - '@pipe':
                      - ['{{{source}.key}}']
                  - '@pipe':
                      - ['op', '{{{source}.op}}', {cells}]
                      - ['{{@object.create}}']
                  - ['{{@object.create}}']"""


_ITEM = "c_item.output.data.item"
_CALLS = ("sleeper", "waiter", "childer", "proxyer", "signaler", "interrupter")
_CODES = dict(zip(_CALLS, (588, 595, 590, 591, 593, 594), strict=True))


#: A child's marker keeps its result, error and id, not the child's whole job data.
_CHILD_OUT = (
    "'response', '{{$self.output.data.response}}', 'error', '{{$self.output.data.error}}', "
    "'job_id', '{{{source}.child.workflowId}}'"
)


#: A sleep's marker: its duration, and ``cancelled`` when ``handle.cancel`` woke it.
_SLEEP_OUT = "'out', '{{{source}.duration}}', 'cancelled', '{{$self.hook.data.cancel}}'"
#: An activity's marker also keeps its arguments (the history's ``enrich_inputs``).
_PROXY_OUT = "'out', '{{$self.output.data}}', 'in', '{{{source}.call.arguments}}'"


def _calls(prefix: str, source: str) -> str:
    """The activities that carry out one durable call described by ``source``."""
    child_maps = "\n".join(f"              {f}: '{{{source}.child.{f}}}'" for f in _CHILD_FIELDS)
    return f"""
        {prefix}sleeper:
          type: hook
          sleep: '{{{source}.duration}}'{_marker("", source, _SLEEP_OUT.format(source=source))}
        {prefix}waiter:
          type: hook
          sleep: '{{{source}.timeout}}'{_marker("{$self.hook.data}", source)}
        {prefix}childer:
          type: await
          topic: {{NS}}.execute
          await: '{{{source}.await}}'
          expire: '{{{source}.expire}}'
          input:
            maps:
{child_maps}{_marker("", source, _CHILD_OUT.format(source=source))}
        {prefix}proxyer:
          type: worker
          topic: '{{{source}.activityTopic}}'
          input:
            maps:
              call: '{{{source}.call}}'{_marker("", source, _PROXY_OUT.format(source=source))}
        {prefix}signaler:
          type: signal
          subtype: one
          topic: {{NS}}.wfs.wait
          signal:
            maps:
              id: '{{{source}.signalId}}'
              data: '{{{source}.payload}}'{_marker("{" + source + ".signalId}", source)}
        {prefix}interrupter:
          type: interrupt
          topic: {{NS}}.execute
          target: '{{{source}.target}}'
          reason: '{{{source}.reason}}'
          throw: '{{{source}.throw}}'
          expire: '{{{source}.expire}}'{_marker("{" + source + ".target}", source)}"""


def _cycler(name: str) -> str:
    return f"""
        {name}:
          type: cycle
          ancestor: cycle_hook
          input:
            maps:
              generation: '{{worker.output.data.generation}}'
              arguments: '{{worker.output.data.arguments}}'"""


_CHILD_FIELDS = (
    "mode",
    "workflowId",
    "workflowName",
    "taskQueue",
    "workflowTopic",
    "arguments",
    "retry",
    "parentWorkflowId",
    "originJobId",
    "entity",
    "hookTarget",
)


def graph_yaml(namespace: str) -> str:
    """The YAML app for ``namespace`` (the engine app id) at :data:`APP_VERSION`."""
    worker_routes = "".join(
        f"""
          - to: {name}
            conditions:
              code: {code}"""
        for name, code in _CODES.items()
    )
    item_routes = "".join(
        f"""
          - to: c_{name}
            conditions:
              match:
                - expected: {code}
                  actual:
                    '@pipe':
                      - *item
                      - '@pipe':
                          - [code]
                      - ['{{@object.get}}']"""
        for name, code in _CODES.items()
    )
    cyclers = "".join(_cycler(f"{name}_cycler") for name in (*_CALLS, "collator", "inline"))
    call_edges = "".join(
        f"""
        {name}:
          - to: {name}_cycler"""
        for name in (*_CALLS, "collator")
    )
    text = f"""
app:
  id: {{NS}}
  version: '{APP_VERSION}'
  graphs:
    - subscribes: {{NS}}.execute
      publishes: {{NS}}.executed
      expire: {RETENTION_SECONDS}
      activities:
        trigger:
          type: trigger
          stats:
            id: '{{$self.input.data.workflowId}}'
          job:
            maps:
              'search[-]': '{{$self.input.data.search}}'
        cycle_hook:
          type: hook
          cycle: true
        worker:
          type: worker
          topic: '{{trigger.output.data.workflowTopic}}'
          input:
            maps:
              start: '{{trigger.output.data}}'
              cycle: '{{cycle_hook.output.data}}'
              replay: '{{$job.data}}'
          job:
            maps:
              done: '{{$self.output.data.done}}'
              response: '{{$self.output.data.response}}'
              error: '{{$self.output.data.error}}'
              'marker[-]': '{{$self.output.data.marker}}'{_calls("", "worker.output.data")}
        collator:
          type: await
          topic: {{NS}}.execute
          input:
            maps:
              mode: collate
              workflowId: '{{worker.output.data.groupId}}'
              items: '{{worker.output.data.items}}'
          job:
            maps:
              'collated[-]': '{{$self.output.data}}'{cyclers}
        continuer:
          type: cycle
          ancestor: cycle_hook
          input:
            maps:
              generation: '{{worker.output.data.generation}}'
              arguments: '{{worker.output.data.arguments}}'
        c_pivot:
          type: hook
          cycle: true
          output:
            maps:
              i: &cur
                '@pipe':
                  - ['{{c_pivot.output.data.i}}', 0]
                  - ['{{@conditional.nullish}}']
              item: &item
                '@pipe':
                  - '@pipe':
                      - ['{{trigger.output.data.items}}']
                  - *cur
                  - ['{{@array.get}}']
        c_item:
          type: hook
          output:
            maps:
              item: *item{_calls("c_", _ITEM)}
        c_cycler:
          type: cycle
          ancestor: c_pivot
          input:
            maps:
              i: &next
                '@pipe':
                  - *cur
                  - '@pipe':
                      - [1]
                  - ['{{@math.add}}']
              item:
                '@pipe':
                  - '@pipe':
                      - ['{{trigger.output.data.items}}']
                  - *next
                  - ['{{@array.get}}']
      transitions:
        trigger:
          - to: cycle_hook
            conditions:
              match:
                - expected: workflow
                  actual: '{{trigger.output.data.mode}}'
          - to: c_pivot
            conditions:
              match:
                - expected: collate
                  actual: '{{trigger.output.data.mode}}'
        cycle_hook:
          - to: worker
        c_item:{item_routes}
        worker:{worker_routes}
          - to: collator
            conditions:
              code: 589
          - to: continuer
            conditions:
              code: 592
          - to: inline_cycler
            conditions:
              code: 587{call_edges}
        c_pivot:
          - to: c_item
          - to: c_cycler
            conditions:
              match:
                - expected: true
                  actual:
                    '@pipe':
                      - *next
                      - '@pipe':
                          - ['{{trigger.output.data.items}}']
                          - ['{{@array.length}}']
                      - ['{{@conditional.less_than}}']
      hooks:
        {{NS}}.wfs.wait:
          - to: waiter
            conditions:
              match:
                - expected: '{{worker.output.data.signalKey}}'
                  actual: '{{$self.hook.data.id}}'
          - to: c_waiter
            conditions:
              match:
                - expected: '{{{_ITEM}.signalKey}}'
                  actual: '{{$self.hook.data.id}}'
          - to: waiter
            conditions:
              match:
                - expected: '{{worker.output.data.signalId}}'
                  actual: '{{$self.hook.data.id}}'
          - to: c_waiter
            conditions:
              match:
                - expected: '{{{_ITEM}.signalId}}'
                  actual: '{{$self.hook.data.id}}'
        {{NS}}.wfs.wake:
          - to: sleeper
            conditions:
              match:
                - expected: '{{worker.output.data.wakeId}}'
                  actual: '{{$self.hook.data.id}}'
          - to: c_sleeper
            conditions:
              match:
                - expected: '{{{_ITEM}.wakeId}}'
                  actual: '{{$self.hook.data.id}}'
"""
    return text.replace("{NS}", namespace)


async def ensure_deployed(hm: HotMesh, namespace: str) -> None:
    """Deploy and activate the graph unless this or a newer version is active (§1.4).

    Older versions stay stored, so jobs already running drain on the new graph (the graph
    keeps every activity id of older versions).
    """
    active = await hm.active_version()
    if active is not None and _newer_or_same(active, APP_VERSION):
        return
    await hm.deploy(graph_yaml(namespace))
    for attempt in range(3):
        try:
            await hm.activate(APP_VERSION)
            return
        except Exception:
            active = await hm.active_version()
            if active is not None and _newer_or_same(active, APP_VERSION):
                return
            if attempt == 2:
                raise
            log.info("durable graph activation raced another process; retrying")
            await asyncio.sleep(0.2 * (attempt + 1))


def _newer_or_same(stored: str, ours: str) -> bool:
    try:
        return float(stored) >= float(ours)
    except ValueError:
        return False
