"""The whole path: channel webhook -> gateway -> real Rasa and action server -> channel API (local fakes)."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest

from bot.i18n.plural import days
from bot.i18n.responses import Responses
from bot.runner import Stack
from tests.builders import (
    telegram_button_update,
    telegram_message_update,
    whatsapp_text_payload,
)
from tests.support import wait_for

RESPONSES = Responses.from_domain_dir()
SECRET = "tg-secret-0123456789"
APP_SECRET = "wa-app-secret"
_ids = iter(range(10_000, 10**9))


def post(url: str, body: bytes, headers: dict[str, str]) -> tuple[int, Any]:
    request = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json", **headers})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")


ALWAYS = "mo-su 00:00-24:00"
NEVER = "mo 00:00-00:01"  # counsellors practically never on duty (outside-hours behaviour)


@pytest.fixture(params=[ALWAYS])
def gateway(request: pytest.FixtureRequest, live_gateway: Any, rasa_stack: Stack, telegram_api: Any,
            whatsapp_api: Any) -> Iterator[Any]:
    env = {
        "RASA_URL": rasa_stack.rasa_url, "PUTOKAZ_ACTIONS_URL": rasa_stack.actions_url.rsplit("/", 1)[0],
        "TELEGRAM_BOT_TOKEN": telegram_api.token, "TELEGRAM_API_BASE_URL": telegram_api.base_url,
        "TELEGRAM_WEBHOOK_SECRET": SECRET,
        "WHATSAPP_TOKEN": whatsapp_api.token, "WHATSAPP_PHONE_NUMBER_ID": whatsapp_api.phone_number_id,
        "WHATSAPP_API_BASE_URL": whatsapp_api.base_url, "WHATSAPP_APP_SECRET": APP_SECRET,
        "WHATSAPP_VERIFY_TOKEN": "verify-me", "PUTOKAZ_RATE_LIMIT_PER_MINUTE": "6",
        "PUTOKAZ_TEAM_HOURS": request.param,
    }
    server = live_gateway(**env)
    server.telegram, server.whatsapp = telegram_api, whatsapp_api
    yield server


def send_telegram(gateway: Any, update: dict[str, Any], secret: str = SECRET) -> tuple[int, Any]:
    return post(f"{gateway.url}/webhooks/telegram", json.dumps(update).encode(),
                {"X-Telegram-Bot-Api-Secret-Token": secret})


def texts_to(gateway: Any, chat_id: int) -> list[str]:
    return [c.params.get("text", "") for c in gateway.telegram.calls_to("sendMessage")
            if str(c.params.get("chat_id")) == str(chat_id) and c.status == 200]


@pytest.mark.rasa
def test_telegram_message_gets_privacy_notice_then_an_answer_in_order(gateway: Any) -> None:
    chat = next(_ids)
    status, _ = send_telegram(gateway, telegram_message_update(next(_ids), chat, "i need a lawyer in belgrade"))
    assert status == 200
    sent = wait_for(lambda: (t := texts_to(gateway, chat)) and len(t) >= 3 and t)
    assert sent[0] == RESPONSES.text("utter_privacy_notice", "en", period=days(30, "en"))
    assert sent[1] == RESPONSES.text("utter_results_intro", "en", category="Legal help", city="Belgrade")
    assert sent[2].startswith("1. ")


@pytest.mark.rasa
def test_a_retried_update_is_answered_once(gateway: Any) -> None:
    chat, update_id = next(_ids), next(_ids)
    update = telegram_message_update(update_id, chat, "hello")
    for _ in range(3):
        assert send_telegram(gateway, update)[0] == 200
    wait_for(lambda: len(texts_to(gateway, chat)) >= 3)
    time.sleep(1.0)
    assert texts_to(gateway, chat).count(RESPONSES.text("utter_greet", "en")) == 1


@pytest.mark.rasa
def test_telegram_bad_requests(gateway: Any) -> None:
    update = telegram_message_update(next(_ids), next(_ids), "hi")
    assert send_telegram(gateway, update, secret="wrong")[0] == 403
    assert post(f"{gateway.url}/webhooks/telegram", json.dumps(update).encode(), {})[0] == 403
    assert post(f"{gateway.url}/webhooks/telegram", b"{not json", {"X-Telegram-Bot-Api-Secret-Token": SECRET})[0] == 400
    poll = {"update_id": next(_ids), "poll": {"id": "1", "question": "q", "options": [], "total_voter_count": 0,
                                               "is_closed": False, "is_anonymous": True, "type": "regular",
                                               "allows_multiple_answers": False}}
    assert send_telegram(gateway, poll)[0] == 200


@pytest.mark.rasa
def test_voice_note_gets_a_kind_answer_in_the_persons_language(gateway: Any) -> None:
    chat = next(_ids)
    voice = {"file_id": "f", "file_unique_id": "u", "duration": 3}
    send_telegram(gateway, telegram_message_update(next(_ids), chat, None, language_code="ar", voice=voice))
    sent = wait_for(lambda: (t := texts_to(gateway, chat)) and len(t) >= 2 and t)
    assert sent[1] == RESPONSES.text("utter_gw_voice_or_photo", "ar")


@pytest.mark.rasa
def test_location_finds_nearest_services(gateway: Any) -> None:
    chat = next(_ids)
    send_telegram(gateway, telegram_message_update(next(_ids), chat, "i need food"))
    wait_for(lambda: len(texts_to(gateway, chat)) >= 2)
    location = {"latitude": 42.31, "longitude": 21.65}  # Preševo
    send_telegram(gateway, telegram_message_update(next(_ids), chat, None, location=location))
    found = wait_for(lambda: [t for t in texts_to(gateway, chat) if "Preševo" in t])
    assert found


@pytest.mark.rasa
def test_handoff_silences_the_bot_until_closed(gateway: Any) -> None:
    from bot.channels.base import Outbound
    from bot.handoff.machine import Actor

    chat = next(_ids)
    send_telegram(gateway, telegram_message_update(next(_ids), chat, "i want to talk to a real person"))
    wait_for(lambda: RESPONSES.text("utter_gw_waiting", "en", position=1) in texts_to(gateway, chat))
    before = len(texts_to(gateway, chat))
    send_telegram(gateway, telegram_message_update(next(_ids), chat, "hello? where can i find food in belgrade"))
    time.sleep(2.0)
    assert len(texts_to(gateway, chat)) == before, "the bot spoke during a handoff"

    store, handoffs = gateway.ctx.gateway.store, gateway.ctx.handoffs
    conversation = store.find_conversation("telegram", str(chat))
    ticket = handoffs.open_ticket(conversation.id)
    assert any(m["text"].startswith("hello? where") for m in store.transcript(conversation.id))
    counsellor = Actor("amira", "counsellor")
    handoffs.claim(ticket.id, counsellor)
    handoffs.check_reply(ticket.id, counsellor)
    gateway.run(gateway.ctx.gateway.deliver(conversation, Outbound("I am Amira, how can I help?"),
                                            "counsellor", "amira"))
    assert wait_for(lambda: "I am Amira, how can I help?" in texts_to(gateway, chat))
    handoffs.close(ticket.id, counsellor, "resolved")
    send_telegram(gateway, telegram_message_update(next(_ids), chat, "thanks"))
    assert wait_for(lambda: RESPONSES.text("utter_welcome", "en") in texts_to(gateway, chat))


@pytest.mark.rasa
def test_distress_opens_an_urgent_handoff(gateway: Any) -> None:
    chat = next(_ids)
    send_telegram(gateway, telegram_message_update(next(_ids), chat, "i want to kill myself"))
    sent = wait_for(lambda: (t := texts_to(gateway, chat)) and len(t) >= 4 and t)
    assert "192" in sent[1]
    conversation = gateway.ctx.gateway.store.find_conversation("telegram", str(chat))
    ticket = wait_for(lambda: gateway.ctx.handoffs.open_ticket(conversation.id))
    assert ticket.priority == "urgent" and ticket.reason == "distress"


@pytest.mark.rasa
def test_telegram_429_is_retried_and_delivered_once(gateway: Any) -> None:
    chat = next(_ids)
    gateway.telegram.fail_next(429, 1, method="sendMessage")
    send_telegram(gateway, telegram_message_update(next(_ids), chat, "thank you"))
    sent = wait_for(lambda: (t := texts_to(gateway, chat)) and len(t) >= 2 and t, timeout=40)
    assert sent.count(RESPONSES.text("utter_privacy_notice", "en", period=days(30, "en"))) == 1
    refused = [c for c in gateway.telegram.calls_to("sendMessage") if c.status == 429]
    assert len(refused) == 1


@pytest.mark.rasa
def test_buttons_arrive_as_an_inline_keyboard_and_presses_come_back(gateway: Any) -> None:
    chat = next(_ids)
    send_telegram(gateway, telegram_message_update(next(_ids), chat, "hello"))
    wait_for(lambda: len(texts_to(gateway, chat)) >= 3)
    menu = [c for c in gateway.telegram.calls_to("sendMessage") if str(c.params.get("chat_id")) == str(chat)][-1]
    data = [b["callback_data"] for row in menu.params["reply_markup"]["inline_keyboard"] for b in row]
    assert '/ask_service{"service_category": "health"}' in data
    send_telegram(gateway, telegram_button_update(next(_ids), chat, '/ask_service{"service_category": "health"}'))
    assert wait_for(lambda: RESPONSES.text("utter_ask_city", "en") in texts_to(gateway, chat))
    assert gateway.telegram.calls_to("answerCallbackQuery")


@pytest.mark.rasa
def test_flood_is_stopped_politely(gateway: Any) -> None:
    chat = next(_ids)
    for _ in range(9):
        send_telegram(gateway, telegram_message_update(next(_ids), chat, "ok"))
    wait_for(lambda: RESPONSES.text("utter_gw_rate_limited", "en") in texts_to(gateway, chat))
    time.sleep(1.0)
    assert texts_to(gateway, chat).count(RESPONSES.text("utter_gw_rate_limited", "en")) == 1


@pytest.mark.rasa
def test_erasure_removes_the_conversation_everywhere(gateway: Any, rasa_stack: Stack) -> None:
    chat = next(_ids)
    send_telegram(gateway, telegram_message_update(next(_ids), chat, "delete my data"))
    wait_for(lambda: RESPONSES.text("utter_confirm_delete", "en") in texts_to(gateway, chat))
    conversation = gateway.ctx.gateway.store.find_conversation("telegram", str(chat))
    send_telegram(gateway, telegram_message_update(next(_ids), chat, "yes"))
    wait_for(lambda: RESPONSES.text("utter_data_deleted", "en") in texts_to(gateway, chat))
    assert wait_for(lambda: gateway.ctx.gateway.store.find_conversation("telegram", str(chat)) is None)
    with urllib.request.urlopen(f"{rasa_stack.rasa_url}/conversations/{conversation.id}/tracker") as response:
        tracker = json.loads(response.read())
    assert not [e for e in tracker.get("events", []) if e.get("event") == "user"]


@pytest.mark.rasa
def test_a_deletion_confirmation_that_failed_once_still_arrives_and_then_nothing_is_left(gateway: Any) -> None:
    chat = next(_ids)
    send_telegram(gateway, telegram_message_update(next(_ids), chat, "delete my data"))
    wait_for(lambda: RESPONSES.text("utter_confirm_delete", "en") in texts_to(gateway, chat))
    conversation = gateway.ctx.gateway.store.find_conversation("telegram", str(chat))
    gateway.telegram.fail_next(502, 1, method="sendMessage")
    send_telegram(gateway, telegram_message_update(next(_ids), chat, "yes"))
    wait_for(lambda: any(c.status == 502 for c in gateway.telegram.calls_to("sendMessage")))
    wait_for(lambda: gateway.ctx.gateway.store.transcript(conversation.id) == [])  # erased at once...
    wait_for(lambda: RESPONSES.text("utter_data_deleted", "en") in texts_to(gateway, chat), timeout=40)
    assert texts_to(gateway, chat).count(RESPONSES.text("utter_data_deleted", "en")) == 1  # ...said once
    assert wait_for(lambda: gateway.ctx.gateway.store.conversation(conversation.id) is None)


@pytest.mark.rasa
def test_whatsapp_verification_signature_and_reply(gateway: Any) -> None:
    ok = urllib.request.urlopen(f"{gateway.url}/webhooks/whatsapp?hub.mode=subscribe&hub.verify_token=verify-me"
                                "&hub.challenge=1158201444")
    assert ok.read() == b"1158201444"
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(f"{gateway.url}/webhooks/whatsapp?hub.mode=subscribe&hub.verify_token=no&hub.challenge=1")
    assert refused.value.code == 403
    wa_id = f"3816{next(_ids)}"
    body = json.dumps(whatsapp_text_payload(wa_id, f"wamid.{next(_ids)}", "بدي اكل في بلغراد",
                                            gateway.whatsapp.phone_number_id)).encode()
    signature = "sha256=" + hmac.new(APP_SECRET.encode(), body, hashlib.sha256).hexdigest()
    assert post(f"{gateway.url}/webhooks/whatsapp", body, {"X-Hub-Signature-256": "sha256=00"})[0] == 403
    assert post(f"{gateway.url}/webhooks/whatsapp", body, {"X-Hub-Signature-256": signature})[0] == 200
    sent = wait_for(lambda: [m for m in gateway.whatsapp.sent if m.get("to") == wa_id and m.get("type") == "text"
                             and "\u2066" in m["text"]["body"]])
    assert sent


@pytest.mark.rasa
def test_rasa_down_apologises_keeps_the_message_and_answers_later(gateway: Any, rasa_stack: Stack) -> None:
    chat = next(_ids)
    pipeline = gateway.ctx.gateway
    pipeline.rasa.urls = ("http://127.0.0.1:9",)  # nothing listens there
    try:
        send_telegram(gateway, telegram_message_update(next(_ids), chat, "i need a doctor in belgrade"))
        wait_for(lambda: RESPONSES.text("utter_technical_problem", "en") in texts_to(gateway, chat))
    finally:
        pipeline.rasa.urls = (rasa_stack.rasa_url,)
    conversation = pipeline.store.find_conversation("telegram", str(chat))
    gateway.run(_retry_now(pipeline, conversation.id))
    assert wait_for(lambda: [t for t in texts_to(gateway, chat) if t.startswith("1. ")])


async def _retry_now(pipeline: Any, conversation_id: str) -> None:
    from sqlalchemy import update

    from bot.gateway import tables

    with pipeline.store.engine.begin() as conn:
        conn.execute(update(tables.inbox).where(tables.inbox.c.conversation_id == conversation_id)
                     .values(next_attempt_at=None))
    await pipeline.retry_due()


@pytest.mark.rasa
@pytest.mark.parametrize("gateway", [NEVER], indirect=True)
def test_outside_working_hours_the_person_is_told_when_and_urgent_cases_get_numbers(gateway: Any) -> None:
    chat = next(_ids)
    send_telegram(gateway, telegram_message_update(next(_ids), chat, "my husband beats me and i am afraid"))
    when_prefix = RESPONSES.text("utter_gw_waiting_outside_hours", "en", when="X").split("X")[0]

    def after_notice() -> list[str]:  # what came after the "outside working hours" message, once something did
        sent = texts_to(gateway, chat)
        notice = next((i for i, x in enumerate(sent) if x.startswith(when_prefix)), None)
        return [] if notice is None else sent[notice + 1:]

    after = wait_for(after_notice)
    assert "192" in after[0]


@pytest.mark.rasa
def test_long_polling_mode_answers_without_a_webhook(live_gateway: Any, rasa_stack: Stack, telegram_api: Any) -> None:
    chat = next(_ids)
    telegram_api.queue_updates([telegram_message_update(next(_ids), chat, "hello")])
    server = live_gateway(RASA_URL=rasa_stack.rasa_url, TELEGRAM_BOT_TOKEN=telegram_api.token,
                          TELEGRAM_API_BASE_URL=telegram_api.base_url, TELEGRAM_POLLING="1",
                          PUTOKAZ_TEAM_HOURS=ALWAYS)
    server.telegram = telegram_api
    assert wait_for(lambda: RESPONSES.text("utter_greet", "en") in texts_to(server, chat))
    assert wait_for(lambda: not telegram_api.pending_updates)  # confirmed, so never handled twice


@pytest.mark.rasa
def test_nobody_claims_in_time_so_the_person_may_go_back_to_the_bot(gateway: Any) -> None:
    import datetime as dt

    from sqlalchemy import update

    from bot.gateway import tables

    chat = next(_ids)
    send_telegram(gateway, telegram_message_update(next(_ids), chat, "i want to talk to a real person"))
    wait_for(lambda: RESPONSES.text("utter_gw_waiting", "en", position=1) in texts_to(gateway, chat))
    pipeline = gateway.ctx.gateway
    conversation = pipeline.store.find_conversation("telegram", str(chat))
    long_ago = dt.datetime.now(dt.timezone.utc) - dt.timedelta(hours=2)
    with pipeline.store.engine.begin() as conn:
        conn.execute(update(tables.handoffs).where(tables.handoffs.c.conversation_id == conversation.id)
                     .values(waiting_since=long_ago))
    gateway.run(pipeline.notify_unclaimed())
    gateway.run(pipeline.notify_unclaimed())  # told once, not every half minute
    assert texts_to(gateway, chat).count(RESPONSES.text("utter_gw_nobody_free", "en")) == 1
    send_telegram(gateway, telegram_button_update(next(_ids), chat, "/ask_capabilities"))
    assert wait_for(lambda: RESPONSES.text("utter_capabilities", "en") in texts_to(gateway, chat))
    assert pipeline.handoffs.open_ticket(conversation.id) is None
