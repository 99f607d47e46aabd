"""Streaming parsers for every import format. Each yields ``RawRow``s, one per record,
never holding the whole file: CSV and JSON Lines line by line, JSON arrays element by
element, each record bounded in bytes and JSON in depth (``Limits``).

Parsers only parse. Deciding whether a row is a valid item is ``rows.py``'s job.
"""

import hashlib
import io
from collections.abc import Iterable, Iterator
from typing import Any

import ijson

from annotation.importing import errors as codes
from annotation.importing import jsonsafe
from annotation.importing.encoding import (
    RESAVE,
    ByteSource,
    NotUtf8,
    UnsupportedEncoding,
    Utf8Checked,
    utf8_stream,
)
from annotation.importing.errors import FormatError, RowError
from annotation.importing.jsonsafe import RecordTooLarge
from annotation.importing.records import Limits, RawRow, json_type, not_utf8_error, object_row
from annotation.importing.text_formats import parse_csv, parse_jsonl

__all__ = ["FORMATS", "CountingReader", "Limits", "RawRow", "detect_format", "parse"]

FORMATS = ("csv", "jsonl", "json", "labelstudio")
EXTENSIONS = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "json"}


class CountingReader(io.RawIOBase):
    """Wraps a binary stream, hashing and counting the bytes that pass through."""

    def __init__(self, stream: ByteSource):
        self._stream = stream
        self.sha256 = hashlib.sha256()
        self.bytes_read = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        data = self._stream.read(len(buffer))
        n = len(data)
        buffer[:n] = data
        self.sha256.update(data)
        self.bytes_read += n
        return n


def detect_format(file_name: str, requested: str | None = None) -> str:
    if requested:
        if requested not in FORMATS:
            raise FormatError(
                f"Unknown format {requested!r}: use one of {', '.join(FORMATS)}.",
                code=codes.UNKNOWN_FORMAT,
            )
        return requested
    lower = file_name.lower()
    for extension, fmt in EXTENSIONS.items():
        if lower.endswith(extension):
            return fmt
    raise FormatError(
        f"Unknown format for {file_name!r}: name it .csv, .jsonl, .ndjson or .json, "
        "or pass format=csv|jsonl|json|labelstudio.",
        code=codes.UNKNOWN_FORMAT,
        params={"formats": list(FORMATS)},
    )


def parse(stream: io.RawIOBase, fmt: str, *, limits: Limits) -> Iterator[RawRow]:
    """The file's rows; raises ``FormatError`` (lazily) when the file as a whole is unreadable."""
    try:
        text = utf8_stream(stream)
        if not text.peek(1):
            what = (
                "The CSV file is empty: it needs a header row"
                if fmt == "csv"
                else "The file is empty"
            )
            raise FormatError(f"{what}.", code=codes.EMPTY_FILE)
        if fmt == "csv":
            yield from parse_csv(text, limits)
        elif fmt == "jsonl":
            yield from parse_jsonl(text, limits)
        else:
            yield from _parse_json_array(text, limits, labelstudio=fmt == "labelstudio")
    except UnsupportedEncoding as exc:
        raise FormatError(str(exc), code=codes.BAD_ENCODING, params=exc.params) from None
    except RecordTooLarge as exc:
        raise FormatError(
            f"{exc} Nothing was imported.", code=codes.RECORD_TOO_LARGE, line=exc.line
        ) from None
    except UnicodeDecodeError:  # only a UTF-16 file's transcoding raises it
        raise FormatError(
            f"The file is not valid UTF-16. {RESAVE}",
            code=codes.BAD_ENCODING,
            params={"encoding": "UTF-16"},
        ) from None


def parse_objects(objects: Iterable[Any]) -> Iterator[RawRow]:
    """Rows from already-parsed JSON (the API's ``{"items": [...]}`` body)."""
    for number, obj in enumerate(objects, start=1):
        yield object_row(number, obj)


def _parse_json_array(
    stream: io.BufferedReader, limits: Limits, *, labelstudio: bool
) -> Iterator[RawRow]:
    number = 0
    checked = Utf8Checked(stream)
    items = jsonsafe.iter_array(
        checked, max_depth=limits.max_depth, max_item_bytes=limits.max_row_bytes
    )
    try:
        for number, obj in enumerate(items, start=1):
            if labelstudio or (isinstance(obj, dict) and isinstance(obj.get("data"), dict)):
                yield _labelstudio_row(number, obj)
            else:
                yield object_row(number, obj)
    except NotUtf8 as exc:
        yield RawRow(number + 1, None, not_utf8_error(number + 1, exc.line, exc.offset, exc.byte))
        return
    except jsonsafe.JsonRejected as exc:
        message = f"Item {number + 1}: {exc}" if number else str(exc)
        raise FormatError(message, code=exc.code, row=number + 1 if number else 0) from None
    except ijson.JSONError as exc:
        where = f"after item {number}" if number else "before the first item"
        message = (
            f"Malformed JSON {where} (around line {checked.line}): {_first_line(exc)}. A JSON "
            "file must be an array of objects; use .jsonl for one object per line."
        )
        error = RowError(
            number + 1, "row", message, codes.MALFORMED_JSON, checked.line, {"after_item": number}
        )
        yield RawRow(number + 1, None, error, checked.line)
        return
    if number == 0:
        raise FormatError(
            "The JSON file holds no items: expected a non-empty array of objects.",
            code=codes.NO_ITEMS,
        )


def _first_line(exc: Exception) -> str:
    """yajl's message, without the excerpt it draws under it."""
    text = exc.args[0] if exc.args else ""
    if isinstance(text, bytes):
        text = text.decode("utf-8", errors="replace")
    return str(text).strip().splitlines()[0].rstrip(".") if str(text).strip() else "invalid"


def _labelstudio_row(number: int, task: Any) -> RawRow:
    """Label Studio's task JSON: data fields, plus choices from its first annotation."""
    if not isinstance(task, dict) or not isinstance(task.get("data"), dict):
        message = "A Label Studio task needs a 'data' object."
        return RawRow(number, None, RowError(number, "data", message, codes.BAD_LABEL_STUDIO))
    try:
        choices = _labelstudio_choices(task.get("annotations"))
    except _ShapeError as exc:
        message = f"Label Studio annotations: {exc}"
        error = RowError(number, "annotations", message, codes.BAD_LABEL_STUDIO)
        return RawRow(number, None, error)
    data = dict(task["data"])
    row: dict[str, Any] = {}
    for field in ("text", "image"):
        if field in data:
            row[field] = data.pop(field)
    if "id" in task:
        row["id"] = task["id"]
    if choices:
        row["labels"] = choices
    meta = data.pop("meta", None)
    row["meta"] = {**(meta if isinstance(meta, dict) else {}), **data}
    return RawRow(number, row)


class _ShapeError(ValueError):
    pass


def _labelstudio_choices(annotations: Any) -> list[str]:
    """The choices of the first annotation: ``annotations[0].result[*].value.choices``."""
    if annotations is None or annotations == []:
        return []
    if not isinstance(annotations, list):
        raise _ShapeError(f"expected a list, found {json_type(annotations)}.")
    first = annotations[0]
    if not isinstance(first, dict):
        raise _ShapeError(f"expected each annotation to be an object, found {json_type(first)}.")
    results = first.get("result") or []
    if not isinstance(results, list):
        raise _ShapeError(f"expected 'result' to be a list, found {json_type(results)}.")
    choices: list[str] = []
    for result in results:
        if not isinstance(result, dict):
            raise _ShapeError(f"expected each result to be an object, found {json_type(result)}.")
        value = result.get("value") or {}
        if not isinstance(value, dict):
            raise _ShapeError(f"expected 'value' to be an object, found {json_type(value)}.")
        found = value.get("choices") or []
        if not isinstance(found, list) or not all(isinstance(c, str) for c in found):
            raise _ShapeError("expected 'value.choices' to be a list of label names.")
        choices.extend(found)
    return choices
