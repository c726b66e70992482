"""Helpers for tests that talk to the real Rasa server over its REST channel."""

from __future__ import annotations

import json
import time
import urllib.request
import uuid
from collections.abc import Callable
from typing import Any


def post_json(url: str, body: dict[str, Any], timeout: float = 30.0) -> Any:
    request = urllib.request.Request(url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return json.loads(response.read() or b"null")


def talk(rasa_url: str, sender: str, text: str, metadata: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """One user message through Rasa's REST channel; the bot's replies."""
    body: dict[str, Any] = {"sender": sender, "message": text}
    if metadata:
        body["metadata"] = metadata
    return post_json(f"{rasa_url}/webhooks/rest/webhook", body)  # type: ignore[no-any-return]


def parse(rasa_url: str, text: str) -> dict[str, Any]:
    return post_json(f"{rasa_url}/model/parse", {"text": text})  # type: ignore[no-any-return]


def new_sender() -> str:
    return f"test-{uuid.uuid4().hex[:12]}"


def texts(replies: list[dict[str, Any]]) -> str:
    return "\n".join(r.get("text", "") for r in replies if r.get("text"))


def custom(replies: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [r["custom"] for r in replies if "custom" in r]


def button_payloads(replies: list[dict[str, Any]]) -> list[str]:
    return [b["payload"] for r in replies for b in r.get("buttons", [])]


def wait_for(check: Callable[[], Any], timeout: float = 30.0) -> Any:
    """`check()`'s first truthy value, asked every 0.1 s; AssertionError after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError("timed out waiting")
