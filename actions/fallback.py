"""Not understood: once, ask to rephrase with the menu; twice in a row, offer a counsellor."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, UserUtteranceReverted
from rasa_sdk.executor import CollectingDispatcher

from actions.context import Say


def misunderstood_in_a_row(tracker: Tracker) -> int:
    """How many of the person's latest messages in a row were not understood."""
    count = 0
    for event in reversed(tracker.events):
        if event.get("event") != "user":
            continue
        intent = (event.get("parse_data") or {}).get("intent", {}).get("name")
        if intent != "nlu_fallback":
            break
        count += 1
    return count


class ActionFallback(Action):
    def name(self) -> str:
        return "action_fallback"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        say = Say.of(dispatcher, tracker, domain)
        if misunderstood_in_a_row(tracker) >= 2:
            say.utter("utter_offer_human")
        else:
            say.utter("utter_rephrase")
            if tracker.get_slot("language") is None:
                say.utter("utter_choose_language")
            else:
                say.utter("utter_main_menu")
        return [UserUtteranceReverted()]
