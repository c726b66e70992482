"""Finding services: ask for what is missing, then show the best few; "more" pages on; a number (or the
«Details» button under a place) shows everything about that place."""

from __future__ import annotations

import re
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.context import Say, directory, in_thread, latest_entity
from bot.i18n.cards import card, details
from service_directory import Query, category_label, place_name, record_unmet_need, search

PAGE = 3
_NUMBER = re.compile(r"\d{1,3}")  # any script's digits: int() reads ٣ and ۳ as 3
# "the second one", "number two": ordinal and small cardinal words of the five languages, as people type them
ORDINALS = {
    "one": 1, "two": 2, "three": 3, "jedan": 1, "dva": 2, "tri": 3, "један": 1, "два": 2, "три": 3,
    "واحد": 1, "اثنين": 2, "تنين": 2, "ثلاثة": 3, "تلاتة": 3, "یک": 1, "دو": 2, "سه": 3, "یو": 1, "دوه": 2, "درې": 3,
    "first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5, "sixth": 6,
    "prvi": 1, "prva": 1, "prvo": 1, "drugi": 2, "druga": 2, "drugo": 2, "treći": 3, "treci": 3, "treća": 3,
    "treca": 3, "први": 1, "прва": 1, "други": 2, "друга": 2, "трећи": 3, "трећа": 3,
    "الأول": 1, "الاول": 1, "الثاني": 2, "التاني": 2, "الثالث": 3, "التالت": 3,
    "اول": 1, "اولی": 1, "دوم": 2, "دومی": 2, "سوم": 3, "سومی": 3,
    "لومړی": 1, "لومړنی": 1, "دویم": 2, "دوهم": 2, "دریم": 3,
}


def details_button(say: Say, number: int) -> dict[str, str]:
    return {"title": say.text("label_details"), "payload": f'/show_details{{"result_number": "{number}"}}'}


def requested_number(tracker: Tracker) -> int | None:
    """The place number asked for: the button's entity, digits in the text (any script), or an ordinal."""
    value = latest_entity(tracker, "result_number")
    text = str(value) if value is not None else str(tracker.latest_message.get("text") or "")
    match = _NUMBER.search(text)
    if match:
        return int(match.group(0))
    words = re.findall(r"[^\W\d_]+", text.lower())
    return next((ORDINALS[w] for w in words if w in ORDINALS), None)


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
        say.send(card(say, hit, number), buttons=[details_button(say, number)])
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


class ActionShowDetails(Action):
    def name(self) -> str:
        return "action_show_details"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        say = Say.of(dispatcher, tracker, domain)
        query = build_query(tracker, 0)
        if query is None:  # nothing was searched yet: a number alone says nothing
            say.utter("utter_ask_category")
            return []
        number = requested_number(tracker)
        if number is None:
            say.utter("utter_which_result")
            return []
        shown = int(tracker.get_slot("results_offset") or 0) + PAGE  # the places listed so far
        hits = []
        if 1 <= number <= shown:
            hits = await in_thread(search, directory(), Query(**{**query.__dict__, "offset": number - 1, "limit": 1}))
        if not hits:
            say.utter("utter_no_such_result", number=number)
            return []
        say.send(details(say, hits[0], number))
        return []
