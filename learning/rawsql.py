"""Every hand-written SQL statement of ``learning``, and why each is not the ORM.

These run in jobs over whole pools (a million items), where the ORM's per-row work
(model instances, converters, one compiled UPDATE per row) cost more than the database's.
Each docstring names the ORM code replaced; that code is the statement's twin in
``tests/learning/orm_twins.py``, where hypothesis checks that both give the same rows
(SQLite, and PostgreSQL in CI), and ``bench/rawsql_speed.py`` measures both in one run.
A scoring chunk's rows are read with the ORM: ``values_list`` was as fast as a cursor.
"""

from __future__ import annotations

from operator import itemgetter

import numpy as np
from django.db import connection

from annotation.models import Annotation, AnnotationSource, Item

_WRITE_BATCH = 5000  # rows per executemany on databases without COPY


def human_annotation_rows(*, project_id: int) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """(item ids, annotator ids, labels as JSON text) of every human annotation (review
    decisions and annotator-less rows excluded), in no particular order.

    Replaces ``Annotation.objects.filter(project_id, annotator__isnull=False)
    .exclude(source=REVIEW).values_list("item_id", "annotator_id", "labels")``: at a million
    annotations the per-row JSON decoding of ``values_list`` cost more than the agreement
    computation. Labels stay JSON text, which the caller maps to codes once per distinct set.

    Measured (``bench/rawsql_speed.py``, 100k items, PostgreSQL, shared 2-core machine): 0.7
    ms against 5.2 ms on 400 annotations: 24% of the agreement job's load and report (18
    ms).
    """
    table = connection.ops.quote_name(Annotation._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT item_id, annotator_id, CAST(labels AS text) FROM {table}"
            " WHERE project_id = %s AND annotator_id IS NOT NULL AND source <> %s",
            [project_id, AnnotationSource.REVIEW.value],
        )
        fetched = cursor.fetchall()
    n = len(fetched)
    column = lambda k: np.fromiter(map(itemgetter(k), fetched), np.int64, count=n)  # noqa: E731
    return column(0), column(1), list(map(itemgetter(2), fetched))


def scores_write(
    ids: np.ndarray, priority: np.ndarray, label_idx: np.ndarray, names: list[str],
    score: np.ndarray, *, model_version_id: int, generation: int,
) -> None:  # fmt: skip
    """Set priority / predicted_label (``names[label_idx]``) / predicted_score / scored_by /
    score_generation of the items ``ids``, all (N,). Call inside a transaction.

    Replaces ``Item.objects.bulk_update(items, ["priority", "predicted_label",
    "predicted_score", "scored_by", "score_generation"], batch_size=...)``, whose CASE WHEN
    statements took minutes for a million rows. PostgreSQL: the arrays travel by binary
    COPY into a temporary table, then one UPDATE ... FROM. Elsewhere: executemany in batches.

    Measured (``bench/rawsql_speed.py``, 100k items, PostgreSQL, shared 2-core machine): a
    20k-row slice in 1.0 s against 51 s for ``bulk_update``; a 100k pool writes five.
    """
    if ids.size == 0:
        return
    table = connection.ops.quote_name(Item._meta.db_table)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            _scores_copy(
                cursor, table, ids, priority, label_idx, names, score, model_version_id, generation
            )
            return
        labels = np.asarray(names, dtype=object)[label_idx]
        rows = zip(priority.tolist(), labels.tolist(), score.tolist(), ids.tolist(), strict=True)
        sql = (
            f"UPDATE {table} SET priority = %s, predicted_label = %s, predicted_score = %s,"
            " scored_by_id = %s, score_generation = %s WHERE id = %s"
        )
        batch: list[tuple] = []
        for prio, label, sc, item_id in rows:
            batch.append((prio, label, sc, model_version_id, generation, item_id))
            if len(batch) >= _WRITE_BATCH:
                cursor.executemany(sql, batch)
                batch.clear()
        if batch:
            cursor.executemany(sql, batch)


_COPY_HEADER = b"PGCOPY\n\xff\r\n\x00" + (0).to_bytes(4, "big") + (0).to_bytes(4, "big")
_COPY_ROW = np.dtype([
    ("n", ">i2"), ("id_len", ">i4"), ("id", ">i8"), ("priority_len", ">i4"), ("priority", ">f8"),
    ("label_len", ">i4"), ("label", ">i4"), ("score_len", ">i4"), ("score", ">f8"),
])  # fmt: skip


def _scores_copy(cursor, table, ids, priority, label_idx, names, score, model_version_id,
                 generation) -> None:  # fmt: skip
    """COPY the (N,) arrays in PostgreSQL's binary format, built by numpy in one buffer (no
    per-row Python), then one UPDATE ... FROM. Labels travel as 1-based indices into the
    array of names."""
    rows = np.zeros(ids.size, dtype=_COPY_ROW)
    rows["n"] = 4
    rows["id_len"], rows["priority_len"], rows["label_len"], rows["score_len"] = 8, 8, 4, 8
    rows["id"], rows["priority"], rows["score"] = ids, priority, score
    rows["label"] = label_idx + 1  # SQL arrays count from 1
    # A caller's outer transaction may already hold one from an earlier write.
    cursor.execute("DROP TABLE IF EXISTS pg_temp.al_scores")
    cursor.execute(
        "CREATE TEMP TABLE al_scores (id bigint, priority float8, label int4, score float8)"
        " ON COMMIT DROP"
    )
    with cursor.cursor.copy("COPY al_scores (id, priority, label, score) FROM STDIN BINARY") as cp:
        cp.write(_COPY_HEADER + rows.tobytes() + b"\xff\xff")
    cursor.execute("ANALYZE al_scores")
    # The id range lets a slice of a large pool be found by a primary-key range scan
    # instead of a scan of the whole table per slice.
    cursor.execute(
        f"UPDATE {table} AS i SET priority = s.priority, predicted_label = (%s::text[])[s.label],"
        " predicted_score = s.score, scored_by_id = %s, score_generation = %s FROM al_scores AS s"
        " WHERE i.id = s.id AND i.id BETWEEN %s AND %s",
        [names, model_version_id, generation, int(ids.min()), int(ids.max())],
    )
