"""Parallel branches, conditions and @pipe: route an order by its total.

Run: python examples/conditions_and_pipes.py
"""

import asyncio

from hotmesh import HotMesh

APP = """
app:
  id: routing
  version: '1'
  graphs:
    - subscribes: order.route
      activities:
        start:
          type: trigger
          job:
            maps:
              customer:
                '@pipe':
                  - ['{start.output.data.first}', ' ', '{start.output.data.last}']
                  - ['{@string.concat}']
        review:
          type: worker
          topic: order.review
          input: {maps: {total: '{start.output.data.total}'}}
          job: {maps: {reviewed: '{review.output.data.ok}'}}
        ship:
          type: worker
          topic: order.ship
          job: {maps: {shipped: true}}
      transitions:
        start:
          - to: review          # only large orders are reviewed
            conditions:
              match:
                - expected: true
                  actual:
                    '@pipe':
                      - ['{start.output.data.total}', 1000]
                      - ['{@conditional.greater_than}']
          - to: ship            # every order ships (in parallel with the review)
"""


async def review(message):
    return {"data": {"ok": True}}


async def ship(message):
    return {"data": {}}


async def main() -> None:
    hm = await HotMesh.init(
        app_id="routing",
        engine={},
        workers=[
            {"topic": "order.review", "callback": review},
            {"topic": "order.ship", "callback": ship},
        ],
    )
    try:
        await hm.deploy(APP)
        await hm.activate("1")
        small = await hm.pubsub("order.route", {"first": "Ada", "last": "L", "total": 20})
        large = await hm.pubsub("order.route", {"first": "Alan", "last": "T", "total": 5000})
        print(small.data)  # {'customer': 'Ada L', 'shipped': True}
        print(large.data)  # {'customer': 'Alan T', 'reviewed': True, 'shipped': True}
        assert "reviewed" not in small.data and large.data["reviewed"] is True
    finally:
        await hm.stop()


if __name__ == "__main__":
    asyncio.run(main())
