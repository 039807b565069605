"""The in-process queue: transport only (the executor makes repeats harmless)."""

from __future__ import annotations

import asyncio
import uuid

from sightline.engine.queue.inprocess import InProcessQueue


async def test_messages_before_start_are_delivered_and_repeats_coalesce() -> None:
    handled: list[uuid.UUID] = []
    gate = asyncio.Event()

    async def handler(run_id: uuid.UUID) -> None:
        await gate.wait()
        handled.append(run_id)

    queue = InProcessQueue(handler, workers=2)
    early, late = uuid.uuid4(), uuid.uuid4()
    queue.enqueue(early)  # before start: kept until the workers exist
    await queue.start()
    for _ in range(3):
        queue.enqueue(late)  # queued (or running) already: not queued again
    await asyncio.sleep(0.05)
    gate.set()
    await asyncio.wait_for(queue.join(), timeout=10)
    assert sorted(handled) == sorted([early, late])
    queue.enqueue(late)  # done: a new message is a new delivery
    await asyncio.wait_for(queue.join(), timeout=10)
    assert handled.count(late) == 2
    await queue.stop()


async def test_a_failing_run_does_not_stop_the_workers() -> None:
    handled: list[uuid.UUID] = []
    bad = uuid.uuid4()

    async def handler(run_id: uuid.UUID) -> None:
        if run_id == bad:
            raise RuntimeError("boom")
        handled.append(run_id)

    queue = InProcessQueue(handler, workers=1)
    await queue.start()
    good = uuid.uuid4()
    queue.enqueue(bad)
    queue.enqueue(good)
    await asyncio.wait_for(queue.join(), timeout=10)
    assert handled == [good]
    await queue.stop()
