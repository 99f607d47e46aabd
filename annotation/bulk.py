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


def fast_insert(model: type[models.Model], columns: Sequence[str], rows: Sequence[tuple]) -> None:
    """Insert ``rows`` (tuples in ``columns`` order) into ``model``'s table."""
    if not rows:
        return
    table = connection.ops.quote_name(model._meta.db_table)
    names = ", ".join(connection.ops.quote_name(c) for c in columns)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            with cursor.cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        else:
            placeholders = ", ".join(["%s"] * len(columns))
            cursor.executemany(f"INSERT INTO {table} ({names}) VALUES ({placeholders})", rows)
