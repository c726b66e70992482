"""The privacy notice states the retention period the gateway is configured with (PUTOKAZ_RETENTION_DAYS)."""

from __future__ import annotations

import time
import uuid
from typing import Any

import httpx

from bot.i18n.bidi import LRI, PDI
from bot.i18n.plural import days
from bot.i18n.responses import Responses

RESPONSES = Responses.from_domain_dir()


def first_messages(gateway: Any, session: str, language: str, text: str) -> list[dict[str, Any]]:
    with httpx.Client(base_url=gateway.url, timeout=30, headers={"Accept-Language": language}) as http:
        sent = http.post("/chat/api/messages", json={"session": session, "message_id": "1", "text": text})
        assert sent.status_code == 202
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:  # no Rasa here: the notice, then an apology
            messages = http.get("/chat/api/messages", params={"session": session}).json()["messages"]
            if len([m for m in messages if m["author"] == "system"]) >= 2:
                return messages  # type: ignore[no-any-return]
            time.sleep(0.1)
    raise AssertionError("the gateway did not answer")


def test_the_notice_names_the_configured_retention_in_the_persons_language(live_gateway: Any) -> None:
    gateway = live_gateway(PUTOKAZ_RETENTION_DAYS="45")
    english = first_messages(gateway, uuid.uuid4().hex, "en", "hello")
    notice = [m["text"] for m in english if m["author"] == "system"][0]
    assert notice == RESPONSES.text("utter_privacy_notice", "en", period=days(45, "en"))
    assert "45 days" in notice and "30" not in notice and "{" not in notice

    arabic = first_messages(gateway, uuid.uuid4().hex, "ar", "مرحبا، أحتاج إلى طبيب")
    notice = [m["text"] for m in arabic if m["author"] == "system"][0]
    assert f"{LRI}45{PDI}" in notice and "30" not in notice  # the number isolated in right-to-left text
    assert notice == RESPONSES.text("utter_privacy_notice", "ar", period=days(45, "ar"))
