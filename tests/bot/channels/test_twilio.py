"""The Twilio adapter: signed form webhooks in (twilio's RequestValidator), the Messages API out (a local fake)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from bot.channels.base import Button, Outbound, SendFailed, WebhookRejected
from bot.channels.twilio import BODY_LIMIT, TwilioChannel, choice, render
from bot.i18n.bidi import LRI, PDI
from tests.fakes.twilio_api import (
    FAKE_ACCOUNT_SID,
    FAKE_AUTH_TOKEN,
    FAKE_WHATSAPP_FROM,
    signed_webhook,
    whatsapp_form,
)

URL = "https://putokaz.example.org/webhooks/twilio"
WA_ID = "963991234567"
TO = f"whatsapp:+{WA_ID}"


def channel(base_url: str | None = None, token: str = FAKE_AUTH_TOKEN) -> TwilioChannel:
    return TwilioChannel(FAKE_ACCOUNT_SID, token, FAKE_WHATSAPP_FROM, base_url)


def parse(form: dict[str, str], url: str = URL, **headers: str) -> Any:
    body, signed = signed_webhook(URL, form)
    return channel().parse({**signed, **headers}, body, url=url)


# --- inbound ---------------------------------------------------------------------------------------------
def test_a_signed_text_message_becomes_an_inbound_message() -> None:
    [inbound] = parse(whatsapp_form(WA_ID, "SM11", "مرحبا")).messages
    assert (inbound.channel, inbound.address, inbound.message_key) == ("twilio", TO, "SM11")
    assert (inbound.kind, inbound.text, inbound.language_hint, inbound.display_name) == ("text", "مرحبا", "ar", "Test")


@pytest.mark.parametrize(("fields", "kind", "text"), [
    ({"Latitude": "44.8125", "Longitude": "20.4612", "MessageType": "location"}, "location", ""),
    ({"ButtonPayload": "/affirm", "ButtonText": "Yes", "MessageType": "button"}, "button", "/affirm"),
    ({"NumMedia": "1", "MediaContentType0": "audio/ogg", "MessageType": "audio"}, "voice", ""),
    ({"NumMedia": "1", "MediaContentType0": "image/jpeg", "MessageType": "image"}, "photo", ""),
    ({"NumMedia": "1", "MediaContentType0": "image/webp", "MessageType": "sticker"}, "sticker", ""),
])
def test_locations_template_buttons_and_media(fields: dict[str, str], kind: str, text: str) -> None:
    [inbound] = parse(whatsapp_form(WA_ID, "SM12", "", **fields)).messages
    assert (inbound.kind, inbound.text) == (kind, text)
    if kind == "location":
        assert (inbound.latitude, inbound.longitude) == (44.8125, 20.4612)


def test_a_wrong_missing_or_misplaced_signature_is_refused_with_403() -> None:
    form = whatsapp_form(WA_ID, "SM13", "hi")
    body, headers = signed_webhook(URL, form)
    with pytest.raises(WebhookRejected) as wrong:
        channel().parse({**headers, "X-Twilio-Signature": "AAAA"}, body, url=URL)
    with pytest.raises(WebhookRejected) as missing:
        channel().parse({"Content-Type": headers["Content-Type"]}, body, url=URL)
    with pytest.raises(WebhookRejected) as elsewhere:  # signed for another URL
        channel().parse(headers, body, url="https://evil.example.org/webhooks/twilio")
    with pytest.raises(WebhookRejected) as changed:  # the body changed after signing
        channel().parse(headers, body.replace(b"hi", b"ho"), url=URL)
    assert {wrong.value.status, missing.value.status, elsewhere.value.status, changed.value.status} == {403}
    behind_proxy = TwilioChannel(FAKE_ACCOUNT_SID, FAKE_AUTH_TOKEN, FAKE_WHATSAPP_FROM, webhook_url=URL)
    assert behind_proxy.parse(headers, body, url="http://10.0.0.5:8000/webhooks/twilio").messages


def test_malformed_webhooks_get_400_with_a_reason() -> None:
    form = whatsapp_form(WA_ID, "SM14", "hi")
    del form["MessageSid"], form["SmsSid"]
    with pytest.raises(WebhookRejected) as no_sid:
        parse(form)
    assert no_sid.value.status == 400 and "MessageSid" in no_sid.value.reason
    with pytest.raises(WebhookRejected) as json_body:
        channel(token="").parse({"Content-Type": "application/json"}, b'{"From": "x"}', url=URL)
    assert json_body.value.status == 400
    with pytest.raises(WebhookRejected) as bad_point:
        parse(whatsapp_form(WA_ID, "SM15", "", Latitude="north", Longitude="20.46"))
    assert bad_point.value.status == 400 and "Latitude" in bad_point.value.reason


# --- numbered buttons -------------------------------------------------------------------------------------
@pytest.mark.parametrize(("reply", "number"), [
    ("1", 1), (" 2 ", 2), ("3.", 3), ("(2)", 2), ("٢", 2), ("۳", 3), ("١٠", 10), ("۱", 1),
    ("2 children", None), ("hello", None), ("", None), ("123", None),
])
def test_a_reply_that_is_only_a_number_is_a_choice(reply: str, number: int | None) -> None:
    assert choice(reply) == number


def test_buttons_go_out_as_a_numbered_list_isolated_in_right_to_left_text() -> None:
    buttons = (Button("Health", "/health"), Button("Legal help", "/legal"))
    assert render(Outbound("What do you need?", buttons)) == ["What do you need?\n\n1. Health\n2. Legal help"]
    [arabic] = render(Outbound("ماذا تحتاج؟", (Button("صحة", "/health"), Button("مساعدة قانونية", "/legal")), rtl=True))
    assert f"{LRI}1{PDI}. صحة" in arabic and f"{LRI}2{PDI}. مساعدة قانونية" in arabic
    long = render(Outbound("word " * 400, buttons))
    assert len(long) == 2 and all(len(part) <= BODY_LIMIT for part in long)
    assert long[-1].endswith("1. Health\n2. Legal help") and not any(p.endswith(" wor") for p in long)


# --- outbound ---------------------------------------------------------------------------------------------
def test_send_posts_the_documented_form_and_returns_the_message_sid(twilio_api: Any) -> None:
    async def main() -> tuple[str | None, str | None]:
        adapter = channel(twilio_api.base_url)
        try:
            sid = await adapter.send(TO, Outbound("Choose one", (Button("Yes", "/affirm"),)))
            place = await adapter.send(TO, Outbound("", location=(44.8125, 20.4612, "Info Park")))
        finally:
            await adapter.close()
        return sid, place

    sid, place = asyncio.run(main())
    first, pin = twilio_api.sent
    assert first == {"To": TO, "From": FAKE_WHATSAPP_FROM, "Body": "Choose one\n\n1. Yes"}
    assert pin["PersistentAction"] == "geo:44.812500,20.461200|Info Park" and pin["Body"] == "Info Park"
    assert sid and sid.startswith("SM") and place != sid


def test_429_and_5xx_are_retryable_and_4xx_is_not(twilio_api: Any) -> None:
    async def attempt() -> SendFailed:
        adapter = channel(twilio_api.base_url)
        try:
            await adapter.send(TO, Outbound("hello"))
        except SendFailed as exc:
            return exc
        finally:
            await adapter.close()
        raise AssertionError("sent")

    twilio_api.fail_next(429, retry_after="2")
    throttled = asyncio.run(attempt())
    twilio_api.fail_next(503)
    down = asyncio.run(attempt())
    twilio_api.fail_next(400)
    invalid = asyncio.run(attempt())
    assert throttled.retryable and throttled.retry_after == 2.0
    assert down.retryable
    assert not invalid.retryable and "21211" in str(invalid) and WA_ID not in str(invalid)


def test_outside_the_24_hour_window_nothing_is_sent(twilio_api: Any) -> None:
    async def main() -> None:
        adapter = channel(twilio_api.base_url)
        try:
            with pytest.raises(SendFailed) as closed:
                await adapter.send(TO, Outbound("hello"), window_open=False)
            assert not closed.value.retryable
        finally:
            await adapter.close()

    asyncio.run(main())
    assert twilio_api.calls == []
