"""What a parser yields: one ``RawRow`` per record, parsed data or a structured error."""

from dataclasses import dataclass
from typing import Any

from annotation.importing import errors as codes
from annotation.importing.encoding import not_utf8_message
from annotation.importing.errors import RowError


@dataclass
class RawRow:
    row: int  # 1-based record number (CSV: data rows after the header)
    data: dict[str, Any] | None  # None when the record cannot be read: see ``error``
    error: RowError | None = None
    line: int | None = None  # the physical line the record starts on, when known


@dataclass(frozen=True)
class Limits:
    """Bounds on one import file; see ``jsonsafe`` for why each exists."""

    max_depth: int  # JSON nesting, QUORUM_MAX_JSON_DEPTH
    max_row_bytes: int  # one CSV row, line or JSON array element, QUORUM_MAX_ROW_BYTES


def object_row(number: int, obj: Any, line: int | None = None) -> RawRow:
    if not isinstance(obj, dict):
        message = f"Expected a JSON object, found {json_type(obj)}."
        return RawRow(number, None, RowError(number, "row", message, codes.NOT_AN_OBJECT, line))
    return RawRow(number, obj, line=line)


def not_utf8_error(row: int, line: int | None, offset: int, byte: int) -> RowError:
    return RowError(
        row, "row", not_utf8_message(line, offset, byte), codes.BAD_ENCODING, line,
        {"offset": offset, "byte": f"0x{byte:02X}"},
    )  # fmt: skip


def json_type(value: Any) -> str:
    """The JSON name of a parsed value's type, for messages."""
    names = {dict: "an object", list: "a list", str: "a string", bool: "a boolean"}
    if value is None:
        return "null"
    return names.get(type(value), "a number")
