"""A service module for ``hotmesh serve``: the init config, callbacks included.

Host it:   hotmesh serve shop_service:config --deploy shop_service:APP --processes 2
           (from the examples/ folder; SIGTERM or Ctrl-C stops it gracefully)
Run it here as a program to see one order go through: python examples/shop_service.py
"""

import asyncio

from hotmesh import HotMesh

APP = """
app:
  id: shop-service
  version: '1'
  graphs:
    - subscribes: order.placed
      activities:
        placed: {type: trigger}
        fulfil:
          type: worker
          topic: order.process
          input: {maps: {id: '{placed.output.data.id}'}}
          job: {maps: {status: '{fulfil.output.data.status}'}}
      transitions:
        placed: [{to: fulfil}]
"""


def process(message):  # a plain def runs in a thread: blocking calls are fine here
    return {"data": {"status": "fulfilled"}}


config = {
    "app_id": "shop-service",
    "engine": {},  # no connection: --dsn / $HOTMESH_DSN, else the embedded Postgres
    "workers": [{"topic": "order.process", "callback": process, "timeout": 30}],
}


async def main() -> None:
    hm = await HotMesh.init(config)
    try:
        await hm.deploy(APP)
        await hm.activate("1")
        print((await hm.pubsub("order.placed", {"id": "ORD-9"})).data)  # {'status': 'fulfilled'}
    finally:
        await hm.stop()


if __name__ == "__main__":
    asyncio.run(main())
