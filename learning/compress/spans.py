"""Edits that remember where every kept character came from.

Compression must stay traceable: a span an annotator marks on compressed text has to be
found in the original. So every filter returns an ``Edit``: the new text plus the
*kept segments*, each ``(out_start, orig_start, length)`` with
``text[out_start:out_start + length] == original[orig_start:orig_start + length]``.
Characters of ``text`` that no segment covers were *inserted* by the filter (a decoded
``&amp;``, a newline for a ``</p>``, one space for a run of spaces, an NFKC replacement);
they have no original offsets, and ``to_original`` says so instead of guessing.

Edits compose: applying B to the output of A gives ``compose(a, b)``, whose segments point
straight at A's input, so a profile of any length keeps one map. No Django imports here.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

__all__ = ["Edit", "Segment", "compose", "from_dropped", "from_kept", "from_pieces", "identity"]

Segment = tuple[int, int, int]  # (out_start, orig_start, length)
Piece = tuple[int, int] | str  # an original [start, end) to keep, or text to insert


@dataclass(frozen=True, slots=True)
class Edit:
    """A filter's output ``text`` and its kept segments, sorted by ``out_start``."""

    text: str
    segments: tuple[Segment, ...]

    def to_original(self, start: int, end: int) -> list[tuple[int, int]]:
        """The original [start, end) ranges of the kept characters in ``text[start:end]``.

        Inserted characters in the range are skipped: they have no original position.
        """
        out: list[tuple[int, int]] = []
        for seg_out, seg_orig, length in self.segments:
            lo, hi = max(start, seg_out), min(end, seg_out + length)
            if lo < hi:
                out.append((seg_orig + lo - seg_out, seg_orig + hi - seg_out))
        return out

    @property
    def kept_chars(self) -> int:
        """How many characters of ``text`` are verbatim copies of the original."""
        return sum(length for _, _, length in self.segments)


def identity(text: str) -> Edit:
    """The edit that changes nothing (one segment covering the whole text)."""
    return Edit(text, ((0, 0, len(text)),) if text else ())


def from_pieces(original: str, pieces: Iterable[Piece]) -> Edit:
    """Build an edit from pieces in output order: kept original ranges and inserted strings.

    Adjacent kept ranges that are also adjacent in the original merge into one segment, so
    a filter that deletes nothing returns a single segment.
    """
    parts: list[str] = []
    segments: list[Segment] = []
    pos = 0
    for piece in pieces:
        if isinstance(piece, str):
            parts.append(piece)
            pos += len(piece)
            continue
        start, end = max(piece[0], 0), min(piece[1], len(original))
        if end <= start:
            continue
        parts.append(original[start:end])
        if segments and segments[-1][0] + segments[-1][2] == pos:
            last_out, last_orig, last_len = segments[-1]
            if last_orig + last_len == start:
                segments[-1] = (last_out, last_orig, last_len + end - start)
                pos += end - start
                continue
        segments.append((pos, start, end - start))
        pos += end - start
    return Edit("".join(parts), tuple(segments))


def from_kept(original: str, ranges: Iterable[tuple[int, int]]) -> Edit:
    """A deletion-only edit: keep these original [start, end) ranges, drop the rest."""
    return from_pieces(original, ranges)


def from_dropped(original: str, dropped: Sequence[tuple[int, int]]) -> Edit:
    """A deletion-only edit given the ranges to drop (any order, may overlap)."""
    if not dropped:
        return identity(original)
    kept: list[tuple[int, int]] = []
    pos = 0
    for start, end in sorted(dropped):
        start = min(start, len(original))
        if start > pos:
            kept.append((pos, start))
        pos = max(pos, end)
    if pos < len(original):
        kept.append((pos, len(original)))
    return from_kept(original, kept)


def _is_identity(edit: Edit, length: int) -> bool:
    """True when ``edit`` copies a text of ``length`` characters unchanged."""
    return edit.segments == ((0, 0, length),) and len(edit.text) == length


def compose(first: Edit, second: Edit) -> Edit:
    """The edit of applying ``second`` to ``first.text``, mapped to ``first``'s input.

    A character of the result is kept only if ``second`` kept it *and* ``first`` had kept
    it; a character ``first`` inserted stays inserted whatever ``second`` does.
    """
    if _is_identity(second, len(first.text)):
        return first
    if _is_identity(first, len(first.text)):
        return second
    starts = [s[0] for s in first.segments]
    out: list[Segment] = []
    for out2, mid, length in second.segments:
        end = mid + length
        i = max(bisect_right(starts, mid) - 1, 0)
        while i < len(first.segments):
            out1, orig1, len1 = first.segments[i]
            if out1 >= end:
                break
            lo, hi = max(mid, out1), min(end, out1 + len1)
            if lo < hi:
                out.append((out2 + lo - mid, orig1 + lo - out1, hi - lo))
            i += 1
    return Edit(second.text, tuple(out))
