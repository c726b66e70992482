"""Finding services: ask for what is missing, then show the best few; "more" pages on."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.context import Say, directory, in_thread
from bot.i18n.cards import card
from service_directory import Query, category_label, place_name, record_unmet_need, search

PAGE = 3


def latest_entity(tracker: Tracker, name: str) -> Any:
    return next(tracker.get_latest_entity_values(name), None)


def build_query(tracker: Tracker, offset: int) -> Query | None:
    category = tracker.get_slot("service_category")
    city = tracker.get_slot("city")
    lat, lon = tracker.get_slot("latitude"), tracker.get_slot("longitude")
    near = (float(lat), float(lon)) if lat is not None and lon is not None else None
    if latest_entity(tracker, "city"):  # a town named now wins over an older shared location
        near = None
    elif latest_entity(tracker, "latitude") is not None:
        city = None
    if not category or (not city and near is None):
        return None
    return Query(category=category, place=city, near=near, limit=PAGE, offset=offset)


async def show_results(say: Say, tracker: Tracker, offset: int) -> list[EventType]:
    query = build_query(tracker, offset)
    if query is None:
        return []
    hits = await in_thread(search, directory(), query)
    category = category_label(query.category or "information", say.language)
    city = place_name(query.place, say.language) if query.place else ""
    if offset == 0:
        if not any(h.matched_place for h in hits):
            await in_thread(record_unmet_need, directory(), query.category, query.place, say.language)
        if not hits:
            say.utter("utter_no_results", category=category)
            return [SlotSet("results_offset", 0)]
        if not hits[0].matched_place:
            say.utter("utter_no_results_here", category=category, city=city)
        elif query.place:
            say.utter("utter_results_intro", category=category, city=city)
        else:
            say.utter("utter_results_intro_near", category=category)
    elif not hits:
        say.utter("utter_no_more_results")
        return []
    for number, hit in enumerate(hits, offset + 1):
        say.send(card(say, hit, number))
    more = await in_thread(search, directory(), Query(**{**query.__dict__, "offset": offset + PAGE, "limit": 1}))
    if more:
        say.utter("utter_more_results")
    else:
        say.utter("utter_verify_note")
    return [SlotSet("results_offset", offset)]


class ActionFindServices(Action):
    def name(self) -> str:
        return "action_find_services"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        say = Say.of(dispatcher, tracker, domain)
        events: list[EventType] = []
        if latest_entity(tracker, "city"):
            events += [SlotSet("latitude", None), SlotSet("longitude", None)]
        elif latest_entity(tracker, "latitude") is not None:
            events.append(SlotSet("city", None))
        if not tracker.get_slot("service_category"):
            say.utter("utter_ask_category")
            return events
        if not tracker.get_slot("city") and tracker.get_slot("latitude") is None:
            say.utter("utter_ask_city")
            return events
        return events + await show_results(say, tracker, 0)


class ActionShowMore(Action):
    def name(self) -> str:
        return "action_show_more"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        say = Say.of(dispatcher, tracker, domain)
        if build_query(tracker, 0) is None:
            say.utter("utter_ask_category")
            return []
        offset = int(tracker.get_slot("results_offset") or 0) + PAGE
        return await show_results(say, tracker, offset)
