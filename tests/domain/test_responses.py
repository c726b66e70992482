"""Five languages are equal: every response has every variant, and they agree with each other."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from bot.i18n.bidi import unisolated_runs
from bot.i18n.responses import DOMAIN_DIR, Responses, variant_key
from bot.i18n.script import CYRILLIC, to_cyrillic

EXPECTED = {(None, None), ("ar", None), ("fa", None), ("ps", None), ("sr", "latn"), ("sr", "cyrl")}
RESPONSES = Responses.from_domain_dir()
PLACEHOLDER = re.compile(r"\{(\w+)\}")


@pytest.mark.parametrize("name", RESPONSES.names())
def test_every_response_has_all_five_languages(name: str) -> None:
    keys = [variant_key(v) for v in RESPONSES.variants(name)]
    assert sorted(keys, key=str) == sorted(EXPECTED, key=str), f"{name} has variants {keys}"


@pytest.mark.parametrize("name", RESPONSES.names())
def test_variants_agree_on_placeholders_buttons_and_numbers(name: str) -> None:
    variants = RESPONSES.variants(name)
    english = (variants[0] if variant_key(variants[0]) == (None, None)
               else next(v for v in variants if not v.get("condition")))
    want_placeholders = sorted(PLACEHOLDER.findall(english["text"]))
    want_payloads = [b["payload"] for b in english.get("buttons", [])]
    want_numbers = sorted(re.findall(r"\d{3,}", english["text"]))
    for variant in variants:
        where = f"{name} {variant_key(variant)}"
        assert variant["text"].strip(), where
        assert sorted(PLACEHOLDER.findall(variant["text"])) == want_placeholders, where
        assert [b["payload"] for b in variant.get("buttons", [])] == want_payloads, where
        assert sorted(re.findall(r"\d{3,}", variant["text"])) == want_numbers, where


@pytest.mark.parametrize("name", RESPONSES.names())
def test_right_to_left_text_isolates_numbers_and_latin(name: str) -> None:
    for variant in RESPONSES.variants(name):
        language, _ = variant_key(variant)
        if language in ("ar", "fa", "ps"):
            assert unisolated_runs(variant["text"]) == [], f"{name} [{language}] has digits or Latin outside an isolate"


@pytest.mark.parametrize("name", RESPONSES.names())
def test_serbian_cyrillic_is_the_latin_text_transliterated(name: str) -> None:
    by_key = {variant_key(v): v for v in RESPONSES.variants(name)}
    latin, cyrillic = by_key[("sr", "latn")], by_key[("sr", "cyrl")]
    assert cyrillic["text"] == to_cyrillic(latin["text"])
    assert CYRILLIC.search(cyrillic["text"]), name
    assert ([b["title"] for b in cyrillic.get("buttons", [])]
            == [to_cyrillic(b["title"]) for b in latin.get("buttons", [])])


def test_each_response_is_defined_in_one_domain_file_only() -> None:
    seen: dict[str, str] = {}
    for file in sorted(Path(DOMAIN_DIR).glob("*.yml")):
        for name in (yaml.safe_load(file.read_text(encoding="utf-8")) or {}).get("responses", {}) or {}:
            assert name not in seen, f"{name} is in {seen.get(name)} and {file.name}"
            seen[name] = file.name


def test_rendering_isolates_values_and_follows_the_script() -> None:
    arabic = RESPONSES.text("utter_gw_waiting", "ar", position=3)
    assert "\u20663\u2069" in arabic
    cyrillic = RESPONSES.text("utter_results_intro", "sr", "cyrl", category="Zdravlje", city="Šid")
    assert "Здравље" in cyrillic and "Шид" in cyrillic
