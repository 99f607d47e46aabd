"""Import errors as data: one pass names every bad row (repeated ids included), each with a
code, its row and line; a parser error names the real cause where it starts; any input at
all gets structured errors or an import, and a rejected file writes nothing."""

import codecs
import io

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from annotation.importing import errors as codes
from annotation.models import Annotation, ImportBatch, Item
from annotation.services.importing import import_file

pytestmark = pytest.mark.django_db


def run(project, content: bytes | str, name: str, **kwargs):
    data = content.encode() if isinstance(content, str) else content
    return import_file(project=project, stream=io.BytesIO(data), file_name=name, **kwargs)


def where(result) -> list[tuple[int, str, str]]:
    return [(e["row"], e["field"], e["code"]) for e in result.errors]


def assert_nothing_imported(project):
    assert not Item.objects.filter(project=project).exists()
    assert not ImportBatch.objects.filter(project=project).exists()
    assert not Annotation.objects.exists()


class TestOnePass:
    def test_every_bad_row_and_every_repeated_id_in_one_pass(self, project):
        assert run(project, "id,text\nold,already here\n", "first.csv").ok
        content = (
            "id,text,label\n"
            "r1,Great battery,positive\n"
            "r2,Broke in a week,angry\n"  # unknown label
            "old,It is a phone,\n"  # already in the project
            "r4,,negative\n"  # empty text
            "r2,Loud speaker,positive\n"  # repeats row 2, itself bad
            "r1,Again,positive\n"  # repeats row 1
        )
        result = run(project, content, "second.csv")
        assert where(result) == [
            (2, "label", codes.UNKNOWN_LABEL),
            (3, "id", codes.DUPLICATE),
            (4, "text", codes.EMPTY_TEXT),
            (5, "id", codes.DUPLICATE),
            (6, "id", codes.DUPLICATE),
        ]
        assert [e["line"] for e in result.errors] == [3, 4, 5, 6, 7]
        assert [e["params"] for e in result.errors if e["code"] == codes.DUPLICATE] == [
            {"id": "old", "in": "project"},
            {"id": "r2", "in": "file", "first_row": 2},
            {"id": "r1", "in": "file", "first_row": 1},
        ]
        assert result.error_codes == {"unknown_label": 1, "duplicate": 3, "empty_text": 1}
        assert Item.objects.filter(project=project).count() == 1  # only the first file's item

    def test_repeated_ids_after_the_first_chunk_of_errors_are_still_found(self, project):
        rows = "".join(f"r{i},t{i}\n" for i in range(6000))  # more than one chunk
        result = run(project, "id,text\nbad,\n" + rows + "r5,again\n", "x.csv")
        assert where(result) == [(1, "text", codes.EMPTY_TEXT), (6002, "id", codes.DUPLICATE)]
        assert_nothing_imported(project)

    def test_skipping_duplicates_still_reports_the_other_bad_rows(self, project):
        result = run(project, "id,text\na,x\na,y\nb,\n", "x.csv", on_duplicate="skip")
        assert where(result) == [(3, "text", codes.EMPTY_TEXT)]
        assert (result.created, result.skipped) == (0, 0)
        assert_nothing_imported(project)


class TestParserCauses:
    """Each cause by name, with the row (and line) where it starts."""

    def test_an_unclosed_quote_is_named_with_the_line_it_opens_on(self, project):
        content = 'id,text,label\nr1,ok,positive\nr2,"Broke in a week,negative\nr3,fine,neutral\n'
        result = run(project, content, "x.csv")
        assert where(result) == [(2, "row", codes.UNCLOSED_QUOTE)]
        error = result.errors[0]
        assert error["line"] == 3 and error["params"] == {"line": 3}
        assert error["message"].startswith("A quote opened on line 3 is never closed")
        assert_nothing_imported(project)

    def test_rows_before_an_unclosed_quote_keep_their_errors(self, project):
        result = run(project, 'text,label\nok,happy\n"never closed,positive\n', "x.csv")
        assert where(result) == [
            (1, "label", codes.UNKNOWN_LABEL),
            (2, "row", codes.UNCLOSED_QUOTE),
        ]

    def test_a_stray_quote_inside_a_quoted_field_is_its_own_cause(self, project):
        result = run(project, 'text,label\n"say "hi" now",positive\nfine,negative\n', "x.csv")
        assert where(result) == [(1, "row", codes.BAD_QUOTE)]
        assert result.errors[0]["line"] == 2
        assert result.rows == 2  # reading went on after the bad row

    def test_a_quoted_field_over_several_lines_is_fine(self, project):
        result = run(project, 'text\n"two\nlines"\nthird\n', "x.csv")
        assert result.ok and result.created == 2

    def test_an_unclosed_quote_in_a_large_file_is_suspected_at_its_line(self, project, settings):
        settings.QUORUM_MAX_ROW_BYTES = 1000
        content = 'text\nfine\n"open\n' + "".join(f"line {i}\n" for i in range(500))
        result = run(project, content, "x.csv")
        assert where(result) == [(0, "file", codes.RECORD_TOO_LARGE)]
        assert result.errors[0]["line"] == 3
        assert "a quote opened on line 3 is never closed" in result.errors[0]["message"]
        assert_nothing_imported(project)

    @pytest.mark.parametrize(
        ("content", "line", "offset", "byte", "shown"),
        [
            ("text\ncafé\n".encode("cp1252"), 2, 8, "0xE9", "'é' in Windows-1252"),
            (b"text\nok\nok\n\x81bad\n", 4, 11, "0x81", None),
        ],
    )
    def test_bytes_that_are_not_utf8_are_named_with_line_and_offset(
        self, project, content, line, offset, byte, shown
    ):
        result = run(project, content, "x.csv")
        error = result.errors[0]
        assert (error["code"], error["line"]) == (codes.BAD_ENCODING, line)
        assert error["params"] == {"offset": offset, "byte": byte}
        assert f"byte {byte}" in error["message"] and f"offset {offset}" in error["message"]
        assert (shown in error["message"]) if shown else "Windows-1252" not in error["message"]
        assert_nothing_imported(project)

    def test_bytes_that_are_not_utf8_in_a_json_array(self, project):
        content = '[{"text": "a"},\n{"text": "b"},\n{"text": "caf\xe9"}]'.encode("latin-1")
        result = run(project, content, "x.json")
        assert where(result) == [(3, "row", codes.BAD_ENCODING)]
        assert result.errors[0]["line"] == 3
        assert result.errors[0]["params"]["offset"] == content.index(b"\xe9")

    @pytest.mark.parametrize(
        ("content", "code", "encoding"),
        [
            (codecs.BOM_UTF32_LE + "text\n".encode("utf-32-le"), codes.BAD_ENCODING, "UTF-32"),
            ("text\na\n".encode("utf-16-le"), codes.BAD_ENCODING, "UTF-16 without a BOM"),
        ],
    )
    def test_whole_file_encodings_are_named(self, project, content, code, encoding):
        result = run(project, content, "x.csv")
        assert where(result) == [(0, "file", code)]
        assert result.errors[0]["params"] == {"encoding": encoding}

    @pytest.mark.parametrize(
        ("content", "code", "line"),
        [
            ("\nr1,text\n", codes.MISSING_HEADER, 1),
            ("id,body\nr1,hello\n", codes.MISSING_TEXT_COLUMN, 1),
            ("", codes.EMPTY_FILE, None),
        ],
    )
    def test_header_problems(self, project, content, code, line):
        result = run(project, content, "x.csv")
        assert where(result) == [(0, "file", code)]
        assert result.errors[0]["line"] == line

    def test_malformed_jsonl_names_line_and_column_and_goes_on(self, project):
        content = '{"text": "a"}\n{"text": "b",}\n{"text": "c"}\n{"text" "d"}\n'
        result = run(project, content, "x.jsonl")
        assert where(result) == [(2, "row", codes.MALFORMED_JSON), (4, "row", codes.MALFORMED_JSON)]
        assert [(e["line"], e["params"]["column"]) for e in result.errors] == [(2, 14), (4, 9)]

    def test_malformed_json_array_names_the_item_and_line(self, project):
        content = '[{"text": "a"},\n{"text": "b"},\n{"text": tru}]'
        result = run(project, content, "x.json")
        assert where(result) == [(3, "row", codes.MALFORMED_JSON)]
        assert result.errors[0]["params"] == {"after_item": 2}
        assert "after item 2" in result.errors[0]["message"]


ANY_NAME = st.sampled_from(["x.csv", "x.jsonl", "x.json", "x.txt"])


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    content=st.one_of(
        st.binary(max_size=300),
        st.text(alphabet='id,text\n"\r{}[]:é\x00\\ab', max_size=200).map(str.encode),
    ),
    name=ANY_NAME,
)
def test_any_bytes_give_structured_errors_or_an_import_and_never_a_partial_one(
    project, content, name
):
    """Whatever the bytes: either everything is imported, or nothing is and each error has
    a known code and a place; the service never raises."""
    before = Item.objects.filter(project=project).count()
    result = run(project, b"id,text\n" + content if name == "x.txt" else content, name)
    known = {v for k, v in vars(codes).items() if k.isupper() and isinstance(v, str)}
    if result.ok:
        assert Item.objects.filter(project=project).count() == before + result.created
    else:
        assert result.errors and all(e["code"] in known for e in result.errors)
        assert all(e["row"] >= 0 and e["message"] for e in result.errors)
        assert sum(result.error_codes.values()) == result.error_count
        assert Item.objects.filter(project=project).count() == before
        assert result.created == 0
