"""The Telegram adapter against Bot API payloads and a fake Bot API server driven by real PTB."""

from __future__ import annotations

import asyncio
import copy
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest

from bot.channels.base import Button, Inbound, Outbound, SendFailed, WebhookRejected
from bot.channels.telegram import (
    MAX_TEXT,
    TelegramChannel,
    language_hint,
    poll_updates,
    split_text,
)
from bot.cli import main as cli_main
from tests.fakes.telegram_api import TOKEN, FakeTelegramAPI

# PTB itself warns while building a RetryAfter; the adapter reads it either way.
pytestmark = pytest.mark.filterwarnings("ignore:.*retry_after.*:DeprecationWarning")

SECRET = "s3cr3t-Token_for-tests"
USER = {"id": 111222333, "is_bot": False, "first_name": "Amir", "last_name": "Rahimi",
        "username": "amir_r", "language_code": "fa"}
CHAT = {"id": 111222333, "first_name": "Amir", "last_name": "Rahimi", "username": "amir_r",
        "type": "private"}
BOT = {"id": 123456789, "is_bot": True, "first_name": "Putokaz", "username": "putokaz_test_bot"}


def message_update(update_id: int = 10000, **content: Any) -> dict[str, Any]:
    """An Update with a `message`, shaped like https://core.telegram.org/bots/api#update."""
    return {"update_id": update_id,
            "message": {"message_id": 1365, "from": USER, "chat": CHAT, "date": 1718000000,
                        **content}}


TEXT = message_update(text="سلام، دکتر میخوام در بلگراد")
CALLBACK = {
    "update_id": 10001,
    "callback_query": {
        "id": "4382bfdwdsb323b2d9",
        "from": USER,
        "message": {"message_id": 1366, "from": BOT, "chat": CHAT, "date": 1718000005,
                    "text": "Which language?",
                    "reply_markup": {"inline_keyboard": [[
                        {"text": "دری", "callback_data": '/choose_language{"language":"fa"}'}]]}},
        "chat_instance": "-6612397163748493722",
        "data": '/choose_language{"language":"fa"}',
    },
}
LOCATION = message_update(10002, location={"latitude": 44.816, "longitude": 20.46})
VENUE = message_update(10003, location={"latitude": 45.1, "longitude": 19.2},
                       venue={"location": {"latitude": 45.1, "longitude": 19.2},
                              "title": "Asylum centre", "address": "Šid"})
VOICE = message_update(10004, voice={"file_id": "AwACAgIAAxkBAAIBZ2", "file_unique_id": "AgADZ2",
                                     "duration": 4, "mime_type": "audio/ogg", "file_size": 11520})
VIDEO_NOTE = message_update(10005, video_note={"file_id": "DQACAgIAAx", "file_unique_id": "AgADq",
                                               "length": 240, "duration": 3})
PHOTO = message_update(10006, caption="is this clinic open?", photo=[
    {"file_id": "AgACAgIAAxkBAAIBa2-small", "file_unique_id": "AQADs", "file_size": 1510,
     "width": 90, "height": 67},
    {"file_id": "AgACAgIAAxkBAAIBa2-big", "file_unique_id": "AQADb", "file_size": 61200,
     "width": 1280, "height": 960}])
DOCUMENT = message_update(10007, document={"file_id": "BQACAgIAAx", "file_unique_id": "AgADr",
                                           "file_name": "card.pdf", "mime_type": "application/pdf"})
STICKER = message_update(10008, sticker={"file_id": "CAACAgIAAx", "file_unique_id": "AgADs",
                                         "type": "regular", "width": 512, "height": 512,
                                         "is_animated": False, "is_video": False, "emoji": "👍"})
ANIMATION = message_update(10009,
                           animation={"file_id": "CgACAgQAAx", "file_unique_id": "AgADa",
                                      "width": 320, "height": 240, "duration": 2},
                           document={"file_id": "CgACAgQAAx", "file_unique_id": "AgADa"})
CONTACT = message_update(10010, contact={"phone_number": "+381601234567", "first_name": "Amir",
                                         "user_id": 111222333})
JOINED = message_update(10011, new_chat_members=[USER])
EDITED = {"update_id": 10012,
          "edited_message": {"message_id": 1365, "from": USER, "chat": CHAT, "date": 1718000000,
                             "edit_date": 1718000100, "text": "edited"}}
MY_CHAT_MEMBER = {
    "update_id": 10013,
    "my_chat_member": {
        "chat": CHAT, "from": USER, "date": 1718000200,
        "old_chat_member": {"user": BOT, "status": "member"},
        "new_chat_member": {"user": BOT, "status": "kicked", "until_date": 0},
    },
}
CHANNEL_POST = {"update_id": 10014,
                "channel_post": {"message_id": 5, "date": 1718000300, "text": "news",
                                 "chat": {"id": -1001234567890, "title": "News",
                                          "type": "channel"}}}
# A poll as before Bot API 9.6 (no `persistent_id`), which PTB 22.8 refuses to deserialise:
# ignored update types must not be parsed at all.
POLL = {"update_id": 10015,
        "poll": {"id": "5303424577787543553", "question": "?", "total_voter_count": 1,
                 "is_closed": False, "is_anonymous": True, "type": "regular",
                 "allows_multiple_answers": False,
                 "options": [{"text": "a", "voter_count": 1}, {"text": "b", "voter_count": 0}]}}


def body(update: dict[str, Any]) -> bytes:
    return json.dumps(update, ensure_ascii=False).encode("utf-8")


@pytest.fixture
async def channel(telegram_api: FakeTelegramAPI) -> AsyncIterator[TelegramChannel]:
    ch = TelegramChannel(TOKEN, None, telegram_api.base_url)
    yield ch
    await ch.close()


@pytest.fixture
def offline() -> TelegramChannel:
    """For parsing only: nothing is sent, so nothing needs closing."""
    return TelegramChannel(TOKEN, SECRET, "http://127.0.0.1:9/bot")


def only(channel: TelegramChannel, update: dict[str, Any]) -> Inbound:
    parsed = channel.parse({"X-Telegram-Bot-Api-Secret-Token": SECRET}, body(update))
    assert len(parsed.messages) == 1
    return parsed.messages[0]


# ------------------------------------------------------------------------------------ parsing

def test_text_message(offline: TelegramChannel) -> None:
    inbound = only(offline, TEXT)
    assert inbound == Inbound(channel="telegram", address="111222333", message_key="10000",
                              kind="text", text="سلام، دکتر میخوام در بلگراد", language_hint="fa",
                              sent_at=1718000000.0, display_name="Amir")


def test_button_press_gives_the_payload(offline: TelegramChannel) -> None:
    inbound = only(offline, CALLBACK)
    assert (inbound.kind, inbound.text, inbound.address, inbound.message_key) == (
        "button", '/choose_language{"language":"fa"}', "111222333", "10001")
    assert inbound.display_name == "Amir"


def test_button_on_an_inline_message_answers_the_user(offline: TelegramChannel) -> None:
    press = copy.deepcopy(CALLBACK)
    del press["callback_query"]["message"]
    press["callback_query"]["inline_message_id"] = "AAAAAAAAAAAAAAAAAAAA"
    assert only(offline, press).address == "111222333"


def test_location_and_venue(offline: TelegramChannel) -> None:
    loc = only(offline, LOCATION)
    assert (loc.kind, loc.latitude, loc.longitude) == ("location", 44.816, 20.46)
    venue = only(offline, VENUE)
    assert (venue.kind, venue.latitude, venue.longitude) == ("location", 45.1, 19.2)


@pytest.mark.parametrize(("update", "kind", "text"), [
    (VOICE, "voice", ""), (VIDEO_NOTE, "voice", ""), (PHOTO, "photo", "is this clinic open?"),
    (DOCUMENT, "photo", ""), (STICKER, "sticker", ""), (ANIMATION, "sticker", ""),
    (CONTACT, "unsupported", ""),
])
def test_media_kinds(offline: TelegramChannel, update: dict[str, Any], kind: str,
                     text: str) -> None:
    inbound = only(offline, update)
    assert (inbound.kind, inbound.text) == (kind, text)
    assert "+381" not in repr(inbound)  # a shared contact's phone number is not passed on


@pytest.mark.parametrize("update", [EDITED, MY_CHAT_MEMBER, CHANNEL_POST, POLL, JOINED])
def test_other_updates_are_acknowledged_and_ignored(offline: TelegramChannel,
                                                    update: dict[str, Any]) -> None:
    parsed = offline.parse({"x-telegram-bot-api-secret-token": SECRET}, body(update))
    assert parsed.messages == ()


def test_secret_header(offline: TelegramChannel) -> None:
    for headers in ({}, {"X-Telegram-Bot-Api-Secret-Token": "wrong"},
                    {"X-Telegram-Bot-Api-Secret-Token": SECRET + "x"}):
        with pytest.raises(WebhookRejected) as caught:
            offline.parse(headers, body(TEXT))
        assert caught.value.status == 403
    # header names are case-insensitive
    assert offline.parse({"X-TELEGRAM-BOT-API-SECRET-TOKEN": SECRET}, body(TEXT)).messages


def test_no_secret_configured_accepts_any_request() -> None:
    ch = TelegramChannel(TOKEN, None, None)
    assert ch.parse({}, body(TEXT)).messages[0].kind == "text"


@pytest.mark.parametrize("raw", [b"{not json", b"\xff\xfe", b"[1, 2]", b'"text"',
                                 b'{"message": {"text": "hi"}}', b'{"update_id": "7"}',
                                 b'{"update_id": 5, "message": {"message_id": 1, "date": 1}}',
                                 b'{"update_id": 5, "message": {"message_id": 1, "date": 1,'
                                 b' "text": "no chat"}}',
                                 b'{"update_id": 5, "message": {"text": "no date", '
                                 b'"chat": {"id": 1, "type": "private"}}}',
                                 b'{"update_id": 6, "callback_query": {"id": "1", "data": "/x",'
                                 b' "chat_instance": "1"}}'])
def test_malformed_bodies_are_400(offline: TelegramChannel, raw: bytes) -> None:
    with pytest.raises(WebhookRejected) as caught:
        offline.parse({"X-Telegram-Bot-Api-Secret-Token": SECRET}, raw)
    assert caught.value.status == 400


@pytest.mark.parametrize(("code", "hint"), [
    ("ar", "ar"), ("fa", "fa"), ("ps", "ps"), ("en", "en"), ("en-US", "en"), ("sr", "sr"),
    ("sr-Latn", "sr"), ("sr_Cyrl", "sr"), ("SR-latn-RS", "sr"), ("prs", "fa"), ("de", "de"),
    ("pt-br", "pt-br"), ("", None), (None, None),
])
def test_language_hint(code: str | None, hint: str | None) -> None:
    assert language_hint(code) == hint


def test_language_hint_from_the_update(offline: TelegramChannel) -> None:
    update = copy.deepcopy(TEXT)
    update["message"]["from"]["language_code"] = "sr-Latn"
    assert only(offline, update).language_hint == "sr"
    del update["message"]["from"]["language_code"]
    assert only(offline, update).language_hint is None


# ------------------------------------------------------------------------------- splitting

def test_short_text_is_one_part() -> None:
    assert split_text("  Zdravo!  ") == ["Zdravo!"]
    assert split_text("   ") == []


def test_split_prefers_paragraphs_then_lines_then_words() -> None:
    paragraph = " ".join(["بلگراد"] * 300)  # 2,099 characters
    text = "\n\n".join([paragraph] * 5)
    parts = split_text(text)
    assert all(len(p) <= MAX_TEXT for p in parts)
    assert parts == [paragraph] * 5  # two paragraphs would be 4,200: each goes alone
    lines = "\n".join(f"{n}. Centar za azil, Obrenovac, +381 11 123 4567" for n in range(300))
    parts = split_text(lines)
    assert len(parts) > 1 and all(len(p) <= MAX_TEXT for p in parts)
    assert "\n".join(parts) == lines  # cut only at line ends


def test_split_never_cuts_a_word() -> None:
    words = [f"word{n}" + "x" * (n % 13) for n in range(3000)]
    text = " ".join(words)
    parts = split_text(text)
    assert len(parts) > 1
    assert all(len(p) <= MAX_TEXT for p in parts)
    assert [w for p in parts for w in p.split()] == words


def test_split_counts_utf16_units_and_cuts_only_overlong_words() -> None:
    emoji = "🏥 " * 3000  # each emoji is two UTF-16 units
    parts = split_text(emoji)
    assert all(len(p.encode("utf-16-le")) // 2 <= MAX_TEXT for p in parts)
    assert "".join(parts).replace(" ", "") == "🏥" * 3000
    url = "https://example.org/" + "a" * 5000
    parts = split_text(f"see {url} now")
    assert all(len(p) <= MAX_TEXT for p in parts)
    assert "".join(parts).replace(" ", "") == f"see{url}now"


# ---------------------------------------------------------------------------------- sending

async def test_send_text_with_buttons(channel: TelegramChannel,
                                      telegram_api: FakeTelegramAPI) -> None:
    message = Outbound(text="Which service do you need?", buttons=(
        Button("Doctor", "/ask_service{\"service_category\":\"health\"}"),
        Button("Lawyer", "/ask_service{\"service_category\":\"legal_aid\"}"),
        Button("Food", "/ask_service{\"service_category\":\"food\"}"),
    ))
    await channel.send("111222333", message)
    [call] = telegram_api.calls
    assert call.method == "sendMessage"
    assert call.status == 200
    assert call.raw["chat_id"] == "111222333"
    assert call.params["text"] == "Which service do you need?"
    assert call.params["reply_markup"] == {"inline_keyboard": [
        [{"text": "Doctor", "callback_data": '/ask_service{"service_category":"health"}'},
         {"text": "Lawyer", "callback_data": '/ask_service{"service_category":"legal_aid"}'}],
        [{"text": "Food", "callback_data": '/ask_service{"service_category":"food"}'}],
    ]}


async def test_long_titles_go_one_per_row(channel: TelegramChannel,
                                          telegram_api: FakeTelegramAPI) -> None:
    await channel.send("111222333", Outbound(text="خدمات", buttons=(
        Button("مرکز پناهندگی در ابرنواتس", "/a"), Button("مشاوره حقوقی رایگان", "/b"))))
    rows = telegram_api.calls[0].params["reply_markup"]["inline_keyboard"]
    assert [len(r) for r in rows] == [1, 1]


async def test_long_payloads_get_a_short_key_that_parses_back(
        channel: TelegramChannel, telegram_api: FakeTelegramAPI) -> None:
    long_payload = '/ask_service{"service_category":"women_protection","city":"bela_palanka"}'
    assert len(long_payload.encode()) > 64
    await channel.send("111222333", Outbound(text="?", buttons=(Button("Help", long_payload),)))
    data = telegram_api.calls[0].params["reply_markup"]["inline_keyboard"][0][0]["callback_data"]
    assert len(data.encode()) <= 64 and data != long_payload
    press = copy.deepcopy(CALLBACK)
    press["callback_query"]["data"] = data
    inbound = channel.parse({}, body(press))
    assert (inbound.messages[0].kind, inbound.messages[0].text) == ("button", long_payload)
    # an unknown key (the process restarted since) is not passed on as if it were a payload
    press["callback_query"]["data"] = "~p:000000000000000000000000"
    assert channel.parse({}, body(press)).messages[0].kind == "unsupported"


async def test_long_text_is_split_with_buttons_on_the_last_part(
        channel: TelegramChannel, telegram_api: FakeTelegramAPI) -> None:
    text = "\n\n".join(f"{n}. " + "Crveni krst Srbije, Simina 19, Beograd. " * 40
                       for n in range(8))
    await channel.send("111222333", Outbound(text=text, buttons=(Button("Više", "/more"),)))
    calls = telegram_api.calls_to("sendMessage")
    assert len(calls) > 1
    assert all(c.status == 200 and len(c.params["text"]) <= MAX_TEXT for c in calls)
    assert [w for c in calls for w in c.params["text"].split()] == text.split()
    assert ["reply_markup" in c.params for c in calls] == [False] * (len(calls) - 1) + [True]


async def test_location_is_sent_as_a_venue_after_the_text(
        channel: TelegramChannel, telegram_api: FakeTelegramAPI) -> None:
    await channel.send("-100200300", Outbound(
        text="Asylum centre Obrenovac", location=(44.6549, 20.2003, "Centar za azil Obrenovac")))
    assert [c.method for c in telegram_api.calls] == ["sendMessage", "sendVenue"]
    venue = telegram_api.calls[1].params
    assert (venue["chat_id"], venue["latitude"], venue["longitude"], venue["title"]) == (
        "-100200300", "44.6549", "20.2003", "Centar za azil Obrenovac")
    assert venue["address"] == "44.654900, 20.200300"
    await channel.send("-100200300", Outbound(text="", location=(44.6549, 20.2003, "")))
    assert telegram_api.calls[-1].method == "sendLocation"


async def test_429_is_retryable_with_retry_after(channel: TelegramChannel,
                                                 telegram_api: FakeTelegramAPI) -> None:
    telegram_api.fail_next(429)
    with pytest.raises(SendFailed) as caught:
        await channel.send("111222333", Outbound(text="hello"))
    assert caught.value.retryable is True
    assert caught.value.retry_after == 1.0
    await channel.send("111222333", Outbound(text="hello"))  # the retry goes through
    assert [c.status for c in telegram_api.calls] == [429, 200]


@pytest.mark.parametrize(("status", "retryable"), [(500, True), (502, True), (403, False),
                                                   (400, False)])
async def test_error_statuses(channel: TelegramChannel, telegram_api: FakeTelegramAPI,
                              status: int, retryable: bool) -> None:
    telegram_api.fail_next(status)
    with pytest.raises(SendFailed) as caught:
        await channel.send("111222333", Outbound(text="hello"))
    assert caught.value.retryable is retryable
    assert caught.value.retry_after is None


async def test_unreachable_server_is_retryable() -> None:
    ch = TelegramChannel(TOKEN, None, "http://127.0.0.1:9/bot")
    try:
        with pytest.raises(SendFailed) as caught:
            await ch.send("111222333", Outbound(text="hello"))
        assert caught.value.retryable is True
    finally:
        await ch.close()


async def test_retry_after_a_partial_send_resumes(channel: TelegramChannel,
                                                  telegram_api: FakeTelegramAPI) -> None:
    message = Outbound(text="\n\n".join(["Lorem ipsum dolor sit amet. " * 100] * 3))
    telegram_api.fail_next(500, method="sendMessage", after=1)
    with pytest.raises(SendFailed) as caught:
        await channel.send("111222333", message)
    assert caught.value.retryable and caught.value.delivered == 1
    await channel.send("111222333", message, resume_from=caught.value.delivered)
    delivered = [c.params["text"] for c in telegram_api.calls_to("sendMessage") if c.status == 200]
    assert delivered == split_text(message.text)  # each part exactly once, in order


async def test_acknowledge_answers_the_callback_once(channel: TelegramChannel,
                                                     telegram_api: FakeTelegramAPI) -> None:
    [press] = channel.parse({}, body(CALLBACK)).messages
    assert await channel.acknowledge(press) is True
    assert await channel.acknowledge(press) is False
    [text] = channel.parse({}, body(TEXT)).messages
    assert await channel.acknowledge(text) is False
    calls = telegram_api.calls_to("answerCallbackQuery")
    assert [c.params["callback_query_id"] for c in calls] == ["4382bfdwdsb323b2d9"]


async def test_close_then_send_again(channel: TelegramChannel,
                                     telegram_api: FakeTelegramAPI) -> None:
    await channel.send("1", Outbound(text="a"))
    await channel.close()
    await channel.close()
    await channel.send("1", Outbound(text="b"))
    assert [c.params["text"] for c in telegram_api.calls] == ["a", "b"]


async def test_webhook_management(channel: TelegramChannel,
                                  telegram_api: FakeTelegramAPI) -> None:
    assert await channel.set_webhook("https://putokaz.example/webhooks/telegram", SECRET)
    call = telegram_api.calls[-1]
    assert call.method == "setWebhook"
    assert call.params["url"] == "https://putokaz.example/webhooks/telegram"
    assert call.params["secret_token"] == SECRET
    assert call.params["allowed_updates"] == ["message", "callback_query"]
    info = await channel.webhook_info()
    assert info["url"] == "https://putokaz.example/webhooks/telegram"
    assert await channel.delete_webhook()
    assert telegram_api.webhook["url"] == ""


# ---------------------------------------------------------------------------- long polling

async def run_polling(channel: TelegramChannel, handle: Any, until: Any) -> None:
    stop = asyncio.Event()
    task = asyncio.create_task(poll_updates(channel, handle, stop, timeout=1, min_backoff=0.05))
    for _ in range(200):
        if until():
            break
        await asyncio.sleep(0.025)
    stop.set()
    await asyncio.wait_for(task, 5)


async def test_polling_handles_each_update_once_in_order(
        channel: TelegramChannel, telegram_api: FakeTelegramAPI) -> None:
    updates = [message_update(20000 + n, text=f"poruka {n}") for n in (0, 1, 2, 4, 5)]
    press = copy.deepcopy(CALLBACK)
    press["update_id"] = 20006
    telegram_api.queue_updates([*updates[:3], EDITED | {"update_id": 20003}])
    handled: list[Inbound] = []

    async def handle(inbound: Inbound) -> None:
        handled.append(inbound)
        if len(handled) == 3:  # more arrive while the first batch is being handled
            telegram_api.queue_updates([*updates[3:], press])

    await run_polling(channel, handle, lambda: len(handled) >= 6)
    assert [i.message_key for i in handled] == [str(20000 + n) for n in (0, 1, 2, 4, 5, 6)]
    assert handled[-1].kind == "button"
    assert telegram_api.pending_updates == []  # all confirmed when polling stopped
    assert len(telegram_api.calls_to("answerCallbackQuery")) == 1
    assert all(c.params["allowed_updates"] == ["message", "callback_query"]
               for c in telegram_api.calls_to("getUpdates"))


async def test_polling_retries_a_failed_handle_without_losing_or_repeating(
        channel: TelegramChannel, telegram_api: FakeTelegramAPI) -> None:
    telegram_api.queue_updates([message_update(30000 + n, text=str(n)) for n in range(4)])
    telegram_api.fail_next(500, method="getUpdates")
    handled: list[str] = []
    failures = {"30002": 2}

    async def handle(inbound: Inbound) -> None:
        if failures.get(inbound.message_key, 0) > 0:
            failures[inbound.message_key] -= 1
            raise RuntimeError("storage is down")
        handled.append(inbound.message_key)

    await run_polling(channel, handle, lambda: len(handled) >= 4)
    assert handled == ["30000", "30001", "30002", "30003"]
    assert telegram_api.pending_updates == []


async def test_polling_stops_promptly_while_waiting(channel: TelegramChannel,
                                                    telegram_api: FakeTelegramAPI) -> None:
    stop = asyncio.Event()

    async def handle(inbound: Inbound) -> None:
        raise AssertionError("nothing was queued")

    task = asyncio.create_task(poll_updates(channel, handle, stop, timeout=30))
    await asyncio.sleep(0.3)
    stop.set()
    await asyncio.wait_for(task, 2)
    assert telegram_api.calls_to("getUpdates")


async def test_polling_while_a_webhook_is_set_backs_off(channel: TelegramChannel,
                                                        telegram_api: FakeTelegramAPI) -> None:
    await channel.set_webhook("https://putokaz.example/webhooks/telegram", None)
    telegram_api.queue_updates([message_update(40000, text="hi")])
    handled: list[Inbound] = []

    async def handle(inbound: Inbound) -> None:
        handled.append(inbound)

    await run_polling(channel, handle, lambda: len(telegram_api.calls_to("getUpdates")) >= 3)
    assert handled == []
    assert {c.status for c in telegram_api.calls_to("getUpdates")} == {409}
    assert len(telegram_api.pending_updates) == 1  # still waiting for the webhook


# ------------------------------------------------------------------------------------- CLI

def test_cli_set_webhook(telegram_api: FakeTelegramAPI, monkeypatch: pytest.MonkeyPatch,
                         capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", TOKEN)
    monkeypatch.setenv("TELEGRAM_WEBHOOK_SECRET", SECRET)
    monkeypatch.setenv("TELEGRAM_API_BASE_URL", telegram_api.base_url)
    url = "https://putokaz.example/webhooks/telegram"
    assert cli_main(["telegram", "set-webhook", url]) == 0
    assert telegram_api.calls[-1].params["secret_token"] == SECRET
    assert telegram_api.webhook["url"] == url
    assert SECRET not in capsys.readouterr().out
    assert cli_main(["telegram", "delete-webhook"]) == 0
    assert telegram_api.webhook["url"] == ""


@pytest.mark.parametrize(("env", "missing"), [
    ({}, "TELEGRAM_BOT_TOKEN"),
    ({"TELEGRAM_BOT_TOKEN": TOKEN}, "TELEGRAM_WEBHOOK_SECRET"),
])
def test_cli_names_the_missing_variable(monkeypatch: pytest.MonkeyPatch,
                                        capsys: pytest.CaptureFixture[str],
                                        env: dict[str, str], missing: str) -> None:
    for name in ("TELEGRAM_BOT_TOKEN", "TELEGRAM_WEBHOOK_SECRET", "TELEGRAM_API_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert cli_main(["telegram", "set-webhook", "https://putokaz.example/webhooks/telegram"]) == 2
    assert missing in capsys.readouterr().err


def test_cli_reports_telegram_refusing(telegram_api: FakeTelegramAPI,
                                       monkeypatch: pytest.MonkeyPatch,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "999:wrong-token")
    monkeypatch.delenv("TELEGRAM_WEBHOOK_SECRET", raising=False)
    monkeypatch.setenv("TELEGRAM_API_BASE_URL", telegram_api.base_url)
    assert cli_main(["telegram", "webhook-info"]) == 1
    assert "Telegram refused" in capsys.readouterr().err
