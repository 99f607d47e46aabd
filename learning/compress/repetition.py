"""In-document repetition, after the Gopher rules (Rae et al. 2021) that FineWeb also uses.

Gopher and datatrove's ``GopherRepetitionFilter`` measure repeated lines, paragraphs and
n-grams and then drop the *whole document*. An annotation project cannot drop an item, so
this filter removes the repeats themselves and keeps the first occurrence: the second copy
of a line, and any word run that repeats an earlier ``ngram``-word sequence. (datatrove is
not a dependency: it would bring its pipeline runtime for four counting rules, and it
returns keep/drop decisions, not spans.)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from learning.compress.spans import Edit, from_dropped
from learning.compress.units import line_spans, word_spans

__all__ = ["Repetition"]


@dataclass(frozen=True)
class Repetition:
    """Drop repeated lines and repeated word n-grams within one item.

    Parameters
    ----------
    min_line_chars : shorter lines may repeat ("}", "else:", "Yes") and are kept.
    ngram : drop words covered by a repeat of an earlier n-word sequence (0 = off).
    """

    name: ClassVar[str] = "repetition"
    min_line_chars: int = 30
    ngram: int = 0

    def __post_init__(self) -> None:
        if self.min_line_chars < 1:
            raise ValueError("min_line_chars must be >= 1")
        if self.ngram != 0 and self.ngram < 3:
            raise ValueError("ngram must be 0 (off) or >= 3")

    @staticmethod
    def at_level(level: float) -> dict[str, object]:
        """Lines of 30+ characters from level 0.25; n-grams of 10, 7, then 5 words."""
        if level < 0.5:
            return {"min_line_chars": 30, "ngram": 0}
        if level < 0.75:
            return {"min_line_chars": 20, "ngram": 10}
        if level < 1.0:
            return {"min_line_chars": 20, "ngram": 7}
        return {"min_line_chars": 15, "ngram": 5}

    def apply(self, text: str) -> Edit:
        drops: list[tuple[int, int]] = []
        seen: set[str] = set()
        for s, e in line_spans(text):
            line = text[s:e].strip()
            if len(line) < self.min_line_chars:
                continue
            if line in seen:
                drops.append((s, e))
            seen.add(line)
        if self.ngram:
            drops += self._ngram_drops(text, drops)
        return from_dropped(text, drops)

    def _ngram_drops(self, text: str, dropped: list[tuple[int, int]]) -> list[tuple[int, int]]:
        """Word runs that repeat an earlier, non-overlapping n-gram (kept lines only)."""
        words = word_spans(text)
        if dropped:
            words = [(s, e) for s, e in words if not any(a <= s < b for a, b in dropped)]
        if len(words) < 2 * self.ngram:
            return []
        n = self.ngram
        lowered = text.lower()
        tokens = [lowered[s:e] for s, e in words]
        first: dict[tuple[str, ...], int] = {}
        covered_until = -1
        drops: list[tuple[int, int]] = []
        for i, gram in enumerate(zip(*(tokens[k:] for k in range(n)), strict=False)):
            j = first.setdefault(gram, i)
            if j != i and j + n <= i:
                # extend the drop over this n-gram, from the end of what was dropped already
                start = max(i, covered_until)
                if start < i + n:
                    lo = words[start - 1][1] if start > 0 else words[start][0]
                    drops.append((lo, words[i + n - 1][1]))
                    covered_until = i + n
        return drops
