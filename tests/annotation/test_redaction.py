"""redact_spans with any spans at all (out of range, negative, reversed, overlapping, huge):
it never fails, never keeps a character of a span it applied, and skips the rest."""

from hypothesis import given
from hypothesis import strategies as st

from annotation.redaction import redact_spans

BOUND = 10**12
spans_st = st.lists(
    st.fixed_dictionaries({"type": st.sampled_from(["email", "phone"]),
                           "start": st.integers(-BOUND, BOUND) | st.integers(-3, 40),
                           "end": st.integers(-BOUND, BOUND) | st.integers(-3, 40)}),
    max_size=30,
)  # fmt: skip


@given(st.text(alphabet="ab", max_size=40), spans_st)
def test_any_spans_redact_what_fits_and_skip_the_rest(text, spans):
    out = redact_spans(text, spans)
    applied, last = [], 0
    for span in sorted(spans, key=lambda s: s["start"]):
        if span["start"] >= last and span["end"] <= len(text) and span["start"] < span["end"]:
            applied.append(span)
            last = span["end"]
    kept = len(text) - sum(s["end"] - s["start"] for s in applied)
    assert len(out.replace("[EMAIL]", "").replace("[PHONE]", "")) == kept
    assert out.count("[") == len(applied)
