"""Finding services, per language, through the real Rasa server and action server."""

from __future__ import annotations

import pytest

from bot.i18n.responses import Responses
from bot.runner import Stack
from service_directory import open_directory
from service_directory.query import Query, search
from service_directory.records import pick
from tests.support import button_payloads, new_sender, talk, texts

RESPONSES = Responses.from_domain_dir()
ASK_DOCTOR_IN_BELGRADE = {
    "en": "i need a doctor in belgrade",
    "ar": "بدي دكتور في بلغراد",
    "fa": "در بلگراد داکتر میخواهم",
    "ps": "زه په بلګراد کې ډاکټر ته اړتیا لرم",
    "sr": "treba mi lekar u Beogradu",
}


@pytest.mark.rasa
@pytest.mark.parametrize("language", sorted(ASK_DOCTOR_IN_BELGRADE))
def test_service_question_answers_with_cards_in_the_language(rasa_stack: Stack, language: str) -> None:
    replies = talk(rasa_stack.rasa_url, new_sender(), ASK_DOCTOR_IN_BELGRADE[language])
    text = texts(replies)
    assert RESPONSES.text("label_last_checked", language) in text
    assert RESPONSES.text("label_address", language) in text
    assert "1. " in text

# Lost family, said as people say it, not as the category's name: family tracing, not a general question.
LOST_FAMILY = {
    "en": "we lost my family on the way here",
    "ar": "ضيعت اهلي عالحدود وما بعرف وين هني",
    "fa": "تو راه خانوادمو گم کردم، نمیدونم کجان",
    "ps": "په لاره کې کورنۍ مې ورکه شوه، نه پوهیږم چېرته دي",
    "sr": "izgubio sam porodicu na granici, ne znam gde su",
}


@pytest.mark.rasa
@pytest.mark.parametrize("language", sorted(LOST_FAMILY))
def test_lost_family_leads_to_family_tracing_services(rasa_stack: Stack, language: str) -> None:
    sender = new_sender()
    first = talk(rasa_stack.rasa_url, sender, LOST_FAMILY[language])
    assert texts(first) == RESPONSES.text("utter_ask_city", language)
    second = texts(talk(rasa_stack.rasa_url, sender, '/inform{"city": "belgrade"}'))
    [best, *_] = search(open_directory(), Query(category="family_tracing", place="belgrade"))
    assert pick(best.service.name, language) in second


@pytest.mark.rasa
def test_missing_place_is_asked_with_buttons_then_remembered(rasa_stack: Stack) -> None:
    sender = new_sender()
    first = talk(rasa_stack.rasa_url, sender, "where can i find a lawyer")
    assert texts(first) == RESPONSES.text("utter_ask_city", "en")
    assert '/inform{"city": "belgrade"}' in button_payloads(first)
    second = talk(rasa_stack.rasa_url, sender, '/inform{"city": "belgrade"}')
    assert "Belgrade" in texts(second) and RESPONSES.text("label_phone", "en") in texts(second)


@pytest.mark.rasa
def test_more_pages_on_without_repeating(rasa_stack: Stack) -> None:
    sender = new_sender()
    first = texts(talk(rasa_stack.rasa_url, sender, "I need food in Belgrade"))
    more = texts(talk(rasa_stack.rasa_url, sender, "/show_more"))
    assert "1. " in first and "4. " in more and "1. " not in more


@pytest.mark.rasa
def test_shared_location_finds_the_nearest(rasa_stack: Stack) -> None:
    sender = new_sender()
    talk(rasa_stack.rasa_url, sender, "i need a place to sleep")
    near_sjenica = talk(rasa_stack.rasa_url, sender, '/ask_service{"latitude": 43.27, "longitude": 20.0}')
    assert "Sjenica" in texts(near_sjenica)


@pytest.mark.rasa
def test_closed_centres_are_never_offered(rasa_stack: Stack) -> None:
    reply = texts(talk(rasa_stack.rasa_url, new_sender(), "I need a place to sleep in Kikinda"))
    assert "Kikinda" not in reply.split("\n")[1]  # the closed Kikinda centre is not the first card
    assert "Reception Centre Kikinda" not in reply


@pytest.mark.rasa
def test_cyrillic_question_gets_cyrillic_answer(rasa_stack: Stack) -> None:
    reply = texts(talk(rasa_stack.rasa_url, new_sender(), "треба ми лекар у Београду"))
    assert RESPONSES.text("label_phone", "sr", "cyrl") in reply
    assert "Telefon" not in reply


# "Details" for one place: by its button, by its number typed in any script, by an ordinal word.
DETAILS_BY_TEXT = {"en": "2", "ar": "٢", "fa": "دومی", "ps": "۲", "sr": "drugi"}
FOOD_IN_BELGRADE = {
    "en": "I need food in Belgrade",
    "ar": "بدي اكل في بلغراد",
    "fa": "در بلگراد غذا میخواهم",
    "ps": "په بلګراد کې ډوډۍ غواړم",
    "sr": "treba mi hrana u Beogradu",
}


@pytest.mark.rasa
@pytest.mark.parametrize("language", sorted(DETAILS_BY_TEXT))
def test_a_number_after_the_results_shows_everything_about_that_place(rasa_stack: Stack, language: str) -> None:
    sender = new_sender()
    results = talk(rasa_stack.rasa_url, sender, FOOD_IN_BELGRADE[language])
    cards = [r for r in results if any(b["payload"].startswith("/show_details") for b in r.get("buttons", []))]
    assert [b["title"] for r in cards for b in r["buttons"]] == [RESPONSES.text("label_details", language)] * 3
    hits = search(open_directory(), Query(category="food", place="belgrade", limit=3))
    second = texts(talk(rasa_stack.rasa_url, sender, DETAILS_BY_TEXT[language]))
    title = second.split("\n")[0]
    assert pick(hits[1].service.name, language) in title and pick(hits[0].service.name, language) not in title
    assert RESPONSES.text("label_source", language) in second
    first = texts(talk(rasa_stack.rasa_url, sender, '/show_details{"result_number": "1"}'))
    assert pick(hits[0].service.name, language) in first.split("\n")[0]


@pytest.mark.rasa
def test_a_number_that_is_not_in_the_list_or_before_any_search_is_answered_kindly(rasa_stack: Stack) -> None:
    sender = new_sender()
    alone = talk(rasa_stack.rasa_url, sender, "1")  # no search yet: not a child alone, not an emergency
    assert texts(alone) == RESPONSES.text("utter_ask_category", "en")
    assert not [r for r in alone if r.get("custom")]
    talk(rasa_stack.rasa_url, sender, "I need food in Belgrade")
    missing = texts(talk(rasa_stack.rasa_url, sender, "9"))
    assert missing == RESPONSES.text("utter_no_such_result", "en", number=9)
