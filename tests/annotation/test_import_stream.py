"""The import's write path: one COPY per file on PostgreSQL (``rawsql.CopyStream``), one
``executemany`` per chunk on SQLite; the same items either way.

``CHUNK`` is made tiny so that a file of a few rows crosses many chunk boundaries: rows
written into an open COPY, the COPY closed for a duplicate-id query or the annotations of
imported labels and reopened, and a late error rolling all of it back.
"""

import csv
import io

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from annotation.models import Annotation, ImportBatch, Item, ItemStatus
from annotation.services.importing import import_file, pipeline
from annotation.services.projects import project_create
from tests.transactions import rolled_back

pytestmark = pytest.mark.django_db
examples = settings(max_examples=25, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture])  # fmt: skip


@pytest.fixture(autouse=True)
def tiny_chunks(monkeypatch):
    monkeypatch.setattr(pipeline, "CHUNK", 3)


def csv_bytes(header: list[str], rows: list[list[str]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue().encode()


def run(project, content: bytes, **kwargs):
    return import_file(project=project, stream=io.BytesIO(content), file_name="x.csv", **kwargs)


# Text a COPY must escape (tab, newline, carriage return, backslash, "\N", "\."), and any
# other character but NUL (refused) and lone surrogates (not UTF-8); never blank.
texts = st.text(st.characters(blacklist_categories=["Cs"], blacklist_characters="\x00"),
                min_size=1, max_size=12) | st.sampled_from(["\\N", "\\.", "a\tb", "c\\d", "e\r\nf"])  # fmt: skip


@examples
@given(items=st.lists(texts.filter(str.strip), min_size=1, max_size=12))
def test_every_text_is_stored_exactly_in_file_order(project, items):
    """csv's newline handling turns a lone "\\r" into a line end, so compare with what a
    CSV reader gives back, as the import sees it."""
    content = csv_bytes(["text"], [[t] for t in items])
    expected = [row[0] for row in csv.reader(io.StringIO(content.decode()))][1:]

    def ask():
        result = run(project, content)
        stored = list(Item.objects.filter(project=project).order_by("sequence")
                      .values_list("text", "external_id", "meta", "status"))  # fmt: skip
        return (
            result.ok,
            result.created,
            stored,
            ImportBatch.objects.filter(project=project).count(),
        )

    ok, created, stored, batches = rolled_back(ask)
    if not ok:  # a text csv reads back blank is refused: the import's rule, not the writer's
        assert any(not t.strip() for t in expected)
        return
    assert created == len(expected) and batches == 1
    assert [s[0] for s in stored] == expected
    assert all(s[2] == {} and s[3] == ItemStatus.OPEN for s in stored)
    assert len({s[1] for s in stored}) == len(stored)  # default ids, one per row


def test_labels_and_existing_ids_between_chunks(project):
    """Labeled rows and a project that already has items close the COPY at chunk ends; every
    item and every imported label still lands, duplicates of earlier items are skipped."""
    assert run(project, csv_bytes(["id", "text"], [["old1", "x"], ["old2", "y"]])).ok
    rows = [[f"n{k}", f"text {k}\twith tab", "positive" if k % 4 == 0 else ""] for k in range(11)]
    rows[5][0] = "old1"  # already in the project
    result = run(project, csv_bytes(["id", "text", "label"], rows), on_duplicate="skip")
    assert result.ok and result.created == 10 and result.skipped == 1 and result.labels == 3
    new = Item.objects.filter(project=project).exclude(external_id__startswith="old")
    assert sorted(new.values_list("external_id", flat=True)) == sorted(
        r[0] for r in rows if r[0] != "old1"
    )
    labeled = Annotation.objects.filter(item__project=project).values_list(
        "item__external_id", flat=True
    )
    assert sorted(labeled) == ["n0", "n4", "n8"]
    assert Item.objects.get(project=project, external_id="n4").status == ItemStatus.COMPLETE
    assert Item.objects.get(project=project, external_id="n3").text == "text 3\twith tab"
    sequences = list(new.order_by("sequence").values_list("external_id", flat=True))
    assert sequences == [r[0] for r in rows if r[0] != "old1"]


def test_an_error_after_labeled_chunks_leaves_nothing(project):
    rows = [[f"n{k}", f"t{k}", "positive"] for k in range(10)] + [["n10", " ", ""]]
    result = run(project, csv_bytes(["id", "text", "label"], rows))
    assert not result.ok and [e["row"] for e in result.errors] == [11]
    assert not Item.objects.filter(project=project).exists()
    assert not Annotation.objects.filter(project=project).exists()
    assert not ImportBatch.objects.filter(project=project).exists()


def test_a_duplicate_in_the_file_refuses_it_across_chunks(project):
    rows = [[f"n{k}", f"t{k}"] for k in range(8)] + [["n1", "again"]]
    result = run(project, csv_bytes(["id", "text"], rows))
    assert [(e["row"], e["code"]) for e in result.errors] == [(9, "duplicate")]
    assert not Item.objects.filter(project=project).exists()


def test_a_sampled_project_gets_its_sample_after_one_copy(manager):
    """Overlap planning runs on the rows the COPY wrote (``fresh_item_overlaps_set``)."""
    project = project_create(creator=manager, name="Sampled", labels=["a", "b"])
    project.agreement_sample = 0.5
    project.save()
    assert run(project, csv_bytes(["text"], [[f"t{k}"] for k in range(40)])).ok
    overlaps = set(Item.objects.filter(project=project).values_list("required_overlap", flat=True))
    assert overlaps == {1, 2}


def test_a_progress_callback_may_use_the_connection(project, monkeypatch):
    """A job run inside its caller's transaction writes its progress on the import's own
    connection: the COPY is ended before each report, and the next chunk reopens it."""
    monkeypatch.setattr(pipeline, "PROGRESS_SECONDS", 0.0)
    seen = []

    def progress(fraction: float) -> None:
        seen.append((fraction, Item.objects.filter(project=project).count()))

    content = csv_bytes(["text"], [[f"t{k}"] for k in range(10)])
    result = import_file(project=project, stream=io.BytesIO(content), file_name="x.csv",
                         size=len(content), progress=progress)  # fmt: skip
    assert result.ok and result.created == 10
    assert [count for _, count in seen] == [3, 6, 9]  # each report sees the rows written so far
    assert [f for f, _ in seen] == sorted(f for f, _ in seen)
