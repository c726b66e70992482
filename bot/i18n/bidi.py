"""Keeping numbers, phone numbers and Latin names readable inside right-to-left text."""

from __future__ import annotations

import re

FSI, LRI, PDI = "\u2068", "\u2066", "\u2069"
RTL_LANGUAGES = frozenset({"ar", "fa", "ps"})
# A run of Latin letters, digits and the punctuation that lives inside numbers, names and URLs.
_LTR_RUN = re.compile(r"[+(]?[0-9A-Za-z\u00C0-\u024F][0-9A-Za-z\u00C0-\u024F .,:/()+\-'@_]*[0-9A-Za-z\u00C0-\u024F)]"
                      r"|[0-9A-Za-z]")


def isolate(value: str, language: str) -> str:
    """Wrap a value in a left-to-right isolate when it goes into right-to-left text."""
    if language not in RTL_LANGUAGES or not value:
        return value
    return f"{LRI}{value}{PDI}" if _LTR_RUN.fullmatch(value.strip()) else f"{FSI}{value}{PDI}"


def isolate_ltr_runs(text: str) -> str:
    """Wrap every Latin/digit run of an RTL text in LRI...PDI; {placeholders} stay as they are."""
    parts = re.split(r"(\{\w+\})", text)
    return "".join(part if i % 2 else _isolate_part(part) for i, part in enumerate(parts))


def _isolate_part(text: str) -> str:
    out, last = [], 0
    for match in _LTR_RUN.finditer(text):
        start, end = match.span()
        run = match.group(0).rstrip(" .,:")
        end = start + len(run)
        if text[max(0, start - 1):start] in (LRI, FSI):
            continue
        if run.startswith("{") or not run:
            continue
        out.append(text[last:start])
        out.append(f"{LRI}{run}{PDI}")
        last = end
    out.append(text[last:])
    return "".join(out)


def unisolated_runs(text: str) -> list[str]:
    """Latin/digit runs of an RTL text that are not inside an isolate (for tests)."""
    stripped = re.sub(f"[{LRI}{FSI}][^{PDI}]*{PDI}", "", text)
    stripped = re.sub(r"\{[^}]*\}", "", stripped)  # placeholders are isolated when filled
    return [m.group(0) for m in _LTR_RUN.finditer(stripped)]
