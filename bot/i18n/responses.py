"""Reading the assistant's responses (all five languages live in domain/*.yml) outside Rasa's NLG.

The actions and the gateway use this to render labels and their own messages, so every
user-facing text has one home: the domain files, with one variant per language.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from bot.i18n.bidi import isolate
from bot.i18n.script import to_cyrillic

DOMAIN_DIR = Path(__file__).resolve().parents[2] / "domain"
LANGUAGES = ("en", "ar", "fa", "ps", "sr")
_PLACEHOLDER = re.compile(r"\{(\w+)\}")


@dataclass(frozen=True)
class Rendered:
    text: str
    buttons: tuple[tuple[str, str], ...] = ()  # (title, payload)


def unescape(payload: str) -> str:
    """Button payloads keep intent-shortcut JSON in doubled braces, as Rasa's NLG formats them."""
    return payload.replace("{{", "{").replace("}}", "}")


def variant_key(variant: dict[str, Any]) -> tuple[str | None, str | None]:
    """(language, script) a variant is for; (None, None) for the default (English) one."""
    conditions = {c.get("name"): c.get("value") for c in variant.get("condition", []) or []}
    return conditions.get("language"), conditions.get("script")


def choose(variants: list[dict[str, Any]], language: str | None, script: str | None) -> dict[str, Any]:
    """The variant Rasa would pick for these slot values."""
    wanted_script = (script or "latn") if language == "sr" else None
    for variant in variants:
        if variant_key(variant) == (language, wanted_script):
            return variant
    for variant in variants:
        if variant_key(variant)[0] == language and language is not None:
            return variant
    for variant in variants:
        if not variant.get("condition"):
            return variant
    return variants[0]


class Responses:
    """Responses by name, rendered for a conversation's language and script."""

    def __init__(self, responses: dict[str, list[dict[str, Any]]]) -> None:
        self._responses = responses

    @classmethod
    def from_domain_dir(cls, folder: Path = DOMAIN_DIR) -> Responses:
        return _load_dir(str(folder))

    def names(self) -> list[str]:
        return sorted(self._responses)

    def variants(self, name: str) -> list[dict[str, Any]]:
        return self._responses[name]

    def render(self, name: str, language: str | None, script: str | None = None, **values: Any) -> Rendered:
        variant = choose(self._responses[name], language, script)
        lang = language if language in LANGUAGES else "en"

        def fill(match: re.Match[str]) -> str:
            key = match.group(1)
            if key not in values:
                return match.group(0)
            value = str(values[key])
            if lang == "sr" and script == "cyrl":
                value = to_cyrillic(value)
            return isolate(value, lang)

        text = _PLACEHOLDER.sub(fill, variant.get("text", ""))
        buttons = tuple((b["title"], unescape(b["payload"])) for b in variant.get("buttons", []) or [])
        return Rendered(text, buttons)

    def text(self, name: str, language: str | None, script: str | None = None, **values: Any) -> str:
        return self.render(name, language, script, **values).text


@lru_cache(maxsize=4)
def _load_dir(folder: str) -> Responses:
    responses: dict[str, list[dict[str, Any]]] = {}
    for file in sorted(Path(folder).glob("*.yml")):
        data = yaml.safe_load(file.read_text(encoding="utf-8")) or {}
        for name, variants in (data.get("responses") or {}).items():
            responses.setdefault(name, variants)  # Rasa: the first file that defines a key wins
    return Responses(responses)
