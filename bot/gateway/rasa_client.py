"""Talking to Rasa over its REST channel; one conversation always goes to the same Rasa server."""

from __future__ import annotations

import hashlib
from typing import Any

import httpx


class RasaUnavailable(Exception):
    """Rasa or its action server did not answer; the message is kept and retried."""


class RasaClient:
    def __init__(self, urls: tuple[str, ...], actions_health_url: str = "", timeout: float = 20.0) -> None:
        self.urls = urls
        self.actions_health_url = actions_health_url
        self._client = httpx.AsyncClient(timeout=timeout, limits=httpx.Limits(max_connections=64,
                                                                               max_keepalive_connections=32))

    def url_for(self, conversation_id: str) -> str:
        """Sticky routing: each conversation's turns stay on one Rasa process, in order."""
        index = int(hashlib.sha1(conversation_id.encode()).hexdigest(), 16) % len(self.urls)
        return self.urls[index]

    async def send(self, conversation_id: str, text: str, metadata: dict[str, Any]) -> list[dict[str, Any]]:
        url = f"{self.url_for(conversation_id)}/webhooks/rest/webhook"
        try:
            response = await self._client.post(url, json={"sender": conversation_id, "message": text, "metadata": metadata})
        except httpx.HTTPError as exc:
            raise RasaUnavailable(f"Rasa did not answer: {type(exc).__name__}") from None
        if response.status_code >= 500:
            raise RasaUnavailable(f"Rasa answered {response.status_code}")
        response.raise_for_status()
        replies = list(response.json() or [])
        if not replies and not await self._actions_healthy():
            # Rasa swallows action-server errors and answers without the action's messages.
            raise RasaUnavailable("the action server did not answer")
        return replies

    async def _actions_healthy(self) -> bool:
        if not self.actions_health_url:
            return True
        try:
            return (await self._client.get(self.actions_health_url, timeout=2.0)).status_code == 200
        except httpx.HTTPError:
            return False

    async def parse(self, conversation_id: str, text: str) -> dict[str, Any]:
        """NLU only (no dialogue turn): used for safety checks while a human has the conversation."""
        try:
            response = await self._client.post(f"{self.url_for(conversation_id)}/model/parse", json={"text": text})
            response.raise_for_status()
            return dict(response.json())
        except httpx.HTTPError as exc:
            raise RasaUnavailable(str(type(exc).__name__)) from None

    async def erase(self, conversation_id: str) -> None:
        """Forget the conversation in Rasa's tracker store: a restart event leaves no slots or history."""
        url = f"{self.url_for(conversation_id)}/conversations/{conversation_id}/tracker/events"
        try:
            await self._client.put(url, json=[])
        except httpx.HTTPError as exc:
            raise RasaUnavailable(str(type(exc).__name__)) from None

    async def close(self) -> None:
        await self._client.aclose()

