"""The real gateway app (create_app) served on a free port from a background thread, for tests.

Tests drive it over HTTP like a browser does, and reach its resources (store, handoffs, kv) directly
to set the scene: `run(coro)` runs a coroutine on the server's own event loop."""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
import uuid
from collections.abc import Coroutine
from pathlib import Path
from typing import Any

from bot.runner import free_port
from bot.settings import Settings

SECRET = "test-secret-key-for-the-console-0123456789"
PASSWORD = "correct horse battery"


class LiveGateway:
    def __init__(
        self, database_url: str, data_dir: Path, env: dict[str, str] | None = None
    ) -> None:
        from sanic import Sanic

        from bot.gateway.app import create_app

        # Several apps start and stop in one test process: Sanic's test mode keeps its class-level
        # method rewriting ("touch-up") repeatable and allows more than one app.
        Sanic.test_mode = True
        self.port = free_port()
        self.settings = Settings.from_env(
            {
                "PUTOKAZ_DATA_DIR": str(data_dir),
                "DATABASE_URL": database_url,
                "PUTOKAZ_SECRET_KEY": SECRET,
                "PUTOKAZ_PORT": str(self.port),
                "RASA_URL": "http://127.0.0.1:9",
                **(env or {}),
            }
        )
        self.app = create_app(self.settings, name=f"putokaz_test_{uuid.uuid4().hex[:10]}")
        self.app.config.GRACEFUL_SHUTDOWN_TIMEOUT = 1.0
        self.url = f"http://127.0.0.1:{self.port}"
        self.loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._stop: asyncio.Event | None = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._serve, name="live-gateway", daemon=True)

    # --- life -----------------------------------------------------------------------------------
    def start(self) -> LiveGateway:
        self._thread.start()
        if not self._ready.wait(60):
            raise RuntimeError("the gateway did not start in 60 s")
        if self._error is not None:
            raise RuntimeError("the gateway failed to start") from self._error
        return self

    def stop(self) -> None:
        if self._stop is not None:
            self.loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(30)

    def _serve(self) -> None:
        asyncio.set_event_loop(self.loop)
        try:
            self.loop.run_until_complete(self._main())
        except BaseException as exc:  # reported to start()
            self._error = exc
            self._ready.set()
        finally:
            pending = [t for t in asyncio.all_tasks(self.loop) if not t.done()]
            for task in pending:
                task.cancel()
            if pending:
                self.loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
            self.loop.run_until_complete(self.loop.shutdown_asyncgens())
            self.loop.close()

    async def _main(self) -> None:
        self._stop = asyncio.Event()
        server = await self.app.create_server(
            host="127.0.0.1", port=self.port, return_asyncio_server=True, access_log=False
        )
        assert server is not None
        await server.startup()
        self.app.is_running = True  # as app.run() says before the listeners run (add_task needs it)
        await server.before_start()  # create_server has bound the socket already
        await server.after_start()
        self._ready.set()
        await self._stop.wait()
        await server.before_stop()
        server.close()
        for connection in list(server.connections):
            connection.close_if_idle()
        await asyncio.sleep(0.1)
        for connection in list(server.connections):
            transport = getattr(connection, "transport", None)
            if transport is not None:
                transport.abort()
        await server.after_stop()
        self.app.is_running = False

    # --- reaching inside ------------------------------------------------------------------------
    def run(self, coro: Coroutine[Any, Any, Any], timeout: float = 30.0) -> Any:
        future: concurrent.futures.Future[Any] = asyncio.run_coroutine_threadsafe(coro, self.loop)
        return future.result(timeout)

    @property
    def ctx(self) -> Any:
        return self.app.ctx

    def conversation(
        self,
        address: str,
        language: str | None = "en",
        channel: str = "web",
        city: str | None = None,
    ) -> Any:
        store = self.ctx.gateway.store
        conversation, _ = store.conversation_for(channel, address)
        store.update_conversation(conversation.id, language=language, script=None, city=city)
        return store.conversation(conversation.id)

    def person_says(self, conversation: Any, text: str, handoff_id: int | None = None) -> None:
        """What the gateway does with a message during a handoff: keep it, tell the consoles."""
        self.ctx.gateway.store.add_message(conversation.id, "person", text)
        if handoff_id is not None:
            self.run(
                self.ctx.kv.publish(
                    "console",
                    {
                        "type": "message",
                        "handoff_id": handoff_id,
                        "conversation_id": conversation.id,
                    },
                )
            )

    def open_handoff(
        self,
        conversation: Any,
        reason: str = "asked",
        priority: str = "normal",
        category: str | None = None,
        city: str | None = None,
    ) -> Any:
        view, created = self.ctx.handoffs.open(
            conversation.id,
            conversation.channel,
            reason,
            priority,
            conversation.language,
            city,
            category,
        )
        assert created
        return view

    def add_user(
        self,
        username: str,
        role: str = "counsellor",
        password: str = PASSWORD,
        languages: tuple[str, ...] = (),
        team: str | None = None,
    ) -> Any:
        from bot.console.accounts import create_user

        return create_user(self.ctx.engine, username, password, role, languages, team, rounds=4)


class ConsoleClient:
    """One browser's worth of console over HTTP: its own cookie jar and CSRF token."""

    def __init__(self, gateway: LiveGateway, username: str) -> None:
        import httpx

        self.username = username
        self.http = httpx.Client(base_url=gateway.url, timeout=30)
        self.csrf = ""

    def login(self, password: str = PASSWORD) -> Any:
        response = self.http.post(
            "/console/api/login", json={"username": self.username, "password": password}
        )
        if response.status_code == 200:
            self.csrf = response.json()["csrf_token"]
        return response

    def get(self, path: str, **kwargs: Any) -> Any:
        return self.http.get(f"/console/api{path}", **kwargs)

    def post(self, path: str, body: dict[str, Any] | None = None, csrf: bool = True) -> Any:
        headers = {"X-CSRF-Token": self.csrf} if csrf else {}
        if body is None:
            return self.http.post(f"/console/api{path}", headers=headers)
        return self.http.post(f"/console/api{path}", json=body, headers=headers)

    def close(self) -> None:
        self.http.close()
