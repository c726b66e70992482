"""Finding category, place and language names in a message: exact, inflected and misspelled.

Phrases are compared after `normalise.fold`, so scripts, keyboards and diacritics do not matter.
Arabic-script clitics (و ب ل ف ال) and Serbian case endings (Beogradu, Šida, Nišu; obroka, smeštaju,
odjeću for service words) are allowed; single words of six letters or more (Latin or Arabic script) also
match a place with a small spelling mistake.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from rapidfuzz import fuzz, process

from bot.components.normalise import words

_ARABIC_PREFIXES = ("وال", "بال", "فال", "لل", "ال", "و", "ب", "ل", "ف", "به", "با", "د")
# Serbian case endings (Beogradu, Šida, Nišom, Subotici, Sjenici); short stems take only -u and -a.
_ENDINGS = ("u", "a", "om", "i", "e", "em", "ima", "ama")
_SHORT_STEM_ENDINGS = ("u", "a")
_PERSIAN_ENDINGS = ("یم", "ید", "م", "ی")  # بلگرادیم "we are in Belgrade", شیدم "I am in Šid"
# Common words that look like an inflected place: Serbian "nisu/nisam/nisi" (are not) are not Niš,
# "sida/sidu" (AIDS) is not Šid, unless a place preposition comes right before ("u sidu", "iz sida").
_NEVER = frozenset({"nisu", "nisam", "nisi", "nismo", "niste", "nista", "sida", "sidu"})
_PLACE_PREPOSITIONS = frozenset({"u", "iz", "do", "kod", "blizu"})
_MIN_SERVICE_STEM = 4  # a service word's stem must be longer than a town's: "hrani" -> "hrana", never "rad" -> ...
_FUZZY_MIN_LENGTH = 6
_FUZZY_CUTOFF = 85.0  # places only: people misspell towns, and a category typo rarely stands alone
# Arabic-script spellings of Serbian towns vary (کرنیاچه, کرنجاچه): on every NLU and held-out line, fuzzy
# matching of Arabic-script words found 5 places and nothing else
_ARABIC = re.compile(r"[\u0600-\u06FF]")
_MAX_WORDS = 5


@dataclass(frozen=True)
class Match:
    entity: str
    value: str
    start: int
    end: int
    text: str
    confidence: float


class PhraseMatcher:
    def __init__(self, phrases: list[tuple[str, str, str]]) -> None:
        """phrases: (text as people write it, entity type, canonical value)."""
        self.table: dict[tuple[str, ...], tuple[str, str]] = {}
        for text, entity, value in phrases:
            key = tuple(w for w, _, _ in words(text))
            if key and len(key) <= _MAX_WORDS:
                self.table.setdefault(key, (entity, value))
        self._fuzzy_vocabulary = sorted(
            k[0] for k, (entity, _) in self.table.items()
            if len(k) == 1 and len(k[0]) >= _FUZZY_MIN_LENGTH and entity == "city"
        )

    def phrases(self) -> list[tuple[str, str, str]]:
        return [(" ".join(k), e, v) for k, (e, v) in sorted(self.table.items())]

    def _lookup(self, key: tuple[str, ...], plain_last: bool = True) -> tuple[str, str, float] | None:
        """`plain_last`: the last word was typed without diacritics or Cyrillic ("nisu", not "Nišu")."""
        first, last = key[0], key[-1]
        if last in _NEVER and plain_last:
            return None
        found = self.table.get(key)
        if found:
            return (*found, 1.0)
        for prefix in _ARABIC_PREFIXES:  # "ببلغراد", "والطبيب", "لشید"
            if first.startswith(prefix) and len(first) - len(prefix) >= 3:
                found = self.table.get((first[len(prefix):], *key[1:]))
                if found:
                    return (*found, 0.95)
        if not last.isascii():
            for ending in _PERSIAN_ENDINGS:
                if last.endswith(ending) and len(last) - len(ending) >= 3:
                    found = self.table.get((*key[:-1], last[: -len(ending)]))
                    if found and found[0] == "city":
                        return (*found, 0.9)
        if last.isascii() and last.isalpha() and len(last) >= 4:  # Serbian case endings
            for ending in _ENDINGS:
                stem = last[: -len(ending)]
                if not last.endswith(ending) or len(stem) < 3 or (len(stem) == 3 and ending not in _SHORT_STEM_ENDINGS):
                    continue
                # Niš -> Nišu, Beograd -> Beogradu, Subotica -> Subotici; obrok -> obroka, odjeća -> odjeću
                for restored in ("", "a"):
                    found = self.table.get((*key[:-1], stem + restored))
                    if found and (found[0] == "city" or (found[0] == "service_category"
                                                         and len(stem) >= _MIN_SERVICE_STEM)):
                        return (*found, 0.9)
        return None

    def _fuzzy(self, word: str) -> tuple[str, str, float] | None:
        if len(word) < _FUZZY_MIN_LENGTH or word in _NEVER or not self._fuzzy_vocabulary:
            return None
        best = process.extractOne(word, self._fuzzy_vocabulary, scorer=fuzz.ratio, score_cutoff=_FUZZY_CUTOFF)
        if best is None:
            return None
        entity, value = self.table[(best[0],)]
        return entity, value, round(best[1] / 100.0, 3)

    def match(self, text: str) -> list[Match]:
        tokens = words(text)
        found: list[Match] = []
        i = 0
        while i < len(tokens):
            for length in range(min(_MAX_WORDS, len(tokens) - i), 0, -1):
                key = tuple(t for t, _, _ in tokens[i:i + length])
                last = tokens[i + length - 1]
                plain = text[last[1]:last[2]].isascii()
                after_preposition = i > 0 and tokens[i - 1][0] in _PLACE_PREPOSITIONS
                hit = (self._lookup(key, plain and not after_preposition)
                       or (self._fuzzy(key[0]) if length == 1 and (plain or _ARABIC.match(key[0])) else None))
                if hit:
                    start, end = tokens[i][1], tokens[i + length - 1][2]
                    found.append(Match(hit[0], hit[1], start, end, text[start:end], hit[2]))
                    i += length
                    break
            else:
                i += 1
        return found
