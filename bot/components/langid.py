"""Language identification for short chat messages in en, ar, fa, ps and sr.

Three kinds of evidence are combined: letters only one language uses (Pashto ټ ډ ړ ږ ښ ګ ڼ ې ۍ,
Persian پ چ ژ گ, Arabic ة ى), small lists of function words people type in chat (including
romanised Arabic and Persian), and the `langidentify` n-gram model, which ships inside its wheel.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from functools import cached_property

from bot.components.normalise import clean, fold
from bot.i18n.script import serbian_script

CODES = ("en", "ar", "fa", "ps", "sr")
NGRAM_WEIGHT = 5.0
NGRAM_FLOOR = 3.0
_ARABIC_SCRIPT = re.compile(r"[\u0600-\u06FF\u0750-\u077F\uFB50-\uFDFF\uFE70-\uFEFF]")
_CYRILLIC = re.compile(r"[\u0400-\u04FF]")
_LATIN = re.compile(r"[A-Za-z\u00C0-\u024F]")
_PASHTO_LETTERS = re.compile(r"[ټډړږښګڼېۍځڅ]")
_PERSIAN_LETTERS = re.compile(r"[پچژگ]")
_ARABIC_LETTERS = re.compile(r"[ةى]")
_ARABIZI_DIGIT = re.compile(r"(?<=[a-z])[235679]|[2357](?=[a-z])")
_SERBIAN_LATIN = re.compile(r"[čćšžđČĆŠŽĐ]")

# Folded function words and chat words that mark a language (see normalise.fold).
_WORDS: dict[str, frozenset[str]] = {
    "ps": frozenset("""
        زه ته هغه مونږ موږ مونږه دی ده دي دې کی کې کښی کښې ته څه سه چیرته چرته چیری کوم ولی ولې غواړم غوارم غوړم
        شته نشته نه هو ما زما ستا مې می مي راته ماته دلته هلته اوس مرسته مرستی کولای شم شی کوی کوو دا له سره یم یو
        لپاره لاره څنګه سنگه ښه شه ډیر دیر ورور خور کور کلی ماشوم نوم وایه ووایه پیدا ځای زای وخت ټول تول
        راسره ورسره اوسیږم اوسیژم ولاړ ولار لری لرم لرو لري""".split()),
    "fa": frozenset("""
        من تو او ما شما است هست نیست هستم هستی میخواهم میخوام میخام میخایم میخواستم میتونم میتانم میشه کجا کجاست کجاس
        چی چه چطور چطوری برای بری را رو از با در به یک یه این اون آن ان دارم داری نداری ندارم کمک لطفا خیلی باید
        مه مره ره کو اس بچه بچم هستن کنم کنید بکنم بخوابم خواب کردن شد شده بودم بود هم تشکر ممنون مرسی خدافظ خداحافظ
        جان جای یگان کدام کدوم نمیدانم نمیدونم""".split()),
    "ar": frozenset("""
        انا انت هو هي نحن اريد ابغی بدی بدي عایز عاوز بغیت وین فین شو شنو ایش لیش ماذا متی کیف هل فی في علی على
        الی الى عن مع هذا هذه هاذا الذی الذي التی التي لا نعم ایوه ای اه مافی ماکو شکو یا اخی اخوی لو سمحت من فضلک
        شکرا تسلم الله ممکن عندی عندي لیس کان یمکن اقدر اعرف الطبیب طبیب دکتور مستشفی مستشفى""".split()),
    "en": frozenset("""
        i im i'm me my you your we the a an is are am was to for of in on at and or not no yes please need want
        where how what can help doctor there here have has do does it this that with from thanks thank hello hi ok
        okay sleep food lawyer police go get know""".split()),
    "sr": frozenset("""
        je sam si smo ste su da ne gde gdje kako sta sto šta što ima nema treba trebam mi mene meni moj moja
        hvala molim pomoc pomoć zdravo cao ćao dobar dan jel li u na za od do kod iz sa se bre ajde evo idem
        lekar lekara doktor bolnica smestaj smeštaj hrana""".split()),
}
_ARABIZI = frozenset("ana enta inta bdi bde 3ayez 3ayz 3awz 3andi wen wein fein feen shu shou esh lesh leh "
                     "mafi fi ya akhi shukran shokran habibi inshallah wallah salam marhaba mar7aba kifak keefak "
                     "ahlan la2 aywa aiwa mosta4fa mustashfa tabib doktor 7elw ma3".split())
_FINGLISH = frozenset("man to mikham mikhaam mikhay mikhad mikhastam mitonam mitunam mishe koja kojast kojas "
                      "chi chetor chera baraye bara ro az ba dar be yek ye in oon doktor komak lotfan merci mersi "
                      "khodafez khodahafez mamnoon mamnun hastam hast nist daram nadaram jaye khab bache baba madar "
                      "salam khubi khoobi".split())
_FOLDED_WORDS = {code: frozenset(fold(w) for w in words) for code, words in _WORDS.items()}


@dataclass(frozen=True)
class Detection:
    code: str | None  # None when the text has no letters to judge by
    confidence: float
    script: str | None  # "latn"/"cyrl" for Serbian text
    words: int
    scores: dict[str, float] = field(default_factory=dict)


class LanguageDetector:
    """Stateless detector; the n-gram model loads on first use (about 1.4 s)."""

    @cached_property
    def _ngram(self):  # type: ignore[no-untyped-def]
        from langidentify import Detector, Language, Model

        return Detector(Model.load(Language.from_comma_separated("en,ar,fa,ps,sr,hr")))

    def ngram_scores(self, text: str) -> dict[str, float]:
        """langidentify's normalised scores, Croatian counted as Serbian (Latin script)."""
        detector = self._ngram
        detector.detect(text)
        results = detector.results
        langs = detector.model.languages
        raw: dict[str, float] = {}
        for lang, score in zip(langs, results.total_scores):
            code = "sr" if lang.iso_code == "hr" else lang.iso_code
            if score != 0.0:  # 0.0 marks a language of another alphabet
                raw[code] = max(raw.get(code, -math.inf), float(score))
        if not raw:
            return {}
        top = max(raw.values())
        return {code: score - top for code, score in raw.items()}  # 0 for the best, negative for others

    def detect(self, text: str) -> Detection:
        text = clean(text or "")
        tokens = [t for t in re.findall(r"[^\W_]+", text.lower()) if not t.isdigit()]
        n_words = len(tokens)
        arabic, cyrillic, latin = (len(p.findall(text)) for p in (_ARABIC_SCRIPT, _CYRILLIC, _LATIN))
        if arabic == cyrillic == latin == 0:
            return Detection(None, 0.0, None, n_words)
        if cyrillic >= max(arabic, latin):
            return Detection("sr", 0.99 if cyrillic >= 3 else 0.8, "cyrl", n_words, {"sr": 1.0})
        if arabic >= latin:
            scores = self._arabic_script(text, tokens)
        else:
            scores = self._latin_script(text, tokens)
        code = max(scores, key=lambda c: scores[c])
        script = serbian_script(text) if code == "sr" else None
        return Detection(code, round(scores[code], 3), script, n_words, scores)

    def _arabic_script(self, text: str, tokens: list[str]) -> dict[str, float]:
        logits = {"ar": 0.0, "fa": 0.0, "ps": 0.0}
        pashto = len(_PASHTO_LETTERS.findall(text))
        logits["ps"] += 2.5 * min(pashto, 3)
        logits["fa"] += 1.2 * min(len(_PERSIAN_LETTERS.findall(text)), 3)
        logits["ar"] += 1.5 * min(len(_ARABIC_LETTERS.findall(text)), 3)
        if "ی" in text or "ک" in text:  # Arabic keyboards have neither
            logits["ar"] -= 0.5
        folded = [fold(t) for t in tokens]
        for code in logits:
            hits = sum(1 for t in folded if t in _FOLDED_WORDS[code])
            logits[code] += 1.6 * hits
        ngram = self.ngram_scores(text)
        for code in logits:
            logits[code] += NGRAM_WEIGHT * max(ngram.get(code, -NGRAM_FLOOR), -NGRAM_FLOOR)
        return _softmax(logits, others=("en", "sr"))

    def _latin_script(self, text: str, tokens: list[str]) -> dict[str, float]:
        logits = {"en": 0.0, "sr": 0.0, "ar": -1.0, "fa": -1.0}
        lowered = text.lower()
        if _SERBIAN_LATIN.search(text):
            logits["sr"] += 3.0
        logits["ar"] += 1.5 * len(_ARABIZI_DIGIT.findall(lowered))
        for t in tokens:
            if t in _ARABIZI:
                logits["ar"] += 1.5
            if t in _FINGLISH:
                logits["fa"] += 1.5
            if t in _WORDS["en"]:
                logits["en"] += 1.3
            if t in _WORDS["sr"]:
                logits["sr"] += 1.3
        ngram = self.ngram_scores(text)
        for code in ("en", "sr"):
            logits[code] += NGRAM_WEIGHT * max(ngram.get(code, -NGRAM_FLOOR), -NGRAM_FLOOR)
        return _softmax(logits, others=("ps",))


def _softmax(logits: dict[str, float], others: tuple[str, ...]) -> dict[str, float]:
    top = max(logits.values())
    exp = {c: math.exp(v - top) for c, v in logits.items()}
    total = sum(exp.values())
    scores = {c: v / total for c, v in exp.items()}
    scores.update({c: 0.0 for c in others})
    return scores
