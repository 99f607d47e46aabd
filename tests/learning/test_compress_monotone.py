"""More aggressive never keeps more: for a fixed corpus, compressed tokens (and, for the
boilerplate filter alone, the kept characters) do not grow with the level."""

from hypothesis import given, settings
from hypothesis import strategies as st

from learning.compress import DEFAULT_PROFILE, count_tokens
from learning.compress.corpus import Boilerplate

LEVELS = (0.0, 0.25, 0.5, 0.75, 1.0)
# Short and long sentences, so a recurring line mixes both (the case that once broke).
SENTENCES = (
    "Accept all cookies.",
    "Thanks!",
    "We use cookies to improve this site.",
    "Your order 123 has shipped today.",
    "Reply STOP to opt out of messages.",
    "See you at 7.",
    "The quarterly report is attached for review.",
    "Call me back when you can.",
    "<p>Privacy</p>",
    "> quoted line from before",
    "-- ",
)
lines = st.lists(st.sampled_from(SENTENCES), min_size=1, max_size=3).map(" ".join)
items = st.lists(lines, min_size=1, max_size=5).map(lambda ls: "\n".join(ls) + "\n")
corpora = st.lists(items, min_size=3, max_size=30)


def total_tokens(texts, level):
    return int(
        count_tokens([e.text for e in DEFAULT_PROFILE.build(level).fit_transform(texts)]).sum()
    )


def test_a_recurring_line_is_dropped_whole_at_the_sentence_level_too():
    texts = [
        f"Note {w} for today.\nWe use cookies to improve this site. Accept all cookies.\n"
        for w in "apples pears plums figs limes".split()
    ]
    for unit in ("line", "sentence"):
        fitted = Boilerplate(min_fraction=0.5, unit=unit).fit(texts)
        assert fitted.apply(texts[0]).text == "Note apples for today.\n"


def test_sentence_level_still_leaves_short_and_unique_sentences_alone():
    # the banner sentence recurs inside lines that differ; the short ones never count
    texts = [
        f"Hi {w}. We use cookies to improve this site. Ok.\n"
        for w in "Ann Bob Chen Dana Emeka".split()
    ]
    fitted = Boilerplate(min_fraction=0.5, unit="sentence").fit(texts)
    assert fitted.apply(texts[1]).text == "Hi Bob. Ok.\n"
    assert fitted.apply("Ok.\nA line of its own that recurs nowhere.\n").text == (
        "Ok.\nA line of its own that recurs nowhere.\n"
    )


@settings(max_examples=150, deadline=None)
@given(corpora)
def test_tokens_do_not_grow_with_the_level(texts):
    counts = [total_tokens(texts, level) for level in LEVELS]
    assert counts == sorted(counts, reverse=True), counts


@settings(max_examples=150, deadline=None)
@given(corpora)
def test_boilerplate_keeps_a_subset_of_the_milder_levels_characters(texts):
    def kept(level):
        fitted = Boilerplate(**Boilerplate.at_level(level)).fit(texts)
        return [
            {orig + i for _, orig, n in fitted.apply(t).segments for i in range(n)} for t in texts
        ]

    milder = kept(0.25)
    for level in LEVELS[2:]:
        harsher = kept(level)
        assert all(h <= m for h, m in zip(harsher, milder, strict=True))
        milder = harsher
