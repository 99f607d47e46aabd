"""Project guidelines are Markdown written by managers, shown to annotators: rendered
with python-markdown, then sanitized by nh3 (ammonia) so no script can run."""

import re

import markdown
import nh3

# A path on this site: one leading slash, then URL path characters only. No "//", no
# backslash or whitespace (browsers read "/\\host" and "/\t/host" as another host).
SAME_ORIGIN_PATH = re.compile(r"/(?![/\\])[A-Za-z0-9._~!$&'()*+,;=:@%/?#-]*")

ALLOWED_TAGS = {
    "a", "abbr", "b", "blockquote", "br", "code", "dd", "del", "dl", "dt", "em", "h1", "h2",
    "h3", "h4", "h5", "h6", "hr", "i", "img", "kbd", "li", "ol", "p", "pre", "s", "strong",
    "sub", "sup", "table", "tbody", "td", "th", "thead", "tr", "ul",
}  # fmt: skip


def render_guidelines(source: str) -> str:
    html = markdown.markdown(source or "", extensions=["tables", "fenced_code", "sane_lists"])
    return nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes={"a": {"href", "title"}, "img": {"src", "alt", "title"}},
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer nofollow",
        attribute_filter=_same_origin_images,
    )


def _same_origin_images(tag: str, attribute: str, value: str) -> str | None:
    """Images load from this site only (``/path``): an outside image would tell its server
    who reads the guidelines, and the Content-Security-Policy (img-src 'self') blocks it."""
    if tag == "img" and attribute == "src":
        return value if SAME_ORIGIN_PATH.fullmatch(value) else None
    return value
