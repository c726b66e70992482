"""The gateway's records on SQLite and PostgreSQL: exactly-once intake, erasure, retention."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from sqlalchemy import select, update

from bot.channels.base import Inbound
from bot.gateway import tables as t
from bot.gateway.db import migrate
from bot.gateway.store import Store
from bot.handoff.service import HandoffService
from service_directory import make_engine


@pytest.fixture
def store(db_url: str) -> Iterator[Store]:
    engine = make_engine(db_url)
    migrate(engine)
    yield Store(engine)
    engine.dispose()


def inbound(key: str, text: str = "hi", address: str = "555") -> Inbound:
    return Inbound(channel="telegram", address=address, message_key=key, kind="text", text=text)


def test_a_message_is_accepted_once_and_handled_in_order(store: Store) -> None:
    conversation, created = store.conversation_for("telegram", "555")
    again, created_again = store.conversation_for("telegram", "555")
    assert created and not created_again and again.id == conversation.id
    assert store.accept(inbound("1", "first"), conversation.id)
    assert not store.accept(inbound("1", "first"), conversation.id)
    assert store.accept(inbound("2", "second"), conversation.id)
    assert [m.text for m in store.pending(conversation.id)] == ["first", "second"]
    first = store.pending(conversation.id)[0]
    store.retry_later(first.id, 1, 60)
    assert [m.text for m in store.pending(conversation.id)] == ["second"]
    assert store.conversations_with_pending() == [conversation.id]


def test_erase_removes_every_trace(store: Store) -> None:
    conversation, _ = store.conversation_for("telegram", "555")
    store.accept(inbound("1"), conversation.id)
    store.add_message(conversation.id, "person", "my name is Ali, +381 60 123 4567")
    HandoffService(store.engine).open(conversation.id, "telegram", "asked", "normal", "ar", None, None)
    store.erase(conversation.id)
    with store.engine.connect() as conn:
        for table in (t.conversations, t.messages, t.inbox, t.handoffs):
            assert conn.execute(select(table)).first() is None, table.name


def test_an_erasure_on_request_keeps_only_the_replies_still_on_their_way(store: Store) -> None:
    from bot.channels.base import Outbound
    from bot.gateway.outbox import Outbox, Settled

    conversation, _ = store.conversation_for("telegram", "555")
    store.accept(inbound("1", "delete my data, my name is Ali"), conversation.id)
    store.update_conversation(conversation.id, city="sid")
    store.add_message(conversation.id, "person", "my name is Ali, +381 60 123 4567")
    HandoffService(store.engine).open(conversation.id, "telegram", "asked", "normal", "ar", None, None)
    outbox = Outbox(store)
    [sent], _, _ = outbox.record(conversation.id, [("bot", Outbound("are you sure?"), None, None)])
    outbox.settle([Settled(sent, "sent", channel_message_id="1")])
    [unsent], _, _ = outbox.record(conversation.id, [("bot", Outbound("your data is deleted"), None, None)])

    assert store.erase(conversation.id, keep_unsent=True) is True
    kept = store.conversation(conversation.id)
    assert kept is not None and kept.erased_at is not None and kept.city is None and kept.address == "555"
    with store.engine.connect() as conn:
        for table in (t.messages, t.inbox, t.handoffs):
            assert conn.execute(select(table)).first() is None, table.name
        rows = conn.execute(select(t.outbox)).all()
    assert [(r.id, r.message_id, r.payload["text"]) for r in rows] == [(unsent, None, "your data is deleted")]
    assert store.finish_erasure(conversation.id) is False  # still on its way
    assert store.erasures_due() == []
    outbox.settle([Settled(unsent, "sent", channel_message_id="2")])
    assert store.finish_erasure(conversation.id) is True
    with store.engine.connect() as conn:
        for table in (t.conversations, t.outbox):
            assert conn.execute(select(table)).first() is None, table.name


def test_an_erased_web_chat_keeps_its_last_replies_for_the_page_and_nothing_else(store: Store) -> None:
    conversation, _ = store.conversation_for("web", "session-0123456789abcdef")
    store.add_message(conversation.id, "person", "delete everything")
    store.add_message(conversation.id, "bot", "are you sure?")
    store.add_message(conversation.id, "person", "yes")
    store.add_message(conversation.id, "bot", "your data is deleted")
    assert store.erase(conversation.id, keep_unsent=True) is True
    assert [m["text"] for m in store.transcript(conversation.id)] == ["your data is deleted"]
    with store.engine.begin() as conn:  # the page never came back for it
        conn.execute(update(t.conversations).values(erased_at=dt.datetime.now(dt.timezone.utc) - dt.timedelta(hours=1)))
    assert store.erasures_due() == [conversation.id]
    assert store.finish_erasure(conversation.id, force=True) and store.conversation(conversation.id) is None


def test_conversations_past_retention_expire_unless_a_handoff_is_open(store: Store) -> None:
    old, _ = store.conversation_for("telegram", "old")
    busy, _ = store.conversation_for("telegram", "busy")
    fresh, _ = store.conversation_for("telegram", "fresh")
    long_ago = dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=40)
    with store.engine.begin() as conn:
        conn.execute(update(t.conversations).where(t.conversations.c.id.in_([old.id, busy.id]))
                     .values(created_at=long_ago, last_inbound_at=long_ago))
    HandoffService(store.engine).open(busy.id, "telegram", "asked", "normal", None, None, None)
    assert store.expired(30) == [old.id]


def test_the_address_never_appears_in_a_conversation_repr(store: Store) -> None:
    conversation, _ = store.conversation_for("whatsapp", "381601234567")
    assert "381601234567" not in repr(conversation)


def test_a_numbered_reply_chooses_from_the_buttons_offered_since_the_persons_last_message(store: Store) -> None:
    conversation, _ = store.conversation_for("twilio", "whatsapp:+381601234567")
    menu = [{"title": "Health", "payload": "/health"}, {"title": "Legal help", "payload": "/legal"}]
    store.add_message(conversation.id, "person", "hello")
    store.add_message(conversation.id, "bot", "What do you need?", data={"buttons": menu})
    store.add_message(conversation.id, "bot", "Or write it in your words.")
    store.add_message(conversation.id, "person", "2")  # the reply being handled
    assert store.offered_buttons(conversation.id) == menu
    store.add_message(conversation.id, "bot", "Which city?")
    store.add_message(conversation.id, "person", "3")  # the bot asked something else since: no menu
    assert store.offered_buttons(conversation.id) == []
