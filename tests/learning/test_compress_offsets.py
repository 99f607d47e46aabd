"""Compressed offsets map back to the original: original[mapped] == compressed[span]."""

from hypothesis import given, settings
from hypothesis import strategies as st

from learning.compress import DEFAULT_PROFILE, FILTERS, Profile
from learning.compress.spans import compose, from_dropped, from_pieces

FRAGMENTS = [
    "<p>",
    "</p>",
    "<br/>",
    "<script>x<y</script>",
    "<footer>f</footer>",
    "&amp;",
    "&#x27;",
    "**",
    "*",
    "# ",
    "[a](http://x.y)",
    "```\n",
    "`c`",
    "> ",
    "\n",
    "\n\n",
    "  ",
    "\t",
    "\r\n",
    "-- \n",
    "On Mon, Bob wrote:\n",
    "Sent from my iPhone\n",
    "From: a@b.c\n",
    "Best regards,\n",
    "\u00a0",
    "\ufb01",
    "e\u0301",
    "\u200b",
    "\uff21",
    "<ann@x.org>",
    "|",
    "repeated line of text here\n",
    "We use cookies to improve your experience.\n",
    "word ",
    "the same five words again ",
]
texts = st.lists(st.one_of(st.sampled_from(FRAGMENTS), st.text(max_size=8)), max_size=30).map(
    "".join
)


def check(original, edit):
    out_end = 0
    for out, orig, length in edit.segments:
        assert length > 0 and out >= out_end
        assert edit.text[out : out + length] == original[orig : orig + length]
        out_end = out + length
        for orig_start, orig_end in edit.to_original(out, out + length):
            assert original[orig_start:orig_end] == edit.text[out : out + length]


@settings(max_examples=300, deadline=None)
@given(
    corpus=st.lists(texts, min_size=1, max_size=6), level=st.sampled_from([0.25, 0.5, 0.75, 1.0])
)
def test_every_kept_segment_of_the_default_profile_round_trips(corpus, level):
    edits = DEFAULT_PROFILE.build(level).fit_transform(corpus)
    for original, edit in zip(corpus, edits, strict=True):
        check(original, edit)


@settings(max_examples=300, deadline=None)
@given(
    text=texts,
    first=st.lists(st.tuples(st.integers(0, 60), st.integers(0, 10)), max_size=5),
    second=st.lists(st.tuples(st.integers(0, 60), st.integers(0, 10)), max_size=5),
    insert=st.text(max_size=3),
)
def test_composed_edits_map_to_the_first_input(text, first, second, insert):
    a = from_dropped(text, [(s, s + n) for s, n in first])
    mid = a.text
    pieces = [(0, len(mid) // 2), insert, (len(mid) // 2, len(mid))]
    b = compose(
        from_pieces(mid, pieces),
        from_dropped(
            insert.join([mid[: len(mid) // 2], mid[len(mid) // 2 :]]),
            [(s, s + n) for s, n in second],
        ),
    )
    both = compose(a, b)
    assert both.text == b.text
    check(text, both)
    # nothing a deletion kept is lost by composing with an edit that keeps everything
    assert compose(a, from_pieces(mid, [(0, len(mid))])).segments == a.segments


@settings(max_examples=200, deadline=None)
@given(corpus=st.lists(texts, min_size=1, max_size=5), name=st.sampled_from(sorted(FILTERS)))
def test_every_filter_alone_keeps_exact_segments(corpus, name):
    profile = Profile.from_dict({"name": "one", "filters": [{"name": name}]})
    pipeline = profile.build(1.0, scorer=lambda sentences: [len(s) % 7 for s in sentences])
    for original, edit in zip(corpus, pipeline.fit_transform(corpus), strict=True):
        check(original, edit)
