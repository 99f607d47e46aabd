"""Split text into lines, sentences and paragraphs *with offsets*, and key them.

Every filter that drops whole units (a boilerplate line, a quoted line, a repeated
sentence) splits the same way, so the units and their keys live here once. No Django.
"""

from __future__ import annotations

import re

__all__ = ["line_spans", "paragraph_spans", "sentence_spans", "unit_key", "word_spans"]

_LINE = re.compile(r"[^\n]*\n|[^\n]+$")
# A sentence ends at . ! ? (then whitespace) or at a line end; the trailing whitespace
# belongs to the sentence so that dropping it leaves no double spaces.
_SENTENCE = re.compile(r"[^\n]*?(?:[.!?]+(?:[ \t]+|$|(?=\n))|\n|$)", re.MULTILINE)
_PARAGRAPH = re.compile(r"(?:[^\n]*\S[^\n]*(?:\n|$))+(?:[ \t]*\n)*")
_WORD = re.compile(r"\S+")
_KEY_DROP = re.compile(r"[\W_]+")
_DIGITS = re.compile(r"\d+")


def line_spans(text: str) -> list[tuple[int, int]]:
    """[start, end) of each line, the end including its newline."""
    return [m.span() for m in _LINE.finditer(text)]


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """[start, end) of each sentence (each line holds one or more), trailing space included."""
    return [m.span() for m in _SENTENCE.finditer(text) if m.end() > m.start()]


def paragraph_spans(text: str) -> list[tuple[int, int]]:
    """[start, end) of each block of non-blank lines, with the blank lines that follow it."""
    return [m.span() for m in _PARAGRAPH.finditer(text)]


def word_spans(text: str) -> list[tuple[int, int]]:
    """[start, end) of each whitespace-separated word."""
    return [m.span() for m in _WORD.finditer(text)]


def unit_key(unit: str, *, mask_digits: bool) -> str:
    """The comparison key of a unit: lower case, punctuation and spacing dropped.

    Templates differ in case, spacing and punctuation ("Sent from my iPhone." vs "sent
    from my iphone"), and with ``mask_digits`` also in dates and ids, and should still
    count as the same line.
    """
    key = _KEY_DROP.sub(" ", unit.lower()).strip()
    return _DIGITS.sub("0", key) if mask_digits else key
