"""Quoted replies, signatures and e-mail headers, e-mail and forum style.

A reply that quotes the whole thread makes every item of a thread look alike, and most of
its tokens belong to someone else's message; a signature is the same few lines in every
message of a sender. The rules are deliberately conservative line patterns (RFC 3676's
"-- " delimiter, ">" quoting, Outlook's "Original Message" separator, forum [quote]
blocks): a false positive deletes the content the label depends on.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import ClassVar

from learning.compress.spans import Edit, from_dropped
from learning.compress.units import line_spans

__all__ = ["Replies"]

_QUOTED = re.compile(r"^[ \t]*(?:>|&gt;)")
_ATTRIBUTION = re.compile(
    r"^[ \t]*(?:On\b.{0,200}\b(?:wrote|writes)|.{1,100}\b(?:wrote|writes|schrieb|a écrit)):[ \t]*$",
    re.IGNORECASE,
)
_FORUM_QUOTE = re.compile(r"\[quote(?:=[^\]\n]*)?\].*?\[/quote\]\n?", re.IGNORECASE | re.DOTALL)
_FORWARDED = re.compile(
    r"^[ \t]*(?:-{2,}[ \t]*(?:Original Message|Forwarded message)[ \t]*-{2,}|_{20,})[ \t]*$",
    re.IGNORECASE,
)
_SIG_DELIMITER = re.compile(r"^--[ \t]?$")
_SENT_FROM = re.compile(
    r"^[ \t]*Sent from my \w+(?: \w+){0,3}\.?[ \t]*$|^[ \t]*Get Outlook for \w+[ \t]*$",
    re.IGNORECASE,
)
_HEADER = re.compile(
    r"^(?:From|To|Cc|Bcc|Date|Sent|Reply-To|Message-ID|In-Reply-To|References|Received"
    r"|Return-Path|MIME-Version|Content-Type|Content-Transfer-Encoding|X-[\w-]+):",
    re.IGNORECASE,
)
_CLOSING = re.compile(
    r"^[ \t]*(?:(?:best|kind|warm|many)[ \t]+)?(?:regards|wishes|thanks|cheers|sincerely"
    r"|yours(?: truly)?|thank you)[,.!]?[ \t]*$",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Replies:
    """Drop quoted text, signatures, and (optionally) header blocks and sign-offs.

    Parameters
    ----------
    quotes : ">" lines, their "On ... wrote:" line, [quote] blocks, forwarded originals.
    signatures : everything after a "-- " line (at most ``max_signature_lines``),
        and "Sent from my phone" lines.
    headers : a leading block of From:/To:/Date:... lines (Subject: stays: it is content).
    sign_off : a trailing "Best regards," and up to 3 short lines after it.
    max_signature_lines : a longer tail after "--" is not a signature (Markdown rule, diff).
    """

    name: ClassVar[str] = "replies"
    quotes: bool = True
    signatures: bool = True
    headers: bool = False
    sign_off: bool = False
    max_signature_lines: int = 8

    def __post_init__(self) -> None:
        if self.max_signature_lines < 1:
            raise ValueError("max_signature_lines must be >= 1")

    @staticmethod
    def at_level(level: float) -> dict[str, object]:
        """Quotes from level 0.25, signatures from 0.5, headers from 0.75, sign-offs at 1."""
        return {
            "quotes": True,
            "signatures": level >= 0.5,
            "headers": level >= 0.75,
            "sign_off": level >= 1.0,
        }

    def apply(self, text: str) -> Edit:
        lines = line_spans(text)
        drops: list[tuple[int, int]] = []
        if self.quotes:
            drops += [m.span() for m in _FORUM_QUOTE.finditer(text)]
        if self.headers:
            drops += self._headers(text, lines)
        tail_from = len(lines)
        for i, (s, e) in enumerate(lines):
            line = text[s:e].rstrip("\n")
            if self.quotes and _QUOTED.match(line):
                drops.append((s, e))
                if i and _ATTRIBUTION.match(text[lines[i - 1][0] : lines[i - 1][1]].rstrip("\n")):
                    drops.append(lines[i - 1])
            elif self.quotes and _FORWARDED.match(line):
                tail_from = min(tail_from, i)
                break
            elif self.signatures and _SENT_FROM.match(line):
                drops.append((s, e))
            elif (
                self.signatures
                and _SIG_DELIMITER.match(line)
                and len(lines) - i - 1 <= self.max_signature_lines
            ):
                tail_from = min(tail_from, i)
                break
        if self.sign_off:
            tail_from = min(tail_from, self._sign_off(text, lines[:tail_from]))
        if tail_from < len(lines):
            drops.append((lines[tail_from][0], len(text)))
        return from_dropped(text, drops)

    @staticmethod
    def _headers(text: str, lines: list[tuple[int, int]]) -> list[tuple[int, int]]:
        drops = []
        for s, e in lines:
            line = text[s:e]
            if _HEADER.match(line):
                drops.append((s, e))
            elif line.lower().startswith("subject:") or (line[:1] in " \t" and drops):
                continue  # Subject stays; a folded header line continues the previous
            else:
                break
        return drops

    @staticmethod
    def _sign_off(text: str, lines: list[tuple[int, int]]) -> int:
        """Index of a closing line with at most 3 short (< 60 chars) lines after it."""
        for back in range(1, min(5, len(lines)) + 1):
            i = len(lines) - back
            if i == 0:
                break  # the whole item is never a sign-off
            s, e = lines[i]
            if _CLOSING.match(text[s:e].rstrip("\n")):
                return i
            if len(text[s:e].strip()) >= 60:
                break
        return len(lines)
