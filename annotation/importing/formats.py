"""Streaming parsers for every import format. Each yields ``RawRow``s, one per record,
never holding the whole file: CSV and JSON Lines line by line, JSON arrays element by
element, each record bounded in bytes and JSON in depth (``Limits``).

Parsers only parse. Deciding whether a row is a valid item is ``rows.py``'s job.
"""

import csv
import hashlib
import io
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any, BinaryIO

import ijson

from annotation.importing import errors as codes
from annotation.importing import jsonsafe
from annotation.importing.encoding import (
    RESAVE,
    NotUtf8,
    UnsupportedEncoding,
    Utf8Checked,
    not_utf8_message,
    utf8_stream,
)
from annotation.importing.errors import FormatError, RowError
from annotation.importing.jsonsafe import RecordTooLarge

FORMATS = ("csv", "jsonl", "json", "labelstudio")
EXTENSIONS = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "json"}


@dataclass
class RawRow:
    row: int  # 1-based record number (CSV: data rows after the header)
    data: dict[str, Any] | None  # None when the record cannot be read: see ``error``
    error: RowError | None = None
    line: int | None = None  # the physical line the record starts on, when known


class CountingReader(io.RawIOBase):
    """Wraps a binary stream, hashing and counting the bytes that pass through."""

    def __init__(self, stream: BinaryIO):
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


@dataclass(frozen=True)
class Limits:
    """Bounds on one import file; see ``jsonsafe`` for why each exists."""

    max_depth: int  # JSON nesting, QUORUM_MAX_JSON_DEPTH
    max_row_bytes: int  # one CSV row, line or JSON array element, QUORUM_MAX_ROW_BYTES


def parse(stream: BinaryIO, fmt: str, *, limits: Limits) -> Iterator[RawRow]:
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
            yield from _parse_csv(text, limits)
        elif fmt == "jsonl":
            yield from _parse_jsonl(text, limits)
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
        yield _object_row(number, obj)


class _Lines:
    """Decoded lines, each at most ``max_bytes``, and at most that many per CSV record.

    A line that is not UTF-8 is decoded with replacement characters (so the CSV reader
    keeps its place) and remembered in ``bad_lines``: line -> the first bad byte's
    offset in the file and its value, for the row's error.
    """

    def __init__(self, stream: io.BufferedReader, max_bytes: int):
        self._stream = stream
        self._max_bytes = max_bytes
        self.bad_lines: dict[int, tuple[int, int]] = {}
        self.number = 0  # lines read so far
        self.offset = 0  # bytes read so far
        self.eof = False
        self.record_bytes = 0
        self.record_start = 1

    def new_record(self) -> None:
        self.record_bytes = 0
        self.record_start = self.number + 1

    def __iter__(self) -> Iterator[str]:
        while raw := self._stream.readline(self._max_bytes + 1):
            self.number += 1
            start, self.offset = self.offset, self.offset + len(raw)
            self.record_bytes += len(raw)
            if len(raw) > self._max_bytes or self.record_bytes > self._max_bytes:
                raise RecordTooLarge(self._too_large_message(len(raw)), line=self.record_start)
            try:
                yield raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                self.bad_lines[self.number] = (start + exc.start, raw[exc.start])
                yield raw.decode("utf-8", errors="replace")
        self.eof = True

    def _too_large_message(self, line_bytes: int) -> str:
        limit = f"over {self._max_bytes:,} bytes (QUORUM_MAX_ROW_BYTES)"
        if line_bytes > self._max_bytes:
            return f"Line {self.number} is {limit}."
        return (
            f"The record starting on line {self.record_start} runs to line {self.number} and "
            f"is {limit}: most likely a quote opened on line {self.record_start} is never closed."
        )

    def not_utf8(self, row: int, line: int) -> RowError:
        offset, byte = self.bad_lines[line]
        return _not_utf8_error(row, line, offset, byte)


def _not_utf8_error(row: int, line: int | None, offset: int, byte: int) -> RowError:
    return RowError(
        row, "row", not_utf8_message(line, offset, byte), codes.BAD_ENCODING, line,
        {"offset": offset, "byte": f"0x{byte:02X}"},
    )  # fmt: skip


def _parse_csv(stream: io.BufferedReader, limits: Limits) -> Iterator[RawRow]:
    lines = _Lines(stream, limits.max_row_bytes)
    csv.field_size_limit(limits.max_row_bytes)  # process-wide, and the same for every import
    # strict: a quote inside a quoted field must be doubled, and an unclosed quote is an
    # error at the end of the file instead of a last field that swallowed every line after it.
    reader = csv.reader(lines, strict=True)
    try:
        header = next(reader)
    except StopIteration:
        raise FormatError(
            "The CSV file is empty: it needs a header row.", code=codes.EMPTY_FILE
        ) from None
    except csv.Error:
        row = _quote_error(0, lines, reader.line_num).error
        raise FormatError(f"The CSV header: {row.message}", code=row.code, line=row.line) from None
    header = [h.strip() for h in header]
    if lines.bad_lines:
        offset, byte = lines.bad_lines[min(lines.bad_lines)]
        raise FormatError(
            f"The CSV header is not valid UTF-8 (byte 0x{byte:02X} at offset {offset:,}). {RESAVE}",
            code=codes.BAD_ENCODING, line=1, params={"offset": offset, "byte": f"0x{byte:02X}"},
        )  # fmt: skip
    if not any(header):
        raise FormatError(
            "The first line of the CSV file is blank: it must be the header row naming the "
            "columns (text or image, and optionally id, label, meta, vector).",
            code=codes.MISSING_HEADER, line=1,
        )  # fmt: skip
    if not {"text", "image"} & set(header):
        raise FormatError(
            f"The CSV header needs a 'text' or 'image' column; it has {header}.",
            code=codes.MISSING_TEXT_COLUMN, line=1, params={"columns": header[:50]},
        )  # fmt: skip
    number = 0
    last_line = reader.line_num
    while True:
        lines.new_record()
        try:
            values = next(reader)
        except StopIteration:
            return
        except csv.Error:
            number += 1
            yield _quote_error(number, lines, reader.line_num)
            if lines.eof:
                return
            last_line = reader.line_num
            continue
        line_numbers = range(last_line + 1, reader.line_num + 1)
        last_line = reader.line_num
        if not values:  # blank line
            continue
        number += 1
        start = line_numbers[0] if line_numbers else None
        bad = sorted(lines.bad_lines.keys() & set(line_numbers))
        encoding_error = lines.not_utf8(number, bad[0]) if bad else None
        lines.bad_lines.clear()
        if encoding_error:
            yield RawRow(number, None, encoding_error, start)
        elif len(values) != len(header):
            message = f"Expected {len(header)} columns, found {len(values)}."
            params = {"expected": len(header), "found": len(values)}
            error = RowError(number, "row", message, codes.COLUMN_COUNT, start, params)
            yield RawRow(number, None, error, start)
        else:
            yield RawRow(number, dict(zip(header, values, strict=True)), line=start)


def _quote_error(number: int, lines: _Lines, line: int) -> RawRow:
    """The strict CSV reader stopped: at the end of the file inside a quote, or at a quote
    followed by other characters (``"a"b``), which must be doubled inside a field."""
    start = lines.record_start
    if lines.eof:
        message = (
            f"A quote opened on line {start} is never closed: the rest of the file would be "
            'one field. Close the quote, or write a quote inside a field as two quotes ("").'
        )
        error = RowError(number, "row", message, codes.UNCLOSED_QUOTE, start, {"line": start})
    else:
        message = (
            f"Line {line}: a closing quote is followed by other characters. Inside a quoted "
            'field write a quote as two quotes (""), and end the field right after its quote.'
        )
        error = RowError(number, "row", message, codes.BAD_QUOTE, line, {"line": line})
    return RawRow(number, None, error, start)


def _parse_jsonl(stream: io.BufferedReader, limits: Limits) -> Iterator[RawRow]:
    lines = _Lines(stream, limits.max_row_bytes)
    number = 0
    for line in lines:
        line_number = lines.number
        lines.new_record()
        if not line.strip():
            continue
        number += 1
        if line_number in lines.bad_lines:
            yield RawRow(number, None, lines.not_utf8(number, line_number), line_number)
            continue
        try:
            obj = jsonsafe.loads(line.rstrip("\r\n"), max_depth=limits.max_depth)
        except jsonsafe.JsonRejected as exc:
            error = RowError(
                number, exc.field or "row", f"Line {line_number}: {exc}", exc.code, line_number
            )
            yield RawRow(number, None, error, line_number)
            continue
        except ValueError as exc:
            yield RawRow(number, None, _malformed_line(number, line_number, exc), line_number)
            continue
        yield _object_row(number, obj, line_number)


def _malformed_line(number: int, line: int, exc: ValueError) -> RowError:
    if isinstance(exc, json.JSONDecodeError):
        message = f"Malformed JSON on line {line}, column {exc.colno}: {exc.msg}."
        params = {"column": exc.colno}
    else:  # NaN, Infinity
        message, params = f"Malformed JSON on line {line}: {exc}", {}
    return RowError(number, "row", message, codes.MALFORMED_JSON, line, params)


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
                yield _object_row(number, obj)
    except NotUtf8 as exc:
        yield RawRow(number + 1, None, _not_utf8_error(number + 1, exc.line, exc.offset, exc.byte))
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


def _object_row(number: int, obj: Any, line: int | None = None) -> RawRow:
    if not isinstance(obj, dict):
        message = f"Expected a JSON object, found {_json_type(obj)}."
        return RawRow(number, None, RowError(number, "row", message, codes.NOT_AN_OBJECT, line))
    return RawRow(number, obj, line=line)


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
        raise _ShapeError(f"expected a list, found {_json_type(annotations)}.")
    first = annotations[0]
    if not isinstance(first, dict):
        raise _ShapeError(f"expected each annotation to be an object, found {_json_type(first)}.")
    results = first.get("result") or []
    if not isinstance(results, list):
        raise _ShapeError(f"expected 'result' to be a list, found {_json_type(results)}.")
    choices: list[str] = []
    for result in results:
        if not isinstance(result, dict):
            raise _ShapeError(f"expected each result to be an object, found {_json_type(result)}.")
        value = result.get("value") or {}
        if not isinstance(value, dict):
            raise _ShapeError(f"expected 'value' to be an object, found {_json_type(value)}.")
        found = value.get("choices") or []
        if not isinstance(found, list) or not all(isinstance(c, str) for c in found):
            raise _ShapeError("expected 'value.choices' to be a list of label names.")
        choices.extend(found)
    return choices


def _json_type(value: Any) -> str:
    """The JSON name of a parsed value's type, for messages."""
    names = {dict: "an object", list: "a list", str: "a string", bool: "a boolean"}
    if value is None:
        return "null"
    return names.get(type(value), "a number")
