"""The outbox on SQLite and PostgreSQL: every outgoing message is kept until its channel takes it, in order,
retried after 429/5xx (also by a new gateway after a restart), failed for good on 403/Meta's permanent errors."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from sqlalchemy import select, update
from sqlalchemy.engine import Engine

from bot.channels.base import Button, Channel, Inbound, Outbound
from bot.channels.telegram import TelegramChannel
from bot.channels.telegram import split_text as telegram_split
from bot.channels.twilio import TwilioChannel
from bot.channels.twilio import render as twilio_render
from bot.channels.whatsapp import TEXT_LIMIT as WHATSAPP_TEXT_LIMIT
from bot.channels.whatsapp import WhatsAppChannel
from bot.channels.whatsapp import split_text as whatsapp_split
from bot.gateway import tables as t
from bot.gateway.kv import MemoryKV
from bot.gateway.outbox import Outbox, Settled
from bot.gateway.pipeline import Gateway
from bot.gateway.rasa_client import RasaClient
from bot.gateway.store import Conversation, Store
from bot.handoff.service import HandoffService
from bot.settings import Settings

# PTB itself warns while building a RetryAfter; the adapter reads it either way.
pytestmark = pytest.mark.filterwarnings("ignore:.*retry_after.*:DeprecationWarning")

CHAT = "424242"
WA_ID = "381601234567"


def make_gateway(engine: Engine, channels: dict[str, Channel], retry_seconds: float = 0.2) -> Gateway:
    """A gateway as create_app builds one, without the web server (no Rasa: these tests only send)."""
    settings = dataclasses.replace(Settings(), retry_seconds=retry_seconds)
    return Gateway(settings, Store(engine), HandoffService(engine), MemoryKV(), RasaClient(("http://127.0.0.1:9",)),
                   channels)


def telegram(api: Any) -> TelegramChannel:
    return TelegramChannel(api.token, base_url=api.base_url)


def whatsapp(api: Any) -> WhatsAppChannel:
    return WhatsAppChannel(api.token, api.phone_number_id, base_url=api.base_url)


def twilio(api: Any) -> TwilioChannel:
    return TwilioChannel(api.account_sid, api.auth_token, "+15005550006", api.base_url)


def conversation(gateway: Gateway, channel: str = "telegram", address: str = CHAT) -> Conversation:
    found, _ = gateway.store.conversation_for(channel, address)
    gateway.store.update_conversation(found.id, last_inbound_at=dt.datetime.now(dt.timezone.utc), language="en")
    return gateway.store.conversation(found.id)  # type: ignore[return-value]


def rows(engine: Engine) -> list[Any]:
    with engine.connect() as conn:
        return list(conn.execute(select(t.outbox).order_by(t.outbox.c.id)).all())


async def until(check: Callable[[], Any], timeout: float = 15.0) -> Any:
    deadline = asyncio.get_running_loop().time() + timeout
    while asyncio.get_running_loop().time() < deadline:
        value = check()
        if value:
            return value
        await asyncio.sleep(0.05)
    raise AssertionError("timed out waiting")


def texts_sent(api: Any) -> list[str]:
    return [c.params["text"] for c in api.calls_to("sendMessage") if c.status == 200]


def run(main: Callable[[], Awaitable[None]]) -> None:
    asyncio.run(main())


# --- the records -------------------------------------------------------------------------------------------
def test_rows_go_oldest_first_and_wait_behind_one_that_waits_for_a_retry(engine: Engine) -> None:
    store = Store(engine)
    outbox = Outbox(store)
    talk, _ = store.conversation_for("telegram", CHAT)
    (first, second), _, recorded = outbox.record(talk.id, [("bot", Outbound("one"), None, "x"),
                                                           ("bot", Outbound("two"), None, None)])
    _, batch = outbox.batch(talk.id)
    assert [r.outbound.text for r in batch] == [r.outbound.text for r in recorded] == ["one", "two"]
    later = dt.datetime.now(dt.timezone.utc) + dt.timedelta(minutes=5)
    outbox.settle([Settled(first, "pending", error="HTTP 500", retry_at=later)])
    assert outbox.batch(talk.id)[1] == [], "the second message overtook the first"
    assert outbox.due() == []
    outbox.settle([Settled(second, "sent", channel_message_id="77")])
    with engine.begin() as conn:
        conn.execute(update(t.outbox).where(t.outbox.c.id == first).values(next_attempt_at=None))
    assert outbox.due() == [talk.id]
    assert [r.id for r in outbox.batch(talk.id)[1]] == [first]
    transcript = store.transcript(talk.id)
    assert [m["text"] for m in transcript] == ["one", "two"]
    outbox.annotate(talk.id, transcript)
    assert [m["delivery"] for m in transcript] == ["pending", "sent"]


def test_marking_is_idempotent_and_erasure_removes_the_outbox(engine: Engine) -> None:
    store = Store(engine)
    outbox = Outbox(store)
    talk, _ = store.conversation_for("telegram", CHAT)
    [row], _, _ = outbox.record(talk.id, [("system", Outbound("notice"), None, None)])
    outbox.settle([Settled(row, "failed", error="Forbidden: bot was blocked by the user")])
    outbox.settle([Settled(row, "sent", channel_message_id="5")])  # a late duplicate marking changes nothing
    [kept] = rows(engine)
    assert (kept.status, kept.error, kept.channel_message_id) == ("failed", "Forbidden: bot was blocked by the user",
                                                                  None)
    store.erase(talk.id)
    assert rows(engine) == []


def test_rows_another_process_is_sending_wait_until_its_lease_runs_out(engine: Engine,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    from bot.gateway import outbox

    store = Store(engine)
    crashed, restarted = Outbox(store, lease_seconds=60), Outbox(store)
    talk, _ = store.conversation_for("telegram", CHAT)
    assert [r.outbound.text for r in crashed.record(talk.id, [("bot", Outbound("hello"), None, None)])[2]] == ["hello"]
    assert restarted.due() == [] and restarted.batch(talk.id)[1] == []
    real_now = outbox.now
    monkeypatch.setattr(outbox, "now", lambda: real_now() + dt.timedelta(seconds=61))  # the lease has run out
    assert restarted.due() == [talk.id]
    [taken] = restarted.batch(talk.id)[1]
    assert taken.outbound == Outbound("hello")
    assert crashed.batch(talk.id)[1] == [], "two processes hold the same row"


# --- through the gateway, its channels and the fake APIs ---------------------------------------------------
def test_telegram_429_and_500_are_retried_in_order_and_each_goes_once(engine: Engine, telegram_api: Any) -> None:
    async def main() -> None:
        gateway = make_gateway(engine, {"telegram": telegram(telegram_api)})
        talk = conversation(gateway)
        telegram_api.fail_next(429, 1, method="sendMessage")
        telegram_api.fail_next(500, 1, method="sendMessage")
        assert await gateway.deliver(talk, Outbound("first"), "counsellor", "amira")  # queued for a retry
        await gateway.deliver(talk, Outbound("second", (Button("Yes", "/affirm"),)), "bot")
        assert texts_sent(telegram_api) == []  # the second waits behind the first
        await until(lambda: len(texts_sent(telegram_api)) == 2)
        await gateway.idle()
        await asyncio.sleep(0.5)  # no late duplicates from timers or the background job
        await gateway.deliver_due()
        await gateway.idle()
        assert texts_sent(telegram_api) == ["first", "second"]
        assert [c.status for c in telegram_api.calls_to("sendMessage")] == [429, 500, 200, 200]
        sent = rows(engine)
        assert [r.status for r in sent] == ["sent", "sent"]
        assert sent[0].attempts == 2 and sent[0].channel_message_id.isdigit()
        gateway.courier.close()
        await gateway.channels["telegram"].close()

    run(main)


def test_telegram_403_is_not_retried_and_shows_as_not_delivered(engine: Engine, telegram_api: Any) -> None:
    async def main() -> None:
        gateway = make_gateway(engine, {"telegram": telegram(telegram_api)})
        talk = conversation(gateway)
        telegram_api.fail_next(403, 1, method="sendMessage")
        assert await gateway.deliver(talk, Outbound("are you there?"), "counsellor", "amira") is False
        assert await gateway.deliver(talk, Outbound("still here"), "counsellor", "amira")
        await asyncio.sleep(0.5)
        await gateway.deliver_due()
        await gateway.idle()
        assert [c.status for c in telegram_api.calls_to("sendMessage")] == [403, 200]
        transcript = gateway.store.transcript(talk.id)
        gateway.courier.outbox.annotate(talk.id, transcript)
        assert [(m["delivery"], m["delivery_error"]) for m in transcript] == [
            ("not delivered", "Forbidden: bot was blocked by the user"), ("sent", None)]
        await gateway.channels["telegram"].close()

    run(main)


def test_whatsapp_500_is_retried_and_a_permanent_meta_error_is_not(engine: Engine, whatsapp_api: Any) -> None:
    async def main() -> None:
        gateway = make_gateway(engine, {"whatsapp": whatsapp(whatsapp_api)})
        talk = conversation(gateway, "whatsapp", WA_ID)
        whatsapp_api.fail_next(500, 1)
        whatsapp_api.fail_next(400, 1, code=131026, message="(#131026) Message undeliverable")
        await gateway.deliver(talk, Outbound("first"), "bot")
        await gateway.deliver(talk, Outbound("second"), "bot")
        await until(lambda: len(whatsapp_api.calls) == 3)
        await gateway.idle()
        assert [c.status for c in whatsapp_api.calls] == [500, 400, 200]
        assert [c.json["text"]["body"] for c in whatsapp_api.calls] == ["first", "first", "second"]
        first, second = rows(engine)
        assert first.status == "failed" and "131026" not in (first.channel_message_id or "")
        assert "Message undeliverable" in first.error
        assert second.status == "sent" and second.channel_message_id.startswith("wamid.")
        gateway.courier.close()
        await gateway.channels["whatsapp"].close()

    run(main)


def test_a_new_gateway_delivers_what_a_stopped_one_left_pending(engine: Engine, telegram_api: Any) -> None:
    async def main() -> None:
        before = make_gateway(engine, {"telegram": telegram(telegram_api)}, retry_seconds=0.3)
        talk = conversation(before)
        telegram_api.fail_next(502, 1, method="sendMessage")
        await before.deliver(talk, Outbound("after the outage"), "bot")
        before.courier.close()  # stopped before its retry
        before.courier.outbox.record(talk.id, [("bot", Outbound("never tried"), None, None)])  # died right here
        with engine.begin() as conn:  # its lease on that one runs out soon
            conn.execute(update(t.outbox).where(t.outbox.c.status == "pending").values(
                lease_until=dt.datetime.now(dt.timezone.utc) + dt.timedelta(seconds=0.5)))
        await before.channels["telegram"].close()

        after = make_gateway(engine, {"telegram": telegram(telegram_api)})
        assert after.courier.outbox.owner != before.courier.outbox.owner
        await after.deliver_due()  # as at start: nothing is due yet
        await after.idle()
        assert texts_sent(telegram_api) == []
        await asyncio.sleep(0.6)
        await after.deliver_due()  # the background job
        await after.idle()
        assert texts_sent(telegram_api) == ["after the outage", "never tried"]
        assert [r.status for r in rows(engine)] == ["sent", "sent"]
        await after.deliver_due()
        await after.idle()
        assert len(texts_sent(telegram_api)) == 2
        await after.channels["telegram"].close()

    run(main)


# A text long enough for several messages on every channel (Telegram and WhatsApp take 4,096 characters,
# Twilio 1,600), each paragraph numbered.
LONG = "\n\n".join(f"Part {n}. " + "Information about services. " * 140 for n in range(1, 4))


def bodies(name: str, api: Any) -> list[str]:
    if name == "telegram":
        return texts_sent(api)
    if name == "whatsapp":
        return [c.json["text"]["body"] for c in api.calls if c.status == 200 and c.json.get("type") == "text"]
    return [form["Body"] for form in api.sent if "Body" in form]


def parts(name: str, text: str) -> list[str]:
    """What the channel's adapter makes of the text."""
    if name == "telegram":
        return telegram_split(text)
    if name == "whatsapp":
        return whatsapp_split(text, WHATSAPP_TEXT_LIMIT)
    return twilio_render(Outbound(text))


@pytest.mark.parametrize("name", ["telegram", "whatsapp", "twilio"])
def test_a_split_message_that_failed_half_way_is_resumed_by_a_new_gateway_without_repeating_a_part(
        engine: Engine, name: str, request: pytest.FixtureRequest) -> None:
    api = request.getfixturevalue(f"{name}_api")
    make = {"telegram": telegram, "whatsapp": whatsapp, "twilio": twilio}[name]
    address = {"telegram": CHAT, "whatsapp": WA_ID, "twilio": f"whatsapp:+{WA_ID}"}[name]
    expected = parts(name, LONG)
    assert len(expected) >= 3

    async def main() -> None:
        before = make_gateway(engine, {name: make(api)}, retry_seconds=0.3)
        talk = conversation(before, name, address)
        if name == "telegram":
            api.fail_next(502, 1, method="sendMessage", after=2)
        else:
            api.fail_next(502, 1, after=2)
        assert await before.deliver(talk, Outbound(LONG), "bot") is True  # recorded: it waits for its retry
        before.courier.close()  # the gateway stops before the retry
        await before.channels[name].close()
        assert bodies(name, api) == expected[:2]
        [row] = rows(engine)
        assert (row.status, row.parts_sent, row.attempts) == ("pending", 2, 1)

        after = make_gateway(engine, {name: make(api)})
        with engine.begin() as conn:  # the stopped gateway's lease and retry time have run out
            conn.execute(update(t.outbox).values(lease_until=None, next_attempt_at=None))
        await after.deliver_due()
        await after.idle()
        assert bodies(name, api) == expected  # each part once, in order
        [row] = rows(engine)
        assert row.status == "sent"
        after.courier.close()
        await after.channels[name].close()

    run(main)


# --- WhatsApp's 24-hour window -----------------------------------------------------------------------------
def quiet_for(gateway: Gateway, conversation_id: str, hours: float, language: str = "ar") -> Conversation:
    """The person last wrote `hours` ago."""
    gateway.store.update_conversation(conversation_id, language=language, last_inbound_at=dt.datetime.now(
        dt.timezone.utc) - dt.timedelta(hours=hours))
    return gateway.store.conversation(conversation_id)  # type: ignore[return-value]


def delivery(gateway: Gateway, conversation_id: str) -> list[tuple[str, Any]]:
    transcript = gateway.store.transcript(conversation_id)
    gateway.courier.outbox.annotate(conversation_id, transcript)
    return [(m["text"], m["delivery"]) for m in transcript]


@pytest.mark.parametrize("name", ["whatsapp", "twilio"])
def test_a_closed_window_holds_the_messages_sends_one_template_and_delivers_them_when_the_person_writes(
        engine: Engine, name: str, request: pytest.FixtureRequest) -> None:
    api = request.getfixturevalue(f"{name}_api")
    content = {"ar": "HX" + "a" * 32, "en": "HX" + "e" * 32}
    make = (lambda a: WhatsAppChannel(a.token, a.phone_number_id, base_url=a.base_url,
                                      templates={"reengage": "putokaz_reengage"})) if name == "whatsapp" else (
        lambda a: TwilioChannel(a.account_sid, a.auth_token, "+15005550006", a.base_url, None, content))
    address = WA_ID if name == "whatsapp" else f"whatsapp:+{WA_ID}"

    def templates() -> list[Any]:
        if name == "whatsapp":
            return [c.json["template"]["language"]["code"] for c in api.calls if c.json.get("type") == "template"]
        return [form["ContentSid"] for form in api.sent if "ContentSid" in form]

    async def main() -> None:
        gateway = make_gateway(engine, {name: make(api)})
        talk = quiet_for(gateway, conversation(gateway, name, address).id, hours=30)
        assert await gateway.deliver(talk, Outbound("Your appointment is on Monday at 10."), "counsellor", "amira")
        talk = gateway.store.conversation(talk.id)
        assert await gateway.deliver(talk, Outbound("Bring your papers."), "counsellor", "amira")
        await gateway.idle()
        assert templates() == (["ar"] if name == "whatsapp" else [content["ar"]])  # once, in their language
        assert bodies(name, api) == []  # nothing free-form outside the window
        assert delivery(gateway, talk.id) == [("Your appointment is on Monday at 10.", "held"),
                                              ("Bring your papers.", "held")]
        await gateway.deliver_due()  # the background job does not send them either
        await gateway.idle()
        assert bodies(name, api) == [] and len(templates()) == 1

        await gateway.receive(Inbound(name, address, "in-1", "text", "ok"))  # the person writes again
        await until(lambda: len(bodies(name, api)) >= 2)
        await gateway.idle()
        assert bodies(name, api)[:2] == ["Your appointment is on Monday at 10.", "Bring your papers."]
        assert [d for _, d in delivery(gateway, talk.id)[:2]] == ["sent", "sent"]
        assert len(templates()) == 1
        gateway.courier.close()
        await gateway.channels[name].close()

    run(main)


def test_held_messages_give_up_after_a_week_and_without_a_template_fail_at_once(engine: Engine,
                                                                                   twilio_api: Any) -> None:
    async def main() -> None:
        gateway = make_gateway(engine, {"twilio": twilio(twilio_api)})  # no content template configured
        talk = quiet_for(gateway, conversation(gateway, "twilio", f"whatsapp:+{WA_ID}").id, hours=25)
        assert await gateway.deliver(talk, Outbound("are you still there?"), "counsellor", "amira") is False
        [(_, state)] = delivery(gateway, talk.id)
        assert state == "not delivered" and twilio_api.calls == []
        assert "TWILIO_REENGAGE_CONTENT" in rows(engine)[0].error

        gateway.channels["twilio"].reengage_content = {"": "HX" + "0" * 32}
        assert await gateway.deliver(talk, Outbound("one more try"), "counsellor", "amira")
        with engine.begin() as conn:  # eight days later, nobody wrote
            conn.execute(update(t.outbox).where(t.outbox.c.status == "pending").values(
                created_at=dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=8),
                next_attempt_at=dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=1)))
        await gateway.deliver_due()
        await gateway.idle()
        last = rows(engine)[-1]
        assert last.status == "failed" and "did not write again" in last.error
        assert [f.get("ContentSid") for f in twilio_api.sent] == ["HX" + "0" * 32]  # one template, no text
        await gateway.channels["twilio"].close()

    run(main)
