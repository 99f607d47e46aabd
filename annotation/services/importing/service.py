"""The import entry points: every row validated, then all of them inserted or none.

One streaming pass: rows are validated and inserted in chunks inside one transaction.
The first error stops inserting but not validating, so the user gets every bad row
at once (``pipeline``); any error rolls the whole file back, stored images included.
Problems are returned as data (``ImportResult.errors``, each with a ``code``), never
raised to the caller: a rejected import is an answer, not a failure.
"""

import hashlib
import json
import logging
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, BinaryIO

from django.conf import settings
from django.db import transaction

from annotation.importing import errors as codes
from annotation.importing.errors import FormatError, RowError
from annotation.importing.formats import (
    CountingReader,
    Limits,
    RawRow,
    detect_format,
    parse,
    parse_objects,
)
from annotation.jobs.triggers import items_imported_safely
from annotation.models import ImportBatch, Project
from annotation.services.importing.media import SavedImages
from annotation.services.importing.pipeline import Importer
from annotation.services.importing.result import ON_DUPLICATE, ImportResult
from annotation.services.overlap import fresh_item_overlaps_set

logger = logging.getLogger(__name__)


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
        result.add_error(exc.error)
        return result
    reader = CountingReader(stream)
    limits = Limits(
        max_depth=settings.QUORUM_MAX_JSON_DEPTH, max_row_bytes=settings.QUORUM_MAX_ROW_BYTES
    )
    rows = parse(reader, fmt, limits=limits)

    def report() -> None:
        if progress and size:
            progress(min(0.99, reader.bytes_read / size))

    return _import_rows(
        project=project, rows=rows, result=result, user=user, fmt=fmt,
        on_duplicate=on_duplicate, base_dir=base_dir, on_chunk=report,
        finish=lambda: (reader.sha256.hexdigest(), reader.bytes_read),
    )  # fmt: skip


def import_objects(
    *, project: Project, objects: list[Any], user=None, on_duplicate: str = "error"
) -> ImportResult:
    """Import items given as parsed JSON objects (the API's JSON body)."""
    encoded = json.dumps(objects, sort_keys=True, ensure_ascii=False).encode()
    result = ImportResult(file_name="request.json")
    return _import_rows(
        project=project, rows=parse_objects(objects), result=result, user=user, fmt="json",
        on_duplicate=on_duplicate, base_dir=None, on_chunk=None,
        finish=lambda: (hashlib.sha256(encoded).hexdigest(), len(encoded)),
    )  # fmt: skip


def _import_rows(
    *,
    project: Project,
    rows: Iterator[RawRow],
    result: ImportResult,
    user,
    fmt: str,
    on_duplicate: str,
    base_dir: Path | None,
    on_chunk: Callable[[], None] | None,
    finish: Callable[[], tuple[str, int]],
) -> ImportResult:
    if on_duplicate not in ON_DUPLICATE:
        message = f"on_duplicate must be one of {ON_DUPLICATE}."
        result.add_error(RowError(0, "file", message, codes.BAD_OPTION))
        return result
    images: SavedImages | None = None
    try:
        with transaction.atomic():
            batch = ImportBatch.objects.create(
                project=project, created_by=user, file_name=result.file_name[:255],
                file_format=fmt, sha256="",
            )  # fmt: skip
            images = SavedImages(project_id=project.pk, batch_id=batch.pk)
            importer = Importer(
                project, batch, on_duplicate=on_duplicate, base_dir=base_dir, images=images
            )
            importer.run(rows, result, on_chunk)
            result.sha256, size = finish()
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
    except BaseException:
        if images is not None:
            images.delete_all()
        raise
    if not result.ok and images is not None:
        images.delete_all()
    logger.info(
        "import %s into project %s: %s created, %s skipped, %s errors",
        result.file_name, project.pk, result.created, result.skipped, result.error_count,
    )  # fmt: skip
    if result.created:
        transaction.on_commit(lambda: items_imported_safely(project=project))
    return result
