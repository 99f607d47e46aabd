"""User-supplied text (project and label names) as plain inline Markdown in the dataset README.

The README is rendered by whoever hosts the dataset (the Hugging Face Hub renders Markdown and
some HTML), so a name must not open a heading, a table cell, a link, an image, a tag or a new
YAML block. Pure Python.
"""

import re

_WHITESPACE = re.compile(r"\s+")  # newlines, tabs and Unicode line separators alike
_HTML = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}
_MARKUP = set("\\`*_[]|#!~")


def md_text(value: object) -> str:
    """``value`` as one line of literal text: whitespace runs become one space, ``& < >`` HTML
    entities, and Markdown's punctuation is backslash-escaped."""
    line = _WHITESPACE.sub(" ", str(value)).strip()
    return "".join(_HTML.get(c) or (f"\\{c}" if c in _MARKUP else c) for c in line)
