"""A service as a short message: name, what it offers, address, phone, hours, languages, map, date.

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
        if location.precision == "street" and location.latitude is not None:
            lines.append(f"🗺 {say.text('label_map')}: https://www.openstreetmap.org/?mlat={location.latitude}"
                         f"&mlon={location.longitude}#map=17/{location.latitude}/{location.longitude}")
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
