"""Accuracy of the language detector (`bot.components.langid`) on two kinds of text.

1. The shared test set `langid_eval.jsonl` (news, web and book sentences and CLDR strings; see
   `shared/data/README.md`): accuracy overall, on short items (1-3 words), on short Pashto, per
   language and per bucket/language, calibration, and the same without the items that are a
   name CLDR spells identically in two of the languages (Pashto and Farsi "دوشنبه", "مصر"), which
   no detector can get right in both. It is a test set: never train on it.
2. Realistic chat messages: the NLU examples in `nlu_data/<lang>/*.yml` (intent examples only;
   `synonyms.yml` lists entity spellings, not messages) and the held-out messages in
   `bench/nlu/heldout/<lang>.yml`, with the entity markup `[text]{...}` stripped. The expected
   language is the file's; Latin-script lines in the ar/fa/ps files are romanised Arabic, Farsi
   or Pashto and are expected as such ("romanised", the rest "native"). Two kinds of line have no
   single right answer and are counted apart:
   - "universal": no letters at all, or at most three words each of which is a greeting,
     yes/no/ok/thanks/help-type word, a place or language name (the line's `city`/`language`
     entities) or a pleasantry of another language ("shukran" in the English file), e.g. "ok",
     "salam", "Beograd", "pashto please"; the report shows what they were detected as;
   - "english": a Latin-script line in a non-English file made only of common English words
     ("change language to arabic"), where English or the file's language is accepted.
   Besides accuracy, it reports calibration (ECE) and how often the thresholds of
   `bot.components.language.decide` (0.55 for a first language; 0.8 and 3+ words to switch)
   pick the right language, and how many messages pass them.

Use `evaluate()` from code (bench/nlu calls it) or run `python -m bench.nlu.langid_eval`
(`--errors` lists the chat lines it gets wrong).
"""

from __future__ import annotations

import json
import os
import re
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import yaml
from spacy.lang.en.stop_words import STOP_WORDS as EN_STOP_WORDS

ROOT = Path(__file__).resolve().parents[2]
LANGS = ("en", "ar", "fa", "ps", "sr")
DEFAULT_EVAL = Path(os.environ.get("PUTOKAZ_LANGID_EVAL",
                                   ROOT.parent / "shared" / "data" / "langid_eval.jsonl"))
NLU_DIR = ROOT / "nlu_data"
HELDOUT_DIR = ROOT / "bench" / "nlu" / "heldout"

_ENTITY_JSON = re.compile(r"\[([^\]]*)\]\{[^}]*\}")  # [text]{"entity": ..., "value": ...}
_ENTITY_PAREN = re.compile(r"\[([^\]]*)\]\([^)]*\)")  # [text](entity) or [text](entity:value)
_ENTITY_KIND = re.compile(  # the text of a city or language annotation, in either form
    r"\[([^\]]*)\](?:\{[^}]*\"entity\"\s*:\s*\"(?:city|language)\"[^}]*\}|\((?:city|language)(?::[^)]*)?\))")
_TOKEN = re.compile(r"[^\W\d_]+")
_LATIN = re.compile(r"[A-Za-z\u00C0-\u024F]")
_OTHER_SCRIPTS = re.compile(r"[\u0400-\u04FF\u0600-\u06FF\u0750-\u077F\uFB50-\uFDFF\uFE70-\uFEFF]")

# Words that mean the same to everyone in a chat (greetings, yes/no, thanks, help, menu), in
# the scripts people type them in. A message of at most three of these (or of place/language
# names) has no single right language.
UNIVERSAL = frozenset([
    "ok", "okay", "okey", "okej", "oke", "k", "hi", "hii", "hey", "hello", "helo", "hallo", "hola", "salam", "salaam",
    "slm", "selam", "salom", "alaikum", "alaykum", "alikum", "aleikum", "alejkum", "alekum", "bye", "bay", "bai",
    "ciao", "cao", "ćao", "čao", "yes", "yeah", "yep", "yup", "no", "nope", "nah", "thanks", "thank", "thx", "tnx",
    "ty", "merci", "mersi", "help", "sos", "emergency", "menu", "meni", "next", "more", "please", "pls", "plz", "lol",
    "haha", "hahaha", "سلام", "سلامونه", "هلو", "هلا", "های", "هی", "بای", "اوکی", "مرسی", "السلام", "سلامو", "علیکم",
    "اسلام", "و",
])
# Greetings, thanks and yes/no of each language. In a file of another language (a Farsi speaker
# writing "shukran", an English one writing "zdravo"), a short message of these is universal;
# in its own language's file it is scored.
PLEASANTRIES = {
    "en": ["hello", "thanks", "thank", "yes", "no", "bye", "good", "morning"],
    "ar": [
        "marhaba", "mar7aba", "ahlan", "shukran", "shokran", "choukran", "shukriya", "aywa", "aiwa", "na3am", "la",
        "la2", "yalla", "inshallah", "habibi", "jazakallah", "asalam", "salamu", "alaikum", "alekum", "o", "w", "wa",
        "مرحبا", "اهلا", "شکرا", "نعم", "لا",
    ],
    "fa": [
        "khoda", "khuda", "hafez", "hafiz", "khodahafez", "mamnoon", "mamnun", "tashakor", "tashakkor", "merci", "bale",
        "baleh", "are", "na", "ne", "نه", "نخیر", "تشکر", "ممنون", "بله", "خداحافظ",
    ],
    "ps": ["manana", "tashakor", "ho", "na", "khuda", "pamaan", "هو", "نه", "مننه", "تشکر"],
    "sr": ["zdravo", "hvala", "fala", "da", "ne", "cao", "ćao", "dobar", "dan", "merhaba"],
    "other": ["nahi", "nai", "ha", "haan", "shukriya"],  # Urdu/Hindi, typed by anyone
}
# Common English words: a Latin line in an ar/fa/ps/sr file made only of these (or of spaCy's English
# stop words, which are all English function words) is English.
ENGLISH = frozenset(EN_STOP_WORDS) | frozenset([
    "a", "an", "the", "i", "me", "my", "you", "your", "we", "us", "our", "he", "she", "it", "they", "them", "is", "are",
    "am", "was", "be", "been", "do", "does", "did", "not", "no", "yes", "ok", "okay", "please", "pls", "plz", "thanks",
    "thank", "thx", "help", "need", "want", "can", "could", "would", "will", "to", "in", "on", "at", "of", "for",
    "from", "with", "and", "or", "but", "this", "that", "what", "where", "when", "who", "how", "why", "here", "there",
    "now", "change", "language", "speak", "talk", "write", "english", "arabic", "farsi", "persian", "dari", "pashto",
    "serbian", "delete", "data", "number", "phone", "bye", "hi", "hello", "hey", "good", "morning", "night", "more",
    "next", "menu", "emergency", "sos", "doctor", "hospital", "camp", "food", "water", "police", "school", "job",
    "wifi", "women", "center", "red", "cross", "registration", "interpreter", "ambulance", "psychologist", "lawyer",
    "operator", "real", "human", "person", "bot", "robot",
    # everyday words of the English lines people mix into other languages' chats (help, danger, privacy)
    "agent", "transfer", "forget", "remove", "quickly", "quick", "urgent", "friend", "bleeding", "kill", "die",
    "danger", "minor", "parents", "mother", "father", "child", "kids", "bro", "sis", "cya", "capital", "france",
    "hurt", "sick", "lost", "scared", "afraid", "thing", "things", "information", "info", "message", "messages",
    "sorry", "know", "understand", "like", "love", "fine", "great", "nice", "bad", "old", "years", "year",
    "s", "m", "t", "re", "ve", "ll", "d",  # what's, i'm, don't ... split at the apostrophe
])


class Detector(Protocol):
    def detect(self, text: str) -> Any: ...


@dataclass(frozen=True)
class ChatLine:
    text: str
    lang: str  # the file's language
    kind: str  # "native", "romanised", "universal" or "english"
    source: str


def strip_entities(text: str) -> str:
    """`[text]{...}` and `[text](...)` -> `text`."""
    return _ENTITY_PAREN.sub(r"\1", _ENTITY_JSON.sub(r"\1", text))


_ARABIC_FOLD = str.maketrans({"ي": "ی", "ى": "ی", "ك": "ک", "ة": "ه", "أ": "ا", "إ": "ا", "آ": "ا"})
_ELONGATED = re.compile(r"(\w)\1{2,}")


def _tokens(text: str) -> list[str]:
    return _TOKEN.findall(_ELONGATED.sub(r"\1", text.lower().translate(_ARABIC_FOLD)))


_PLEASANT = {lang: frozenset(t for w in words for t in _tokens(w)) for lang, words in PLEASANTRIES.items()}
_UNIVERSAL = frozenset(t for w in UNIVERSAL for t in _tokens(w))


def classify_line(raw: str, lang: str) -> str:
    """The kind of a chat line (see the module docstring); `raw` still has its entity markup."""
    text = strip_entities(raw)
    tokens = _tokens(text)
    if not tokens:
        return "universal"  # digits, emoji, punctuation
    entity_tokens = {t for m in _ENTITY_KIND.finditer(raw) for t in _tokens(m.group(1))}
    foreign = set().union(*(words for other, words in _PLEASANT.items() if other != lang))
    if len(tokens) <= 3 and all(t in _UNIVERSAL or t in entity_tokens or t in foreign for t in tokens):
        return "universal"
    latin_only = bool(_LATIN.search(text)) and not _OTHER_SCRIPTS.search(text)
    if lang != "en" and latin_only and tokens and all(t in ENGLISH or t in entity_tokens for t in tokens):
        return "english"
    if lang in ("ar", "fa", "ps") and latin_only:
        return "romanised"
    return "native"


def _intent_examples(path: Path) -> Iterator[str]:
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    for block in data.get("nlu") or []:
        if "intent" not in block:
            continue  # synonym, lookup and regex blocks list spellings, not messages
        for line in str(block.get("examples") or "").splitlines():
            line = line.strip()
            if line.startswith("- "):
                yield line[2:].strip()


def chat_lines(paths_by_lang: dict[str, Iterable[Path]]) -> list[ChatLine]:
    lines = []
    for lang, paths in paths_by_lang.items():
        for path in paths:
            for raw in _intent_examples(path):
                text = strip_entities(raw).strip()
                if text:
                    lines.append(ChatLine(text, lang, classify_line(raw, lang), path.name))
    return lines


def nlu_chat_lines(nlu_dir: Path = NLU_DIR) -> list[ChatLine]:
    return chat_lines({lang: sorted((nlu_dir / lang).glob("*.yml")) for lang in LANGS})


def heldout_chat_lines(heldout_dir: Path = HELDOUT_DIR) -> list[ChatLine]:
    return chat_lines({lang: [heldout_dir / f"{lang}.yml"] for lang in LANGS
                       if (heldout_dir / f"{lang}.yml").exists()})


def _ratio(ok: int, n: int) -> float | None:
    return round(ok / n, 4) if n else None


def calibration(pairs: list[tuple[float, bool]], bins: int = 10) -> dict[str, float | None]:
    """Expected calibration error (ECE) over `bins` equal-width confidence bins, mean confidence
    and accuracy, of (confidence, correct) pairs."""
    if not pairs:
        return {"ece": None, "mean_confidence": None, "accuracy": None}
    buckets: dict[int, list[tuple[float, bool]]] = defaultdict(list)
    for confidence, good in pairs:
        buckets[min(int(confidence * bins), bins - 1)].append((confidence, good))
    ece = sum(abs(sum(c for c, _ in b) - sum(g for _, g in b)) for b in buckets.values()) / len(pairs)
    return {"ece": round(ece, 4), "mean_confidence": round(sum(c for c, _ in pairs) / len(pairs), 4),
            "accuracy": round(sum(g for _, g in pairs) / len(pairs), 4)}


def _decisive(pairs: list[tuple[float, bool, int]], confidence: float,
              words: int) -> dict[str, float | None]:
    chosen = [good for conf, good, n in pairs if conf >= confidence and n >= words]
    return {"precision": _ratio(sum(chosen), len(chosen)), "coverage": _ratio(len(chosen), len(pairs))}


# The thresholds of bot.components.language.decide: a first language needs 0.55; switching an
# established one needs 0.8 and at least three words.
FIRST_CONFIDENCE = 0.55
SWITCH_CONFIDENCE = 0.8


def evaluate_chat(detector: Detector, lines: list[ChatLine]) -> dict[str, Any]:
    """Accuracy on scored lines (native + romanised) overall, per language, per kind, plus what
    the universal lines were detected as, the English lines' acceptance rate, calibration, how
    often the confidence thresholds of the language switch are right, and the errors."""
    ok: Counter[str] = Counter()
    n: Counter[str] = Counter()
    universal: dict[str, Counter[str]] = defaultdict(Counter)
    errors = []
    scored: list[tuple[float, bool, int]] = []
    for line in lines:
        detection = detector.detect(line.text)
        code = detection.code
        if line.kind == "universal":
            universal[line.lang][str(code)] += 1
            continue
        good = code == line.lang or (line.kind == "english" and code == "en")
        if line.kind != "english":
            scored.append((float(detection.confidence), good, int(detection.words)))
        keys = (["english"] if line.kind == "english"
                else ["all", line.lang, line.kind, f"{line.kind}-{line.lang}"])
        for key in keys:
            n[key] += 1
            ok[key] += good
        if not good:
            errors.append({"text": line.text, "lang": line.lang, "got": code, "kind": line.kind})
    return {
        "overall": _ratio(ok["all"], n["all"]),
        "n": n["all"],
        "per_lang": {lang: _ratio(ok[lang], n[lang]) for lang in LANGS},
        "native": _ratio(ok["native"], n["native"]),
        "romanised": _ratio(ok["romanised"], n["romanised"]),
        "per_kind_lang": {key: _ratio(ok[key], n[key]) for key in sorted(n) if "-" in key},
        "english_lines": {"accepted": _ratio(ok["english"], n["english"]), "n": n["english"]},
        "universal": {lang: dict(counter) for lang, counter in sorted(universal.items())},
        "calibration": calibration([(c, g) for c, g, _ in scored]),
        "first": _decisive(scored, FIRST_CONFIDENCE, 1),
        "switch": _decisive(scored, SWITCH_CONFIDENCE, 3),
        "errors": errors,
    }


def load_eval(path: Path = DEFAULT_EVAL) -> list[dict[str, Any]]:
    with open(path, encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


_CLDR_LOCALES = {"en": ("en",), "ar": ("ar",), "fa": ("fa", "fa_AF"), "ps": ("ps",), "sr": ("sr", "sr_Latn")}


def cldr_shared_names() -> frozenset[str]:
    """Names (countries, languages, currencies, months, weekdays) that CLDR spells the same in
    two of the five languages, e.g. Pashto and Farsi "دوشنبه", "مصر", "جمعه". A test item that is
    one of them has no single right language. Empty when `babel` is not installed."""
    try:
        from babel import Locale
    except ImportError:  # pragma: no cover
        return frozenset()
    names_by_lang: dict[str, set[str]] = {}
    for lang, locales in _CLDR_LOCALES.items():
        names: set[str] = set()
        for code in locales:
            locale = Locale.parse(code)
            for table in (locale.territories, locale.languages, locale.currencies):
                names.update(table.values())
            for context in ("format", "stand-alone"):
                for width in ("wide", "abbreviated"):
                    for table in (locale.months, locale.days):
                        try:
                            names.update(table[context][width].values())
                        except KeyError:
                            continue
        names_by_lang[lang] = {name.strip().lower() for name in names}
    counts = Counter(name for names in names_by_lang.values() for name in names)
    return frozenset(name for name, count in counts.items() if count >= 2)


def evaluate_testset(detector: Detector, rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Accuracy overall, per bucket and language; `*_unambiguous` leave out the items that are a
    name CLDR spells the same in two of the languages (see `cldr_shared_names`)."""
    ok: Counter[str] = Counter()
    n: Counter[str] = Counter()
    confusions: Counter[tuple[str, str]] = Counter()
    shared = cldr_shared_names()
    pairs: list[tuple[float, bool]] = []
    started = time.perf_counter()
    for row in rows:
        detection = detector.detect(row["text"])
        code = detection.code
        good = code == row["lang"]
        pairs.append((float(detection.confidence), good))
        keys = ["all", row["bucket"], row["lang"], f"{row['bucket']}-{row['lang']}"]
        if row["text"].strip().lower() in shared:
            keys.append("ambiguous")
        else:
            keys += ["all-unambiguous", f"{row['bucket']}-{row['lang']}-unambiguous"]
        for key in keys:
            n[key] += 1
            ok[key] += good
        if not good:
            confusions[f"{row['lang']}->{code}"] += 1
    elapsed = time.perf_counter() - started
    return {
        "overall": _ratio(ok["all"], n["all"]),
        "n": n["all"],
        "short": _ratio(ok["short"], n["short"]),
        "medium": _ratio(ok["medium"], n["medium"]),
        "short_ps": _ratio(ok["short-ps"], n["short-ps"]),
        "overall_unambiguous": _ratio(ok["all-unambiguous"], n["all-unambiguous"]),
        "short_ps_unambiguous": _ratio(ok["short-ps-unambiguous"], n["short-ps-unambiguous"]),
        "ambiguous": {"accuracy": _ratio(ok["ambiguous"], n["ambiguous"]), "n": n["ambiguous"]},
        "per_lang": {lang: _ratio(ok[lang], n[lang]) for lang in LANGS},
        "per_bucket_lang": {key: _ratio(ok[key], n[key]) for key in sorted(n)
                            if key.count("-") == 1 and not key.startswith("all")},
        "calibration": calibration(pairs),
        "confusions": dict(confusions.most_common(10)),
        "ms_per_message": round(elapsed / max(len(rows), 1) * 1000, 3),
    }


def evaluate(detector: Detector | None = None, eval_path: Path | str | None = DEFAULT_EVAL,
             nlu_dir: Path = NLU_DIR, heldout_dir: Path = HELDOUT_DIR) -> dict[str, Any]:
    """All figures in one dict: `testset` (None when the file is missing), `nlu` and `heldout`.

    Keys of `testset`: overall, short, medium, short_ps, per_lang, per_bucket_lang, confusions,
    ms_per_message. Keys of `nlu`/`heldout`: overall, per_lang, native, romanised,
    per_kind_lang, english_lines, universal, errors.
    """
    if detector is None:
        from bot.components.langid import LanguageDetector

        detector = LanguageDetector()
    if hasattr(detector, "warm_up"):  # load the models outside the timing
        detector.warm_up()
    detector.detect("warm up")
    result: dict[str, Any] = {"testset": None}
    if eval_path is not None and Path(eval_path).exists():
        result["testset"] = evaluate_testset(detector, load_eval(Path(eval_path)))
    result["nlu"] = evaluate_chat(detector, nlu_chat_lines(nlu_dir))
    result["heldout"] = evaluate_chat(detector, heldout_chat_lines(heldout_dir))
    return result


def format_table(result: dict[str, Any]) -> str:
    def pct(value: float | None) -> str:
        return "  -  " if value is None else f"{value:.3f}"

    rows = []
    test = result.get("testset")
    if test:
        rows.append(f"testset  overall {pct(test['overall'])}  short {pct(test['short'])}  "
                    f"medium {pct(test['medium'])}  short-ps {pct(test['short_ps'])}  "
                    f"({test['n']} items, {test['ms_per_message']} ms/msg)")
        rows.append(f"         without the {test['ambiguous']['n']} names CLDR spells alike in two languages: "
                    f"overall {pct(test['overall_unambiguous'])}  short-ps {pct(test['short_ps_unambiguous'])}; "
                    f"ECE {pct(test['calibration']['ece'])}")
        rows.append("         " + "  ".join(f"{k} {pct(v)}" for k, v in test["per_lang"].items()))
        rows.append("         " + "  ".join(f"{k} {pct(v)}" for k, v in test["per_bucket_lang"].items()))
    for name in ("nlu", "heldout"):
        chat = result[name]
        rows.append(f"{name:8s} overall {pct(chat['overall'])}  native {pct(chat['native'])}  "
                    f"romanised {pct(chat['romanised'])}  ({chat['n']} lines; english lines "
                    f"accepted {pct(chat['english_lines']['accepted'])} of {chat['english_lines']['n']})")
        rows.append("         " + "  ".join(f"{k} {pct(v)}" for k, v in chat["per_lang"].items()))
        rows.append("         " + "  ".join(f"{k} {pct(v)}" for k, v in chat["per_kind_lang"].items()))
        cal = chat["calibration"]
        rows.append(f"         calibration: ECE {pct(cal['ece'])}, mean confidence {pct(cal['mean_confidence'])}; "
                    f"conf>={FIRST_CONFIDENCE}: precision {pct(chat['first']['precision'])} coverage "
                    f"{pct(chat['first']['coverage'])}; conf>={SWITCH_CONFIDENCE} and 3+ words: precision "
                    f"{pct(chat['switch']['precision'])} coverage {pct(chat['switch']['coverage'])}")
        rows.append("         universal: " + "; ".join(
            f"{lang}: " + ", ".join(f"{code} {count}" for code, count in sorted(c.items(), key=lambda x: -x[1]))
            for lang, c in chat["universal"].items()))
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    result = evaluate()
    print(format_table(result))
    if "--errors" in argv:
        for name in ("nlu", "heldout"):
            for error in result[name]["errors"]:
                print(name, error["lang"], "->", error["got"], error["kind"], repr(error["text"]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
