"""WhatsApp through Twilio, end to end: signed form webhooks into the real gateway, replies out through a local
fake of Twilio's Messages API; with a real Rasa for the numbered buttons."""

from __future__ import annotations

import re
import time
import urllib.error
import urllib.request
from typing import Any

import pytest

from bot.i18n.plural import days
from bot.i18n.responses import Responses
from bot.runner import Stack
from tests.fakes.twilio_api import signed_webhook, whatsapp_form
from tests.support import wait_for

RESPONSES = Responses.from_domain_dir()
_ids = iter(range(20_000, 10**9))


def post(url: str, body: bytes, headers: dict[str, str]) -> tuple[int, str, str]:
    request = urllib.request.Request(url, data=body, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.headers.get("Content-Type", ""), response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.headers.get("Content-Type", ""), error.read().decode()


def twilio_env(api: Any) -> dict[str, str]:
    return {"TWILIO_ACCOUNT_SID": api.account_sid, "TWILIO_AUTH_TOKEN": api.auth_token,
            "TWILIO_WHATSAPP_FROM": "whatsapp:+14155238886", "TWILIO_API_BASE_URL": api.base_url}


def send(gateway: Any, form: dict[str, str]) -> tuple[int, str, str]:
    url = f"{gateway.url}/webhooks/twilio"
    body, headers = signed_webhook(url, form)
    return post(url, body, headers)


def bodies_to(api: Any, wa_id: str) -> list[str]:
    return [m["Body"] for m in api.sent if m["To"] == f"whatsapp:+{wa_id}"]


def test_twilio_webhooks_are_checked_answered_once_and_replies_retried(live_gateway: Any, twilio_api: Any) -> None:
    gateway = live_gateway(**twilio_env(twilio_api))  # no Rasa: the notice, then an apology
    url = f"{gateway.url}/webhooks/twilio"
    wa_id = f"9639{next(_ids)}"
    form = whatsapp_form(wa_id, f"SM{next(_ids):032x}", "مرحبا، أحتاج إلى طبيب")
    body, headers = signed_webhook(url, form)
    forged = post(url, body, {**headers, "X-Twilio-Signature": "bm90IGEgc2lnbmF0dXJl"})
    assert forged[0] == 403 and "X-Twilio-Signature" in forged[2]
    assert post(url, b'{"Body": "hi"}', {"Content-Type": "application/json"})[0] == 400
    no_sender = {k: v for k, v in form.items() if k != "From"}
    assert send(gateway, no_sender)[0] == 400

    twilio_api.fail_next(429, 1, retry_after="1")  # Twilio throttles the first reply: it goes out a second later
    for _ in range(3):  # Twilio retried the webhook: one answer
        status, content_type, answer = send(gateway, form)
        assert status == 200 and content_type.startswith("text/xml") and "<Response>" in answer
    notice = RESPONSES.text("utter_privacy_notice", "ar", period=days(30, "ar"))
    apology = RESPONSES.text("utter_technical_problem", "ar")
    wait_for(lambda: len(bodies_to(twilio_api, wa_id)) >= 2)
    time.sleep(1.0)
    assert bodies_to(twilio_api, wa_id) == [notice, apology]
    assert [c.status for c in twilio_api.calls] == [429, 201, 201]
    assert all(m["From"] == "whatsapp:+14155238886" for m in twilio_api.sent)


@pytest.mark.rasa
def test_a_numbered_reply_chooses_the_button_the_bot_offered(live_gateway: Any, rasa_stack: Stack,
                                                            twilio_api: Any) -> None:
    gateway = live_gateway(RASA_URL=rasa_stack.rasa_url, PUTOKAZ_ACTIONS_URL=rasa_stack.actions_url.rsplit("/", 1)[0],
                           PUTOKAZ_TEAM_HOURS="mo-su 00:00-24:00", **twilio_env(twilio_api))
    wa_id = f"4477{next(_ids)}"  # a UK number: English, as the person writes
    assert send(gateway, whatsapp_form(wa_id, f"SM{next(_ids):032x}", "hello"))[0] == 200
    main_menu = RESPONSES.text("utter_main_menu", "en")  # after the greeting with its language list
    menu = wait_for(lambda: [b for b in bodies_to(twilio_api, wa_id) if b.startswith(main_menu)])[-1]
    assert re.search(r"(^|\n)1\. ", menu)
    conversation = gateway.ctx.gateway.store.find_conversation("twilio", f"whatsapp:+{wa_id}")
    offered = gateway.ctx.gateway.store.offered_buttons(conversation.id)
    health = [b["payload"] for b in offered].index('/ask_service{"service_category": "health"}') + 1
    assert f"{health}. {offered[health - 1]['title']}" in menu
    arabic_indic = str(health).translate(str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩"))
    assert send(gateway, whatsapp_form(wa_id, f"SM{next(_ids):032x}", arabic_indic))[0] == 200
    ask_city = RESPONSES.text("utter_ask_city", "en")  # with the cities as a numbered list under it
    assert wait_for(lambda: [b for b in bodies_to(twilio_api, wa_id) if b.startswith(ask_city)])

    # The results: only the last message's buttons can be chosen by number, so the «Details» under each
    # place are left out; "details 2" in words still shows the second place in full.
    offered = gateway.ctx.gateway.store.offered_buttons(conversation.id)
    belgrade = [b["payload"] for b in offered].index('/inform{"city": "belgrade"}') + 1
    before = len(bodies_to(twilio_api, wa_id))
    assert send(gateway, whatsapp_form(wa_id, f"SM{next(_ids):032x}", str(belgrade)))[0] == 200
    more = RESPONSES.text("utter_more_results", "en")
    results = wait_for(lambda: (b := bodies_to(twilio_api, wa_id)[before:]) and any(more in x for x in b) and b)
    details = RESPONSES.text("label_details", "en")
    assert [b for b in results if b.startswith("1. ")] and not [b for b in results if details in b]
    before = len(bodies_to(twilio_api, wa_id))
    assert send(gateway, whatsapp_form(wa_id, f"SM{next(_ids):032x}", "details of number 2"))[0] == 200
    full = wait_for(lambda: [b for b in bodies_to(twilio_api, wa_id)[before:] if b.startswith("2. ")])
    assert RESPONSES.text("label_source", "en") in full[0]
