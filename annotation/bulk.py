"""Fast bulk inserts for hot write paths (imports of millions of rows).

Django's ``bulk_create`` spends most of its time compiling SQL per object. Here
rows are plain tuples: PostgreSQL gets them through ``COPY``, other databases
through one ``executemany``. Callers give database-ready values (JSON already
dumped to text, datetimes adapted with ``db_datetime``).
"""

from collections.abc import Sequence
from datetime import datetime

from django.db import connection, models


def db_datetime(value: datetime):
    return connection.ops.adapt_datetimefield_value(value)


def fast_insert(
    model: type[models.Model], columns: Sequence[str], rows: Sequence[tuple], *, conn=None
) -> None:
    """Insert ``rows`` (tuples in ``columns`` order) into ``model``'s table.

    ``conn`` is the database connection to use (default: this thread's), so that a
    writer thread can insert inside the transaction its caller opened.
    """
    if not rows:
        return
    conn = conn or connection
    table = conn.ops.quote_name(model._meta.db_table)
    names = ", ".join(conn.ops.quote_name(c) for c in columns)
    with conn.cursor() as cursor:
        if conn.vendor == "postgresql":
            with cursor.cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        else:
            placeholders = ", ".join(["%s"] * len(columns))
            cursor.executemany(f"INSERT INTO {table} ({names}) VALUES ({placeholders})", rows)
