"""What every fake API server shares: an aiohttp app on 127.0.0.1 (a free port), served from its own
thread and event loop, so that real clients in the tests (python-telegram-bot, httpx, aiohttp) talk
HTTP to it as they would to the remote API, from synchronous tests and from running event loops alike."""

from __future__ import annotations

import asyncio
import socket
import threading
from types import TracebackType
from typing import TypeVar

from aiohttp import web

S = TypeVar("S", bound="LocalServer")


class LocalServer:
    """Mixin: a subclass adds its routes in `_routes` and sets `port`, `_loop` and `_thread` to 0/None."""

    server_name = "fake API"
    port: int
    _loop: asyncio.AbstractEventLoop | None
    _thread: threading.Thread | None

    def _routes(self, app: web.Application) -> None:
        raise NotImplementedError

    def _on_loop(self) -> None:
        """Runs in the server's loop before it serves: make loop-bound objects (events) here."""

    def start(self: S) -> S:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        self.port = sock.getsockname()[1]
        loop = self._loop = asyncio.new_event_loop()
        ready = threading.Event()
        problems: list[BaseException] = []

        def serve() -> None:  # setup runs here too: start() may be called from a running loop
            asyncio.set_event_loop(loop)
            self._on_loop()
            app = web.Application()
            self._routes(app)
            runner = web.AppRunner(app, access_log=None)
            try:
                loop.run_until_complete(runner.setup())
                loop.run_until_complete(web.SockSite(runner, sock).start())
            except BaseException as exc:  # reported to start()
                problems.append(exc)
                ready.set()
                loop.close()
                return
            ready.set()
            loop.run_forever()
            # Requests still waiting (a long-polling getUpdates, say) end before the server does.
            pending = asyncio.all_tasks(loop)
            for task in pending:
                task.cancel()
            loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
            loop.run_until_complete(runner.cleanup())
            loop.close()

        self._thread = threading.Thread(target=serve, name=self.server_name.replace(" ", "-"), daemon=True)
        self._thread.start()
        if not ready.wait(timeout=10):
            raise RuntimeError(f"the {self.server_name} did not start")
        if problems:
            raise problems[0]
        return self

    def stop(self) -> None:
        if self._loop is not None and self._thread is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=10)
        self._loop = self._thread = None

    def __enter__(self: S) -> S:
        return self.start()

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self.stop()
