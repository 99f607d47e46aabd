"""Each compression filter on crafted inputs: what it removes, and what it must leave alone."""

import pytest

from learning.compress.corpus import Boilerplate, NearDuplicates
from learning.compress.markup import Markup
from learning.compress.model_guided import ModelGuided
from learning.compress.normalize import Normalize
from learning.compress.repetition import Repetition
from learning.compress.replies import Replies

CODE = """def mean(values: list[float]) -> float:
    if not values:
        return 0.0
    total = 0.0
    for v in values:
        total += v  # a < b and b > c, **kwargs, a*b*c
    __all__ = [__name__, __doc__]
    return total / len(values)
"""
TABLE = "| name  | count |\n|-------|-------|\n| apples|    3  |\n| pears |   12  |\n"


def assert_mapped(original, edit):
    for out, orig, length in edit.segments:
        assert edit.text[out : out + length] == original[orig : orig + length]


@pytest.mark.parametrize(
    "make",
    [
        lambda: Markup(drop_layout=True),
        lambda: Normalize(),
        lambda: Replies(quotes=True, signatures=True, headers=True, sign_off=True),
        lambda: Repetition(**Repetition.at_level(0.5)),
    ],
)
@pytest.mark.parametrize("text", [CODE, TABLE, "ok", "", "Yes.\nNo.\nYes.\nNo."])
def test_filters_leave_code_tables_and_short_items_alone(make, text):
    edit = make().apply(text)
    assert edit.text == text.strip("\n") if isinstance(make(), Normalize) else edit.text == text
    assert_mapped(text, edit)


def test_markup_strips_tags_keeps_text_and_decodes_entities():
    page = (
        "<html><head><title>T</title><style>p{color:red}</style></head><body>"
        "<nav>Home | About</nav><p>Fish &amp; chips</p><script>var x = '<p>';</script>"
        "<p>Mail <ann@example.org> about List<int></p><footer>(c) Shop</footer></body></html>"
    )
    kept = Markup(drop_layout=False).apply(page)
    assert (
        "Fish & chips" in kept.text
        and "<ann@example.org>" in kept.text
        and "List<int>" in kept.text
    )
    assert "<p>" not in kept.text and "color" not in kept.text and "var x" not in kept.text
    assert "(c) Shop" in kept.text and "Home | About" in kept.text
    dropped = Markup(drop_layout=True).apply(page)
    assert "(c) Shop" not in dropped.text and "Home" not in dropped.text
    assert_mapped(page, dropped)


def test_markup_strips_markdown_but_not_code():
    text = "## Results\n\nThe **new** model is *better*, __really much__ better, see [the report](https://x.org/r).\n\n```\nx = a**2 * b*c\n```\nUse `**kwargs`."
    out = Markup().apply(text).text
    assert out.startswith("Results\n")
    assert "The new model is better, really much better, see the report." in out
    assert "x = a**2 * b*c" in out and "`**kwargs`" in out


def test_normalize_unicode_spaces_and_blank_lines():
    text = "\ufeffCaf\u00e9\u200b  prices:\u00a0\uff11\uff12 euros   now\r\n\n\n\n    indented   code\nend  "
    edit = Normalize().apply(text)
    assert edit.text == "Café prices: 12 euros now\n\n    indented   code\nend"
    assert_mapped(text, edit)
    assert Normalize(collapse_spaces=False).apply("a   b").text == "a   b"


def test_replies_removes_quotes_attribution_and_signature():
    message = (
        "From: Ann <ann@example.org>\nDate: Mon, 3 Jun 2024\nSubject: Re: budget\n\n"
        "The budget is approved.\n\nBest regards,\nAnn\n-- \nAnn Lee | Finance\nSent from my iPhone\n"
    )
    reply = "Fine by me.\n\nOn Mon, 3 Jun 2024, Bob wrote:\n> Is the budget approved?\n> Thanks\n"
    quotes_only = Replies(signatures=False).apply(reply).text
    assert quotes_only == "Fine by me.\n\n"
    full = Replies(**Replies.at_level(1.0)).apply(message).text
    assert full == "Subject: Re: budget\n\nThe budget is approved.\n\n"
    assert "Ann Lee" not in Replies(**Replies.at_level(0.5)).apply(message).text
    forum = "[quote=bob]old text[/quote]\nMy answer."
    assert Replies().apply(forum).text == "My answer."


def test_replies_keeps_a_long_tail_after_dashes_and_a_one_line_closing():
    text = "Intro\n--\n" + "".join(f"point {i}\n" for i in range(12))
    assert Replies(**Replies.at_level(1.0)).apply(text).text == text
    assert Replies(**Replies.at_level(1.0)).apply("Thanks!").text == "Thanks!"


def test_boilerplate_learns_recurring_lines_from_the_corpus():
    banner = "We use cookies to improve your experience. Accept all"
    words = "apples pears plums cherries grapes melons lemons limes figs dates".split()
    texts = [
        f"Your {w} order shipped on 2024-06-{i + 10}.\n{banner}\n" for i, w in enumerate(words * 2)
    ]
    texts.append("A different message entirely without any banner.\n")
    fitted = Boilerplate(min_fraction=0.5).fit(texts)
    assert fitted.apply(texts[3]).text == "Your cherries order shipped on 2024-06-13.\n"
    assert fitted.apply(texts[-1]).text == texts[-1]
    # a template line that differs only in its numbers is boilerplate too (digits masked)
    numbered = [
        f"Ticket {i} was opened by the support team\nbody {w}\n" for i, w in enumerate(words)
    ]
    assert Boilerplate(min_fraction=0.5).fit(numbered).apply(numbered[0]).text == "body apples\n"
    unmasked = Boilerplate(min_fraction=0.5, mask_digits=False).fit(numbered)
    assert unmasked.apply(numbered[0]).text == numbered[0]


def test_boilerplate_ignores_short_lines_and_small_corpora():
    texts = ["Thanks!\nreal content here number one"] * 2
    assert Boilerplate(min_fraction=0.5).fit(texts).apply(texts[0]).text == texts[0]


def test_near_duplicates_drops_paragraphs_repeated_with_small_changes():
    disclaimer = "This message and any attachment are confidential and intended only for the addressee, ref {}."
    texts = [
        f"Item {i} is about topic {i}.\n\n" + disclaimer.format(i).upper()
        if i % 2
        else f"Item {i} text.\n\n" + disclaimer.format(i)
        for i in range(6)
    ]
    fitted = NearDuplicates(min_items=3).fit(texts)
    assert fitted.apply(texts[1]).text == "Item 1 is about topic 1.\n\n"
    assert fitted.apply("Item 9 alone.").text == "Item 9 alone."


def test_repetition_drops_second_copies_of_lines_and_ngrams():
    text = "Great product, would buy again!!\nIt works.\nGreat product, would buy again!!\n"
    assert (
        Repetition(min_line_chars=20).apply(text).text
        == "Great product, would buy again!!\nIt works.\n"
    )
    spam = "win a free prize now call us today " * 3 + "end"
    out = Repetition(min_line_chars=20, ngram=5).apply(spam).text
    assert out == "win a free prize now call us today end"


def test_model_guided_drops_the_least_weighted_sentences_of_long_items_only():
    def scorer(sentences):
        return [float("refund" in s) + float("broken" in s) for s in sentences]

    text = "Hello there. The screen arrived broken. I had a nice day. I want a refund."
    out = ModelGuided(scorer=scorer, drop_fraction=0.5).apply(text).text
    assert out == "The screen arrived broken. I want a refund."
    assert ModelGuided(scorer=scorer, drop_fraction=0.5).apply("Hi. Refund.").text == "Hi. Refund."
    with pytest.raises(ValueError, match="scorer"):
        ModelGuided().apply(text)


def test_markdown_rules_skip_source_code_where_hash_is_a_comment():
    source = "# Compute the total\nimport math\n\n\ndef total(xs):\n    # __doc__ stays\n    return math.fsum(xs)\n"
    assert Markup().apply(source).text == source


def test_linear_sentence_scorer_weighs_sentences_by_the_spread_of_class_scores():
    import numpy as np

    from learning.compress.model_guided import linear_sentence_scorer

    vocabulary = ["refund", "broken", "hello", "weather"]

    def featurize(sentences):
        return np.array([[s.lower().count(w) for w in vocabulary] for s in sentences], dtype=float)

    three_class = np.array([[2.0, 1.0, 0.0, 0.1], [-1.0, 0.0, 0.0, 0.1], [0.0, -1.0, 0.0, 0.1]])
    scores = linear_sentence_scorer(featurize, three_class)(
        ["Refund please.", "Hello.", "Nice weather."]
    )
    assert (
        scores[0] == 3.0 and scores[1] == 0.0 and scores[2] == 0.0
    )  # a shared weight moves no class
    binary = linear_sentence_scorer(featurize, np.array([-2.0, 1.0, 0.0, 0.0]))
    assert list(binary(["refund", "broken", "hello"])) == [2.0, 1.0, 0.0]
