"""Whitespace and Unicode normalization that keeps a map back to the original.

Why it matters for tokens: a BPE tokenizer spends tokens on runs of spaces, trailing
blanks, zero-width characters and compatibility forms (full-width letters, ligatures,
non-breaking spaces) that carry no meaning. Why it is careful: leading indentation is
code structure and table cells are aligned with spaces, so indented lines (code, nested
lists) and lines that look like tables (``|`` or tab separated) keep their inner spacing.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import ClassVar, Literal

from learning.compress.spans import Edit, Piece, compose, from_pieces
from learning.compress.units import line_spans

__all__ = ["Normalize"]

# Zero-width and invisible format characters, control characters other than \t and \n,
# and \r (CRLF becomes LF).
_INVISIBLE = re.compile(r"[\u200b-\u200f\u2060-\u2064\ufeff\u00ad\x00-\x08\x0b-\x1f\x7f]")
_NON_ASCII = re.compile(r".?[^\x00-\x7f]+")
_INNER_RUN = re.compile(r"(?<=\S)[ \t]{2,}(?=\S)")
_TABLE_LIKE = re.compile(r"\||\t")


@dataclass(frozen=True)
class Normalize:
    """Unicode form, invisible characters, spaces and blank lines.

    Parameters
    ----------
    unicode_form : "NFKC", "NFC" or "none".
    collapse_spaces : runs of spaces inside a line become one (not indentation, not tables).
    max_blank_lines : longer runs of blank lines are cut to this many. Blank lines and
        trailing spaces at either end of the text always go.
    """

    name: ClassVar[str] = "normalize"
    unicode_form: str = "NFKC"
    collapse_spaces: bool = True
    max_blank_lines: int = 1

    def __post_init__(self) -> None:
        if self.unicode_form not in ("NFKC", "NFC", "none"):
            raise ValueError("unicode_form must be 'NFKC', 'NFC' or 'none'")
        if self.max_blank_lines < 0:
            raise ValueError("max_blank_lines must be >= 0")

    @staticmethod
    def at_level(level: float) -> dict[str, object]:
        """Level 0.25 fixes characters only; from 0.5 spaces and blank lines too."""
        if level < 0.5:
            return {"unicode_form": "NFKC", "collapse_spaces": False, "max_blank_lines": 2}
        return {"unicode_form": "NFKC", "collapse_spaces": True, "max_blank_lines": 1}

    def apply(self, text: str) -> Edit:
        """Characters first (so NBSP has become a space), then spacing."""
        characters = self._characters(text)
        return compose(characters, self._spacing(characters.text))

    def _characters(self, text: str) -> Edit:
        pieces: list[Piece] = []
        pos = 0
        for m in _INVISIBLE.finditer(text):
            pieces.append((pos, m.start()))
            pos = m.end()
        pieces.append((pos, len(text)))
        cleaned = from_pieces(text, pieces)
        if self.unicode_form == "none":
            return cleaned
        form: Literal["NFC", "NFKC"] = "NFC" if self.unicode_form == "NFC" else "NFKC"
        return compose(cleaned, _unicode(cleaned.text, form))

    def _spacing(self, text: str) -> Edit:
        pieces: list[Piece] = []
        blank_run = 0
        content_end = 0  # len(pieces) after the last line with content
        for start, end in line_spans(text):
            line = text[start:end]
            body_end = start + len(line.rstrip())
            if body_end == start:  # a blank line: keep its newline only, up to the limit
                if not content_end:
                    continue  # leading blank lines go
                blank_run += 1
                if blank_run <= self.max_blank_lines and line.endswith("\n"):
                    pieces.append((end - 1, end))
                continue
            blank_run = 0
            if self.collapse_spaces and line[:1] not in " \t" and not _TABLE_LIKE.search(line):
                pos = start
                for m in _INNER_RUN.finditer(text, start, body_end):
                    pieces.append(
                        (pos, m.start() + 1) if text[m.start()] == " " else (pos, m.start())
                    )
                    if text[m.start()] != " ":
                        pieces.append(" ")
                    pos = m.end()
                pieces.append((pos, body_end))
            else:
                pieces.append((start, body_end))
            content_end = len(pieces)
            if line.endswith("\n"):
                pieces.append((end - 1, end))
        return from_pieces(text, pieces[:content_end])  # trailing blank lines go too


def _unicode(text: str, form: Literal["NFC", "NFKC"]) -> Edit:
    """Normalize runs of non-ASCII characters (with the character before them, which a
    combining mark may attach to); ASCII stays and is kept verbatim."""
    pieces: list[Piece] = []
    pos = 0
    for m in _NON_ASCII.finditer(text):
        chunk = m.group()
        normal = unicodedata.normalize(form, chunk)
        if normal == chunk:
            continue
        same = 0  # the unchanged prefix (often the base character) stays mapped
        while same < min(len(chunk), len(normal)) and chunk[same] == normal[same]:
            same += 1
        pieces.append((pos, m.start() + same))
        pieces.append(normal[same:])
        pos = m.end()
    pieces.append((pos, len(text)))
    return from_pieces(text, pieces)
