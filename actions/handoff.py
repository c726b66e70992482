"""Asking the gateway for a human: a custom payload the gateway turns into a handoff ticket."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher

from actions.context import Say, latest_entity

#: why the person needs a human -> (reason, priority)
TRIGGERS = {
    "express_distress": ("distress", "urgent"),
    "child_alone": ("child_alone", "urgent"),
    "nlu_fallback": ("not_understood", "normal"),
}


def named_language(tracker: Tracker) -> str | None:
    """A language the person named ("someone who speaks Arabic"), not the one their message is in."""
    value = latest_entity(tracker, "requested_language")
    return str(value) if value else None


class ActionRequestHandoff(Action):
    def name(self) -> str:
        return "action_request_handoff"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        say = Say.of(dispatcher, tracker, domain)
        intent = (tracker.latest_message.get("intent") or {}).get("name") or ""
        reason, priority = TRIGGERS.get(intent, ("asked", "normal"))
        say.utter("utter_handoff_urgent" if priority == "urgent" else "utter_handoff_requested")
        dispatcher.utter_message(json_message={"handoff": {
            "reason": reason,
            "priority": priority,
            "language": (named_language(tracker) if intent == "request_human" else None) or say.language,
            "category": tracker.get_slot("service_category"),
            "city": tracker.get_slot("city"),
        }})
        return []
