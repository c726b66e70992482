"""The Redis pub/sub that feeds live consoles: deployments sharing one Redis never hear each other."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable
from typing import Any

import redis

from bot.gateway.kv import RedisKV, channel_name
from tests.conftest import REDIS_TEST_URL
from tests.live_gateway import LiveGateway


def other_db(url: str) -> str:
    base, _, db = url.rpartition("/")
    return f"{base}/{14 if db == '15' else 15}"


def listen(gateway: LiveGateway) -> tuple[list[dict[str, Any]], Any]:
    """Collect what the gateway's own kv hears on the console channel, in its event loop."""
    heard: list[dict[str, Any]] = []

    async def collect() -> None:
        async for event in gateway.ctx.kv.subscribe("console"):
            heard.append(event)

    return heard, asyncio.run_coroutine_threadsafe(collect(), gateway.loop)


def wait_for(condition: Callable[[], bool], seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def test_channel_names_carry_the_prefix_and_the_database_number() -> None:
    assert channel_name("putokaz", 0, "console") == "putokaz:db0:events:console"
    assert RedisKV("redis://127.0.0.1:6379/3", "staging").channel("console") == "staging:db3:events:console"
    assert RedisKV("redis://127.0.0.1:6379", "putokaz").channel("console") == "putokaz:db0:events:console"


def test_only_the_gateway_of_the_same_deployment_hears_an_event(live_gateway: Callable[..., LiveGateway]) -> None:
    prefix, stranger = f"pk{uuid.uuid4().hex[:8]}", f"pk{uuid.uuid4().hex[:8]}"
    opening = live_gateway(REDIS_URL=REDIS_TEST_URL, PUTOKAZ_REDIS_PREFIX=prefix)
    listeners = {
        "same deployment": live_gateway(REDIS_URL=REDIS_TEST_URL, PUTOKAZ_REDIS_PREFIX=prefix),
        "other prefix": live_gateway(REDIS_URL=REDIS_TEST_URL, PUTOKAZ_REDIS_PREFIX=stranger),
        "other database": live_gateway(REDIS_URL=other_db(REDIS_TEST_URL), PUTOKAZ_REDIS_PREFIX=prefix),
    }
    heard = {name: listen(gateway) for name, gateway in listeners.items()}
    client = redis.Redis.from_url(REDIS_TEST_URL)
    try:
        channels = [g.ctx.kv.channel("console") for g in listeners.values()]
        assert len(set(channels)) == 3
        wait_for(lambda: all(count >= 1 for _, count in client.pubsub_numsub(*channels)))

        conversation = opening.conversation("web-session-kv-0001", "fa")
        ticket = opening.open_handoff(conversation)

        def about_it(name: str) -> list[dict[str, Any]]:
            return [e for e in heard[name][0] if (e.get("handoff") or {}).get("id") == ticket.id
                    and e["handoff"]["conversation_id"] == conversation.id]

        wait_for(lambda: bool(about_it("same deployment")))
        assert about_it("same deployment")[0]["type"] == "handoff.opened"
        # each stranger hears its own deployment's next event: had it heard ours, that came first
        for name in ("other prefix", "other database"):
            gateway = listeners[name]
            gateway.run(gateway.ctx.kv.publish("console", {"type": "ping", "to": name}))
            wait_for(lambda name=name: any(e.get("to") == name for e in heard[name][0]))  # type: ignore[misc]
            assert about_it(name) == [], name
            assert [e["type"] for e in heard[name][0]] == ["ping"]
    finally:
        for _, task in heard.values():
            task.cancel()
        client.close()
