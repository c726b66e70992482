"""Place slugs (SPEC.md), their names in the five languages and their town-centre coordinates.

Coordinates are the centre of the town (or village) and are marked so: a service whose street
address is unknown is placed there, which is honest about what we know.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final


@dataclass(frozen=True)
class Place:
    slug: str
    names: dict[str, str]  # language -> name; "sr" is Latin with diacritics
    latitude: float
    longitude: float
    aliases: tuple[str, ...] = ()  # other spellings people use (villages, old names)


#: Every municipality the directory knows. "national" is not a place: it marks a service
#: that serves the whole country (hotlines) and is handled by the query API.
PLACES: Final[dict[str, Place]] = {
    p.slug: p
    for p in (
        Place("belgrade", {"en": "Belgrade", "sr": "Beograd", "ar": "بلغراد", "fa": "بلگراد", "ps": "بلګراد"},
              44.8176, 20.4569, ("Belgrad", "Krnjača", "Palilula", "Novi Beograd", "Savamala")),
        Place("obrenovac", {"en": "Obrenovac", "sr": "Obrenovac",
                            "ar": "أوبرينوفاتس", "fa": "اوبرنواتس", "ps": "اوبرېنوواتس"},
              44.6549, 20.2002),
        Place("subotica", {"en": "Subotica", "sr": "Subotica", "ar": "سوبوتيتسا", "fa": "سوبوتیتسا", "ps": "سوبوتیتسا"},
              46.1003, 19.6658),
        Place("sombor", {"en": "Sombor", "sr": "Sombor", "ar": "سومبور", "fa": "سومبور", "ps": "سومبور"},
              45.7733, 19.1151),
        Place("kikinda", {"en": "Kikinda", "sr": "Kikinda", "ar": "كيكيندا", "fa": "کیکیندا", "ps": "کیکیندا"},
              45.8297, 20.4653),
        Place("kanjiza", {"en": "Kanjiža", "sr": "Kanjiža", "ar": "كانيجا", "fa": "کانیژا", "ps": "کانیژا"},
              46.0667, 20.0500, ("Kanjiza", "Horgoš")),
        Place("sid", {"en": "Šid", "sr": "Šid", "ar": "شيد", "fa": "شید", "ps": "شید"},
              45.1283, 19.2264, ("Principovac", "Adaševci")),
        Place("novi_sad", {"en": "Novi Sad", "sr": "Novi Sad", "ar": "نوفي ساد", "fa": "نووی ساد", "ps": "نوي ساد"},
              45.2671, 19.8335),
        Place("loznica", {"en": "Loznica", "sr": "Loznica", "ar": "لوزنيتسا", "fa": "لوزنیتسا", "ps": "لوزنیتسا"},
              44.5334, 19.2236, ("Banja Koviljača", "Banja Koviljaca")),
        Place("lajkovac", {"en": "Lajkovac", "sr": "Lajkovac", "ar": "لايكوفاتس", "fa": "لایکواتس", "ps": "لایکوواتس"},
              44.3697, 20.1647, ("Bogovađa", "Bogovadja")),
        Place("sjenica", {"en": "Sjenica", "sr": "Sjenica", "ar": "سيينيتسا", "fa": "سیینیتسا", "ps": "سیېنیتسا"},
              43.2731, 20.0033),
        Place("tutin", {"en": "Tutin", "sr": "Tutin", "ar": "توتين", "fa": "توتین", "ps": "توتین"},
              42.9906, 20.3364),
        Place("presevo", {"en": "Preševo", "sr": "Preševo", "ar": "بريشيفو", "fa": "پرشوو", "ps": "پرېشېوو"},
              42.3092, 21.6497, ("Presevo", "Miratovac")),
        Place("bujanovac", {"en": "Bujanovac", "sr": "Bujanovac",
                            "ar": "بويانوفاتس", "fa": "بویانواتس", "ps": "بویانوواتس"},
              42.4611, 21.7700),
        Place("vranje", {"en": "Vranje", "sr": "Vranje", "ar": "فرانيه", "fa": "ورانیه", "ps": "ورانیې"},
              42.5514, 21.9003),
        Place("pirot", {"en": "Pirot", "sr": "Pirot", "ar": "بيروت الصربية", "fa": "پیروت", "ps": "پیروت"},
              43.1531, 22.5861),
        Place("dimitrovgrad", {"en": "Dimitrovgrad", "sr": "Dimitrovgrad",
                               "ar": "ديميتروفغراد", "fa": "دیمیتروفگراد", "ps": "دیمیتروګراد"},
              43.0158, 22.7750),
        Place("bosilegrad", {"en": "Bosilegrad", "sr": "Bosilegrad",
                             "ar": "بوسيليغراد", "fa": "بوسیلگراد", "ps": "بوسیلېګراد"},
              42.5003, 22.4722),
        Place("bela_palanka", {"en": "Bela Palanka", "sr": "Bela Palanka",
                               "ar": "بيلا بالانكا", "fa": "بلا پالانکا", "ps": "بېلا پالانکا"},
              43.2178, 22.3131, ("Divljana",)),
        Place("nis", {"en": "Niš", "sr": "Niš", "ar": "نيش", "fa": "نیش", "ps": "نیش"},
              43.3209, 21.8958, ("Nis", "Nish")),
    )
}

PLACE_SLUGS: Final = frozenset(PLACES)
NATIONAL: Final = "national"


def place_name(slug: str, language: str) -> str:
    """A place's name in a language, English when the language has none."""
    place = PLACES[slug]
    return place.names.get(language, place.names["en"])
