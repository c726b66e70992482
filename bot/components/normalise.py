"""Text normalisation for matching across keyboards and scripts, keeping offsets into the original.

`clean` is mild (for language identification: the letters that tell Pashto from Farsi stay);
`fold` is aggressive (for matching words and features: Pashto typed on a Persian keyboard,
Arabic typed with Persian letters, Serbian in either script with or without diacritics all fold
to one form).
"""

from __future__ import annotations

import re
import unicodedata

from bot.i18n.script import to_latin

_ZERO_WIDTH = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u200e\u200f\u2060\u2066\u2067\u2068\u2069"
                                     "\u202a\u202b\u202c\u202d\u202e\ufeff"))
_TATWEEL = "\u0640"
_ARABIC_MARKS = re.compile(r"[\u064B-\u065F\u0670\u06D6-\u06ED]")
_DIGITS = {ord(c): str(i) for i, c in enumerate("٠١٢٣٤٥٦٧٨٩")} | {ord(c): str(i) for i, c in enumerate("۰۱۲۳۴۵۶۷۸۹")}

# Letter folding for matching (one output string per input character, possibly empty).
_FOLD = {
    "ك": "ک", "ي": "ی", "ى": "ی", "ې": "ی", "ۍ": "ی", "ئ": "ی", "ے": "ی",
    "ة": "ه", "ۀ": "ه", "ە": "ه", "أ": "ا", "إ": "ا", "آ": "ا", "ٱ": "ا", "ؤ": "و",
    "ګ": "گ", "ڭ": "گ", "ښ": "ش", "ږ": "ژ", "ټ": "ت", "ډ": "د", "ړ": "ر", "ڼ": "ن", "ځ": "ز", "څ": "س",
    "č": "c", "ć": "c", "š": "s", "ž": "z", "đ": "dj",
}


_TAG = re.compile(r"<[^<>]{0,200}>")


def strip_markup(text: str) -> str:
    """HTML tags become spaces of the same length, so offsets into the original text still hold."""
    return _TAG.sub(lambda m: " " * len(m.group(0)), text)


def clean(text: str) -> str:
    """NFKC, no markup, no zero-width or bidi controls, no tatweel or Arabic diacritics, ASCII digits."""
    text = unicodedata.normalize("NFKC", strip_markup(text)).translate(_ZERO_WIDTH).replace(_TATWEEL, "")
    return _ARABIC_MARKS.sub("", text).translate(_DIGITS)


def fold_with_offsets(text: str) -> tuple[str, list[int]]:
    """The folded text, and for each of its characters the index of the original character."""
    out: list[str] = []
    offsets: list[int] = []
    for index, char in enumerate(text):
        piece = _fold_char(char)
        out.append(piece)
        offsets.extend([index] * len(piece))
    return "".join(out), offsets


def fold(text: str) -> str:
    return fold_with_offsets(text)[0]


def _fold_char(char: str) -> str:
    if ord(char) in _ZERO_WIDTH or char == _TATWEEL or _ARABIC_MARKS.match(char):
        return ""
    char = unicodedata.normalize("NFKC", char)
    char = char.translate(_DIGITS).lower()
    char = to_latin(char)  # Serbian Cyrillic
    return "".join(_FOLD.get(c, c) for c in char)


_WORD = re.compile(r"[^\W_]+(?:['’][^\W_]+)*", re.UNICODE)


_ELONGATED = re.compile(r"([^\W\d_])\1{2,}")  # "daaa", "pleaaase", "هههه": three or more of a letter count as one


def words(text: str) -> list[tuple[str, int, int]]:
    """Folded words with their (start, end) in the original text."""
    folded, offsets = fold_with_offsets(text)
    result = []
    for match in _WORD.finditer(folded):
        start, end = match.span()
        result.append((_ELONGATED.sub(r"\1", match.group(0)), offsets[start], offsets[end - 1] + 1))
    return result
