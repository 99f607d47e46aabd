"""Model instances from hand-written SQL, for the few statements on the labeling hot path.

``Model.objects.raw()`` works out the column-to-field mapping and the database
converters again on every call; on a request that runs five such statements that
was a millisecond of CPU. Here both are computed once per (model, fields) and a row
becomes an instance through ``Model.from_db``, exactly as the ORM builds them.
"""

from collections.abc import Callable, Sequence
from functools import lru_cache
from typing import Any, TypeVar

from django.db import connection
from django.db.models import Model


def model_columns(model: type[Model], *, skip: Sequence[str] = (), alias: str = "o") -> str:
    """``alias."col", ...`` for the model's concrete fields except ``skip``, in field order."""
    quote = connection.ops.quote_name
    return ", ".join(f"{alias}.{quote(f.column)}" for f in _fields(model, tuple(skip)))


M = TypeVar("M", bound=Model)


def fetch_instance(
    model: type[M], sql: str, params: Sequence[Any], *, skip: Sequence[str] = (),
    extra: Sequence[str] = (),
) -> M | None:  # fmt: skip
    """The first row of ``sql`` as a ``model`` instance, or None.

    ``sql`` selects ``model_columns(model, skip=skip)`` first, then one column per name in
    ``extra``, which become plain attributes. Fields in ``skip`` are deferred (loaded on
    access), as with ``QuerySet.defer``.
    """
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    if row is None:
        return None
    names, converters = _layout(model, tuple(skip), connection.vendor)
    values = list(row[: len(names)])
    for index, convert in converters:
        values[index] = convert(values[index])
    instance = model.from_db(connection.alias, names, values)
    for name, value in zip(extra, row[len(names) :], strict=True):
        setattr(instance, name, value)
    return instance


def _fields(model: type[Model], skip: tuple[str, ...]) -> list:
    return [f for f in model._meta.concrete_fields if f.name not in skip]


def field_value(model: type[Model], name: str, value: Any) -> Any:
    """A raw column value of ``model.<name>`` as the ORM gives it (SQLite returns datetimes
    as text, JSON as a string)."""
    convert = _converter(model, name, connection.vendor)
    return convert(value) if convert else value


@lru_cache(maxsize=64)
def _layout(
    model: type[Model], skip: tuple[str, ...], vendor: str
) -> tuple[list[str], list[tuple[int, Callable[[Any], Any]]]]:
    """Field attnames in column order, and (index, converter) for columns that need one."""
    fields = _fields(model, skip)
    converters = []
    for index, field in enumerate(fields):
        convert = _converter(model, field.name, vendor)
        if convert:
            converters.append((index, convert))
    return [f.attname for f in fields], converters


@lru_cache(maxsize=256)
def _converter(model: type[Model], name: str, vendor: str) -> Callable[[Any], Any] | None:
    """The ORM's converter chain for one column, or None when values need none."""
    column = model._meta.get_field(name).get_col(model._meta.db_table)
    chain = connection.ops.get_db_converters(column) + column.get_db_converters(connection)
    if not chain:
        return None

    def convert(value: Any) -> Any:
        for converter in chain:
            value = converter(value, column, connection)
        return value

    return convert
