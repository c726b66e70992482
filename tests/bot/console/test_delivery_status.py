"""The console's transcript tells a counsellor which replies the person's channel refused ("not delivered")."""

from __future__ import annotations

from typing import Any

import pytest

from tests.live_gateway import PASSWORD, ConsoleClient

pytestmark = pytest.mark.filterwarnings("ignore:.*retry_after.*:DeprecationWarning")


def test_a_reply_telegram_refuses_for_good_is_marked_not_delivered(live_gateway: Any, telegram_api: Any) -> None:
    gateway = live_gateway(TELEGRAM_BOT_TOKEN=telegram_api.token, TELEGRAM_API_BASE_URL=telegram_api.base_url)
    conversation = gateway.conversation("5550001", "en", channel="telegram")
    gateway.person_says(conversation, "I need to talk to a person")
    ticket = gateway.open_handoff(conversation)
    gateway.add_user("amina", "counsellor", PASSWORD)
    amina = ConsoleClient(gateway, "amina")
    try:
        assert amina.login().status_code == 200
        assert amina.post(f"/handoffs/{ticket.id}/claim").status_code == 200
        telegram_api.fail_next(403, 1, method="sendMessage")
        refused = amina.post(f"/handoffs/{ticket.id}/messages", {"text": "Hello, I am Amina."})
        assert refused.status_code == 502 and refused.json()["delivered"] is False
        assert amina.post(f"/handoffs/{ticket.id}/messages", {"text": "Are you there?"}).json()["delivered"] is True
        lines = {m["text"]: m for m in amina.get(f"/handoffs/{ticket.id}").json()["transcript"]}
    finally:
        amina.close()
    assert lines["Hello, I am Amina."]["delivery"] == "not delivered"
    assert "blocked" in lines["Hello, I am Amina."]["delivery_error"]
    assert lines["Are you there?"]["delivery"] == "sent" and lines["Are you there?"]["delivery_error"] is None
    assert lines["I need to talk to a person"]["delivery"] is None  # the person's own message
    sent = [c.params["text"] for c in telegram_api.calls_to("sendMessage") if c.status == 200]
    assert "Are you there?" in sent and "Hello, I am Amina." not in sent
