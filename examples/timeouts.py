"""Timeouts: an attempt that runs too long is cancelled and retried.

Run: python examples/timeouts.py
"""

import asyncio

from hotmesh import HotMesh

APP = """
app:
  id: reports
  version: '1'
  graphs:
    - subscribes: report.build
      activities:
        start: {type: trigger}
        render:
          type: worker
          topic: report.render
          timeout: 0.5          # seconds per attempt; overrides the worker's timeout
          job: {maps: {pages: '{render.output.data.pages}'}}
      transitions:
        start: [{to: render}]
"""


async def render(message):
    if message.metadata["try"] == 0:
        await asyncio.sleep(60)  # stuck: cancelled after 0.5 s, then retried
    return {"data": {"pages": 12}}


async def main() -> None:
    hm = await HotMesh.init(
        app_id="reports",
        engine={},
        workers=[
            {
                "topic": "report.render",
                "callback": render,
                "timeout": 30,
                "retry": {"maximum_attempts": 2, "initial_interval": 0.1},
            }
        ],
    )
    try:
        await hm.deploy(APP)
        await hm.activate("1")
        result = await hm.pubsub("report.build", {}, timeout=10)
        print("pages:", result.data["pages"])  # pages: 12 (on the second attempt)
    finally:
        await hm.stop()


if __name__ == "__main__":
    asyncio.run(main())
