"""Items that carry little to learn from: empty, very short, mostly markup or punctuation,
boilerplate only, or one more copy of a repeated template. Strings in, reasons out.

A *template* is what is left of a text when its numbers are masked (``"Your code is 0"``);
one that at least ``min_template`` items share, and at least ``template_share`` of the project,
marks those items. *Boilerplate* lines recur in at least ``min_line_items`` items; an item made
of nothing else is boilerplate.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence

from learning.audit.duplicates import normalize_text

_TAG = re.compile(r"<[^>]{0,200}>|&[a-z]+;|&#\d+;")
_WORD_CHAR = re.compile(r"\w", re.UNICODE)
_NUMBER = re.compile(r"\d+")


def low_information_reasons(
    texts: Sequence[str],
    *,
    min_chars: int = 3,
    min_alnum_share: float = 0.3,
    min_template: int = 10,
    template_share: float = 0.01,
    min_line_items: int = 10,
) -> list[str | None]:
    """One reason per text (the first that applies), or None for an informative text."""
    templates = Counter(_template(t) for t in texts)
    lines = Counter(line for t in texts for line in set(_lines(t)))
    template_floor = max(min_template, int(template_share * len(texts)))
    reasons: list[str | None] = []
    for text in texts:
        visible = _TAG.sub(" ", text)
        word_chars = len(_WORD_CHAR.findall(visible))
        body = _lines(text)
        if not text.strip():
            reasons.append("empty")
        elif word_chars < min_chars:
            reasons.append(f"very short ({word_chars} letters or digits)")
        elif word_chars / max(len(text.strip()), 1) < min_alnum_share:
            reasons.append("mostly markup or punctuation")
        elif body and all(lines[line] >= min_line_items for line in body):
            reasons.append("boilerplate only (every line recurs across the project)")
        elif templates[_template(text)] >= template_floor:
            reasons.append(f"repeated template ({templates[_template(text)]} items)")
        else:
            reasons.append(None)
    return reasons


def _template(text: str) -> str:
    return _NUMBER.sub("0", normalize_text(text))


def _lines(text: str) -> list[str]:
    return [line for line in (normalize_text(raw) for raw in text.splitlines()) if line]
