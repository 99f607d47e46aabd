"""Inserting validated chunks in a second thread, inside the importing thread's transaction.

Parsing and validating, the hot part of an import, overlap with the database's work on
the previous chunk. The writer uses the importing thread's connection (so one
transaction holds everything, and a rejected import rolls back as a whole), and at
most one chunk is in flight.
"""

import json
from concurrent.futures import Future, ThreadPoolExecutor

from django.db import DEFAULT_DB_ALIAS, connections

from annotation.models import Annotation, AnnotationSource, Item
from annotation.rawsql import fast_insert, item_ids_by_external_id

ITEM_COLUMNS = (
    "project_id", "external_id", "text", "image", "meta", "vector", "import_batch_id", "status",
    "required_overlap", "annotation_count", "sequence", "priority", "predicted_label",
    "consensus_method", "created_at",
)  # fmt: skip
ANNOTATION_COLUMNS = (
    "item_id", "project_id", "labels", "source", "suggestion", "created_at", "updated_at",
)  # fmt: skip


class ChunkWriter:
    """Use as a context manager; ``submit`` a chunk, ``wait`` before using the connection."""

    def __init__(self, *, project_id: int):
        self.project_id = project_id
        self._pending: Future | None = None

    def __enter__(self) -> "ChunkWriter":
        # The wrapper itself, not the thread-local ``connection`` proxy.
        self.conn = connections[DEFAULT_DB_ALIAS]
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
        """Insert ``item_rows`` (``ITEM_COLUMNS`` order) and the imported labels of the
        items whose external id is a key of ``labeled``."""
        self.wait()
        self._pending = self._pool.submit(self._write, item_rows, labeled, now)

    def _write(self, item_rows: list[tuple], labeled: dict[str, list[str]], now) -> None:
        """Runs in the writer thread, on the importing thread's connection."""
        conn = self.conn
        fast_insert(Item, ITEM_COLUMNS, item_rows, conn=conn)
        if not labeled:
            return
        ids = item_ids_by_external_id(project_id=self.project_id, external_ids=list(labeled),
                                      conn=conn)  # fmt: skip
        fast_insert(
            Annotation, ANNOTATION_COLUMNS,
            [(pk, self.project_id, json.dumps(labeled[ext]), AnnotationSource.IMPORT, "",
              now, now) for ext, pk in ids],
            conn=conn,
        )  # fmt: skip
