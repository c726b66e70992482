"""Counted days in each language's grammar, as the privacy notice states the retention period."""

from __future__ import annotations

import pytest

from bot.i18n.bidi import LRI, PDI
from bot.i18n.plural import days
from bot.i18n.responses import Responses


@pytest.mark.parametrize(("n", "language", "expected"), [
    (1, "en", "1 day"), (30, "en", "30 days"),
    (1, "sr", "1 dan"), (11, "sr", "11 dana"), (21, "sr", "21 dan"), (30, "sr", "30 dana"), (101, "sr", "101 dan"),
    (1, "ar", "يوم واحد"), (2, "ar", "يومين"), (7, "ar", f"{LRI}7{PDI} أيام"), (30, "ar", f"{LRI}30{PDI} يومًا"),
    (100, "ar", f"{LRI}100{PDI} يوم"), (105, "ar", f"{LRI}105{PDI} أيام"),
    (30, "fa", f"{LRI}30{PDI} روز"), (1, "ps", "یوه ورځ"), (30, "ps", f"{LRI}30{PDI} ورځې"),
])
def test_days(n: int, language: str, expected: str) -> None:
    assert days(n, language) == expected


def test_the_notice_reads_right_in_serbian_cyrillic_and_never_keeps_a_placeholder() -> None:
    responses = Responses.from_domain_dir()
    cyrillic = responses.text("utter_privacy_notice", "sr", "cyrl", period=days(21, "sr"))
    assert "чувам 21 дан," in cyrillic
    for language in ("en", "ar", "fa", "ps", "sr"):
        text = responses.text("utter_privacy_notice", language, "latn", period=days(7, language))
        assert "7" in text and "{" not in text
