"""GET /console/api/events: the console channel as server-sent events, a comment every 15 s."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from sanic import Request
from sanic.response import HTTPResponse

from bot.console.sessions import SessionEnded
from bot.console.web import SECURITY_HEADERS, ctx_of, resume_session

KEEPALIVE = 15.0  # seconds; also below Sanic's 60 s response timeout, which each write resets


def stopping_event(app: Any) -> asyncio.Event:
    """Set before the server stops, so that open streams end at once."""
    if getattr(app.ctx, "console_stopping", None) is None:
        app.ctx.console_stopping = asyncio.Event()
    return app.ctx.console_stopping  # type: ignore[no-any-return]


async def stream_events(request: Request) -> HTTPResponse:
    ctx = ctx_of(request)
    stopping = stopping_event(request.app)
    inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue(maxsize=1000)

    async def pump() -> None:
        async for event in ctx.kv.subscribe("console"):
            if inbox.full():
                inbox.get_nowait()  # a stalled page loses the oldest, not the newest
            inbox.put_nowait(event)

    task = asyncio.ensure_future(pump())
    for _ in range(3):  # let an in-process subscription register before the page hears "listening"
        await asyncio.sleep(0)
    headers = dict(SECURITY_HEADERS)
    headers["X-Accel-Buffering"] = "no"  # nginx: do not buffer the stream
    resp = await request.respond(content_type="text/event-stream; charset=utf-8", headers=headers)
    assert resp is not None
    try:
        await resp.send("retry: 3000\n: listening\n\n")
        loop = asyncio.get_running_loop()
        checked = loop.time()
        while not stopping.is_set():
            getter = asyncio.ensure_future(inbox.get())
            stop = asyncio.ensure_future(stopping.wait())
            try:
                done, _ = await asyncio.wait({getter, stop}, timeout=KEEPALIVE,
                                             return_when=asyncio.FIRST_COMPLETED)
            finally:  # nothing is left waiting when the page goes away
                stop.cancel()
                getter.cancel()
            if stop in done:
                break
            quiet = getter not in done or getter.cancelled()
            if quiet:
                await resp.send(": keep-alive\n\n")
            else:
                data = json.dumps(getter.result(), ensure_ascii=False, default=str)
                await resp.send(f"data: {data}\n\n")
            if not quiet and loop.time() - checked < KEEPALIVE:  # a busy stream checks as often
                continue
            checked = loop.time()
            try:  # logged out, idle too long, deactivated meanwhile? (the stream is not activity)
                await resume_session(request, active=False)
            except SessionEnded as exc:
                ended = {"type": "session.ended", "reason": str(exc)}
                await resp.send(f"data: {json.dumps(ended, ensure_ascii=False)}\n\n")
                break
    finally:
        task.cancel()
    await resp.eof()
    return resp  # type: ignore[no-any-return]
