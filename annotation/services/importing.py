"""Importing items: validate every row, then insert all of them or none.

One streaming pass: rows are validated and inserted in chunks inside one
transaction. The first error stops inserting but not validating, so the user
gets every bad row at once; any error rolls the whole file back.
"""

import hashlib
import json
import logging
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import DEFAULT_DB_ALIAS, connections, transaction
from django.db.models import Max
from django.utils import timezone

from annotation.bulk import db_datetime, fast_insert
from annotation.importing.formats import (
    CountingReader,
    FormatError,
    Limits,
    RawRow,
    detect_format,
    parse,
    parse_objects,
)
from annotation.importing.rows import ItemDraft, RowError, RowRules, RowValidator
from annotation.jobs.registry import JobRejected
from annotation.jobs.triggers import items_imported_safely
from annotation.models import (
    Annotation,
    AnnotationSource,
    FallbackOrder,
    ImportBatch,
    Item,
    ItemStatus,
    Project,
)
from annotation.services.overlap import fresh_item_overlaps_set

logger = logging.getLogger(__name__)
CHUNK = 5000
ON_DUPLICATE = ("error", "skip")


@dataclass
class ImportResult:
    created: int = 0
    skipped: int = 0
    labels: int = 0
    rows: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)
    error_count: int = 0
    batch_id: int | None = None
    file_name: str = ""
    sha256: str = ""

    @property
    def ok(self) -> bool:
        return self.error_count == 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "created": self.created,
            "skipped": self.skipped,
            "labels": self.labels,
            "rows": self.rows,
            "errors": self.errors,
            "error_count": self.error_count,
            "batch": self.batch_id,
            "file_name": self.file_name,
            "sha256": self.sha256,
        }


class _Rollback(Exception):
    pass


def import_file(
    *,
    project: Project,
    stream: BinaryIO,
    file_name: str,
    user=None,
    fmt: str | None = None,
    on_duplicate: str = "error",
    base_dir: Path | None = None,
    size: int | None = None,
    progress: Callable[[float], None] | None = None,
) -> ImportResult:
    """Import a file of items (CSV, JSON Lines, JSON array or Label Studio JSON)."""
    result = ImportResult(file_name=file_name)
    try:
        fmt = detect_format(file_name, fmt)
    except FormatError as exc:
        return _whole_file_error(result, str(exc))
    reader = CountingReader(stream)
    limits = Limits(
        max_depth=settings.QUORUM_MAX_JSON_DEPTH, max_row_bytes=settings.QUORUM_MAX_ROW_BYTES
    )
    rows = parse(reader, fmt, limits=limits)  # type: ignore[arg-type]

    def report(done_rows: int) -> None:
        if progress and size:
            progress(min(0.99, reader.bytes_read / size))

    result = _import_rows(
        project=project, rows=rows, result=result, user=user, fmt=fmt,
        on_duplicate=on_duplicate, base_dir=base_dir, on_chunk=report,
        finish=lambda batch: (reader.sha256.hexdigest(), reader.bytes_read),
    )  # fmt: skip
    return result


def import_objects(
    *, project: Project, objects: list[Any], user=None, on_duplicate: str = "error"
) -> ImportResult:
    """Import items given as parsed JSON objects (the API's JSON body)."""
    encoded = json.dumps(objects, sort_keys=True, ensure_ascii=False).encode()
    result = ImportResult(file_name="request.json")
    return _import_rows(
        project=project, rows=parse_objects(objects), result=result, user=user, fmt="json",
        on_duplicate=on_duplicate, base_dir=None, on_chunk=None,
        finish=lambda batch: (hashlib.sha256(encoded).hexdigest(), len(encoded)),
    )  # fmt: skip


def _whole_file_error(result: ImportResult, message: str, row: int = 0) -> ImportResult:
    result.errors = [{"row": row, "field": "file", "message": message}]
    result.error_count = 1
    return result


def _import_rows(
    *, project, rows: Iterator[RawRow], result, user, fmt, on_duplicate, base_dir, on_chunk, finish
) -> ImportResult:
    if on_duplicate not in ON_DUPLICATE:
        return _whole_file_error(result, f"on_duplicate must be one of {ON_DUPLICATE}.")
    saved_files: list[str] = []
    try:
        with transaction.atomic():
            batch = ImportBatch.objects.create(
                project=project, created_by=user, file_name=result.file_name[:255],
                file_format=fmt, sha256="",
            )  # fmt: skip
            importer = _Importer(project, batch, on_duplicate, base_dir, saved_files)
            importer.run(rows, result, on_chunk)
            result.sha256, size = finish(batch)
            if not result.ok:
                raise _Rollback
            batch.sha256, batch.size_bytes, batch.rows_total = result.sha256, size, result.rows
            batch.created_count, batch.skipped_count = result.created, result.skipped
            batch.labels_count = result.labels
            batch.save()
            fresh_item_overlaps_set(project=project, batch_id=batch.pk)
            result.batch_id = batch.pk
    except _Rollback:
        result.created = result.skipped = result.labels = 0
        for name in saved_files:
            default_storage.delete(name)
    except FormatError as exc:
        for name in saved_files:
            default_storage.delete(name)
        return _whole_file_error(result, str(exc))
    logger.info(
        "import %s into project %s: %s created, %s skipped, %s errors",
        result.file_name, project.pk, result.created, result.skipped, result.error_count,
    )  # fmt: skip
    if result.created:
        transaction.on_commit(lambda: items_imported_safely(project=project))
    return result


class _Importer:
    def __init__(self, project: Project, batch: ImportBatch, on_duplicate, base_dir, saved_files):
        self.project = project
        self.batch = batch
        self.on_duplicate = on_duplicate
        self.saved_files = saved_files
        self.validator = RowValidator(
            RowRules(
                data_type=project.data_type,
                label_names=frozenset(project.labels.values_list("name", flat=True)),
                multi_label=project.multi_label,
                max_field_bytes=settings.QUORUM_MAX_FIELD_BYTES,
                max_image_pixels=settings.QUORUM_MAX_IMAGE_PIXELS,
                max_depth=settings.QUORUM_MAX_JSON_DEPTH,
                base_dir=base_dir,
                vector_dim=_existing_vector_dim(project),
            )
        )
        self.seen_ids: set[str] = set()
        # A project with no items yet can only have duplicates within the file.
        self.project_had_items = project.items.exists()
        self.next_sequence = (project.items.aggregate(m=Max("sequence"))["m"] or 0) + 1

    def run(self, rows: Iterator[RawRow], result: ImportResult, on_chunk) -> None:
        """Validate in this thread while the previous chunk is written in another.

        The writer uses this thread's connection (so the one transaction holds
        everything) and at most one chunk is in flight; parsing, the hot part of an
        import, overlaps with the database's work.
        """
        # The wrapper itself, not the thread-local ``connection`` proxy.
        self.conn = conn = connections[DEFAULT_DB_ALIAS]
        conn.inc_thread_sharing()
        self.writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="import-writer")
        self.pending: Future | None = None
        try:
            self._run(rows, result, on_chunk)
            self._wait_for_writer()
        finally:
            self.writer.shutdown(wait=True)
            conn.dec_thread_sharing()

    def _wait_for_writer(self) -> None:
        if self.pending is not None:
            pending, self.pending = self.pending, None
            pending.result()  # re-raises the writer's error here

    def _run(self, rows: Iterator[RawRow], result: ImportResult, on_chunk) -> None:
        chunk: list[ItemDraft] = []
        for raw in rows:
            result.rows += 1
            if raw.data is None:
                self._error(result, RowError(raw.row, raw.field or "row", raw.error or ""))
                continue
            draft, errors = self.validator.validate(raw.row, raw.data)
            for error in errors:
                self._error(result, error)
            if draft is not None and result.ok:
                chunk.append(draft)
            if len(chunk) >= CHUNK:
                self._flush(chunk, result)
                chunk = []
                if on_chunk:
                    on_chunk(result.rows)
        if result.rows == 0:
            raise FormatError("The file holds no items.")
        if chunk and result.ok:
            self._flush(chunk, result)

    def _error(self, result: ImportResult, error: RowError) -> None:
        result.error_count += 1
        if len(result.errors) < settings.QUORUM_MAX_REPORTED_ERRORS:
            result.errors.append(error.as_dict())

    def _flush(self, drafts: list[ItemDraft], result: ImportResult) -> None:
        if self.project_had_items:
            self._wait_for_writer()  # the duplicate query needs the connection
        drafts = self._drop_duplicates(drafts, result)
        if not result.ok or not drafts:
            return
        now = db_datetime(timezone.now())
        item_rows = [self._item_row(d, now) for d in drafts]
        labeled = {d.external_id or self._default_id(d): d.labels for d in drafts if d.labels}
        self._wait_for_writer()
        self.pending = self.writer.submit(self._write, self.conn, item_rows, labeled, now)
        result.created += len(drafts)
        result.labels += len(labeled)

    def _write(self, conn, item_rows: list[tuple], labeled: dict[str, list[str]], now) -> None:
        """Runs in the writer thread, on the importing thread's connection."""
        fast_insert(Item, ITEM_COLUMNS, item_rows, conn=conn)
        if not labeled:
            return
        table = conn.ops.quote_name(Item._meta.db_table)
        marks = ", ".join(["%s"] * len(labeled))
        with conn.cursor() as cursor:
            cursor.execute(
                f"SELECT external_id, id FROM {table} WHERE project_id = %s "
                f"AND external_id IN ({marks})",
                [self.project.pk, *labeled],
            )
            ids = cursor.fetchall()
        fast_insert(
            Annotation, ANNOTATION_COLUMNS,
            [(pk, self.project.pk, json.dumps(labeled[ext]), AnnotationSource.IMPORT, "",
              now, now) for ext, pk in ids],
            conn=conn,
        )  # fmt: skip

    def _drop_duplicates(self, drafts: list[ItemDraft], result: ImportResult) -> list[ItemDraft]:
        existing: set[str] = set()
        if self.project_had_items:
            ids = [d.external_id for d in drafts if d.external_id is not None]
            existing = set(
                self.project.items.filter(external_id__in=ids).values_list("external_id", flat=True)
            )
        kept = []
        for draft in drafts:
            ext = draft.external_id
            if ext is not None and (ext in existing or ext in self.seen_ids):
                if self.on_duplicate == "skip":
                    result.skipped += 1
                    continue
                where = "the project" if ext in existing else "this file"
                self._error(
                    result,
                    RowError(draft.row, "id", f"Duplicate id {ext!r}: already in {where}. "
                             "Pass on_duplicate=skip to skip such rows."),
                )  # fmt: skip
                continue
            if ext is not None:
                self.seen_ids.add(ext)
            kept.append(draft)
        return kept

    def _default_id(self, draft: ItemDraft) -> str:
        return f"b{self.batch.pk}-r{draft.row}"

    def _item_row(self, draft: ItemDraft, now) -> tuple:
        """The item as a tuple in ``ITEM_COLUMNS`` order."""
        external_id = draft.external_id or self._default_id(draft)
        sequence = self.next_sequence + draft.row
        if self.project.fallback_order == FallbackOrder.RANDOM:
            sequence = _seeded_rank(self.project.seed, external_id)
        overlap = self.project.overlap
        done = bool(draft.labels) and overlap <= 1
        image = ""
        if draft.image is not None:
            name, content = draft.image
            image = default_storage.save(
                f"projects/{self.project.pk}/{self.batch.pk}/{name}", ContentFile(content)
            )
            self.saved_files.append(image)
        return (
            self.project.pk, external_id, draft.text, image,
            json.dumps(draft.meta, ensure_ascii=False),
            None if draft.vector is None else json.dumps(draft.vector),
            self.batch.pk, ItemStatus.COMPLETE if done else ItemStatus.OPEN, overlap,
            1 if draft.labels else 0, sequence, 0.0, "", "", now,
        )  # fmt: skip


ITEM_COLUMNS = (
    "project_id", "external_id", "text", "image", "meta", "vector", "import_batch_id", "status",
    "required_overlap", "annotation_count", "sequence", "priority", "predicted_label",
    "consensus_method", "created_at",
)  # fmt: skip
ANNOTATION_COLUMNS = (
    "item_id", "project_id", "labels", "source", "suggestion", "created_at", "updated_at",
)  # fmt: skip


def _seeded_rank(seed: int, external_id: str) -> int:
    digest = hashlib.blake2b(f"{seed}:{external_id}".encode(), digest_size=7).digest()
    return int.from_bytes(digest, "big")


def _existing_vector_dim(project: Project) -> int | None:
    vector = project.items.exclude(vector__isnull=True).values_list("vector", flat=True).first()
    return len(vector) if vector else None


def import_job_handler(job, report_progress) -> dict[str, Any]:
    """Run a large import in a worker: the uploaded file waits under var/uploads."""
    params = job.params
    path = Path(params["path"])
    if not path.exists():
        raise FileNotFoundError(
            f"The uploaded file {params['file_name']!r} is gone; upload it again."
        )
    with path.open("rb") as stream:
        result = import_file(
            project=job.project, stream=stream, file_name=params["file_name"], user=job.created_by,
            fmt=params.get("format"), on_duplicate=params.get("on_duplicate", "error"),
            size=path.stat().st_size, progress=report_progress,
        )  # fmt: skip
    path.unlink(missing_ok=True)
    if not result.ok:
        raise JobRejected(
            f"{result.error_count} rows have errors; nothing was imported.", result.as_dict()
        )
    return result.as_dict()
