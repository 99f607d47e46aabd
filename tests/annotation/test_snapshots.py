"""Snapshots: every spec field, every format parsed back, the hash, the diff, the command."""

import csv
import io
import json
import zipfile

import pyarrow.parquet as pq
import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management import call_command

from annotation.jobs.runner import job_execute
from annotation.models import Annotation, Item, Job, JobKind, LabelIssue, ReviewAction
from annotation.services.importing import import_file, import_objects
from annotation.services.projects import project_create
from annotation.services.snapshots import snapshot_create, snapshot_diff, snapshot_file
from annotation.snapshots.spec import spec_parse

pytestmark = pytest.mark.django_db
LABELS = ["positive", "negative", "neutral"]


@pytest.fixture(autouse=True)
def export_dir(settings, tmp_path):
    settings.QUORUM_EXPORT_DIR = tmp_path / "exports"
    return settings.QUORUM_EXPORT_DIR


@pytest.fixture
def labeled(project):
    """60 imported items, labels cycling positive/negative/neutral, one with meta."""
    objects = [{"id": f"i{n:03}", "text": f"item number {n}", "label": LABELS[n % 3]}
               for n in range(60)]  # fmt: skip
    objects[0]["meta"] = {"lang": "en", "source": "web"}
    objects.append({"id": "unlabeled", "text": "nobody labeled me"})
    assert import_objects(project=project, objects=objects).ok
    return project


def item(project, external_id: str) -> Item:
    return Item.objects.get(project=project, external_id=external_id)


def vote(project, external_id: str, user, label: str) -> None:
    Annotation.objects.create(item=item(project, external_id), project=project, annotator=user,
                              labels=[label])  # fmt: skip


def build(project, user=None, **spec):
    snapshot = snapshot_create(project=project, spec=spec, user=user, enqueue=False)
    job_execute(job_id=snapshot.job_id, task_id="test")
    snapshot.refresh_from_db()
    assert snapshot.job.status == "succeeded", snapshot.job.error
    return snapshot


def jsonl(snapshot) -> list[dict]:
    lines = snapshot_file(snapshot, "jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines]


def by_id(snapshot) -> dict[str, dict]:
    return {row["id"]: row for row in jsonl(snapshot)}


class TestLabelSource:
    def test_final_prefers_review_then_consensus_then_majority(self, labeled, make_user):
        Item.objects.filter(pk=item(labeled, "i000").pk).update(final_labels=["neutral"])
        Item.objects.filter(pk=item(labeled, "i001").pk).update(consensus_labels=["positive"])
        a, b = make_user("a"), make_user("b")
        vote(labeled, "i002", a, "positive")
        vote(labeled, "i002", b, "positive")  # import said neutral: 2 of 3 say positive
        rows = by_id(build(labeled))
        assert (rows["i000"]["label"], rows["i000"]["label_source"]) == ("neutral", "final")
        assert (rows["i001"]["label"], rows["i001"]["label_source"]) == ("positive", "consensus")
        assert (rows["i002"]["label"], rows["i002"]["label_source"]) == ("positive", "majority")
        assert rows["i002"]["agreement"] == pytest.approx(2 / 3)
        assert rows["i002"]["n_annotations"] == 3
        assert "unlabeled" not in rows and len(rows) == 60

    def test_every_gives_one_row_per_annotation(self, labeled, make_user):
        vote(labeled, "i003", make_user("a"), "neutral")
        rows = [r for r in jsonl(build(labeled, label_source="every")) if r["id"] == "i003"]
        assert [(r["label"], r["annotator"], r["label_source"]) for r in rows] == [
            ("positive", None, "import"),
            ("neutral", "annotator-1", "human"),
        ]
        assert rows[0]["split"] == rows[1]["split"]  # an item never straddles splits


class TestFilters:
    def test_min_agreement_drops_contested_items(self, labeled, make_user):
        vote(labeled, "i004", make_user("a"), "positive")  # import: negative -> 1 of 2
        rows = by_id(build(labeled, min_agreement=0.6))
        assert "i004" not in rows and "i005" in rows and len(rows) == 59

    def test_min_consensus_quality(self, labeled):
        Item.objects.filter(project=labeled).update(consensus_quality=0.2)
        Item.objects.filter(pk=item(labeled, "i006").pk).update(consensus_quality=0.9)
        assert list(by_id(build(labeled, min_consensus_quality=0.5))) == ["i006"]

    def test_exclude_open_issues(self, labeled):
        run = Job.objects.create(project=labeled, kind=JobKind.LABEL_ISSUES, status="succeeded")
        for ext, status in (("i007", "open"), ("i008", "dismissed")):
            LabelIssue.objects.create(project=labeled, item=item(labeled, ext), job=run,
                                      given_label="positive", suggested_label="negative",
                                      quality=0.1, reason="r", labels_fingerprint="f",
                                      status=status)  # fmt: skip
        rows = by_id(build(labeled, exclude_open_issues=True))
        assert "i007" not in rows and "i008" in rows
        assert "i007" in by_id(build(labeled))

    def test_only_reviewed(self, labeled, make_user):
        ReviewAction.objects.create(item=item(labeled, "i009"), reviewer=make_user("r"),
                                    action="accept")  # fmt: skip
        assert list(by_id(build(labeled, only_reviewed=True))) == ["i009"]

    def test_labels_to_include(self, labeled):
        rows = jsonl(build(labeled, labels=["positive", "neutral"]))
        assert {r["label"] for r in rows} == {"positive", "neutral"} and len(rows) == 40


class TestSplits:
    def test_stratified_splits_give_every_label_its_share(self, labeled):
        snapshot = build(labeled, splits={"train": 0.6, "validation": 0.2, "test": 0.2})
        assert snapshot.stats["splits"] == {"test": 12, "train": 36, "validation": 12}
        for split, share in (("train", 12), ("validation", 4), ("test", 4)):
            assert snapshot.stats["split_labels"][split] == dict.fromkeys(sorted(LABELS), share)

    def test_the_seed_reshuffles_and_a_seed_reproduces(self, labeled):
        def splits(seed: int) -> dict:
            return {k: r["split"] for k, r in by_id(build(labeled, seed=seed)).items()}

        assert splits(1) == splits(1) != splits(2)

    def test_unstratified_split_depends_on_the_item_alone(self, labeled):
        whole = by_id(build(labeled, stratify=False, seed=3))
        part = by_id(build(labeled, stratify=False, seed=3, labels=["negative"]))
        assert all(part[k]["split"] == whole[k]["split"] for k in part)

    def test_two_splits(self, labeled):
        snapshot = build(labeled, splits={"train": 0.5, "test": 0.5})
        assert snapshot.stats["splits"] == {"test": 30, "train": 30}


class TestSpecErrors:
    @pytest.mark.parametrize("spec, field, words", [
        ({"labels": ["positive", "sarcastic"]}, "labels", "'sarcastic'"),
        ({"splits": {"train": 0.8, "test": 0.1}}, "splits", "sum to 0.9"),
        ({"splits": {"train": 0.5, "dev": 0.5}}, "splits", "'dev'"),
        ({"label_source": "latest"}, "label_source", "final, every"),
        ({"min_agreement": 1.5}, "min_agreement", "from 0 to 1"),
        ({"min_consensus_quality": "high"}, "min_consensus_quality", "from 0 to 1"),
        ({"exclude_open_issues": "yes"}, "exclude_open_issues", "true or false"),
        ({"only_reviewed": 1}, "only_reviewed", "true or false"),
        ({"stratify": None}, "stratify", "true or false"),
        ({"seed": -1}, "seed", "integer"),
        ({"label": "x"}, "label", "Unknown spec field"),
    ])  # fmt: skip
    def test_bad_field_is_named(self, spec, field, words):
        with pytest.raises(ValidationError) as caught:
            spec_parse(spec, label_names=LABELS)
        assert list(caught.value.message_dict) == [field]
        assert words in caught.value.message_dict[field][0]

    def test_defaults(self):
        spec = spec_parse({}, label_names=LABELS)
        assert spec.label_source == "final" and spec.splits == {"train": 0.8, "validation": 0.1,
                                                                "test": 0.1}  # fmt: skip


class TestFormats:
    def test_jsonl_csv_and_parquet_hold_the_same_rows(self, labeled):
        snapshot = build(labeled)
        rows = jsonl(snapshot)
        assert len(rows) == snapshot.row_count == 60
        assert rows[0]["meta"] == {"lang": "en", "source": "web"}
        with snapshot_file(snapshot, "csv").open(newline="", encoding="utf-8") as f:
            table = list(csv.DictReader(f))
        assert [(r["id"], r["label"], r["split"]) for r in table] == [
            (r["id"], r["label"], r["split"]) for r in rows
        ]
        assert json.loads(table[0]["meta"]) == rows[0]["meta"] and table[1]["meta"] == ""
        parquet = pq.read_table(snapshot_file(snapshot, "parquet")).to_pylist()
        assert [(r["id"], r["labels"], r["split"], r["agreement"]) for r in parquet] == [
            (r["id"], r["labels"], r["split"], r["agreement"]) for r in rows
        ]

    def test_hugging_face_zip_has_a_card_and_a_file_per_split(self, labeled):
        snapshot = build(labeled)
        with zipfile.ZipFile(snapshot_file(snapshot, "hf")) as archive:
            names = archive.namelist()
            readme = archive.read("sentiment-v1/README.md").decode()
            train = pq.read_table(io.BytesIO(archive.read(
                "sentiment-v1/data/train-00000-of-00001.parquet")))  # fmt: skip
        assert sorted(names) == ["sentiment-v1/README.md"] + sorted(
            f"sentiment-v1/data/{s}-00000-of-00001.parquet" for s in ("train", "validation", "test")
        )
        assert "- split: validation\n    path: data/validation-*.parquet" in readme
        assert snapshot.content_hash in readme and '"import_batches"' in readme
        assert train.num_rows == snapshot.stats["splits"]["train"]
        assert set(train.column("split").to_pylist()) == {"train"}

    def test_label_studio_round_trip(self, labeled, manager):
        snapshot = build(labeled)
        copy = project_create(creator=manager, name="Copy", labels=LABELS)
        with snapshot_file(snapshot, "labelstudio").open("rb") as stream:
            result = import_file(project=copy, stream=stream, file_name="ls.json",
                                 fmt="labelstudio")  # fmt: skip
        assert result.ok, result.errors

        def content(project):
            return sorted((i.external_id, i.text, i.meta, tuple(a.labels))
                          for i in project.items.prefetch_related("annotations")
                          for a in i.annotations.all())  # fmt: skip

        original = content(labeled)
        assert content(copy) == original and len(original) == 60


class TestHashAndDiff:
    def test_same_spec_same_data_same_hash(self, labeled):
        first, second = build(labeled, seed=5), build(labeled, seed=5)
        assert (first.version, second.version) == (1, 2)
        assert first.content_hash == second.content_hash and len(first.content_hash) == 64
        Item.objects.filter(pk=item(labeled, "i010").pk).update(final_labels=["neutral"])
        assert build(labeled, seed=5).content_hash != first.content_hash

    def test_diff_reports_added_removed_and_relabeled(self, labeled, make_user):
        before = build(labeled)
        Item.objects.filter(pk=item(labeled, "i011").pk).update(final_labels=["positive"])
        Item.objects.filter(pk=item(labeled, "i012").pk).delete()
        vote(labeled, "unlabeled", make_user("a"), "neutral")
        diff = snapshot_diff(before, build(labeled))
        counts = [diff[key] for key in ("added", "removed", "relabeled", "unchanged")]
        assert counts == [1, 1, 1, 58]
        assert diff["examples"]["added"] == ["unlabeled"]
        assert diff["examples"]["removed"] == ["i012"]
        assert diff["examples"]["relabeled"] == [
            {"id": "i011", "before": "neutral", "after": "positive"}
        ]


class TestLineage:
    def test_lineage_names_sources_and_state(self, labeled, make_user):
        vote(labeled, "i013", make_user("a"), "positive")
        snapshot = build(labeled, seed=9)
        lineage = snapshot.lineage
        assert lineage["spec"]["seed"] == 9
        assert lineage["import_batches"][0]["items"] == 60
        assert lineage["annotators"] == {"(imported)": 60, "annotator-1": 1}
        assert lineage["content_hash"] == snapshot.content_hash and lineage["rows"] == 60
        assert lineage["model_version"] is None and lineage["label_issues_run"] is None


def test_management_command_builds_without_http(labeled, tmp_path):
    spec = tmp_path / "spec.json"
    spec.write_text(json.dumps({"labels": ["negative"], "seed": 2}))
    out = tmp_path / "out"
    call_command("export_snapshot", str(labeled.pk), "--spec", str(spec), "--out", str(out))
    rows = [json.loads(line) for line in (out / "snapshot.jsonl").read_text().splitlines()]
    assert len(rows) == 20 and {r["label"] for r in rows} == {"negative"}
    assert (out / "snapshot.parquet").exists() and (out / "lineage.json").exists()


class TestProjectPage:
    def test_managers_see_snapshots_with_downloads_and_can_cut_one(self, labeled, members, client):
        snapshot = build(labeled)
        client.force_login(members["engineer"])
        page = client.get(f"/projects/{labeled.pk}/").content.decode()
        assert 'id="snapshots"' in page and "v1" in page and "train 48" in page
        assert f"/api/snapshots/{snapshot.pk}/download?format=parquet" in page
        response = client.post(f"/projects/{labeled.pk}/snapshots/new")
        assert response.status_code == 302 and labeled.snapshots.count() == 2

    def test_annotators_see_no_snapshot_section_and_cannot_cut(self, labeled, members, client):
        client.force_login(members["annotator"])
        assert 'id="snapshots"' not in client.get(f"/projects/{labeled.pk}/").content.decode()
        assert client.post(f"/projects/{labeled.pk}/snapshots/new").status_code == 403


class TestAnnotatorNames:
    """Rows and lineage name annotators by stable pseudonyms unless a manager asks for names."""

    def test_pseudonyms_by_default_stable_when_someone_new_labels(self, labeled, make_user):
        zed, amy = make_user("zed"), make_user("amy")  # zed first: numbered by user id
        vote(labeled, "i003", zed, "neutral")
        vote(labeled, "i004", amy, "neutral")
        first = build(labeled, label_source="every")
        rows = {(r["id"], r["annotator"]) for r in jsonl(first) if r["annotator"]}
        assert rows == {("i003", "annotator-1"), ("i004", "annotator-2")}
        files = "".join(p.read_text(errors="replace") for p in
                        snapshot_file(first, "jsonl").parent.rglob("*") if p.is_file())  # fmt: skip
        for name in ("zed", "amy"):
            assert name not in files and name not in json.dumps(first.lineage)
        assert first.lineage["annotators"] == {"(imported)": 60, "annotator-1": 1,
                                               "annotator-2": 1}  # fmt: skip
        assert first.lineage["data_card"]["annotators"]["named"] is False
        assert build(labeled, label_source="every").content_hash == first.content_hash
        vote(labeled, "i005", make_user("newcomer"), "neutral")
        again = {(r["id"], r["annotator"]) for r in jsonl(build(labeled, label_source="every"))
                 if r["annotator"]}  # fmt: skip
        assert again == rows | {("i005", "annotator-3")}

    def test_a_subset_keeps_everyone_numbered_as_in_the_whole(self, labeled, make_user):
        vote(labeled, "i003", make_user("zed"), "neutral")  # i003 is neutral: filtered out
        vote(labeled, "i001", make_user("amy"), "negative")
        rows = jsonl(build(labeled, label_source="every", labels=["negative"]))
        assert {r["annotator"] for r in rows if r["annotator"]} == {"annotator-2"}

    def test_names_when_a_manager_asks(self, labeled, make_user, manager):
        vote(labeled, "i003", make_user("zed"), "neutral")
        snapshot = build(labeled, user=manager, label_source="every", annotator_names=True)
        assert "zed" in {r["annotator"] for r in jsonl(snapshot)}
        assert snapshot.lineage["annotators"]["zed"] == 1
        assert snapshot.lineage["data_card"]["annotators"]["named"] is True

    @pytest.mark.parametrize("role", ["engineer", "reviewer", "annotator"])
    def test_nobody_else_may_ask_for_names(self, labeled, members, role):
        with pytest.raises(PermissionDenied):
            snapshot_create(project=labeled, spec={"annotator_names": True},
                            user=members[role], enqueue=False)  # fmt: skip

    @pytest.mark.parametrize("value", ["yes", 1, None, [True]])
    def test_annotator_names_must_be_a_boolean(self, labeled, value):
        with pytest.raises(ValidationError) as error:
            spec_parse({"annotator_names": value}, label_names=LABELS)
        assert "annotator_names" in error.value.message_dict
