"""Finding places and service words as people type them (bot.components.phrases)."""

from __future__ import annotations

import pytest

from bot.components.phrases import PhraseMatcher

PHRASES = [
    ("Šid", "city", "sid"), ("Niš", "city", "nis"), ("Subotica", "city", "subotica"),
    ("obrok", "service_category", "food"), ("smeštaj", "service_category", "shelter"),
    ("odjeća", "service_category", "clothing"), ("advokat", "service_category", "legal_aid"),
    ("rad", "service_category", "work"),
]


@pytest.fixture(scope="module")
def matcher() -> PhraseMatcher:
    return PhraseMatcher(PHRASES)


def found(matcher: PhraseMatcher, text: str) -> set[tuple[str, str]]:
    return {(m.entity, m.value) for m in matcher.match(text)}


@pytest.mark.parametrize(("text", "expected"), [
    ("ima li obroka danas", ("service_category", "food")),  # genitive
    ("info o smeštaju", ("service_category", "shelter")),  # locative
    ("гдје могу добити одјећу", ("service_category", "clothing")),  # accusative, Cyrillic, ijekavian
    ("treba mi advokatu", ("service_category", "legal_aid")),
    ("gde je hrana u Subotici", ("city", "subotica")),
])
def test_serbian_case_endings(matcher: PhraseMatcher, text: str, expected: tuple[str, str]) -> None:
    assert expected in found(matcher, text)


def test_short_service_stems_take_no_endings(matcher: PhraseMatcher) -> None:
    """"radi" (works, does) is not "rad" (work): a three-letter service stem must match as written."""
    assert found(matcher, "kako to radi") == set()
    assert ("service_category", "work") in found(matcher, "dozvola za rad")


def test_common_words_are_not_places(matcher: PhraseMatcher) -> None:
    assert found(matcher, "oni nisu ovde") == set()  # "are not", not Niš
    assert found(matcher, "testiranje na sidu") == set()  # AIDS, not Šid


def test_a_place_preposition_makes_a_plain_spelling_a_place(matcher: PhraseMatcher) -> None:
    assert found(matcher, "u sidu sam") == {("city", "sid")}
    assert found(matcher, "mi smo iz sida") == {("city", "sid")}
    assert found(matcher, "u nisu") == {("city", "nis")}


def test_an_arabic_script_town_with_a_spelling_mistake_is_still_found() -> None:
    matcher = PhraseMatcher([("کرنیاچه", "city", "belgrade"), ("سوبوتیتسا", "city", "subotica")])
    [found] = matcher.match("زما ماشوم ښوونځي ته اړتیا لري، په کرنجاچه کې یو")
    assert (found.entity, found.value, found.text) == ("city", "belgrade", "کرنجاچه")
    assert found.confidence < 1.0
    assert matcher.match("ما در کمپ هستیم") == []  # short words are never guessed
