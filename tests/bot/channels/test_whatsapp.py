"""The WhatsApp Cloud API adapter against Meta's webhook payloads and a fake Graph API server."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import socket
from collections.abc import AsyncIterator
from typing import Any

import pytest

from bot.channels.base import Button, Inbound, Outbound, SendFailed, WebhookRejected
from bot.channels.whatsapp import WhatsAppChannel, language_hint, shorten, split_text
from tests.fakes.whatsapp_api import FakeWhatsAppApi

PHONE = "963944123456"  # a Syrian wa_id
SECRET = "0123456789abcdef-app-secret"
VERIFY = "putokaz-verify-token"
TEMPLATE = "putokaz_reengage"


@pytest.fixture
async def channel(whatsapp_api: FakeWhatsAppApi) -> AsyncIterator[WhatsAppChannel]:
    ch = WhatsAppChannel(token=whatsapp_api.token, phone_number_id=whatsapp_api.phone_number_id,
                         app_secret=SECRET, verify_token=VERIFY, base_url=whatsapp_api.base_url,
                         templates={"reengage": TEMPLATE})
    yield ch
    await ch.close()


def sign(body: bytes, secret: str = SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def envelope(messages: list[dict[str, Any]] | None = None,
             statuses: list[dict[str, Any]] | None = None, name: str = "Ahmad") -> bytes:
    """Meta's webhook envelope around message or status objects, as Meta documents it."""
    value: dict[str, Any] = {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "15550783881", "phone_number_id": "106540352242922"},
    }
    if messages is not None:
        value["contacts"] = [{"profile": {"name": name}, "wa_id": PHONE}]
        value["messages"] = messages
    if statuses is not None:
        value["statuses"] = statuses
    return json.dumps({"object": "whatsapp_business_account", "entry": [
        {"id": "102290129340398", "changes": [{"value": value, "field": "messages"}]}]}).encode()


def parse_one(channel: WhatsAppChannel, message: dict[str, Any]) -> Inbound:
    body = envelope([message])
    parsed = channel.parse({"X-Hub-Signature-256": sign(body)}, body)
    assert len(parsed.messages) == 1
    return parsed.messages[0]


def message(kind: str, content: dict[str, Any],
            wamid: str = "wamid.HBgMOTYzOTQ0MTIzNDU2FQIAEhggQTI=") -> dict[str, Any]:
    return {"from": PHONE, "id": wamid, "timestamp": "1718000000", "type": kind, kind: content}


def envelope_for(to: str, kind: str, content: dict[str, Any]) -> dict[str, Any]:
    return {"messaging_product": "whatsapp", "recipient_type": "individual", "to": to,
            "type": kind, kind: content}


def text_message(body: str) -> dict[str, Any]:
    return envelope_for(PHONE, "text", {"body": body, "preview_url": False})


# -- verification handshake ------------------------------------------------------------------

def test_verification_echoes_the_challenge(channel: WhatsAppChannel) -> None:
    params = {"hub.mode": "subscribe", "hub.verify_token": VERIFY, "hub.challenge": "1158201444"}
    assert channel.verify(params) == "1158201444"


@pytest.mark.parametrize("params", [
    {"hub.mode": "subscribe", "hub.verify_token": "wrong", "hub.challenge": "1"},
    {"hub.mode": "unsubscribe", "hub.verify_token": VERIFY, "hub.challenge": "1"},
])
def test_verification_with_a_wrong_token_or_mode_is_403(channel: WhatsAppChannel,
                                                         params: dict[str, str]) -> None:
    with pytest.raises(WebhookRejected) as rejected:
        channel.verify(params)
    assert rejected.value.status == 403


@pytest.mark.parametrize("missing", ["hub.mode", "hub.verify_token", "hub.challenge"])
def test_verification_with_missing_params_is_400(channel: WhatsAppChannel, missing: str) -> None:
    params = {"hub.mode": "subscribe", "hub.verify_token": VERIFY, "hub.challenge": "1"}
    del params[missing]
    with pytest.raises(WebhookRejected) as rejected:
        channel.verify(params)
    assert rejected.value.status == 400
    assert missing in rejected.value.reason


def test_verification_without_a_configured_token_is_403() -> None:
    channel = WhatsAppChannel("t", "1", None, None, None, None)
    with pytest.raises(WebhookRejected) as rejected:
        channel.verify({"hub.mode": "subscribe", "hub.verify_token": "", "hub.challenge": "1"})
    assert rejected.value.status == 403


# -- signature and malformed bodies ----------------------------------------------------------

def test_a_correct_signature_passes_whatever_the_header_case(channel: WhatsAppChannel) -> None:
    body = envelope([message("text", {"body": "salam"})])
    assert channel.parse({"x-hub-signature-256": sign(body)}, body).messages
    assert channel.parse({"X-HUB-SIGNATURE-256": sign(body).upper().replace("SHA256", "sha256")},
                         body).messages


@pytest.mark.parametrize("headers", [
    {},
    {"X-Hub-Signature-256": "sha256=" + "0" * 64},
    {"X-Hub-Signature-256": sign(b"another body")},
    {"X-Hub-Signature-256": sign(b"{}", secret="someone else's secret")},
    {"X-Hub-Signature": "sha1=0000"},
    {"X-Hub-Signature-256": "سلام"},
])
def test_a_missing_or_wrong_signature_is_403(
        channel: WhatsAppChannel, headers: dict[str, str]) -> None:
    body = envelope([message("text", {"body": "salam"})])
    with pytest.raises(WebhookRejected) as rejected:
        channel.parse(headers, body)
    assert rejected.value.status == 403


def test_without_an_app_secret_bodies_are_not_checked() -> None:
    channel = WhatsAppChannel("t", "1", None, VERIFY, None, None)
    assert channel.parse({}, envelope([message("text", {"body": "hi"})])).messages[0].text == "hi"


@pytest.mark.parametrize(("body", "why"), [
    (b"not json", "JSON"),
    (b"\xff\xfe\x00", "JSON"),
    (b"[]", "whatsapp_business_account"),
    (b'{"object": "page", "entry": []}', "whatsapp_business_account"),
    (b'{"object": "whatsapp_business_account"}', "entry"),
    (b'{"object": "whatsapp_business_account", "entry": {}}', "entry"),
])
def test_a_malformed_body_is_400_with_the_reason(
        channel: WhatsAppChannel, body: bytes, why: str) -> None:
    with pytest.raises(WebhookRejected) as rejected:
        channel.parse({"X-Hub-Signature-256": sign(body)}, body)
    assert rejected.value.status == 400
    assert why in rejected.value.reason


# -- inbound messages ------------------------------------------------------------------------

def test_text() -> None:
    channel = WhatsAppChannel("t", "1", SECRET, VERIFY, None, None)
    body = (
        b'{"object":"whatsapp_business_account","entry":[{"id":"102290129340398","changes":[{'
        b'"value":{"messaging_product":"whatsapp","metadata":{"display_phone_number":"15550783881",'
        b'"phone_number_id":"106540352242922"},"contacts":[{"profile":{"name":"'
        b'\xd8\xa3\xd8\xad\xd9\x85\xd8\xaf"},"wa_id":"963944123456"}],"messages":[{'
        b'"from":"963944123456","id":"wamid.HBgMOTYzOTQ0MTIzNDU2FQIAEhggQUFBQUFBQUFB",'
        b'"timestamp":"1718000123","text":{"body":"\xd8\xa3\xd8\xad\xd8\xaa\xd8\xa7\xd8\xac '
        b'\xd8\xb7\xd8\xa8\xd9\x8a\xd8\xa8"},"type":"text"}]},"field":"messages"}]}]}')
    parsed = channel.parse({"X-Hub-Signature-256": sign(body)}, body)
    assert parsed.messages == (Inbound(
        channel="whatsapp", address=PHONE,
        message_key="wamid.HBgMOTYzOTQ0MTIzNDU2FQIAEhggQUFBQUFBQUFB", kind="text",
        text="أحتاج طبيب", language_hint="ar", sent_at=1718000123, display_name="أحمد"),)
    assert parsed.statuses == ()


def test_reply_button(channel: WhatsAppChannel) -> None:
    inbound = parse_one(channel, {
        "context": {"from": "15550783881", "id": "wamid.HBgMOTYzOTQ0MTIzNDU2FQIAERgSQjI="},
        "from": PHONE, "id": "wamid.B1", "timestamp": "1718000200", "type": "interactive",
        "interactive": {"type": "button_reply",
                        "button_reply": {"id": "/request_human", "title": "Talk to a person"}}})
    assert (inbound.kind, inbound.text) == ("button", "/request_human")
    assert inbound.message_key == "wamid.B1"


def test_list_reply(channel: WhatsAppChannel) -> None:
    payload = '/ask_service{"service_category":"health","city":"sid"}'
    inbound = parse_one(channel, {
        "context": {"from": "15550783881", "id": "wamid.HBgMOTYzOTQ0MTIzNDU2FQIAERgSQzM="},
        "from": PHONE, "id": "wamid.L1", "timestamp": "1718000300", "type": "interactive",
        "interactive": {"type": "list_reply", "list_reply": {
            "id": payload, "title": "Health", "description": "Doctor, clinic, medicine"}}})
    assert (inbound.kind, inbound.text) == ("button", payload)


def test_template_quick_reply_button(channel: WhatsAppChannel) -> None:
    inbound = parse_one(channel, {
        "context": {"from": "15550783881", "id": "wamid.T1"},
        "from": PHONE, "id": "wamid.QR1", "timestamp": "1718000350", "type": "button",
        "button": {"text": "Continue", "payload": "/restart"}})
    assert (inbound.kind, inbound.text) == ("button", "/restart")


def test_location(channel: WhatsAppChannel) -> None:
    inbound = parse_one(channel, message("location", {
        "latitude": 45.1923, "longitude": 19.2287, "name": "Šid", "address": "Šid, Serbia"}))
    assert (inbound.kind, inbound.latitude, inbound.longitude) == ("location", 45.1923, 19.2287)


def test_audio_and_voice_note(channel: WhatsAppChannel) -> None:
    voice = parse_one(channel, message("audio", {
        "mime_type": "audio/ogg; codecs=opus", "id": "1119387852463891", "voice": True,
        "sha256": "u6E8Xq0vO+QV0J7L6qv8TvdkP4nW5OtD4wq3k0VZbMs="}))
    assert voice.kind == "voice"
    assert voice.text == ""


def test_image_with_a_caption(channel: WhatsAppChannel) -> None:
    photo = parse_one(channel, message("image", {
        "caption": "where is this office?", "mime_type": "image/jpeg",
        "sha256": "kvP0T+sCFLYW4FcmFlkXbOkpuqsKFdoW3QAF1Q0M3m4=", "id": "1003383421387256"}))
    assert (photo.kind, photo.text) == ("photo", "where is this office?")


@pytest.mark.parametrize(("kind", "expected"), [("video", "photo"), ("document", "photo"),
                                                ("sticker", "sticker")])
def test_other_media(channel: WhatsAppChannel, kind: str, expected: str) -> None:
    inbound = parse_one(channel, message(kind, {"mime_type": "image/webp", "id": "2318237851785830",
                                                "sha256": "abc=", "animated": False}))
    assert inbound.kind == expected


def test_sticker(channel: WhatsAppChannel) -> None:
    sticker = parse_one(channel, message("sticker", {
        "mime_type": "image/webp", "sha256": "HyUp0gJq3vSb6rFyG/HlLrqJt9zzTRz8qQy8+5lkXg4=",
        "id": "1180296142897458", "animated": False}))
    assert sticker.kind == "sticker"


def test_reactions_and_unsupported_messages_are_ignored(channel: WhatsAppChannel) -> None:
    body = envelope([
        message("reaction", {"message_id": "wamid.X", "emoji": "👍"}, wamid="wamid.R1"),
        {"from": PHONE, "id": "wamid.U1", "timestamp": "1718000400", "type": "unsupported",
         "errors": [{"code": 131051, "title": "Message type unknown",
                     "error_data": {"details": "Message type is currently not supported."}}]},
        message("text", {"body": "ok"}, wamid="wamid.OK"),
    ])
    parsed = channel.parse({"X-Hub-Signature-256": sign(body)}, body)
    assert [m.message_key for m in parsed.messages] == ["wamid.OK"]


def test_statuses_only(channel: WhatsAppChannel) -> None:
    body = envelope(statuses=[
        {"id": "wamid.S1", "status": "delivered", "timestamp": "1718000500", "recipient_id": PHONE,
         "conversation": {"id": "6ceb9d929c8ab8d1a9d6a2b0e4a5e8e2", "origin": {"type": "service"}},
         "pricing": {"billable": True, "pricing_model": "CBP", "category": "service"}},
        {"id": "wamid.S2", "status": "failed", "timestamp": "1718000501", "recipient_id": PHONE,
         "errors": [{"code": 131047, "title": "Re-engagement message"}]},
    ])
    parsed = channel.parse({"X-Hub-Signature-256": sign(body)}, body)
    assert parsed.messages == ()
    assert parsed.statuses == (
        {"id": "wamid.S1", "status": "delivered", "timestamp": "1718000500"},
        {"id": "wamid.S2", "status": "failed", "timestamp": "1718000501", "error_code": "131047"},
    )


@pytest.mark.parametrize(("wa_id", "hint"), [
    ("963944123456", "ar"), ("9647701234567", "ar"), ("201001234567", "ar"), ("212612345678", "ar"),
    ("249912345678", "ar"), ("989121234567", "fa"), ("381641234567", "sr"), ("447700900123", "en"),
    ("12025550123", "en"), ("93701234567", None), ("923001234567", None), ("4915112345678", None),
])
def test_language_hint_from_the_calling_code(wa_id: str, hint: str | None) -> None:
    assert language_hint(wa_id) == hint


# -- sending ---------------------------------------------------------------------------------

async def test_send_text(channel: WhatsAppChannel, whatsapp_api: FakeWhatsAppApi) -> None:
    await channel.send(PHONE, Outbound(text="Dom zdravlja Šid: Karađorđeva 2"))
    assert whatsapp_api.sent == [text_message("Dom zdravlja Šid: Karađorđeva 2")]
    call = whatsapp_api.calls[0]
    assert call.path == f"/v20.0/{whatsapp_api.phone_number_id}/messages"
    assert call.headers["authorization"] == f"Bearer {whatsapp_api.token}"


async def test_send_three_reply_buttons(
        channel: WhatsAppChannel, whatsapp_api: FakeWhatsAppApi) -> None:
    health, psychosocial = (f'/ask_service{{"service_category":"{c}"}}'
                            for c in ("health", "psychosocial"))
    buttons = (Button("Health", health), Button("Psychological support", psychosocial),
               Button("Talk to a person", "/request_human"))
    await channel.send(PHONE, Outbound(text="What do you need?", buttons=buttons))
    assert whatsapp_api.sent == [envelope_for(PHONE, "interactive", {
        "type": "button", "body": {"text": "What do you need?"}, "action": {"buttons": [
            {"type": "reply", "reply": {"id": health, "title": "Health"}},
            {"type": "reply", "reply": {"id": psychosocial, "title": "Psychological…"}},
            {"type": "reply", "reply": {"id": "/request_human", "title": "Talk to a person"}},
        ]}})]


async def test_send_a_seven_row_list(
        channel: WhatsAppChannel, whatsapp_api: FakeWhatsAppApi) -> None:
    cities = ["Beograd", "Šid", "Subotica", "Sombor", "Kikinda", "Obrenovac",
              "Banja Koviljača (Loznica)"]
    buttons = tuple(Button(c, f"/choose_city{{\"city\":\"c{i}\"}}") for i, c in enumerate(cities))
    await channel.send(PHONE, Outbound(text="Which city?", buttons=buttons))
    rows: list[dict[str, str]] = [{"id": f"/choose_city{{\"city\":\"c{i}\"}}", "title": c}
                                  for i, c in enumerate(cities)]
    rows[6] = {"id": rows[6]["id"], "title": "Banja Koviljača…",
               "description": "Banja Koviljača (Loznica)"}
    assert whatsapp_api.sent == [envelope_for(PHONE, "interactive", {
        "type": "list", "body": {"text": "Which city?"},
        "action": {"button": "☰", "sections": [{"rows": rows}]}})]


async def test_twelve_buttons_become_a_list_of_the_first_ten(
        channel: WhatsAppChannel, whatsapp_api: FakeWhatsAppApi) -> None:
    buttons = tuple(Button(f"Option {i}", f"/opt_{i}") for i in range(12))
    await channel.send(PHONE, Outbound(text="Choose", buttons=buttons), list_label="القائمة")
    assert whatsapp_api.sent == [envelope_for(PHONE, "interactive", {
        "type": "list", "body": {"text": "Choose"},
        "action": {"button": "القائمة", "sections": [{"rows": [
            {"id": f"/opt_{i}", "title": f"Option {i}"} for i in range(10)]}]}})]


async def test_a_5000_character_text_is_split_at_a_paragraph(
        channel: WhatsAppChannel, whatsapp_api: FakeWhatsAppApi) -> None:
    first = ("word " * 600).strip()  # 2999 characters
    second = ("next " * 400).strip()  # 1999 characters
    text = f"{first}\n\n{second}"
    assert len(text) == 5000
    await channel.send(PHONE, Outbound(text=text))
    assert whatsapp_api.sent == [text_message(first), text_message(second)]


async def test_a_long_text_without_breaks_is_split_between_words(
        channel: WhatsAppChannel, whatsapp_api: FakeWhatsAppApi) -> None:
    words = [f"riječ{i}" for i in range(800)]
    text = " ".join(words)
    assert len(text) > 5000
    await channel.send(PHONE, Outbound(text=text))
    bodies = [m["text"]["body"] for m in whatsapp_api.sent]
    assert len(bodies) == 2
    assert all(len(b) <= 4096 for b in bodies)
    assert " ".join(bodies).split(" ") == words


async def test_a_long_body_with_buttons_sends_the_text_first(
        channel: WhatsAppChannel, whatsapp_api: FakeWhatsAppApi) -> None:
    first = ("opis " * 200).strip()  # 999 characters
    second = ("adresa " * 100).strip()  # 699 characters
    await channel.send(PHONE, Outbound(text=f"{first}\n\n{second}",
                                       buttons=(Button("More", "/more"),)))
    assert whatsapp_api.sent == [text_message(first), envelope_for(PHONE, "interactive", {
        "type": "button", "body": {"text": second},
        "action": {"buttons": [{"type": "reply", "reply": {"id": "/more", "title": "More"}}]}})]


async def test_send_a_location(channel: WhatsAppChannel, whatsapp_api: FakeWhatsAppApi) -> None:
    await channel.send(PHONE, Outbound(text="Open 8-16 h",
                                       location=(44.8125, 20.4612, "Info Park")))
    assert whatsapp_api.sent == [
        text_message("Open 8-16 h"),
        envelope_for(PHONE, "location",
                     {"latitude": 44.8125, "longitude": 20.4612, "name": "Info Park"}),
    ]


async def test_a_location_with_buttons_comes_before_them(
        channel: WhatsAppChannel, whatsapp_api: FakeWhatsAppApi) -> None:
    await channel.send(PHONE, Outbound(text="Info Park", buttons=(Button("More", "/more"),),
                                       location=(44.8125, 20.4612, "")))
    assert [m["type"] for m in whatsapp_api.sent] == ["location", "interactive"]
    assert whatsapp_api.sent[0]["location"] == {"latitude": 44.8125, "longitude": 20.4612}


async def test_right_to_left_lines_get_a_mark(
        channel: WhatsAppChannel, whatsapp_api: FakeWhatsAppApi) -> None:
    await channel.send(PHONE, Outbound(text="Caritas\nمركز صحي\n112", rtl=True))
    assert whatsapp_api.sent == [text_message("\u200fCaritas\nمركز صحي\n\u200f112")]


async def test_buttons_without_text_get_a_body_and_an_empty_message_sends_nothing(
        channel: WhatsAppChannel, whatsapp_api: FakeWhatsAppApi) -> None:
    await channel.send(PHONE, Outbound(text="  ", buttons=(Button("English", "/lang_en"),)))
    await channel.send(PHONE, Outbound(text=""))
    assert whatsapp_api.sent == [envelope_for(PHONE, "interactive", {
        "type": "button", "body": {"text": "👇"},
        "action": {"buttons": [
            {"type": "reply", "reply": {"id": "/lang_en", "title": "English"}}]}})]


async def test_read_receipt(channel: WhatsAppChannel, whatsapp_api: FakeWhatsAppApi) -> None:
    await channel.mark_read("wamid.HBgMOTYzOTQ0MTIzNDU2FQIAEhggQTI=")
    assert whatsapp_api.sent == [{"messaging_product": "whatsapp", "status": "read",
                                  "message_id": "wamid.HBgMOTYzOTQ0MTIzNDU2FQIAEhggQTI="}]


async def test_a_closed_window_sends_the_template_instead(
        channel: WhatsAppChannel, whatsapp_api: FakeWhatsAppApi) -> None:
    await channel.send(PHONE, Outbound(text="Your appointment is tomorrow",
                                       buttons=(Button("OK", "/affirm"),)),
                       window_open=False, language="ar")
    assert whatsapp_api.sent == [envelope_for(PHONE, "template", {
        "name": TEMPLATE, "language": {"code": "ar"}})]


async def test_a_template_missing_in_the_language_falls_back_to_the_default(
        channel: WhatsAppChannel, whatsapp_api: FakeWhatsAppApi) -> None:
    whatsapp_api.fail_next(
        400, code=132001, message="(#132001) Template name does not exist in the translation",
        details="template name (putokaz_reengage) does not exist in fa")
    await channel.send(PHONE, Outbound(text="..."), window_open=False, language="fa")
    assert [c.json["template"]["language"]["code"] for c in whatsapp_api.calls] == ["fa", "en"]
    assert len(whatsapp_api.sent) == 1


async def test_pashto_templates_go_out_in_the_default_language(
        channel: WhatsAppChannel, whatsapp_api: FakeWhatsAppApi) -> None:
    await channel.send(PHONE, Outbound(text="..."), window_open=False, language="ps")
    assert whatsapp_api.sent[0]["template"]["language"] == {"code": "en"}


async def test_a_closed_window_without_a_template_is_not_retryable(
        whatsapp_api: FakeWhatsAppApi) -> None:
    channel = WhatsAppChannel(whatsapp_api.token, whatsapp_api.phone_number_id, None, None,
                              whatsapp_api.base_url, None)
    with pytest.raises(SendFailed) as failed:
        await channel.send(PHONE, Outbound(text="hello"), window_open=False)
    await channel.close()
    assert not failed.value.retryable
    assert whatsapp_api.calls == []


def test_from_env_reads_the_spec_variables() -> None:
    channel = WhatsAppChannel.from_env({
        "WHATSAPP_TOKEN": "tok", "WHATSAPP_PHONE_NUMBER_ID": "42", "WHATSAPP_APP_SECRET": "s",
        "WHATSAPP_VERIFY_TOKEN": "v", "WHATSAPP_API_BASE_URL": "http://127.0.0.1:9/v20.0/",
        "WHATSAPP_TEMPLATE_REENGAGE": "hello_world",
        "WHATSAPP_TEMPLATE_REENGAGE_LANGUAGE": "en_US"})
    assert (channel.token, channel.phone_number_id, channel.app_secret, channel.verify_token) == (
        "tok", "42", "s", "v")
    assert channel.base_url == "http://127.0.0.1:9/v20.0"
    assert channel.templates == {"reengage": "hello_world", "reengage_language": "en_US"}
    bare = WhatsAppChannel.from_env({"WHATSAPP_TOKEN": "t", "WHATSAPP_PHONE_NUMBER_ID": "1"})
    assert bare.base_url == "https://graph.facebook.com/v20.0"
    assert bare.app_secret is None and bare.templates == {}
    with pytest.raises(ValueError):
        WhatsAppChannel.from_env({})


# -- errors ----------------------------------------------------------------------------------

async def test_429_is_retryable_with_retry_after(
        channel: WhatsAppChannel, whatsapp_api: FakeWhatsAppApi) -> None:
    whatsapp_api.fail_next(429, 1, retry_after="7")
    with pytest.raises(SendFailed) as failed:
        await channel.send(PHONE, Outbound(text="hi"))
    assert failed.value.retryable
    assert failed.value.retry_after == 7.0
    await channel.send(PHONE, Outbound(text="hi"))  # the next call goes through
    assert whatsapp_api.sent == [text_message("hi")]


@pytest.mark.parametrize("status", [500, 503])
async def test_5xx_is_retryable(
        channel: WhatsAppChannel, whatsapp_api: FakeWhatsAppApi, status: int) -> None:
    whatsapp_api.fail_next(status, 2)
    for _ in range(2):
        with pytest.raises(SendFailed) as failed:
            await channel.send(PHONE, Outbound(text="hi"))
        assert failed.value.retryable
        assert failed.value.retry_after is None


async def test_throttling_codes_are_retryable_even_as_400(
        channel: WhatsAppChannel, whatsapp_api: FakeWhatsAppApi) -> None:
    whatsapp_api.fail_next(
        400, code=131056,
        message="(#131056) (Business Account, Consumer Account) pair rate limit hit")
    with pytest.raises(SendFailed) as failed:
        await channel.send(PHONE, Outbound(text="hi"))
    assert failed.value.retryable


async def test_400_is_not_retryable_and_carries_metas_message(
        channel: WhatsAppChannel, whatsapp_api: FakeWhatsAppApi) -> None:
    whatsapp_api.fail_next(
        400, code=131030, message="(#131030) Recipient phone number not in allowed list",
        details="Recipient phone number not in allowed list: Add recipient phone number to "
                "recipient list and try again.")
    with pytest.raises(SendFailed) as failed:
        await channel.send(PHONE, Outbound(text="hi"))
    assert not failed.value.retryable
    assert "Recipient phone number not in allowed list" in str(failed.value)
    assert getattr(failed.value, "code", None) == 131030


async def test_a_wrong_token_is_not_retryable(whatsapp_api: FakeWhatsAppApi) -> None:
    channel = WhatsAppChannel("not-the-token", whatsapp_api.phone_number_id, None, None,
                              whatsapp_api.base_url, None)
    with pytest.raises(SendFailed) as failed:
        await channel.send(PHONE, Outbound(text="hi"))
    await channel.close()
    assert not failed.value.retryable
    assert "Invalid OAuth access token" in str(failed.value)
    assert whatsapp_api.calls[0].status == 401


async def test_an_unreachable_api_is_retryable() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    channel = WhatsAppChannel("t", "1", None, None, f"http://127.0.0.1:{port}/v20.0", None)
    with pytest.raises(SendFailed) as failed:
        await channel.send(PHONE, Outbound(text="hi"))
    await channel.close()
    assert failed.value.retryable


async def test_a_failure_midway_says_how_much_was_delivered(
        channel: WhatsAppChannel, whatsapp_api: FakeWhatsAppApi) -> None:
    text = ("a " * 2500).strip() + "\n\n" + ("b " * 2500).strip()
    whatsapp_api.fail_next(500, 1, after=1)
    with pytest.raises(SendFailed) as failed:
        await channel.send(PHONE, Outbound(text=text))
    assert failed.value.retryable
    assert getattr(failed.value, "delivered", None) == 1
    assert [c.status for c in whatsapp_api.calls] == [200, 500]


async def test_phone_numbers_never_reach_the_logs(
        channel: WhatsAppChannel, whatsapp_api: FakeWhatsAppApi,
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    body = envelope([message("text", {"body": "hello"}),
                     message("unknown_kind", {}, wamid="wamid.Z")])
    channel.parse({"X-Hub-Signature-256": sign(body)}, body)
    buttons = tuple(Button(f"b{i}", f"/b{i}") for i in range(12))
    await channel.send(PHONE, Outbound(text="hi", buttons=buttons))
    whatsapp_api.fail_next(400, code=131026, message="(#131026) Message undeliverable",
                           details="Unable to deliver the message to +{to}")
    with pytest.raises(SendFailed) as failed:
        await channel.send(PHONE, Outbound(text="hi"))
    whatsapp_api.fail_next(429, retry_after="3")
    with pytest.raises(SendFailed):
        await channel.send(PHONE, Outbound(text="hi"), window_open=False)
    assert PHONE not in str(failed.value)
    assert "Message undeliverable" in str(failed.value)
    assert caplog.records, "the adapter and httpx log something at DEBUG"
    for record in caplog.records:
        assert PHONE not in record.getMessage()
        assert PHONE[3:] not in record.getMessage()


# -- pure helpers ----------------------------------------------------------------------------

@pytest.mark.parametrize(("title", "limit", "short"), [
    ("Health", 20, "Health"),
    ("Psychological support", 20, "Psychological…"),
    ("Pravna pomoć i azil", 20, "Pravna pomoć i azil"),
    ("Supercalifragilisticexpialidocious", 20, "Supercalifragilisti…"),
    ("  Talk\nto   a person ", 20, "Talk to a person"),
    ("الدعم النفسي والاجتماعي", 20, "الدعم النفسي…"),
    ("\u2066Info Park Beograd\u2069", 12, "\u2066Info Park\u2069…"),
])
def test_shorten(title: str, limit: int, short: str) -> None:
    assert shorten(title, limit) == short
    assert len(shorten(title, limit)) <= limit


def test_split_text_never_cuts_inside_a_word_or_an_isolate() -> None:
    text = "Adresa: \u2066Karađorđeva 2\u2069 Šid"
    assert split_text(text, 20) == ["Adresa:", "\u2066Karađorđeva 2\u2069 Šid"]
    assert split_text("a\n" + "b" * 12 + "\n\n" + "c" * 5, 16) == ["a\n" + "b" * 12, "c" * 5]
    assert split_text("abc " * 3 + "x" * 30, 10) == ["abc abc", "abc", "x" * 10, "x" * 10, "x" * 10]
