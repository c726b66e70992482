"""Greeting, help, fallback, privacy, and bad input that must never break a conversation."""

from __future__ import annotations

import pytest

from bot.i18n.responses import Responses
from bot.runner import Stack
from tests.support import button_payloads, custom, new_sender, talk, texts

RESPONSES = Responses.from_domain_dir()


@pytest.mark.rasa
def test_greeting_introduces_and_offers_languages_and_menu(rasa_stack: Stack) -> None:
    replies = talk(rasa_stack.rasa_url, new_sender(), "hi")
    payloads = button_payloads(replies)
    assert '/choose_language{"language": "ps"}' in payloads
    assert '/ask_service{"service_category": "legal_aid"}' in payloads


@pytest.mark.rasa
def test_ciao_is_hello_at_the_start_and_goodbye_later(rasa_stack: Stack) -> None:
    sender = new_sender()
    first = texts(talk(rasa_stack.rasa_url, sender, "ciao"))
    assert first.startswith(RESPONSES.text("utter_greet", "en"))
    assert texts(talk(rasa_stack.rasa_url, sender, "ciao")) == RESPONSES.text("utter_goodbye", "en")


@pytest.mark.rasa
def test_not_understood_twice_offers_a_counsellor(rasa_stack: Stack) -> None:
    sender = new_sender()
    first = talk(rasa_stack.rasa_url, sender, "xqzv blorf wib")
    assert first[0]["text"] == RESPONSES.text("utter_rephrase", "en")
    second = talk(rasa_stack.rasa_url, sender, "qqqq zzzz pppp")
    assert "/request_human" in button_payloads(second)


@pytest.mark.rasa
def test_asking_for_a_human_requests_a_handoff(rasa_stack: Stack) -> None:
    replies = talk(rasa_stack.rasa_url, new_sender(), "i want to talk to a real person")
    assert [c["handoff"]["reason"] for c in custom(replies) if "handoff" in c] == ["asked"]


@pytest.mark.rasa
def test_asking_for_a_human_who_speaks_a_language_routes_the_handoff_by_it(rasa_stack: Stack) -> None:
    replies = talk(rasa_stack.rasa_url, new_sender(), "can i speak with someone in arabic")
    [handoff] = [c["handoff"] for c in custom(replies) if "handoff" in c]
    assert handoff["language"] == "ar" and handoff["reason"] == "asked"


@pytest.mark.rasa
def test_delete_my_data_confirms_then_erases(rasa_stack: Stack) -> None:
    sender = new_sender()
    ask = talk(rasa_stack.rasa_url, sender, "please delete my data")
    assert "/affirm" in button_payloads(ask)
    assert not custom(ask)
    done = talk(rasa_stack.rasa_url, sender, "yes")
    assert {"erase": True} in custom(done)


@pytest.mark.rasa
def test_delete_my_data_can_be_cancelled(rasa_stack: Stack) -> None:
    sender = new_sender()
    talk(rasa_stack.rasa_url, sender, "delete my data")
    kept = talk(rasa_stack.rasa_url, sender, "no")
    assert not custom(kept) and texts(kept) == RESPONSES.text("utter_not_deleted", "en")


@pytest.mark.rasa
@pytest.mark.parametrize("text", [
    "", " ", "a" * 4000, "😀😀😀", "👍", "<script>alert(1)</script>", "he\u200bl\u200clo\u200d", "سلام hello Здраво",
    "Bonjour, je cherche un médecin s'il vous plaît", "ข้อความภาษาไทย",
])
def test_bad_input_always_gets_an_answer(rasa_stack: Stack, text: str) -> None:
    replies = talk(rasa_stack.rasa_url, new_sender(), text)
    assert replies, f"no reply to {text[:30]!r}"
    assert all("text" in r or "custom" in r for r in replies)
