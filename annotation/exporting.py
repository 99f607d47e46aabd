"""Streaming a project's items with their annotations, in constant memory.

Rows are read in primary-key pages with their annotations fetched per page, so
the export of a million items never holds more than one page.
"""

import io
import json
from collections import defaultdict
from collections.abc import Iterator
from typing import Any

from annotation.csv_cells import ESCAPE, CsvRows
from annotation.models import Annotation, Item, Project
from annotation.selectors import item_text_shown

PAGE = 2000
EXPORT_FORMATS = {"jsonl": "application/x-ndjson", "json": "application/json", "csv": "text/csv"}


def export_rows(
    *, project: Project, include_annotators: bool = True, role: str | None = None
) -> Iterator[dict[str, Any]]:
    """Every item of the project as a plain dict, with its annotations, except the items a
    reviewer excluded ("Exclude from exports"); texts as ``role`` reads them (a reviewer's
    redacted copy for all but managers)."""
    last_pk = 0
    while True:
        items = list(
            Item.objects.filter(project=project, excluded=False, pk__gt=last_pk)
            .order_by("pk")
            .values("pk", "external_id", "text", "image", "meta", "status", "final_labels",
                    "consensus_labels", "import_batch_id", "redacted_text")[:PAGE]
        )  # fmt: skip
        if not items:
            return
        last_pk = items[-1]["pk"]
        by_item: dict[int, list[dict]] = defaultdict(list)
        annotations = (
            Annotation.objects.filter(item_id__in=[i["pk"] for i in items])
            .order_by("item_id", "created_at", "pk")
            .values_list("item_id", "annotator__username", "labels", "source", "created_at")
        )
        for item_id, username, labels, source, created_at in annotations:
            entry = {"labels": labels, "source": source, "created_at": created_at.isoformat()}
            if include_annotators:
                entry["annotator"] = username
            by_item[item_id].append(entry)
        for item in items:
            yield {
                "id": item["external_id"],
                "text": item_text_shown(
                    text=item["text"], redacted_text=item["redacted_text"], role=role
                ),
                "image": item["image"] or None,
                "meta": item["meta"],
                "status": item["status"],
                "final_labels": item["final_labels"],
                "consensus_labels": item["consensus_labels"],
                "import_batch": item["import_batch_id"],
                "annotations": by_item.get(item["pk"], []),
            }


def stream_jsonl(rows: Iterator[dict]) -> Iterator[bytes]:
    buffer = []
    for n, row in enumerate(rows, start=1):
        buffer.append(json.dumps(row, ensure_ascii=False))
        if n % 500 == 0:
            yield ("\n".join(buffer) + "\n").encode()
            buffer = []
    if buffer:
        yield ("\n".join(buffer) + "\n").encode()


def stream_json(rows: Iterator[dict]) -> Iterator[bytes]:
    yield b"["
    for n, row in enumerate(rows):
        yield ((",\n" if n else "\n") + json.dumps(row, ensure_ascii=False)).encode()
    yield b"\n]\n"


CSV_COLUMNS = ["id", "text", "image", "status", "labels", "annotators", "meta"]


def stream_csv(rows: Iterator[dict], *, csv_formulas: str = ESCAPE) -> Iterator[bytes]:
    """One row per item; ``labels`` joins each annotation's labels with '|' and ';'.

    Spreadsheet formulas are neutralised unless ``csv_formulas`` is raw (see ``csv_cells``).
    """
    out = io.StringIO()
    writer = CsvRows(out, mode=csv_formulas)
    writer.header(CSV_COLUMNS)
    for n, row in enumerate(rows, start=1):
        annotations = row["annotations"]
        writer.row([
            row["id"], row["text"], row["image"] or "", row["status"],
            ";".join("|".join(a["labels"]) for a in annotations),
            ";".join(a.get("annotator") or "" for a in annotations),
            json.dumps(row["meta"], ensure_ascii=False) if row["meta"] else "",
        ])  # fmt: skip
        if n % 500 == 0:
            yield out.getvalue().encode()
            out.seek(0)
            out.truncate()
    yield out.getvalue().encode()


STREAMERS = {"jsonl": stream_jsonl, "json": stream_json, "csv": stream_csv}
