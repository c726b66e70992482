"""A child alone: the child-protection services near them and the children's helpline."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher

from actions.context import Say, directory, in_thread
from bot.i18n.cards import card
from service_directory import Query, search


class ActionChildProtection(Action):
    def name(self) -> str:
        return "action_child_protection"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        say = Say.of(dispatcher, tracker, domain)
        city = tracker.get_slot("city")
        hits = await in_thread(search, directory(),
                               Query(category="child_protection", place=city or "belgrade", limit=2))
        for number, hit in enumerate(hits, 1):
            say.send(card(say, hit, number))
        say.utter("utter_child_helpline")
        return []
