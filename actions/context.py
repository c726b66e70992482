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

from bot.i18n.localiser import Localiser
from bot.i18n.responses import Responses
from service_directory import open_directory

T = TypeVar("T")


@lru_cache(maxsize=1)
def directory() -> Engine:
    """The directory database, opened on first use (never at import)."""
    return open_directory(os.environ.get("DATABASE_URL") or None)


async def in_thread(fn: Any, *args: Any, **kwargs: Any) -> Any:
    """Blocking SQL runs in a thread: the action server's event loop serves every conversation."""
    return await asyncio.to_thread(fn, *args, **kwargs)


def latest_entity(tracker: Tracker, name: str) -> Any:
    """The value of entity `name` in the person's latest message, or None."""
    return next(tracker.get_latest_entity_values(name), None)


@dataclass(frozen=True)
class Say(Localiser):
    """A Localiser that also sends: named responses and texts to the person."""

    dispatcher: CollectingDispatcher | None = None

    @classmethod
    def of(cls, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> Say:
        return cls(Responses(domain.get("responses", {})), tracker.get_slot("language") or "en",
                   tracker.get_slot("script") or "latn", dispatcher)

    def utter(self, name: str, **values: Any) -> None:
        rendered = self.responses.render(name, self.language, self.script, **values)
        buttons = [{"title": t, "payload": p} for t, p in rendered.buttons]
        assert self.dispatcher is not None
        self.dispatcher.utter_message(text=rendered.text, buttons=buttons or None)

    def send(self, text: str, **kwargs: Any) -> None:
        assert self.dispatcher is not None
        self.dispatcher.utter_message(text=text, **kwargs)
