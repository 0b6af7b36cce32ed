"""A job that waits for a signal (an approval), with a timeout as a fallback.

Run: python examples/hook_and_signal.py
"""

import asyncio

from hotmesh import HotMesh

APP = """
app:
  id: approvals
  version: '2'
  graphs:
    - subscribes: expense.submit
      publishes: expense.closed   # each finished job is published on expense.closed.<id>
      activities:
        start:
          type: trigger
          job: {maps: {approved: false}}
        wait:
          type: hook
          sleep: 3600             # give up after an hour (the timer wins if no signal)
          job: {maps: {approved: '{wait.hook.data.approved}'}}
      transitions:
        start: [{to: wait}]
      hooks:
        expense.decided:          # signals on this topic wake the matching job
          - to: wait
            conditions:
              match:
                - expected: '{$job.metadata.jid}'
                  actual: '{$self.hook.data.id}'
"""


async def main() -> None:
    hm = await HotMesh.init(app_id="approvals", engine={})
    try:
        await hm.deploy(APP)
        await hm.activate("2")
        job_id = await hm.pub("expense.submit", {"amount": 42})
        print("waiting:", (await hm.get_status(job_id, detail=True)).status.value)  # running
        closed = asyncio.get_running_loop().create_future()
        await hm.sub(f"expense.closed.{job_id}", lambda topic, output: closed.set_result(output))
        # A signal that arrives before the job reaches its hook is kept until it does.
        await hm.signal("expense.decided", {"id": job_id, "approved": True})
        print((await asyncio.wait_for(closed, 10)).data)  # {'approved': True}
    finally:
        await hm.stop()


if __name__ == "__main__":
    asyncio.run(main())
