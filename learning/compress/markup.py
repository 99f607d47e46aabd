"""HTML and Markdown to text, as deletions, so offsets still map to the original.

Why not trafilatura or jusText: both extract the main text of a *whole web page*; items
here are often fragments (a message with a ``<p>``, a Markdown comment), which trafilatura
returns as nothing, and neither reports where each output character came from. A scanner
of tag and entity tokens knows the position of each, so dropping tags is a pure deletion;
decoded entities and the newlines that stand for block tags are the only insertions.

Text that merely contains ``<`` (code, maths) is left alone: only texts with a known
HTML tag are parsed, and Markdown rules never touch fenced or inline code.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from typing import ClassVar

from learning.compress.spans import Edit, Piece, compose, from_pieces, identity

__all__ = ["Markup"]

_TAGS = (
    "html|head|body|div|p|br|span|a|b|i|u|em|strong|table|tr|td|th|li|ul|ol|h[1-6]|script"
    "|style|meta|img|footer|nav|header|aside|form|button|pre|code|blockquote|section|article"
)
_HAS_HTML = re.compile(rf"</?(?:{_TAGS})\b[^<>]*>", re.IGNORECASE)
_BLOCK = frozenset(
    "p div br li tr h1 h2 h3 h4 h5 h6 table ul ol pre blockquote section article header "
    "footer nav aside form title".split()
)
_ALWAYS_SKIP = frozenset({"script", "style", "head", "noscript", "template", "svg"})
_LAYOUT = frozenset({"nav", "footer", "header", "aside", "form", "button"})
# Every HTML element name: anything else in angle brackets (an address "<ann@x.org>",
# a placeholder "<name>", a generic "List<int>") is text and stays.
_ELEMENTS = frozenset(
    "a abbr address area article aside audio b base bdi bdo blockquote body br button canvas"
    " caption center cite code col colgroup data datalist dd del details dfn dialog div dl dt em"
    " embed fieldset figcaption figure font footer form h1 h2 h3 h4 h5 h6 head header hr html i"
    " iframe img input ins kbd label legend li link main map mark meta meter nav noscript object"
    " ol optgroup option output p param picture pre progress q rp rt ruby s samp script section"
    " select small source span strike strong style sub summary sup svg table tbody td template"
    " textarea tfoot th thead time title tr track tt u ul var video wbr".split()
)
_VOID = frozenset("br img meta link input hr area base col embed source track wbr".split())

_MAYBE_MARKDOWN = re.compile(r"^#|\*|__|\]\(|^[ \t]*[-_]{3}", re.MULTILINE)
_CODE_LINE = re.compile(
    r"^\s*(?:def |class |import |from \S+ import |return\b|#include|function\b|(?:var|let|const) \w)"
    r"|[;{}]\s*$|^\s*(?:if|for|while|elif|else|try|except|with)\b.*:\s*$",
    re.MULTILINE,
)


def looks_like_code(text: str) -> bool:
    """True when a fifth or more of the non-blank lines look like program code.

    In source code ``# `` starts a comment, ``__name__`` is a dunder and ``*`` multiplies;
    read as Markdown they would be stripped, so Markdown rules skip code-like items.
    """
    lines = sum(1 for line in text.splitlines() if line.strip())
    return bool(lines) and len(_CODE_LINE.findall(text)) * 5 >= lines


_FENCE = re.compile(r"^(```|~~~).*?^\1[^\n]*$|`[^`\n]+`", re.MULTILINE | re.DOTALL)
_MD_RULES = (
    # (pattern, group to keep or None to drop the match)
    (re.compile(r"^#{1,6}[ \t]+", re.MULTILINE), None),
    (re.compile(r"!\[([^\]\n]*)\]\([^)\s]*(?:[ \t]+\"[^\"\n]*\")?\)"), 1),
    (re.compile(r"\[([^\]\n]+)\]\([^)\s]*(?:[ \t]+\"[^\"\n]*\")?\)"), 1),
    (re.compile(r"(?<![\w*])\*\*(?=[^\s*])([^\n]+?)(?<=[^\s*])\*\*(?![\w*])"), 1),
    # __bold__ only around several words: a lone __name__ is a Python dunder, not emphasis
    (re.compile(r"(?<!\w)__(?=[^\s_])([^_\n]*?\s[^_\n]*?)(?<=[^\s_])__(?!\w)"), 1),
    (re.compile(r"(?<![\w*])\*(?=[^\s*])([^*\n]+?)(?<=[^\s*])\*(?![\w*])"), 1),
    (re.compile(r"^[ \t]*(?:[-*_][ \t]*){3,}$\n?", re.MULTILINE), None),
)


@dataclass(frozen=True)
class Markup:
    """Markup to text.

    Parameters
    ----------
    html : strip HTML tags (script, style and head content always go with them).
    drop_layout : also drop the content of nav, header, footer, aside, form and button.
    markdown : strip Markdown markers (headings, emphasis, link targets, rules).
    """

    name: ClassVar[str] = "markup"
    html: bool = True
    drop_layout: bool = False
    markdown: bool = True

    @staticmethod
    def at_level(level: float) -> dict[str, object]:
        """Page furniture (nav, footer) goes from level 0.5: it is usually boilerplate,
        but a footer sometimes holds the only signature or date an item has."""
        return {"html": True, "drop_layout": level >= 0.5, "markdown": True}

    def apply(self, text: str) -> Edit:
        edit = identity(text)
        if self.html and _HAS_HTML.search(text):
            edit = _strip_html(text, drop_layout=self.drop_layout)
        if self.markdown and _MAYBE_MARKDOWN.search(edit.text) and not looks_like_code(edit.text):
            edit = compose(edit, _strip_markdown(edit.text))
        return edit


_TOKEN = re.compile(
    r"<!--.*?(?:-->|\Z)|<!\[CDATA\[.*?(?:\]\]>|\Z)|<![^>]*>|<\?[^>]*>"
    r"|<(/?)([a-zA-Z][\w:-]*)(?:[^>\"']|\"[^\"]*\"|'[^']*')*>"
    r"|&(?:#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|[a-zA-Z][a-zA-Z0-9]{1,31});",
    re.DOTALL,
)


def _strip_html(text: str, *, drop_layout: bool) -> Edit:
    """Drop tags, comments and skipped elements; decode entities; a newline per block tag.

    A scanner of tag and entity tokens, not a DOM: a DOM is not needed to delete tags,
    and ``html.parser`` took about 1 ms per short item, most of the 100k-item budget.
    Unclosed skipped elements run to the end of the text, as browsers render them.
    """
    skip = _ALWAYS_SKIP | (_LAYOUT if drop_layout else frozenset())
    pieces: list[Piece] = []
    pos = 0
    skipping: list[str] = []  # the stack of open skipped elements
    for m in _TOKEN.finditer(text):
        token = m.group()
        name = (m.group(2) or "").lower()
        if token[0] == "<" and m.group(2) is not None and name not in _ELEMENTS:
            continue  # "<ann@x.org>", "List<int>": text, kept with what surrounds it
        if not skipping:
            pieces.append((pos, m.start()))
        pos = m.end()
        if token[0] == "&":
            if not skipping:
                pieces.append(html.unescape(token))
            continue
        if m.group(2) is None:
            continue  # comment, doctype, CDATA, processing instruction
        closing = m.group(1) == "/"
        if name in skip and name not in _VOID and not token.endswith("/>"):
            if closing and name in skipping:
                del skipping[len(skipping) - 1 - skipping[::-1].index(name) :]
            elif not closing:
                skipping.append(name)
        elif name in _BLOCK and not skipping:
            pieces.append("\n")
    if not skipping:
        pieces.append((pos, len(text)))
    return from_pieces(text, pieces)


def _strip_markdown(text: str) -> Edit:
    """Drop Markdown markers outside code; keep link and emphasis text."""
    protected = [m.span() for m in _FENCE.finditer(text)]
    drops: list[tuple[int, int]] = []
    for pattern, keep in _MD_RULES:
        for m in pattern.finditer(text):
            if any(s < m.end() and m.start() < e for s, e in protected):
                continue
            if any(s < m.end() and m.start() < e for s, e in drops):
                continue
            if keep is None:
                drops.append(m.span())
            else:
                drops += [(m.start(), m.start(keep)), (m.end(keep), m.end())]
    pieces: list[Piece] = []
    pos = 0
    for start, end in sorted(drops):
        pieces.append((pos, start))
        pos = max(pos, end)
    pieces.append((pos, len(text)))
    return from_pieces(text, pieces)
