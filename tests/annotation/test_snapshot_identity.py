"""The fast snapshot build writes every format byte for byte as main's build did.

The reference is main's code, kept as the ORM twin (``orm_twins.snapshot_select_items``,
``snapshot_reference_rows``, ``snapshot_reference_files``): both run in the same test on the
same data, so nothing here is a stored expectation. Small pages, scratch chunks and Parquet
row groups put every boundary inside the data.
"""

import io
import json
import zipfile
from datetime import UTC, datetime

import pyarrow.parquet as pq
import pytest
from django.contrib.auth import get_user_model
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from annotation import rawsql
from annotation.audit_selectors import Curation
from annotation.csv_cells import CsvRows
from annotation.jobs.runner import job_execute
from annotation.models import Annotation, CompressedText, CompressionProfile, ImportBatch, Item
from annotation.services.projects import project_create
from annotation.services.snapshots import snapshot_create, snapshot_file
from annotation.snapshots import parquet_files, side, writers
from annotation.snapshots import rows as rows_module
from annotation.snapshots.batches import Batch
from annotation.snapshots.compressed import CompressedSource
from annotation.snapshots.lineage import Tally
from annotation.snapshots.rows import row_columns, select_items
from annotation.snapshots.spec import SnapshotSpec
from tests.annotation import orm_twins

pytestmark = pytest.mark.django_db
LABELS = ["positive", "negative", "neutral", "=cmd", "ünï ☃"]
TEXTS = ["plain text", "", "=1+1 formula", "-minus", " @lead space", "\ttab", "quote \" and \\",
         "line\nbreak\r\n", "emoji 😀 and RTL שלום", "ctrl \x01\x1f\x7f", "sep \u2028\u2029",
         "comma, \"quoted\"", "＝fullwidth", "a" * 300]  # fmt: skip
METAS = [{}, {"lang": "en"}, {"z": 1, "a": [1.5, None, True], "ü": {"k": "v"}},
         {"float": 1e-07, "big": 12345678901234567890, "neg": -0.0}]  # fmt: skip


@pytest.fixture(autouse=True)
def small_boundaries(settings, tmp_path, monkeypatch):
    settings.QUORUM_EXPORT_DIR = tmp_path / "exports"
    monkeypatch.setattr(rows_module, "PAGE", 4)
    monkeypatch.setattr(rows_module, "CHUNK", 3)
    monkeypatch.setattr(parquet_files, "ROW_GROUP", 5)


def _populate(project, users, n: int, salt: int = 0) -> list[Item]:
    batch = ImportBatch.objects.create(project=project, file_name="f.csv")
    items = []
    for i in range(n):
        k = i + salt
        items.append(Item.objects.create(
            project=project, external_id=f"e{k:03}-{TEXTS[k % 3][:3]}", text=TEXTS[k % len(TEXTS)],
            image=f"items/{k}.png" if k % 7 == 3 else "", meta=METAS[k % len(METAS)],
            import_batch=batch if k % 2 else None,
            final_labels=[LABELS[k % 5]] if k % 9 == 1 else None,
            consensus_labels=LABELS[k % 4] if k % 11 == 2 else None,
            redacted_text="[redacted] é" if k % 8 == 5 else None,
            excluded=k % 13 == 6,
            content_deleted_at=datetime.now(UTC) if k % 17 == 8 else None,
        ))  # fmt: skip
    for i, item in enumerate(items):
        k = i + salt
        if k % 5 != 4:
            Annotation.objects.create(item=item, project=project, annotator=None,
                                      labels=[LABELS[k % 3]], source="import")  # fmt: skip
        for j, user in enumerate(users[: k % 4]):
            labels = [LABELS[(k + j) % 5]] + ([LABELS[(k + 2) % 5]] if project.multi_label else [])
            Annotation.objects.create(item=item, project=project, annotator=user,
                                      labels=labels, source="human")  # fmt: skip
        if k % 10 == 7:
            Annotation.objects.create(item=item, project=project, annotator=users[3],
                                      labels=[LABELS[1]], source="review")  # fmt: skip
    return items


@pytest.fixture(params=[False, True], ids=["single", "multi"])
def varied(request, manager, make_user):
    project = project_create(creator=manager, name=f"varied {request.param}", labels=LABELS,
                             multi_label=request.param)  # fmt: skip
    users = [make_user(f"u{k}-{request.param}") for k in range(4)]
    _populate(project, users, 40)
    return project


def _build(project, user=None, **spec):
    snapshot = snapshot_create(project=project, spec=spec, user=user, enqueue=False)
    job_execute(job_id=snapshot.job_id, task_id="test")
    snapshot.refresh_from_db()
    assert snapshot.job.status == "succeeded", snapshot.job.error
    return snapshot


def _spec(snapshot) -> SnapshotSpec:
    raw = snapshot.spec
    return SnapshotSpec(**{**raw, "labels": tuple(raw["labels"]) if raw.get("labels") else None,
                           "exclude": tuple(raw.get("exclude") or ())})  # fmt: skip


def _assert_identical(snapshot, tmp_path) -> None:
    spec, project = _spec(snapshot), snapshot.project
    reference = orm_twins.snapshot_reference_rows(project=project, spec=spec)
    expected = orm_twins.snapshot_reference_files(reference, columns=row_columns(spec),
                                                  directory=tmp_path, data_type=project.data_type)  # fmt: skip
    for fmt in ("jsonl", "csv", "parquet", "labelstudio"):
        assert snapshot_file(snapshot, fmt).read_bytes() == expected[fmt], fmt
    tally = Tally()
    for row in reference:
        tally.add_row(row)
    assert {k: v for k, v in snapshot.stats.items() if k != "items"} == {
        k: v for k, v in tally.stats().items() if k != "items"}  # fmt: skip
    splits = orm_twins.snapshot_reference_splits(expected["parquet"])
    with zipfile.ZipFile(snapshot_file(snapshot, "hf")) as archive:
        members = [name for name in archive.namelist() if name.endswith(".parquet")]
        assert len(members) == len(splits)
        for name in members:
            split = name.rsplit("/", 1)[1].split("-")[0]
            assert archive.read(name) == splits[split], name
            table = pq.read_table(io.BytesIO(archive.read(name)))
            want = [r for r in reference if r["split"] == split]
            assert table.column("id").to_pylist() == [r["id"] for r in want]


SPECS = [
    {},
    {"label_source": "every"},
    {"labels": ["positive", "=cmd", "ünï ☃"], "stratify": False, "seed": 7},
    {"min_agreement": 0.5, "splits": {"train": 0.5, "validation": 0.25, "test": 0.25}},
    {"label_source": "every", "annotator_names": True, "originals": True},
]


@pytest.mark.parametrize("spec", SPECS, ids=[json.dumps(s)[:40] for s in SPECS])
def test_every_format_is_byte_identical_to_mains(varied, manager, spec, tmp_path):
    _assert_identical(_build(varied, user=manager, **spec), tmp_path)


def test_items_match_mains_with_curation_and_compression(varied, tmp_path):
    """Audit exclusions and redaction spans, and compressed texts (some items uncached)."""
    items = list(varied.items.order_by("pk"))
    curation = Curation(run_id=1, excluded={items[2].pk, items[9].pk},
                        spans={items[4].pk: [{"start": 0, "end": 3, "type": "email"}],
                               items[12].pk: [{"start": 1, "end": 2, "type": "phone"}]})  # fmt: skip
    profile = CompressionProfile.objects.create(project=varied, name="p", filters=[])
    for item in items[::2]:
        for level in (0.3, 0.6):
            CompressedText.objects.create(item=item, profile=profile, version=1, level=level,
                                          text=f"c{level} {item.text[:5]}", tokens=3,
                                          tokens_original=9, segments=[])  # fmt: skip
    for include_original, level in ((False, 0.3), (True, 0.6), (False, 0.0)):
        spec = SnapshotSpec(redact_pii=True, label_source="every", include_original=include_original,
                            compression={"profile": profile.pk, "version": 1, "level": level})  # fmt: skip

        old = list(orm_twins.snapshot_select_items(project=varied, spec=spec, curation=curation,
                                                   compressed=_source(profile, level, include_original)))  # fmt: skip
        new = list(select_items(project=varied, spec=spec, curation=curation,
                                compressed=_source(profile, level, include_original)))  # fmt: skip
        assert len(new) == len(old) > 0
        columns = ("id", "text", "image", "label", "labels", "split", "label_source", "agreement",
                   "n_annotations", "annotator", "meta", "tokens", "tokens_original",
                   "original_text")  # fmt: skip
        for a, b in zip(old, new, strict=True):
            assert (a.external_id, a.stratum, a.batch_id, a.annotators, a.redacted_types) == (
                b.external_id, b.stratum, b.batch_id, b.annotators, b.redacted_types)  # fmt: skip
            assert [[r.get(c) for c in columns] for r in a.rows] == [
                [r.get(c) for c in columns] for r in b.rows]  # fmt: skip
            assert all(list(r) == list(row_columns(spec)) for r in b.rows)


def _source(profile, level: float, include_original: bool) -> CompressedSource:
    return CompressedSource(profile=profile.pk, version=1, level=level,
                            include_original=include_original)  # fmt: skip


@settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck))
@given(n=st.integers(0, 25), salt=st.integers(0, 1000), multi=st.booleans(),
       every=st.booleans())  # fmt: skip
def test_random_projects_are_byte_identical(manager, make_user, tmp_path_factory, n, salt, multi,
                                            every):  # fmt: skip
    project = project_create(creator=manager, name=f"random {salt} {n} {multi}", labels=LABELS,
                             multi_label=multi)  # fmt: skip
    users = list(get_users(make_user, salt))
    _populate(project, users, n, salt=salt)
    spec = {"label_source": "every"} if every else {}
    _assert_identical(_build(project, user=manager, **spec), tmp_path_factory.mktemp("ref"))


def get_users(make_user, salt):
    for k in range(4):
        found = get_user_model().objects.filter(username=f"h{k}").first()
        yield found or make_user(f"h{k}")


def test_raw_item_and_annotation_pages_match_their_orm_twins(varied):
    for kwargs in ({}, {"min_quality": 0.5}, {"only_reviewed": True},
                   {"exclude_open_issues": True}):  # fmt: skip
        raw = rawsql.snapshot_items(project_id=varied.pk, after=3, limit=20, **kwargs)
        orm = orm_twins.snapshot_items(project_id=varied.pk, after=3, limit=20, **kwargs)
        decoded = [(*r[:4], *(None if v is None else json.loads(v) for v in r[4:7]), *r[7:])
                   for r in raw]  # fmt: skip
        assert decoded == orm
    first, last = varied.items.order_by("pk")[3].pk, varied.items.order_by("pk")[30].pk
    raw_a = rawsql.snapshot_annotations(project_id=varied.pk, first=first, last=last)
    orm_a = orm_twins.snapshot_annotations(project_id=varied.pk, first=first, last=last)
    assert [(*r[:2], json.loads(r[2]), r[3]) for r in raw_a] == orm_a and orm_a


cells = st.one_of(st.none(), st.integers(), st.floats(allow_nan=False), st.text(max_size=8),
                  st.sampled_from(["=x", " -y", "\t", "", "＠a", "  ", " a"]))  # fmt: skip


@given(rows=st.lists(st.lists(cells, min_size=3, max_size=3), max_size=6),
       mode=st.sampled_from(["escape", "raw"]))  # fmt: skip
def test_csv_rows_by_column_write_what_row_by_row_writes(rows, mode):
    one, many = io.StringIO(), io.StringIO()
    single = CsvRows(one, mode=mode)
    for row in rows:
        single.row(row)
    CsvRows(many, mode=mode).many([list(column) for column in zip(*rows, strict=True)]
                                  if rows else [[], [], []])  # fmt: skip
    assert many.getvalue() == one.getvalue()


names = st.text(min_size=1, max_size=6)
row_values = st.fixed_dictionaries({
    "id": st.text(max_size=8), "text": st.text(max_size=30),
    "image": st.one_of(st.none(), st.text(min_size=1, max_size=8)),
    "labels": st.lists(names, min_size=1, max_size=3),
    "split": st.sampled_from(["train", "validation", "test"]),
    "label_source": st.sampled_from(["final", "consensus", "majority", "human", "import"]),
    "agreement": st.one_of(st.none(), st.floats(0, 1)), "n_annotations": st.integers(0, 9),
    "annotator": st.one_of(st.none(), names),
    "meta": st.dictionaries(st.text(max_size=4), st.one_of(
        st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=4),
        st.lists(st.integers(), max_size=2)), max_size=3),
})  # fmt: skip


def _batch(rows: list[dict], split_names: list[str]) -> Batch:
    """The rows as the build hands them to the writers."""
    table: dict[tuple, int] = {}
    codes = [table.setdefault((r["label"], tuple(r["labels"]), r["label_source"], r["agreement"],
                               r["n_annotations"], r["annotator"]), len(table)) for r in rows]  # fmt: skip
    return Batch([r["id"] for r in rows], [r["text"] for r in rows], [r["image"] for r in rows],
                 [r["meta"] for r in rows], [], codes, list(table),
                 [split_names.index(r["split"]) for r in rows], split_names)  # fmt: skip


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(batches=st.lists(st.lists(row_values, max_size=6), max_size=4), multi=st.booleans(),
       repeat=st.booleans())  # fmt: skip
def test_writers_write_mains_bytes_for_any_rows(batches, multi, repeat, tmp_path_factory):
    """Hostile values in every per-row and per-tail column, batches of any size, rows of one
    item split across batches (``repeat`` gives neighbours the same id)."""
    directory = tmp_path_factory.mktemp("w")
    split_names = ["train", "validation", "test"]
    rows_by_batch = []
    for batch_rows in batches:
        rows = []
        for row in batch_rows:
            row = {name: row.get(name) for name in rows_module.COLUMNS} | {
                "label": "|".join(row["labels"]) if multi else row["labels"][0],
                "labels": row["labels"]} | {k: v for k, v in row.items() if k != "labels"}  # fmt: skip
            if repeat and rows:
                row["id"] = rows[-1]["id"]
            rows.append({name: row[name] for name in rows_module.COLUMNS})
        rows_by_batch.append(rows)
    expected = orm_twins.snapshot_reference_files([r for b in rows_by_batch for r in b],
                                                  columns=rows_module.COLUMNS,
                                                  directory=directory)  # fmt: skip
    built = directory / "built"
    built.mkdir()
    formats = writers.open_writers(built, data_type="text")
    parquet = parquet_files.ParquetWriter(built / "p.parquet")
    for rows in rows_by_batch:
        for writer in [*formats.values(), parquet]:
            writer.write_batch(_batch(rows, split_names))
    for writer in [*formats.values(), parquet]:
        writer.close()
    for fmt in ("jsonl", "csv", "labelstudio"):
        assert (built / writers.FORMAT_FILES[fmt]).read_bytes() == expected[fmt], fmt
    assert (built / "p.parquet").read_bytes() == expected["parquet"]


@given(seed=st.integers(0, 2**32 - 1), ids=st.lists(st.text(max_size=12), max_size=20))
def test_unit_draws_are_unit_draw(seed, ids):
    draws = rows_module.UnitDraws(seed)
    for external_id in ids:
        draws.add(external_id)
    assert draws.array().tolist() == [rows_module.unit_draw(seed, i) for i in ids]


def test_a_failed_side_process_publishes_nothing(varied, manager, monkeypatch, settings, caplog):
    """The side process writes Parquet and the Hugging Face files: when it fails, the job
    fails (its traceback goes to the log, not to the job), the snapshot is failed, and no
    file of it is served."""
    real_run = side.SideProcess.run

    def broken_run(self, **orders):
        real_run(self, **orders | {"scratch": orders["directory"] / "missing.scratch"})

    monkeypatch.setattr(side.SideProcess, "run", broken_run)
    snapshot = snapshot_create(project=varied, spec={}, user=manager, enqueue=False)
    with pytest.raises(RuntimeError, match="Parquet writer failed"):
        job_execute(job_id=snapshot.job_id, task_id="test")
    snapshot.refresh_from_db()
    assert snapshot.job.status == "failed" and "Parquet writer failed" in snapshot.job.error
    assert "missing.scratch" not in snapshot.job.error and "missing.scratch" in caplog.text
    assert snapshot.status == "failed"
    project_dir = settings.QUORUM_EXPORT_DIR / str(varied.pk)
    assert not project_dir.exists() or not any(project_dir.iterdir())
