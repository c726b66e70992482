"""A service as a short message: name, what it offers, address, phone, hours, languages, map, date; and as
the whole entry (`details`): every place with its map, every number, email, website and the sources.

Shared by the actions (search results) and the console (a counsellor sends a service card)."""

from __future__ import annotations

from bot.i18n.localiser import Localiser
from bot.i18n.names import endonym
from service_directory import SearchHit, Service, pick, place_name
from service_directory.schedule import minutes

MAX_DESCRIPTION = 300


def hours_text(say: Localiser, service: Service) -> str:
    schedule = service.schedule
    if schedule is None:
        return say.text("label_hours_unknown")
    if schedule.always_open:
        return say.text("label_always_open")
    days = say.text("label_weekdays").split(",")
    groups: dict[tuple[int, int], list[int]] = {}
    for slot in schedule.weekly:
        groups.setdefault((minutes(slot.opens), minutes(slot.closes)), []).append(slot.weekday)
    parts = []
    for (start, end), weekdays in sorted(groups.items(), key=lambda item: min(item[1])):
        weekdays = sorted(set(weekdays))
        span = days[weekdays[0]] if len(weekdays) == 1 else f"{days[weekdays[0]]}–{days[weekdays[-1]]}"
        if len(weekdays) > 1 and weekdays[-1] - weekdays[0] != len(weekdays) - 1:
            span = ", ".join(days[d] for d in weekdays)
        parts.append(f"{span} {say.value(f'{start // 60:02d}:{start % 60:02d}–{end // 60:02d}:{end % 60:02d}')}")
    return "; ".join(parts)


def _map(say: Localiser, latitude: float, longitude: float) -> str:
    return (f"🗺 {say.text('label_map')}: https://www.openstreetmap.org/?mlat={latitude}&mlon={longitude}"
            f"#map=17/{latitude}/{longitude}")


def details(say: Localiser, hit: SearchHit, number: int) -> str:
    """Everything the directory holds about one service that a person can use, in the conversation's
    language: the whole description, every location (with a map where the point is exact), every phone
    but faxes, email, website, hours, languages, the sources and when they were last checked."""
    s, lang = hit.service, say.language
    lines = [f"{number}. {say.value(pick(s.name, lang))}"]
    organisation = pick(s.organisation_name, lang)
    if organisation and organisation != pick(s.name, lang):
        lines.append(say.value(organisation))
    description = pick(s.description, lang)
    if description:
        lines.append(say.paragraph(description))
    if hit.temporarily_closed:
        note = pick(s.status_note, lang)
        lines.append("⚠️ " + say.text("label_temporarily_closed") + (f" {say.paragraph(note)}" if note else ""))
    for location in s.locations:
        address = pick(location.address, lang) or pick(location.address, "sr")
        city = place_name(location.city, lang)
        where = f"{say.value(address)}, {say.value(city)}" if address else say.text("label_town_centre", city=city)
        lines.append(f"📍 {say.text('label_address')}: {where}")
        directions = pick(location.directions, lang)
        if directions:
            lines.append(say.paragraph(directions))
        if location.precision == "street" and location.latitude is not None and location.longitude is not None:
            lines.append(_map(say, location.latitude, location.longitude))
    if not s.locations and "national" in s.service_area:
        lines.append(f"📍 {say.text('label_whole_country')}")
    for phone in (p for p in s.phones if p.kind != "fax"):
        note = pick(phone.note, lang)
        lines.append(f"📞 {say.text('label_phone')}: {say.value(phone.number)}" + (f" ({say.paragraph(note)})"
                                                                                    if note else ""))
    if s.email:
        lines.append(f"✉️ {say.text('label_email')}: {say.value(s.email)}")
    if s.url:
        lines.append(f"🌐 {say.text('label_website')}: {say.value(s.url)}")
    open_word = {True: "label_open_now", False: "label_closed_now", None: None}[hit.open_now]
    lines.append(f"🕒 {say.text('label_hours')}: {hours_text(say, s)}"
                 + (f" ({say.text(open_word)})" if open_word else ""))
    if s.schedule is not None and pick(s.schedule.note, lang):
        lines.append(say.paragraph(pick(s.schedule.note, lang)))
    if s.languages:
        lines.append(f"🗣 {say.text('label_languages')}: {', '.join(say.value(endonym(c)) for c in s.languages)}")
    if s.sources:
        lines.append(f"🔎 {say.text('label_source')}: " + ", ".join(say.value(src.url) for src in s.sources[:3]))
    lines.append(f"✔️ {say.text('label_last_checked')}: {say.value(s.last_verified.isoformat())}")
    return "\n".join(lines)


def card(say: Localiser, hit: SearchHit, number: int) -> str:
    """One service in the conversation's language; RTL-safe and in the person's Serbian script."""
    s, lang = hit.service, say.language
    lines = [f"{number}. {say.value(pick(s.name, lang))}"]
    description = pick(s.description, lang)
    if description:
        lines.append(say.paragraph(description[:MAX_DESCRIPTION]))
    if hit.temporarily_closed:
        lines.append("⚠️ " + say.text("label_temporarily_closed"))
    for location in s.locations[:1]:
        address = pick(location.address, lang) or pick(location.address, "sr")
        city = place_name(location.city, lang)
        where = f"{say.value(address)}, {say.value(city)}" if address else say.text("label_town_centre", city=city)
        if hit.distance_km is not None and not hit.matched_place:
            where += f" ({say.text('label_km_away', km=f'{hit.distance_km:.0f}')})"
        lines.append(f"📍 {say.text('label_address')}: {where}")
        if location.precision == "street" and location.latitude is not None and location.longitude is not None:
            lines.append(_map(say, location.latitude, location.longitude))
    if not s.locations and "national" in s.service_area:
        lines.append(f"📍 {say.text('label_whole_country')}")
    callable_phones = [p for p in s.phones if p.kind != "fax"]  # nobody in need sends a fax
    if callable_phones:
        phones = ", ".join(say.value(p.number) for p in callable_phones[:3])
        lines.append(f"📞 {say.text('label_phone')}: {phones}")
    open_word = {True: "label_open_now", False: "label_closed_now", None: None}[hit.open_now]
    hours = hours_text(say, s)
    lines.append(f"🕒 {say.text('label_hours')}: {hours}" + (f" ({say.text(open_word)})" if open_word else ""))
    if s.languages:
        lines.append(f"🗣 {say.text('label_languages')}: {', '.join(say.value(endonym(c)) for c in s.languages)}")
    lines.append(f"✔️ {say.text('label_last_checked')}: {say.value(s.last_verified.isoformat())}")
    return "\n".join(lines)
