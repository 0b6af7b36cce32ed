"""The smallest workflow: a trigger and one worker. Run: python examples/hello_worker.py

Without a connection, HotMesh uses $HOTMESH_DSN, else an embedded Postgres it starts.
"""

import asyncio

from hotmesh import HotMesh

APP = """
app:
  id: hello
  version: '1'
  graphs:
    - subscribes: hello.say
      activities:
        start: {type: trigger}
        greet:
          type: worker
          topic: hello.greet
          input: {maps: {name: '{start.output.data.name}'}}
          job: {maps: {greeting: '{greet.output.data.greeting}'}}
      transitions:
        start: [{to: greet}]
"""


async def greet(message):
    return {"data": {"greeting": f"hello, {message.data['name']}"}}


async def main() -> None:
    hm = await HotMesh.init(
        app_id="hello", engine={}, workers=[{"topic": "hello.greet", "callback": greet}]
    )
    try:
        await hm.deploy(APP)
        await hm.activate("1")
        result = await hm.pubsub("hello.say", {"name": "world"})
        print(result.data["greeting"])  # hello, world
    finally:
        await hm.stop()


if __name__ == "__main__":
    asyncio.run(main())
