"""Corpus-level filters: fitted on a project's items, then applied to each item.

A line that recurs in many items (a legal footer, a cookie banner, a ticket template)
tells the model nothing about any one item but costs tokens in every one. What counts as
"many" is the threshold the sweep tunes. Fitting needs only texts, never labels, so it
may see every item, labeled or not, without leaking anything into cross-validation.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import ClassVar

from learning.compress.spans import Edit, from_dropped
from learning.compress.units import line_spans, paragraph_spans, sentence_spans, unit_key

__all__ = ["Boilerplate", "NearDuplicates"]


def _document_frequency(texts: Sequence[str], units, keyer) -> Counter[str]:
    """How many texts contain each unit key (once per text however often it repeats)."""
    counts: Counter[str] = Counter()
    for text in texts:
        counts.update({k for s, e in units(text) if (k := keyer(text[s:e]))})
    return counts


@dataclass
class Boilerplate:
    """Drop lines (or sentences) whose key occurs in at least ``min_fraction`` of the items.

    Parameters
    ----------
    min_fraction : share of the corpus a unit must appear in to be boilerplate.
    min_items : and at least this many items (a tiny corpus has no boilerplate).
    min_chars : shorter units never count ("Thanks!", "}", a table rule are not templates).
    unit : "line" or "sentence" (sentences catch a banner pasted into a paragraph).
        "sentence" counts whole lines too, and drops a recurring line whole: otherwise a
        template line dropped at "line" would lose only its long sentences at "sentence"
        and keep its short ones ("Accept all cookies."), so a more aggressive level could
        keep more tokens than a milder one.
    mask_digits : dates and ids do not make a template line unique.
    """

    name: ClassVar[str] = "boilerplate"
    corpus: ClassVar[bool] = True
    min_fraction: float = 0.05
    min_items: int = 3
    min_chars: int = 20
    unit: str = "line"
    mask_digits: bool = True
    keys_: frozenset[str] = field(default=frozenset(), repr=False)

    def __post_init__(self) -> None:
        if not 0 < self.min_fraction <= 1:
            raise ValueError("min_fraction must be in (0, 1]")
        if self.min_items < 2:
            raise ValueError("min_items must be >= 2")
        if self.unit not in ("line", "sentence"):
            raise ValueError("unit must be 'line' or 'sentence'")

    @staticmethod
    def at_level(level: float) -> dict[str, object]:
        """From recurring in 9.5% of items (level 0.25) down to 1% (level 1), geometric;
        sentences instead of whole lines from level 0.75."""
        return {
            "min_fraction": round(0.2 * 0.05**level, 4),
            "unit": "sentence" if level >= 0.75 else "line",
        }

    def _keyed_units(self, text: str) -> list[tuple[int, int, str]]:
        """Each candidate unit with its key ("" = never boilerplate); lines are keyed
        apart from sentences ("l " / "s "), so a one-sentence line counts once as each."""
        units = [(s, e, self._key(text[s:e], "l ")) for s, e in line_spans(text)]
        if self.unit == "sentence":
            units += [(s, e, self._key(text[s:e], "s ")) for s, e in sentence_spans(text)]
        return units

    def _key(self, unit: str, kind: str) -> str:
        stripped = unit.strip()
        if len(stripped) < self.min_chars:
            return ""
        return kind + unit_key(stripped, mask_digits=self.mask_digits)

    def fit(self, texts: Sequence[str]) -> Boilerplate:
        """Find the recurring units of ``texts``."""
        counts: Counter[str] = Counter()
        for text in texts:
            counts.update({k for _, _, k in self._keyed_units(text) if k})
        threshold = max(self.min_items, math.ceil(self.min_fraction * len(texts)))
        self.keys_ = frozenset(k for k, c in counts.items() if c >= threshold)
        return self

    def apply(self, text: str) -> Edit:
        if not self.keys_:
            return from_dropped(text, [])
        drops = [(s, e) for s, e, k in self._keyed_units(text) if k and k in self.keys_]
        return from_dropped(text, drops)


@dataclass
class NearDuplicates:
    """Drop paragraphs that recur, nearly verbatim, in at least ``min_items`` items.

    "Nearly" means equal once case, punctuation, spacing and (optionally) digits are
    ignored, and only the first ``prefix_words`` words are compared, so a quoted
    paragraph with a changed tail or a re-wrapped disclaimer still matches. An exact
    key, not MinHash: it is one dictionary look-up per paragraph at 100k items.

    Parameters
    ----------
    min_items : a paragraph must occur in this many distinct items.
    min_words : shorter paragraphs are never dropped.
    prefix_words : compare only this many leading words (0 = all).
    """

    name: ClassVar[str] = "near_duplicates"
    corpus: ClassVar[bool] = True
    min_items: int = 3
    min_words: int = 8
    prefix_words: int = 0
    keys_: frozenset[str] = field(default=frozenset(), repr=False)

    def __post_init__(self) -> None:
        if self.min_items < 2:
            raise ValueError("min_items must be >= 2")
        if self.min_words < 1 or self.prefix_words < 0:
            raise ValueError("min_words must be >= 1 and prefix_words >= 0")

    @staticmethod
    def at_level(level: float) -> dict[str, object]:
        """Fewer repeats and looser matching as the level rises."""
        if level < 0.5:
            return {"min_items": 5, "prefix_words": 0}
        if level < 0.75:
            return {"min_items": 3, "prefix_words": 0}
        return {"min_items": 2, "prefix_words": 12}

    def _key(self, paragraph: str) -> str:
        words = unit_key(paragraph, mask_digits=True).split()
        if len(words) < self.min_words:
            return ""
        return " ".join(words[: self.prefix_words] if self.prefix_words else words)

    def fit(self, texts: Sequence[str]) -> NearDuplicates:
        counts = _document_frequency(texts, paragraph_spans, self._key)
        self.keys_ = frozenset(k for k, c in counts.items() if c >= self.min_items)
        return self

    def apply(self, text: str) -> Edit:
        if not self.keys_:
            return from_dropped(text, [])
        drops = [(s, e) for s, e in paragraph_spans(text) if self._key(text[s:e]) in self.keys_]
        return from_dropped(text, drops)
