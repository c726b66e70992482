"""Texts for one conversation: named responses and dynamic values in its language and script."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot.i18n.bidi import RTL_LANGUAGES, isolate, isolate_ltr_runs
from bot.i18n.responses import Responses
from bot.i18n.script import to_cyrillic


@dataclass(frozen=True)
class Localiser:
    responses: Responses
    language: str
    script: str = "latn"

    def text(self, name: str, **values: Any) -> str:
        return self.responses.text(name, self.language, self.script, **values)

    def value(self, text: str) -> str:
        """A dynamic value (a name, a number) made safe for the conversation's script and direction."""
        if self.language == "sr" and self.script == "cyrl":
            text = to_cyrillic(text)
        return isolate(text, self.language)

    def paragraph(self, text: str) -> str:
        """Running text from the directory: Latin names and numbers isolated in RTL, script for Serbian."""
        if self.language == "sr" and self.script == "cyrl":
            return to_cyrillic(text)
        if self.language in RTL_LANGUAGES:
            return isolate_ltr_runs(text)
        return text
