"""Erasing a person's data: the gateway erases every store when it sees the payload."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import AllSlotsReset, EventType, Restarted
from rasa_sdk.executor import CollectingDispatcher

from actions.context import Say


class ActionDeleteMyData(Action):
    def name(self) -> str:
        return "action_delete_my_data"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        Say.of(dispatcher, tracker, domain).utter("utter_data_deleted")
        dispatcher.utter_message(json_message={"erase": True})
        return [AllSlotsReset(), Restarted()]
