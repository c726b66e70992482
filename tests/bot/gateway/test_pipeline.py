"""Gateway internals that need no channel and no Rasa: one conversation's messages handled one at a time."""

from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy.engine import Engine

from tests.bot.gateway.test_delivery import make_gateway


def test_a_conversation_is_never_drained_twice_at_once(engine: Engine) -> None:
    gateway = make_gateway(engine, {})
    running: list[str] = []
    overlaps: list[tuple[str, ...]] = []

    async def slow_drain(conversation_id: str) -> None:
        running.append(conversation_id)
        if running.count(conversation_id) > 1:
            overlaps.append(tuple(running))
        await asyncio.sleep(0.01)
        running.remove(conversation_id)

    gateway._drain_locked = slow_drain  # type: ignore[method-assign]

    async def main() -> Any:
        first = asyncio.create_task(gateway._drain("c1"))
        await asyncio.sleep(0)  # the first holds the lock
        waiting = asyncio.create_task(gateway._drain("c1"))
        await asyncio.sleep(0)  # the second waits for it
        await first  # released: the waiter is woken but has not run yet
        third = asyncio.create_task(gateway._drain("c1"))  # must queue behind the waiter, not beside it
        await asyncio.gather(waiting, third)

    asyncio.run(main())
    assert overlaps == []
    assert gateway._locks == {}  # nothing left behind
