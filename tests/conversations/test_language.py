"""The conversation's language: detected, sticky for short messages, changed by an explicit choice."""

from __future__ import annotations

import pytest

from bot.i18n.responses import Responses
from bot.runner import Stack
from tests.support import new_sender, parse, talk, texts

RESPONSES = Responses.from_domain_dir()


@pytest.mark.rasa
@pytest.mark.parametrize(("text", "code"), [
    ("hello, where can i find a doctor", "en"),
    ("مرحبا، وين في دكتور", "ar"),
    ("سلام، داکتر کجا پیدا کنم", "fa"),
    ("سلام، ډاکټر چېرته پیدا کړم", "ps"),
    ("zdravo, gde mogu da nađem lekara", "sr"),
    ("здраво, где је лекар", "sr"),
])
def test_parse_reports_the_language_of_the_text(rasa_stack: Stack, text: str, code: str) -> None:
    result = parse(rasa_stack.rasa_url, text)
    assert result["language"]["code"] == code
    assert 0.0 <= result["language"]["confidence"] <= 1.0


@pytest.mark.rasa
def test_parse_gives_canonical_entity_values(rasa_stack: Stack) -> None:
    result = parse(rasa_stack.rasa_url, "treba mi advokat u Šidu")
    values = {(e["entity"], e["value"]) for e in result["entities"]}
    assert ("service_category", "legal_aid") in values and ("city", "sid") in values


@pytest.mark.rasa
@pytest.mark.parametrize("word", ["ok", "da", "salam", "merci"])
def test_one_word_does_not_flip_a_running_conversation(rasa_stack: Stack, word: str) -> None:
    sender = new_sender()
    talk(rasa_stack.rasa_url, sender, "سلام، زه له افغانستان څخه یم او مرستې ته اړتیا لرم")
    talk(rasa_stack.rasa_url, sender, word)
    reply = texts(talk(rasa_stack.rasa_url, sender, "/ask_capabilities"))
    assert reply.startswith(RESPONSES.text("utter_capabilities", "ps")[:20])


@pytest.mark.rasa
def test_explicit_choice_always_switches(rasa_stack: Stack) -> None:
    sender = new_sender()
    talk(rasa_stack.rasa_url, sender, "hello i need help please")
    reply = talk(rasa_stack.rasa_url, sender, '/choose_language{"language": "fa"}')
    assert reply[0]["text"] == RESPONSES.text("utter_language_changed", "fa")


@pytest.mark.rasa
def test_reply_is_in_the_language_of_the_same_message(rasa_stack: Stack) -> None:
    sender = new_sender()
    talk(rasa_stack.rasa_url, sender, "hello")
    reply = talk(rasa_stack.rasa_url, sender, "شكرا جزيلا على المساعدة")
    assert reply[0]["text"] == RESPONSES.text("utter_welcome", "ar")


@pytest.mark.rasa
def test_serbian_follows_the_script_of_each_message_even_a_one_word_one(rasa_stack: Stack) -> None:
    sender = new_sender()
    talk(rasa_stack.rasa_url, sender, "zdravo, treba mi pomoć")
    assert texts(talk(rasa_stack.rasa_url, sender, "хвала")) == RESPONSES.text("utter_welcome", "sr", "cyrl")
    assert texts(talk(rasa_stack.rasa_url, sender, "hvala")) == RESPONSES.text("utter_welcome", "sr", "latn")
