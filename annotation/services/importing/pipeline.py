"""Rows to items: validate each row, find repeated ids, build the rows to insert.

Every row is checked to the end of the file, whatever came before: once one row is
bad nothing is written, but validation and the duplicate check go on, so one pass
reports every bad row (a row that repeats an id is reported even when the row it
repeats has an error of its own).
"""

import hashlib
import json
import time
from collections.abc import Callable, Iterator

from django.conf import settings
from django.db.models import Max
from django.utils import timezone

from annotation.importing import errors as codes
from annotation.importing.errors import FormatError, RowError
from annotation.importing.formats import RawRow
from annotation.importing.rows import ItemDraft, RowRules, RowValidator
from annotation.models import FallbackOrder, ImportBatch, ItemStatus, Project
from annotation.rawsql import db_datetime
from annotation.services.importing.media import SavedImages
from annotation.services.importing.result import ImportResult
from annotation.services.importing.writer import chunk_writer, item_constants

CHUNK = 5000
# Progress is reported at most this often, after a chunk, with the writer's COPY ended
# first: a callback may write on this connection (a job run inside its caller's transaction
# records its progress there), so a file is one COPY per second of import, not per chunk.
PROGRESS_SECONDS = 1.0
_OPEN, _COMPLETE = ItemStatus.OPEN.value, ItemStatus.COMPLETE.value


class Importer:
    """One import of ``rows`` into ``batch``: errors go to ``result``, items to the writer."""

    def __init__(
        self, project: Project, batch: ImportBatch, *, on_duplicate: str, base_dir, images
    ):
        self.project = project
        self.batch = batch
        self.on_duplicate = on_duplicate
        self.images: SavedImages = images
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
        self.first_row: dict[str, int] = {}  # external id -> the first row in this file using it
        # A project with no items yet can only have duplicates within the file.
        self.project_had_items = project.items.exists()
        self.next_sequence = (project.items.aggregate(m=Max("sequence"))["m"] or 0) + 1
        # Read once, not per row.
        self.project_id, self.batch_id, self.overlap = project.pk, batch.pk, project.overlap
        self.random_order = project.fallback_order == FallbackOrder.RANDOM
        self.labeled_status = _COMPLETE if project.overlap <= 1 else _OPEN

    def run(
        self, rows: Iterator[RawRow], result: ImportResult, on_chunk: Callable[[], None] | None
    ) -> None:
        self.now = str(db_datetime(timezone.now()))  # one stamp for the import, as text once
        constants = item_constants(
            project_id=self.project_id, batch_id=self.batch_id, overlap=self.overlap, now=self.now
        )
        with chunk_writer(project_id=self.project_id, constants=constants) as writer:
            self.writer = writer
            self._run(rows, result, on_chunk)
            writer.wait()

    def _run(self, rows: Iterator[RawRow], result: ImportResult, on_chunk) -> None:
        chunk: list[ItemDraft] = []
        self.errors: list[RowError] = []  # the chunk's, reported in row order at its flush
        next_report = time.monotonic() + PROGRESS_SECONDS
        try:
            for raw in rows:
                result.rows += 1
                if raw.data is None:
                    self.errors.append(raw.error or _unreadable(raw.row))
                else:
                    draft, errors = self.validator.validate(raw.row, raw.data, line=raw.line)
                    self.errors.extend(errors)
                    if draft is not None:
                        if self.errors or not result.ok:  # nothing is written: only its id
                            draft = ItemDraft(draft.row, draft.external_id, line=draft.line,
                                              valid=False)  # fmt: skip
                        chunk.append(draft)
                # Rows with errors count towards the chunk too: a file of a million unreadable
                # rows is reported (and forgotten beyond the first errors) a chunk at a time.
                if len(chunk) + len(self.errors) >= CHUNK:
                    self._flush(chunk, result)
                    chunk = []
                    if on_chunk and time.monotonic() >= next_report:
                        self.writer.wait()  # the callback may write (a job's progress row)
                        on_chunk()
                        next_report = time.monotonic() + PROGRESS_SECONDS
        except FormatError as exc:  # the file cannot be read on; the rows so far still count
            self.errors.append(exc.error)
        self._flush(chunk, result)
        if result.rows == 0 and result.ok:
            result.add_error(RowError(0, "file", "The file holds no items.", codes.NO_ITEMS))

    def _flush(self, drafts: list[ItemDraft], result: ImportResult) -> None:
        """Report the chunk's errors; write its items if no row so far had one."""
        if self.project_had_items and drafts:
            self.writer.wait()  # the duplicate query needs the connection
        drafts = self._drop_duplicates(drafts, result)
        for error in sorted(self.errors, key=lambda e: e.row):
            result.add_error(error)
        self.errors = []
        if not result.ok or not drafts:
            return
        item_rows = [self._item_row(d) for d in drafts]
        labeled = {d.external_id or self._default_id(d): d.labels for d in drafts if d.labels}
        self.writer.submit(item_rows, labeled, self.now)
        result.created += len(drafts)
        result.labels += len(labeled)

    def _drop_duplicates(self, drafts: list[ItemDraft], result: ImportResult) -> list[ItemDraft]:
        """The drafts whose id is new; the others are skipped or reported, as asked."""
        existing: set[str] = set()
        if self.project_had_items:
            ids = [d.external_id for d in drafts if d.external_id is not None]
            existing = set(
                self.project.items.filter(external_id__in=ids).values_list("external_id", flat=True)
            )
        kept = []
        for draft in drafts:
            ext = draft.external_id
            if ext is not None and (ext in existing or ext in self.first_row):
                if self.on_duplicate == "skip":
                    result.skipped += 1
                else:
                    self.errors.append(
                        self._duplicate_error(draft, ext, in_project=ext in existing)
                    )
                continue
            if ext is not None:
                self.first_row[ext] = draft.row
            if draft.valid:
                kept.append(draft)
        return kept

    def _duplicate_error(self, draft: ItemDraft, ext: str, *, in_project: bool) -> RowError:
        """``ext``: the draft's external id, which a duplicate always has."""
        where = "the project" if in_project else f"this file (row {self.first_row.get(ext)})"
        params: dict[str, str | int] = {"id": ext, "in": "project" if in_project else "file"}
        if not in_project:
            params["first_row"] = self.first_row[ext]
        message = (
            f"Duplicate id {ext!r}: already in {where}. Pass on_duplicate=skip to skip such rows."
        )
        return RowError(draft.row, "id", message, codes.DUPLICATE, draft.line, params)

    def _default_id(self, draft: ItemDraft) -> str:
        return f"b{self.batch.pk}-r{draft.row}"

    def _item_row(self, draft: ItemDraft) -> tuple:
        """The item as a tuple in ``writer.ITEM_COLUMNS`` order."""
        external_id = draft.external_id or self._default_id(draft)
        if self.random_order:
            sequence = _seeded_rank(self.project.seed, external_id)
        else:
            sequence = self.next_sequence + draft.row
        labeled = bool(draft.labels)
        image = "" if draft.image is None else self.images.save(*draft.image)
        return (
            external_id, draft.text, image,
            json.dumps(draft.meta, ensure_ascii=False) if draft.meta else "{}",
            None if draft.vector is None else json.dumps(draft.vector),
            self.labeled_status if labeled else _OPEN, 1 if labeled else 0, sequence,
        )  # fmt: skip


def _unreadable(row: int) -> RowError:
    return RowError(row, "row", "The row cannot be read.", codes.MALFORMED_JSON)


def _seeded_rank(seed: int, external_id: str) -> int:
    digest = hashlib.blake2b(f"{seed}:{external_id}".encode(), digest_size=7).digest()
    return int.from_bytes(digest, "big")


def _existing_vector_dim(project: Project) -> int | None:
    vector = project.items.exclude(vector__isnull=True).values_list("vector", flat=True).first()
    return len(vector) if vector else None
