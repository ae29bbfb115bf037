"""A consumer process that takes a message and dies before acking it (run by test_nats)."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from onecity.core.bus.base import Delivery
from onecity.core.bus.nats import NatsBus


async def main(url: str, stream: str, namespace: str, durable: str, marker: Path, ack_wait: float) -> None:
    bus = NatsBus(url, stream=stream, namespace=namespace, ack_wait=ack_wait)
    await bus.connect()

    async def take_and_hang(delivery: Delivery) -> None:
        marker.write_text(delivery.message_id)
        await asyncio.sleep(3600)  # killed here, before the ack

    await bus.subscribe("onecity.>", durable, take_and_hang)
    await asyncio.sleep(3600)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], Path(sys.argv[5]), float(sys.argv[6])))
