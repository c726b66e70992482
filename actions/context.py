"""What every action needs: the person's language and script, the responses, the directory."""

from __future__ import annotations

import asyncio
import os
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, TypeVar

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy.engine import Engine

from bot.i18n.bidi import RTL_LANGUAGES, isolate, isolate_ltr_runs
from bot.i18n.responses import Responses
from bot.i18n.script import to_cyrillic
from service_directory import open_directory

T = TypeVar("T")


@lru_cache(maxsize=1)
def directory() -> Engine:
    """The directory database, opened on first use (never at import)."""
    return open_directory(os.environ.get("DATABASE_URL") or None)


async def in_thread(fn: Any, *args: Any, **kwargs: Any) -> Any:
    """Blocking SQL runs in a thread: the action server's event loop serves every conversation."""
    return await asyncio.to_thread(fn, *args, **kwargs)


@dataclass(frozen=True)
class Say:
    """Sends named responses in the conversation's language and script."""

    dispatcher: CollectingDispatcher
    responses: Responses
    language: str
    script: str

    @classmethod
    def of(cls, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> Say:
        language = tracker.get_slot("language") or "en"
        script = tracker.get_slot("script") or "latn"
        return cls(dispatcher, Responses(domain.get("responses", {})), language, script)

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

    def utter(self, name: str, **values: Any) -> None:
        rendered = self.responses.render(name, self.language, self.script, **values)
        buttons = [{"title": t, "payload": p} for t, p in rendered.buttons]
        self.dispatcher.utter_message(text=rendered.text, buttons=buttons or None)

    def send(self, text: str, **kwargs: Any) -> None:
        self.dispatcher.utter_message(text=text, **kwargs)
