"""Fast shared state: rate-limit counters and pub/sub to consoles; Redis, or in-process for one gateway."""

from __future__ import annotations

import asyncio
import json
import time
from collections import defaultdict
from collections.abc import AsyncIterator
from typing import Any, Protocol

KEY_PREFIX = "putokaz"  # the default of PUTOKAZ_REDIS_PREFIX


def key(prefix: str, *parts: str) -> str:
    """Every Redis key and channel name is built here."""
    return ":".join((prefix, *parts))


def channel_name(prefix: str, db: int, channel: str) -> str:
    """A pub/sub channel: Redis shares channels across its numbered databases, so the number is in
    the name too; two deployments on one Redis (other prefix or other database) never hear each other."""
    return key(prefix, f"db{db}", "events", channel)


class KV(Protocol):
    async def hit(self, name: str, window_seconds: int) -> int:
        """Count one event in the current window; the count so far."""

    async def publish(self, channel: str, message: dict[str, Any]) -> None: ...

    def subscribe(self, channel: str) -> AsyncIterator[dict[str, Any]]: ...

    async def close(self) -> None: ...


class MemoryKV:
    def __init__(self) -> None:
        self._counts: dict[str, tuple[int, float]] = {}
        self._subscribers: dict[str, set[asyncio.Queue[dict[str, Any]]]] = defaultdict(set)

    async def hit(self, name: str, window_seconds: int) -> int:
        now = time.monotonic()
        count, expires = self._counts.get(name, (0, now + window_seconds))
        if now >= expires:
            count, expires = 0, now + window_seconds
        self._counts[name] = (count + 1, expires)
        if len(self._counts) > 100_000:  # forget expired windows
            self._counts = {k: v for k, v in self._counts.items() if v[1] > now}
        return count + 1

    async def publish(self, channel: str, message: dict[str, Any]) -> None:
        for queue in list(self._subscribers[channel]):
            queue.put_nowait(message)

    async def subscribe(self, channel: str) -> AsyncIterator[dict[str, Any]]:  # type: ignore[override]
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(maxsize=1000)
        self._subscribers[channel].add(queue)
        try:
            while True:
                yield await queue.get()
        finally:
            self._subscribers[channel].discard(queue)

    async def close(self) -> None:
        return None


class RedisKV:
    def __init__(self, url: str, prefix: str = KEY_PREFIX) -> None:
        import redis.asyncio as redis

        self._redis = redis.from_url(url, decode_responses=True)
        self.prefix = prefix
        self.db = int(self._redis.connection_pool.connection_kwargs.get("db") or 0)

    def channel(self, channel: str) -> str:
        return channel_name(self.prefix, self.db, channel)

    async def hit(self, name: str, window_seconds: int) -> int:
        bucket = key(self.prefix, "rate", name, str(int(time.time() // window_seconds)))
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.incr(bucket)
            pipe.expire(bucket, window_seconds * 2)
            count, _ = await pipe.execute()
        return int(count)

    async def publish(self, channel: str, message: dict[str, Any]) -> None:
        await self._redis.publish(self.channel(channel), json.dumps(message, default=str))

    async def subscribe(self, channel: str) -> AsyncIterator[dict[str, Any]]:  # type: ignore[override]
        pubsub = self._redis.pubsub()
        await pubsub.subscribe(self.channel(channel))
        try:
            while True:
                message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=15.0)
                if message and message.get("type") == "message":
                    yield json.loads(message["data"])
        finally:
            await pubsub.unsubscribe()
            await pubsub.close()

    async def ping(self) -> bool:
        return bool(await self._redis.ping())

    async def close(self) -> None:
        await self._redis.close()


def make_kv(redis_url: str, prefix: str = KEY_PREFIX) -> KV:
    return RedisKV(redis_url, prefix) if redis_url else MemoryKV()
