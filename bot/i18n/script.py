"""Serbian Cyrillic <-> Latin transliteration and script detection."""

from __future__ import annotations

import re

_CYR_TO_LAT = {
    "а": "a", "б": "b", "в": "v", "г": "g", "д": "d", "ђ": "đ", "е": "e", "ж": "ž", "з": "z", "и": "i",
    "ј": "j", "к": "k", "л": "l", "љ": "lj", "м": "m", "н": "n", "њ": "nj", "о": "o", "п": "p", "р": "r",
    "с": "s", "т": "t", "ћ": "ć", "у": "u", "ф": "f", "х": "h", "ц": "c", "ч": "č", "џ": "dž", "ш": "š",
}
_CYR_TO_LAT.update({k.upper(): v.capitalize() for k, v in list(_CYR_TO_LAT.items())})
_LAT_DIGRAPHS = {"lj": "љ", "nj": "њ", "dž": "џ", "Lj": "Љ", "Nj": "Њ", "Dž": "Џ", "LJ": "Љ", "NJ": "Њ", "DŽ": "Џ"}
_LAT_TO_CYR = {v: k for k, v in _CYR_TO_LAT.items() if len(v) == 1}
# Spans that must stay Latin inside Cyrillic text: URLs, e-mail addresses, placeholders, and
# words with letters Serbian Latin does not have (brand names such as WhatsApp, Telegram's /start).
_KEEP_LATIN = re.compile(r"https?://\S+|\S+@\S+|\{[^}]*\}|/\w+|\b\w*[qwxyQWXY]\w*\b")

CYRILLIC = re.compile(r"[\u0400-\u04FF]")
LATIN = re.compile(r"[A-Za-z\u00C0-\u024F]")


def to_latin(text: str) -> str:
    return "".join(_CYR_TO_LAT.get(ch, ch) for ch in text)


def _word_to_cyrillic(chunk: str) -> str:
    out, i = [], 0
    while i < len(chunk):
        pair = chunk[i:i + 2]
        if pair in _LAT_DIGRAPHS:
            out.append(_LAT_DIGRAPHS[pair])
            i += 2
            continue
        out.append(_LAT_TO_CYR.get(chunk[i], chunk[i]))
        i += 1
    return "".join(out)


def to_cyrillic(text: str) -> str:
    """Serbian Latin to Cyrillic, leaving URLs, e-mails, {placeholders} and foreign words alone."""
    out, last = [], 0
    for match in _KEEP_LATIN.finditer(text):
        out.append(_word_to_cyrillic(text[last:match.start()]))
        out.append(match.group(0))
        last = match.end()
    out.append(_word_to_cyrillic(text[last:]))
    return "".join(out)


def serbian_script(text: str) -> str | None:
    """'cyrl' or 'latn' by the letters used, None when there are no letters of either."""
    cyr, lat = len(CYRILLIC.findall(text)), len(LATIN.findall(text))
    if cyr == lat == 0:
        return None
    return "cyrl" if cyr > lat else "latn"
