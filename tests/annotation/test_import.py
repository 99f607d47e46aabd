"""Import: every format, and every bad input answered exactly with nothing imported."""

import base64
import io
import json

import pytest
from django.test import override_settings

from annotation.models import Annotation, AnnotationSource, ImportBatch, Item, ItemStatus
from annotation.services.importing import import_file, import_objects
from annotation.services.projects import project_create

pytestmark = pytest.mark.django_db


def run(project, content: bytes | str, name: str, **kwargs):
    data = content.encode() if isinstance(content, str) else content
    return import_file(project=project, stream=io.BytesIO(data), file_name=name, **kwargs)


def only_error(result) -> dict:
    assert result.error_count == 1, result.errors
    return result.errors[0]


def assert_nothing_imported(project):
    assert Item.objects.filter(project=project).count() == 0
    assert Annotation.objects.count() == 0
    assert ImportBatch.objects.filter(project=project).count() == 0


class TestFormats:
    def test_csv_with_ids_labels_and_extra_columns(self, project, manager):
        csv_text = (
            'id,text,label,source\na1,great phone,positive,web\na2,"bad,\nbroken",negative,app\n'
        )
        result = run(project, csv_text, "items.csv", user=manager)
        assert result.ok and result.created == 2 and result.labels == 2
        item = Item.objects.get(project=project, external_id="a2")
        assert item.text == "bad,\nbroken"
        assert item.meta == {"source": "app"}
        annotation = item.annotations.get()
        assert annotation.labels == ["negative"] and annotation.source == AnnotationSource.IMPORT
        assert annotation.annotator is None
        assert item.status == ItemStatus.COMPLETE  # an existing label meets overlap 1

    def test_jsonl_with_meta_and_vector(self, project):
        lines = [
            {"id": 1, "text": "one", "meta": {"lang": "en"}, "vector": [0.1, 0.2]},
            {"text": "two", "vector": [1, 2]},
        ]
        result = run(project, "\n".join(json.dumps(x) for x in lines) + "\n\n", "x.jsonl")
        assert result.ok and result.created == 2
        one = Item.objects.get(project=project, external_id="1")
        assert one.meta == {"lang": "en"} and one.vector == [0.1, 0.2]
        assert Item.objects.filter(project=project, text="two").get().vector == [1.0, 2.0]

    def test_json_array(self, project):
        result = run(
            project, json.dumps([{"text": "a"}, {"text": "b", "label": "neutral"}]), "x.json"
        )
        assert result.ok and result.created == 2 and result.labels == 1

    def test_label_studio_tasks(self, project):
        tasks = [
            {"id": 7, "data": {"text": "lovely", "source": "ls"},
             "annotations": [{"result": [{"type": "choices", "value": {"choices": ["positive"]}}]}]},
            {"id": 8, "data": {"text": "meh"}, "annotations": []},
        ]  # fmt: skip
        result = run(project, json.dumps(tasks), "export.json")
        assert result.ok and result.created == 2 and result.labels == 1
        item = Item.objects.get(project=project, external_id="7")
        assert item.meta == {"source": "ls"}
        assert item.annotations.get().labels == ["positive"]

    def test_multi_label_csv_cells(self, manager):
        project = project_create(
            creator=manager, name="Topics", labels=["a", "b", "c"], multi_label=True
        )
        result = run(project, 'text,labels\nx,a|c\ny,"[""b""]"\n', "m.csv")
        assert result.ok
        assert Item.objects.get(text="x").annotations.get().labels == ["a", "c"]
        assert Item.objects.get(text="y").annotations.get().labels == ["b"]

    def test_image_items_from_data_uris(self, manager, tmp_path, settings):
        settings.MEDIA_ROOT = tmp_path
        from PIL import Image

        buffer = io.BytesIO()
        Image.new("L", (8, 8), 128).save(buffer, format="PNG")
        uri = "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()
        project = project_create(
            creator=manager, name="Digits", labels=["0", "1"], data_type="image"
        )
        result = import_objects(project=project, objects=[{"id": "d1", "image": uri, "label": "1"}])
        assert result.ok, result.errors
        item = Item.objects.get(project=project)
        assert item.image.name.endswith(".png")
        assert (tmp_path / item.image.name).exists()

    def test_import_order_and_batch_lineage(self, project, manager):
        run(project, "text\nfirst\nsecond\n", "a.csv", user=manager)
        run(project, "text\nthird\n", "b.csv", user=manager)
        texts = list(
            Item.objects.filter(project=project).order_by("sequence").values_list("text", flat=True)
        )
        assert texts == ["first", "second", "third"]
        batch = ImportBatch.objects.get(file_name="b.csv")
        assert batch.created_count == 1 and batch.created_by == manager and len(batch.sha256) == 64
        assert batch.size_bytes == len(b"text\nthird\n")


class TestBadInput:
    """Each bad input names the row and field, and imports nothing."""

    @pytest.mark.parametrize(
        ("content", "name", "row", "line", "field", "code", "message"),
        [
            ("text\nok\n\xff\xfe bad\n", "x.csv", 2, 3, "row", "bad_encoding",
             "The file is not UTF-8: byte 0xFF ('ÿ' in Windows-1252) on line 3 at byte offset 8. "
             "Save the file as UTF-8 (or UTF-16 with a BOM) and import it again."),
            ("text,label\nok,positive\n ,negative\n", "x.csv", 2, 3, "text", "empty_text",
             "The text is empty."),
            ('{"text": "ok"}\n{"id": 3}\n', "x.jsonl", 2, 2, "text", "missing_text",
             "Missing the 'text' field."),
            ("text,label\nok,happy\n", "x.csv", 1, 2, "label", "unknown_label",
             "Unknown label 'happy'; the project's labels are: negative, neutral, positive."),
            ('{"text": "a", "vector": [1, "x"]}\n', "x.jsonl", 1, 1, "vector", "bad_vector",
             "The vector holds something that is not a number."),
            ('{"text": "a", "vector": [1, 2]}\n{"text": "b", "vector": [1]}\n', "x.jsonl", 2, 2,
             "vector", "vector_size", "The vector has 1 dimensions; this project's have 2."),
            ("id,text\nx,a\nx,b\n", "x.csv", 2, 3, "id", "duplicate",
             "Duplicate id 'x': already in this file (row 1). Pass on_duplicate=skip to skip such "
             "rows."),
            ('{"text": "a"}\n{"text": \n', "x.jsonl", 2, 2, "row", "malformed_json",
             "Malformed JSON on line 2, column 10: Expecting value."),
            ('{"text": "a", "labels": ["positive", "negative"]}\n', "x.jsonl", 1, 1, "labels",
             "too_many_labels", "2 labels given, but the project is single-label."),
            ("text,label\nok\n", "x.csv", 1, 2, "row", "column_count",
             "Expected 2 columns, found 1."),
        ],
    )  # fmt: skip
    def test_row_errors(self, project, content, name, row, line, field, code, message):
        data = content.encode("latin-1") if "\xff" in content else content.encode()
        result = run(project, data, name)
        error = only_error(result)
        assert (error["row"], error["line"], error["field"]) == (row, line, field)
        assert (error["code"], error["message"]) == (code, message)
        assert result.error_codes == {code: 1}
        assert result.created == 0
        assert_nothing_imported(project)

    @override_settings(QUORUM_MAX_FIELD_BYTES=1000)
    def test_oversized_field(self, project):
        result = run(project, "text\n" + "a" * 1001 + "\n", "x.csv")
        error = only_error(result)
        assert (error["row"], error["field"], error["code"]) == (1, "text", "too_long")
        assert error["message"] == "The text is 1,001 bytes; the limit is 1,000."
        assert_nothing_imported(project)

    @pytest.mark.parametrize(
        ("content", "name", "code", "message"),
        [
            ("text\na\n", "items.xlsx", "unknown_format", "Unknown format for 'items.xlsx': name it .csv, .jsonl, "
             ".ndjson or .json, or pass format=csv|jsonl|json|labelstudio."),
            ("", "x.csv", "empty_file", "The CSV file is empty: it needs a header row."),
            ("", "x.jsonl", "empty_file", "The file is empty."),
            ("", "x.json", "empty_file", "The file is empty."),
            ("title,body\na,b\n", "x.csv", "missing_text_column",
             "The CSV header needs a 'text' or 'image' column; it has ['title', 'body']."),
            ("[]", "x.json", "no_items",
             "The JSON file holds no items: expected a non-empty array of objects."),
            ("text\n", "x.csv", "no_items", "The file holds no items."),
            ("\n\n", "x.jsonl", "no_items", "The file holds no items."),
        ],
    )  # fmt: skip
    def test_whole_file_errors(self, project, content, name, code, message):
        result = run(project, content, name)
        error = only_error(result)
        assert (error["row"], error["field"], error["code"]) == (0, "file", code)
        assert error["message"] == message
        assert_nothing_imported(project)

    def test_duplicate_of_existing_item_or_skip(self, project):
        assert run(project, "id,text\nx,a\n", "a.csv").ok
        again = run(project, "id,text\nx,a2\ny,b\n", "b.csv")
        assert only_error(again)["message"].startswith("Duplicate id 'x': already in the project.")
        assert Item.objects.filter(project=project).count() == 1
        skipped = run(project, "id,text\nx,a2\ny,b\n", "b.csv", on_duplicate="skip")
        assert skipped.ok and skipped.created == 1 and skipped.skipped == 1
        assert Item.objects.get(project=project, external_id="x").text == "a"

    def test_every_error_is_reported_up_to_a_hundred(self, project):
        content = "text\n" + " \n" * 0 + "".join('""\n' for _ in range(150))
        result = run(project, content + "fine\n", "x.csv")
        assert result.error_count == 150
        assert len(result.errors) == 100
        assert [e["row"] for e in result.errors[:3]] == [1, 2, 3]
        assert_nothing_imported(project)

    def test_error_after_many_good_chunks_rolls_everything_back(self, project):
        rows = "".join(f"t{i}\n" for i in range(4500))
        result = run(project, "text\n" + rows + '""\n', "x.csv")
        assert only_error(result)["row"] == 4501
        assert_nothing_imported(project)
