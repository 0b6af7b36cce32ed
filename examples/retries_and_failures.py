"""Retries and failures: a flaky callback retried by policy, and a job that fails.

Run: python examples/retries_and_failures.py
"""

import asyncio

from hotmesh import HotMesh, JobStatus
from hotmesh.errors import JobFailed

APP = """
app:
  id: payments
  version: '1'
  graphs:
    - subscribes: payment.charge
      activities:
        start: {type: trigger}
        charge:
          type: worker
          topic: payment.gateway
          input: {maps: {card: '{start.output.data.card}'}}
          job: {maps: {receipt: '{charge.output.data.receipt}'}}
      transitions:
        start: [{to: charge}]
"""


class CardDeclined(Exception):
    code = 402  # becomes the error code of the activity and of the job


async def gateway(message):
    card = message.data["card"]
    if card == "flaky" and message.metadata["try"] < 2:
        raise ConnectionError("gateway unreachable")  # attempts 1 and 2 fail
    if card == "stolen":
        raise CardDeclined("card declined")
    return {"data": {"receipt": f"R-{card}"}}


async def main() -> None:
    hm = await HotMesh.init(
        app_id="payments",
        engine={},
        workers=[
            {
                "topic": "payment.gateway",
                "callback": gateway,
                # 3 attempts, 0.1 s then 0.2 s apart; each failed attempt is logged
                "retry": {"maximum_attempts": 3, "initial_interval": 0.1, "backoff_coefficient": 2},
            }
        ],
    )
    try:
        await hm.deploy(APP)
        await hm.activate("1")
        ok = await hm.pubsub("payment.charge", {"card": "flaky"})
        print("flaky card:", ok.data["receipt"], ok.status)  # R-flaky JobStatus.COMPLETED
        try:
            await hm.pubsub("payment.charge", {"card": "stolen"})
        except JobFailed as failure:
            print("stolen card:", failure.error["message"], failure.error["code"])
            state = await hm.get_status(failure.value, detail=True)
            assert state.status is JobStatus.FAILED
            print("status:", state.status.value, "- semaphore", state.semaphore)
    finally:
        await hm.stop()


if __name__ == "__main__":
    asyncio.run(main())
