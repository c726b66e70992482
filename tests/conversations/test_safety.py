"""Safety first: emergency numbers before anything else, and a human at once."""

from __future__ import annotations

import pytest

from bot.runner import Stack
from tests.support import custom, new_sender, talk, texts

DISTRESS = {
    "en": "my husband beats me every night and i am scared",
    "ar": "زوجي يضربني كل يوم وانا خايفة كتير",
    "fa": "شوهرم هر روز مرا میزند و خیلی میترسم",
    "ps": "خاوند مې هره ورځ وهي، ډېره ویره لرم",
    "sr": "muž me tuče svaki dan i plašim se",
}
CHILD_ALONE = {
    "en": "i am 15 and alone, no parents with me",
    "ar": "عمري ١٥ سنة وانا لحالي بدون اهل",
    "fa": "من ۱۵ ساله هستم و تنها هستم، خانواده ندارم",
    "ps": "زه ۱۵ کلن یم او یوازې یم، مور او پلار راسره نشته",
    "sr": "imam 15 godina i sam sam, nemam roditelje ovde",
}


@pytest.mark.rasa
@pytest.mark.parametrize("language", sorted(DISTRESS))
def test_distress_gets_numbers_first_and_an_urgent_handoff(rasa_stack: Stack, language: str) -> None:
    replies = talk(rasa_stack.rasa_url, new_sender(), DISTRESS[language])
    first = replies[0]["text"]
    assert "192" in first and "194" in first
    handoffs = [c["handoff"] for c in custom(replies) if "handoff" in c]
    assert handoffs and handoffs[0]["priority"] == "urgent" and handoffs[0]["reason"] == "distress"
    assert handoffs[0]["language"] == language


@pytest.mark.rasa
@pytest.mark.parametrize("language", sorted(CHILD_ALONE))
def test_child_alone_gets_child_protection_and_priority_handoff(rasa_stack: Stack, language: str) -> None:
    replies = talk(rasa_stack.rasa_url, new_sender(), CHILD_ALONE[language])
    assert "116 111" in texts(replies)
    handoffs = [c["handoff"] for c in custom(replies) if "handoff" in c]
    assert handoffs and handoffs[0]["reason"] == "child_alone" and handoffs[0]["priority"] == "urgent"


@pytest.mark.rasa
def test_emergency_question_gets_numbers(rasa_stack: Stack) -> None:
    reply = texts(talk(rasa_stack.rasa_url, new_sender(), "what is the number for the ambulance"))
    assert "194" in reply and "192" in reply and "193" in reply


@pytest.mark.rasa
def test_distress_interrupts_a_service_search(rasa_stack: Stack) -> None:
    sender = new_sender()
    talk(rasa_stack.rasa_url, sender, "i need a lawyer")  # the bot now waits for a town
    replies = talk(rasa_stack.rasa_url, sender, "someone is hurting me, please help me")
    assert "192" in replies[0]["text"]
    assert any("handoff" in c for c in custom(replies))
