"""md_text: any user-supplied name is one line of literal text in the dataset README."""

import re

from hypothesis import given
from hypothesis import strategies as st

from annotation.snapshots.markdown import md_text

UNESCAPED = re.compile(r"(?<!\\)(?:\\\\)*[`*_\[\]|#!~]")


def unescape(text: str) -> str:
    entities = {"&amp;": "&", "&lt;": "<", "&gt;": ">"}
    text = re.sub(r"&(amp|lt|gt);", lambda m: entities[m.group(0)], text)
    return re.sub(r"\\(.)", r"\1", text)


@given(st.text(alphabet=st.characters(codec="utf-8") | st.sampled_from("\\`*_[]|#!~<>&\n\r")))
def test_every_name_is_one_line_with_no_markup_and_reads_back(name):
    shown = md_text(name)
    assert "\n" not in shown and "\r" not in shown and "<" not in shown and ">" not in shown
    assert not UNESCAPED.search(shown.replace("\\\\", ""))
    assert unescape(shown) == re.sub(r"\s+", " ", name).strip()
