"""Counted nouns in each language's grammar ("1 day", "21 dan", "5 أيام", "30 يومًا").

Only what the assistant's own texts need; values go into responses through `Responses.render`,
which isolates them in right-to-left text (the digits are isolated here as well).
"""

from __future__ import annotations

from bot.i18n.bidi import LRI, PDI


def days(n: int, language: str | None) -> str:
    """`n` days, for a sentence like "I keep your messages for ___" in the language (Serbian in Latin
    script: `Responses.render` writes it in Cyrillic where the person does)."""
    if language == "sr":  # 1, 21, 31, 101 dan; every other number dana (11 too)
        return f"{n} dan" if n % 10 == 1 and n % 100 != 11 else f"{n} dana"
    if language == "ar":  # after "لمدة": genitive singular, dual, plural of 3-10, accusative 11-99
        number = f"{LRI}{n}{PDI}"
        if n == 1:
            return "يوم واحد"
        if n == 2:
            return "يومين"
        rest = n % 100
        if 3 <= rest <= 10:
            return f"{number} أيام"
        if 11 <= rest <= 99:
            return f"{number} يومًا"
        return f"{number} يوم"  # 100, 200, 101, 102...
    if language == "fa":  # Persian counts with the singular
        return f"{LRI}{n}{PDI} روز"
    if language == "ps":
        return "یوه ورځ" if n == 1 else f"{LRI}{n}{PDI} ورځې"
    return "1 day" if n == 1 else f"{n} days"
