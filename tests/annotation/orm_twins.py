"""The ORM code each statement of ``annotation.rawsql`` replaces, for tests and the bench only.

Same names, same arguments, same results: ``tests/annotation/test_rawsql.py`` checks that
on random data, and ``bench/rawsql_speed.py`` times each twin against its statement.
"""

import io
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from django.db.models import Count, Exists, F, IntegerField, Model, OuterRef, Q, Subquery, Value
from django.db.models.functions import Coalesce
from rest_framework.authtoken.models import Token

from annotation.audit_selectors import Curation
from annotation.csv_cells import CsvRows
from annotation.item_label import decide_label
from annotation.models import (
    Annotation,
    AnnotationSource,
    IssueStatus,
    Item,
    ItemStatus,
    Label,
    LabelIssue,
    Lease,
    Membership,
    Project,
    ReviewAction,
)  # fmt: skip
from annotation.queue_selectors import QUEUE_ORDER
from annotation.rawsql import LARGE_ITEM_FIELDS, SNAPSHOT_ITEM_COLUMNS
from annotation.snapshots import parquet_files
from annotation.snapshots.rows import (
    PAGE,
    annotator_aliases,
    assign_splits,
    row_columns,
    unit_draw,
)
from annotation.text_selectors import shown_text


def queue_head(*, project_id: int, annotator_id: int, now: datetime, exclude_ids: Sequence[int],
               lock: bool) -> Item | None:  # fmt: skip
    held = (
        Lease.objects.filter(item=OuterRef("pk"), expires_at__gt=now)
        .exclude(annotator_id=annotator_id)
        .values("item")
        .annotate(n=Count("id"))
        .values("n")
    )
    items = (
        Item.objects.filter(project_id=project_id, status=ItemStatus.OPEN,
                            annotation_count__lt=F("required_overlap"))
        .exclude(Q(annotations__annotator_id=annotator_id) | Q(skips__annotator_id=annotator_id))
        .exclude(pk__in=list(exclude_ids))
        .annotate(held=Coalesce(Subquery(held, output_field=IntegerField()), Value(0)))
        .filter(required_overlap__gt=F("annotation_count") + F("held"))
        .defer(*LARGE_ITEM_FIELDS)
        .order_by(*QUEUE_ORDER)
    )  # fmt: skip
    if lock:
        items = items.select_for_update(skip_locked=True, of=("self",))
    return items.first()


def held_lease(*, project: Project, annotator: Model, now: datetime,
               exclude_ids: Sequence[int]) -> Lease | None:  # fmt: skip
    return (
        Lease.objects.filter(project=project, annotator=annotator, expires_at__gt=now,
                             item__status=ItemStatus.OPEN)
        .exclude(item_id__in=list(exclude_ids))
        .select_related("item")
        .defer(*(f"item__{name}" for name in LARGE_ITEM_FIELDS))
        .order_by("created_at", "id")
        .first()
    )  # fmt: skip


def lease_if_room(*, item_id: int, annotator_id: int, project_id: int, now: datetime,
                  expires_at: datetime, required_overlap: int,
                  annotation_count: int) -> int | None:  # fmt: skip
    others = Lease.objects.filter(item_id=item_id, expires_at__gt=now).exclude(
        annotator_id=annotator_id
    )
    if annotation_count + others.count() >= required_overlap:
        return None
    lease, created = Lease.objects.update_or_create(
        item_id=item_id, annotator_id=annotator_id,
        defaults={"project_id": project_id, "created_at": now, "expires_at": expires_at},
    )  # fmt: skip
    if created:  # auto_now_add wrote the clock's time, not ``now``
        Lease.objects.filter(pk=lease.pk).update(created_at=now)
    return lease.pk


def lease_take(*, item_id: int, annotator_id: int) -> datetime | None:
    leases = Lease.objects.filter(item_id=item_id, annotator_id=annotator_id)
    expires = leases.values_list("expires_at", flat=True).first()
    leases.delete()
    return expires


def item_locked(item_id: int) -> Item:
    return Item.objects.select_for_update().defer(*LARGE_ITEM_FIELDS).get(pk=item_id)


def annotation_labels(item_id: int) -> list[list[str] | None]:
    rows = Annotation.objects.filter(item_id=item_id).exclude(source=AnnotationSource.REVIEW)
    return list(rows.order_by("id").values_list("labels", flat=True))


def item_status_write(*, item_id: int, annotation_count: int, required_overlap: int,
                      status: str) -> None:  # fmt: skip
    Item.objects.filter(pk=item_id).update(annotation_count=annotation_count,
                                           required_overlap=required_overlap, status=status)  # fmt: skip


def project_label_names(*, project_id: int) -> set[str]:
    return set(Label.objects.filter(project_id=project_id).values_list("name", flat=True))


def token_user(key: str) -> Model | None:
    token = Token.objects.select_related("user").filter(key=key).first()
    if token is None:
        return None
    token.user.token_created = token.created
    return token.user


def project_with_role(*, project_id: int, user_id: int) -> Project | None:
    role = Membership.objects.filter(project=OuterRef("pk"), user_id=user_id).values("role")[:1]
    return Project.objects.annotate(requester_role=Subquery(role)).filter(pk=project_id).first()


def object_by_id(model: type[Model], pk: int, *, deferred: tuple[str, ...] = ()) -> Model | None:
    return model.objects.defer(*deferred).filter(pk=pk).first()


def fast_insert(model: type[Model], columns: Sequence[str], rows: Sequence[tuple], *,
                conn=None) -> None:  # fmt: skip
    """``bulk_create`` of the same rows (``conn`` is ignored: the ORM uses this thread's).
    The rows are database-ready, as ``fast_insert`` takes them: JSON as text, datetimes
    adapted; both are turned back into Python values first."""
    fields = [model._meta.get_field(c) for c in columns]

    def value(field, raw):
        if raw is not None and field.get_internal_type() == "JSONField":
            return json.loads(raw)
        if raw is not None and field.get_internal_type() == "DateTimeField":
            return field.to_python(raw)
        return raw

    objs = [model(**{f.attname: value(f, raw) for f, raw in zip(fields, row, strict=True)})
            for row in rows]  # fmt: skip
    model.objects.bulk_create(objs, batch_size=5000)


def copy_stream(model: type[Model], columns: Sequence[str], chunks: Sequence[Sequence[tuple]], *,
                constants: dict[str, Any] | None = None) -> None:  # fmt: skip
    """``rawsql.CopyStream`` fed ``chunks`` (closed after each one, so a file that closes
    and reopens its COPY is covered): ``bulk_create`` of the same rows, constants added."""
    constants = constants or {}
    for chunk in chunks:
        fast_insert(model, (*columns, *constants),
                    [(*row, *constants.values()) for row in chunk])  # fmt: skip


def item_ids_by_external_id(*, project_id: int, external_ids: Sequence[str],
                            conn=None) -> list[tuple[str, int]]:  # fmt: skip
    items = Item.objects.filter(project_id=project_id, external_id__in=list(external_ids))
    return list(items.values_list("external_id", "id"))


# --- snapshots: main's row builder and per-row writers, the reference for byte-identity ------


def snapshot_items(*, project_id: int, after: int, limit: int, min_quality: float | None = None,
                   only_reviewed: bool = False, exclude_open_issues: bool = False) -> list[tuple]:  # fmt: skip
    """``rawsql.snapshot_items`` through the ORM (JSON columns decoded)."""
    items = Item.objects.filter(project_id=project_id, excluded=False,
                                content_deleted_at__isnull=True, pk__gt=after)  # fmt: skip
    if min_quality is not None:
        items = items.filter(consensus_quality__gte=min_quality)
    if only_reviewed:
        items = items.filter(Exists(ReviewAction.objects.filter(item=OuterRef("pk"))))
    if exclude_open_issues:
        open_issue = LabelIssue.objects.filter(item=OuterRef("pk"), status=IssueStatus.OPEN)
        items = items.filter(~Exists(open_issue))
    return list(items.order_by("pk").values_list(*SNAPSHOT_ITEM_COLUMNS)[:limit])


def snapshot_annotations(*, project_id: int, first: int, last: int) -> list[tuple]:
    """``rawsql.snapshot_annotations`` through the ORM (labels decoded)."""
    return list(
        Annotation.objects.filter(item_id__gte=first, item_id__lte=last, project_id=project_id)
        .order_by("item_id", "created_at", "pk")
        .values_list("item_id", "annotator_id", "labels", "source")
    )


@dataclass
class ItemRows:
    """One selected item as main's build held it: its rows as dicts (split None)."""

    external_id: str
    stratum: str
    rows: list[dict[str, Any]]
    batch_id: int | None
    annotators: list[str | None] = field(default_factory=list)
    redacted_types: tuple[str, ...] = ()


def snapshot_select_items(*, project: Project, spec: Any, curation: Any = None,
                          compressed: Any = None) -> Iterator[Any]:  # fmt: skip
    """``annotation.snapshots.rows.select_items`` as main had it: ORM pages, ``decide_label``
    per item, each row a fresh dict in build order."""
    curation = curation or Curation()
    keep = set(spec.labels) if spec.labels is not None else None
    aliases = annotator_aliases(project=project, names=spec.annotator_names)
    order = list(project.labels.order_by("position", "id").values_list("name", flat=True))
    last_pk = 0
    while True:
        page = snapshot_items(project_id=project.pk, after=last_pk, limit=PAGE,
                              min_quality=spec.min_consensus_quality,
                              only_reviewed=spec.only_reviewed,
                              exclude_open_issues=spec.exclude_open_issues)  # fmt: skip
        if not page:
            return
        first_pk, last_pk = page[0][0], page[-1][0]
        by_item: dict[int, list[tuple]] = {}
        for item_id, user_id, labels, source in snapshot_annotations(
            project_id=project.pk, first=first_pk, last=last_pk
        ):
            name = None if user_id is None else aliases[user_id]
            by_item.setdefault(item_id, []).append((name, _as_list(labels), source))
        cached = compressed.page([row[0] for row in page]) if compressed else {}
        for pk, ext, text, image, meta, final, consensus, batch, redacted in page:
            if pk in curation.excluded:
                continue
            redacted_types: tuple[str, ...] = ()
            spans = curation.spans.get(pk, ()) if spec.redact_pii else ()
            new = shown_text(text, redacted, originals=spec.originals, spans=spans)
            if new != text:
                redacted_types = tuple(str(s["type"]) for s in spans) or ("reviewed",)
            text = new
            base = {"id": ext, "text": text, "image": image or None, "meta": meta or {}}
            if compressed is not None:
                base["text"], extra = compressed.columns(text, cached.get(pk))
                base |= extra
            annotations = by_item.get(pk, [])
            votes = [labels for _, labels, source in annotations if source != "review"]
            decision = decide_label(final=_as_list(final), consensus=_as_list(consensus),
                                    votes=votes, multi_label=project.multi_label, order=order)  # fmt: skip
            agreement = None if decision.agreement is None else round(decision.agreement, 6)
            if spec.min_agreement is not None and (agreement is None
                                                   or agreement < spec.min_agreement):  # fmt: skip
                continue
            if not decision.source:
                continue
            labels = list(decision.labels)
            common = {"agreement": agreement, "n_annotations": decision.n_votes}
            if spec.label_source == "final":
                candidates = [(labels, decision.source, None)]
            else:
                candidates = [
                    (a_labels, a_source, user) for user, a_labels, a_source in annotations
                ]
            rows = []
            for row_labels, row_source, annotator in candidates:
                kept = [name for name in row_labels if keep is None or name in keep]
                if kept:
                    label = "|".join(kept) if project.multi_label else kept[0]
                    rows.append(base | {"label": label, "labels": kept, "label_source": row_source,
                                        "annotator": annotator} | common)  # fmt: skip
            if not rows:
                continue
            stratum = rows[0]["label"] if spec.label_source == "final" else "|".join(labels)
            yield ItemRows(ext, stratum, rows, batch, [user for user, _, _ in annotations],
                           redacted_types)  # fmt: skip


def _as_list(labels: Any) -> list[str]:
    if not labels:
        return []
    return [labels] if isinstance(labels, str) else [str(v) for v in labels]


def snapshot_reference_rows(*, project: Project, spec: Any, curation: Any = None,
                            compressed: Any = None) -> list[dict[str, Any]]:  # fmt: skip
    """Main's ``canonical_rows``: every row with its split, keys in ``row_columns`` order."""
    items = list(snapshot_select_items(project=project, spec=spec, curation=curation,
                                       compressed=compressed))  # fmt: skip
    codes: dict[str, int] = {}
    strata = np.array([codes.setdefault(i.stratum, len(codes)) for i in items], dtype=np.int32)
    draws = np.array([unit_draw(spec.seed, i.external_id) for i in items], dtype=np.float64)
    splits = assign_splits(strata, draws, ratios=list(spec.splits.values()),
                           stratify=spec.stratify)  # fmt: skip
    names, columns, out = list(spec.splits), row_columns(spec), []
    for item, split in zip(items, splits, strict=True):
        for row in item.rows:
            row["split"] = names[split]
            out.append({name: row.get(name) for name in columns})
    return out


def snapshot_reference_files(rows: list[dict[str, Any]], *, columns: tuple[str, ...],
                             directory: Path, data_type: str = "text") -> dict[str, bytes]:  # fmt: skip
    """Main's writers, one ``json.dumps`` and one ``writerow`` per row: each format's bytes."""
    jsonl = "".join(json.dumps(r, ensure_ascii=False, separators=(",", ":")) + "\n" for r in rows)
    csv_out = io.StringIO(newline="")
    csv_rows = CsvRows(csv_out)
    csv_rows.header(columns)
    for row in rows:
        cells = []
        for name in columns:
            value = row[name]
            if value is None:
                value = ""
            elif name == "labels":
                value = "|".join(value)
            elif name == "meta":
                value = json.dumps(value, ensure_ascii=False, sort_keys=True) if value else ""
            cells.append(value)
        csv_rows.row(cells)
    path = directory / "reference.parquet"
    schema = parquet_files._schema(columns)
    parquet = pq.ParquetWriter(path, schema, compression=parquet_files.COMPRESSION)
    group: dict[str, list] = {name: [] for name in columns}
    for row in rows:
        for name, column in group.items():
            column.append(row[name])
        meta = group["meta"]
        meta[-1] = json.dumps(meta[-1], ensure_ascii=False, sort_keys=True) if meta[-1] else None
        if len(meta) >= parquet_files.ROW_GROUP:
            parquet.write_table(pa.Table.from_pydict(group, schema=schema))
            group = {name: [] for name in columns}
    if group["id"]:
        parquet.write_table(pa.Table.from_pydict(group, schema=schema))
    parquet.close()
    tasks: list[dict[str, Any]] = []
    for row in rows:
        if not tasks or tasks[-1]["id"] != row["id"]:
            data: dict[str, Any] = {"text": row["text"]} if row["text"] else {}
            if row["image"]:
                data["image"] = row["image"]
            if row["meta"]:
                data["meta"] = row["meta"]
            meta_ = {"split": row["split"], "agreement": row["agreement"]}
            tasks.append({"id": row["id"], "data": data, "annotations": [], "meta": meta_})
        result = {"from_name": "label", "to_name": data_type, "type": "choices",
                  "value": {"choices": row["labels"]}}  # fmt: skip
        tasks[-1]["annotations"].append({"result": [result]})
    studio = "[" + "".join((",\n" if n else "\n") + json.dumps(task, ensure_ascii=False)
                           for n, task in enumerate(tasks)) + "\n]\n"  # fmt: skip
    return {"jsonl": jsonl.encode(), "csv": csv_out.getvalue().encode(),
            "parquet": path.read_bytes(), "labelstudio": studio.encode()}  # fmt: skip


def snapshot_reference_splits(parquet: bytes) -> dict[str, bytes]:
    """Main's Hugging Face split files: the snapshot's Parquet file read back one row group
    at a time, each group's rows routed to their split's file."""
    writers: dict[str, pq.ParquetWriter] = {}
    sinks: dict[str, pa.BufferOutputStream] = {}
    source = pq.ParquetFile(pa.BufferReader(parquet))
    for batch in source.iter_batches(batch_size=parquet_files.ROW_GROUP):
        split_column = batch.column("split")
        for split in pc.unique(split_column).to_pylist():
            if split not in writers:
                sinks[split] = pa.BufferOutputStream()
                writers[split] = pq.ParquetWriter(sinks[split], source.schema_arrow,
                                                  compression=parquet_files.COMPRESSION)  # fmt: skip
            chosen = batch.filter(pc.equal(split_column, split))
            writers[split].write_table(pa.Table.from_batches([chosen]))
    for writer in writers.values():
        writer.close()
    return {split: sink.getvalue().to_pybytes() for split, sink in sinks.items()}
