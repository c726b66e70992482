"""Names that are the same in every language of the interface: languages by their own names."""

from __future__ import annotations

from typing import Final

#: Endonyms: a language's own name reads the same to everyone, so it needs no translation.
ENDONYMS: Final[dict[str, str]] = {
    "en": "English", "ar": "العربية", "fa": "فارسی", "ps": "پښتو", "sr": "Srpski", "ku": "Kurdî",
    "ur": "اردو", "fr": "Français", "de": "Deutsch", "ru": "Русский", "tr": "Türkçe", "so": "Soomaali",
    "ti": "ትግርኛ", "bn": "বাংলা", "es": "Español",
}


def endonym(code: str) -> str:
    return ENDONYMS.get(code, code)
