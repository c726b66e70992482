"""Service category codes (SPEC.md) and their labels in the five languages."""

from __future__ import annotations

from typing import Final

LANGUAGES: Final = ("en", "ar", "fa", "ps", "sr")

#: code -> {language: short label for a button}. Serbian labels are Latin; Cyrillic is derived.
CATEGORIES: Final[dict[str, dict[str, str]]] = {
    "health": {"en": "Health", "ar": "الصحة", "fa": "درمان و سلامت", "ps": "روغتیا", "sr": "Zdravlje"},
    "psychosocial": {
        "en": "Someone to talk to",
        "ar": "دعم نفسي",
        "fa": "حمایت روانی",
        "ps": "رواني ملاتړ",
        "sr": "Psihološka podrška",
    },
    "legal_aid": {
        "en": "Legal help",
        "ar": "مساعدة قانونية",
        "fa": "کمک حقوقی",
        "ps": "حقوقي مرسته",
        "sr": "Pravna pomoć",
    },
    "shelter": {"en": "A place to sleep", "ar": "مكان للنوم", "fa": "جای خواب", "ps": "د خوب ځای", "sr": "Smeštaj"},
    "food": {"en": "Food", "ar": "طعام", "fa": "غذا", "ps": "خواړه", "sr": "Hrana"},
    "clothing": {"en": "Clothes", "ar": "ملابس", "fa": "لباس", "ps": "جامې", "sr": "Odeća"},
    "education": {
        "en": "School and classes",
        "ar": "مدرسة ودروس",
        "fa": "مدرسه و کلاس",
        "ps": "ښوونځی او ټولګي",
        "sr": "Škola i kursevi",
    },
    "child_protection": {
        "en": "Children alone",
        "ar": "أطفال بدون أهل",
        "fa": "کودکان تنها",
        "ps": "یوازې ماشومان",
        "sr": "Deca bez pratnje",
    },
    "women_protection": {
        "en": "Women's safety",
        "ar": "حماية النساء",
        "fa": "امنیت زنان",
        "ps": "د ښځو خوندیتوب",
        "sr": "Zaštita žena",
    },
    "anti_trafficking": {
        "en": "Trafficking, forced work",
        "ar": "الاتجار بالبشر",
        "fa": "قاچاق انسان",
        "ps": "د انسان قاچاق",
        "sr": "Trgovina ljudima",
    },
    "family_tracing": {
        "en": "Find family",
        "ar": "البحث عن العائلة",
        "fa": "پیدا کردن خانواده",
        "ps": "د کورنۍ موندل",
        "sr": "Traženje porodice",
    },
    "documents": {"en": "Documents", "ar": "أوراق ووثائق", "fa": "مدارک", "ps": "اسناد", "sr": "Dokumenti"},
    "work": {"en": "Work", "ar": "عمل", "fa": "کار", "ps": "کار", "sr": "Posao"},
    "information": {"en": "Information", "ar": "معلومات", "fa": "اطلاعات", "ps": "معلومات", "sr": "Informacije"},
    "interpretation": {"en": "Interpreter", "ar": "مترجم", "fa": "مترجم", "ps": "ژباړونکی", "sr": "Prevodilac"},
    "emergency": {"en": "Emergency", "ar": "طوارئ", "fa": "اورژانس", "ps": "بیړنۍ", "sr": "Hitno"},
}

CATEGORY_CODES: Final = frozenset(CATEGORIES)


def category_label(code: str, language: str) -> str:
    """The button label of a category in a language, English when the language is unknown."""
    labels = CATEGORIES[code]
    return labels.get(language, labels["en"])
