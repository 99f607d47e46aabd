"""Writing validated chunks: one open COPY per file on PostgreSQL, a writer thread elsewhere.

``StreamWriter`` (PostgreSQL) sends every chunk into one ``COPY`` that stays open while
the next chunk is parsed: the server stores rows as they arrive, on its own core, and a
full socket buffer holds the parser back, so memory stays bounded. The COPY is ended
only when the connection is needed for something else (the duplicate-id query of a
project that already had items, the annotations of imported labels) and at the end.

``ChunkWriter`` (SQLite) inserts each chunk with one ``executemany`` in a second thread,
so that parsing and validating overlap with the database's work on the previous chunk.

Both write on the importing thread's connection, inside its transaction, so a rejected
import rolls back as a whole.
"""

import json
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connections

from annotation.models import Annotation, AnnotationSource, Item
from annotation.rawsql import CopyStream, fast_insert, item_ids_by_external_id

#: The columns that vary from item to item, in the order of ``Importer._item_row``'s tuples.
ITEM_COLUMNS = (
    "external_id", "text", "image", "meta", "vector", "status", "annotation_count", "sequence",
)  # fmt: skip
#: The columns every item of one import shares; ``item_constants`` gives their values.
ITEM_CONSTANT_COLUMNS = (
    "project_id", "import_batch_id", "required_overlap", "priority", "predicted_label",
    "consensus_method", "created_at",
)  # fmt: skip
ANNOTATION_COLUMNS = (
    "item_id", "project_id", "labels", "source", "suggestion", "created_at", "updated_at",
)  # fmt: skip


def item_constants(*, project_id: int, batch_id: int, overlap: int, now) -> dict[str, Any]:
    """``ITEM_CONSTANT_COLUMNS`` -> the value every item of this import has."""
    values = (project_id, batch_id, overlap, 0.0, "", "", now)
    return dict(zip(ITEM_CONSTANT_COLUMNS, values, strict=True))


def chunk_writer(*, project_id: int, constants: dict[str, Any]) -> "StreamWriter | ChunkWriter":
    """The writer for this database (see the module's docstring)."""
    if connections[DEFAULT_DB_ALIAS].vendor == "postgresql":
        return StreamWriter(project_id=project_id, constants=constants)
    return ChunkWriter(project_id=project_id, constants=constants)


def _write_labels(conn, project_id: int, labeled: dict[str, list[str]], now) -> None:
    """The imported labels as annotations of the just-written items they belong to."""
    ids = item_ids_by_external_id(project_id=project_id, external_ids=list(labeled), conn=conn)
    fast_insert(
        Annotation, ANNOTATION_COLUMNS,
        [(pk, project_id, json.dumps(labeled[ext]), AnnotationSource.IMPORT, "", now, now)
         for ext, pk in ids],
        conn=conn,
    )  # fmt: skip


class StreamWriter:
    """Use as a context manager; ``submit`` a chunk, ``wait`` before using the connection."""

    def __init__(self, *, project_id: int, constants: dict[str, Any]):
        self.project_id = project_id
        self.constants = constants

    def __enter__(self) -> "StreamWriter":
        self.conn = connections[DEFAULT_DB_ALIAS]
        self.items = CopyStream(Item, ITEM_COLUMNS, conn=self.conn, constants=self.constants)
        return self

    def __exit__(self, *exc_info) -> None:
        self.items.__exit__(*exc_info)

    def wait(self) -> None:
        """End the open COPY: the rows so far are in the table, the connection is free."""
        self.items.close()

    def submit(self, item_rows: list[tuple], labeled: dict[str, list[str]], now) -> None:
        """Insert ``item_rows`` (``ITEM_COLUMNS`` order, then the constants) and the imported labels of the
        items whose external id is a key of ``labeled``."""
        self.items.write_rows(item_rows)
        if labeled:
            self.items.close()
            _write_labels(self.conn, self.project_id, labeled, now)


class ChunkWriter:
    """Use as a context manager; ``submit`` a chunk, ``wait`` before using the connection."""

    def __init__(self, *, project_id: int, constants: dict[str, Any]):
        self.project_id = project_id
        self.constants = constants
        self._pending: Future | None = None

    def __enter__(self) -> "ChunkWriter":
        # The wrapper itself, not the thread-local ``connection`` proxy.
        self.conn = connections[DEFAULT_DB_ALIAS]
        self.items = CopyStream(Item, ITEM_COLUMNS, conn=self.conn, constants=self.constants)
        self.conn.inc_thread_sharing()
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="import-writer")
        return self

    def __exit__(self, *exc_info) -> None:
        self._pool.shutdown(wait=True)
        self.conn.dec_thread_sharing()

    def wait(self) -> None:
        """Wait for the chunk in flight; re-raise its error here."""
        if self._pending is not None:
            pending, self._pending = self._pending, None
            pending.result()

    def submit(self, item_rows: list[tuple], labeled: dict[str, list[str]], now) -> None:
        """As ``StreamWriter.submit``, in the writer thread."""
        self.wait()
        self._pending = self._pool.submit(self._write, item_rows, labeled, now)

    def _write(self, item_rows: list[tuple], labeled: dict[str, list[str]], now) -> None:
        """Runs in the writer thread, on the importing thread's connection."""
        self.items.write_rows(item_rows)
        if labeled:
            _write_labels(self.conn, self.project_id, labeled, now)
