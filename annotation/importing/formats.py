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

from annotation.importing import jsonsafe
from annotation.importing.encoding import RESAVE, UnsupportedEncoding, not_utf8_message, utf8_stream
from annotation.importing.jsonsafe import RecordTooLarge

FORMATS = ("csv", "jsonl", "json", "labelstudio")
EXTENSIONS = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "json"}


class FormatError(ValueError):
    """The file as a whole cannot be read in the requested format."""


@dataclass
class RawRow:
    row: int  # 1-based record number (CSV: data rows after the header)
    data: dict[str, Any] | None
    error: str | None = None
    field: str = ""


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
            raise FormatError(f"Unknown format {requested!r}: use one of {', '.join(FORMATS)}.")
        return requested
    lower = file_name.lower()
    for extension, fmt in EXTENSIONS.items():
        if lower.endswith(extension):
            return fmt
    raise FormatError(
        f"Unknown format for {file_name!r}: name it .csv, .jsonl, .ndjson or .json, "
        "or pass format=csv|jsonl|json|labelstudio."
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
        if fmt == "csv":
            yield from _parse_csv(text, limits)
        elif fmt == "jsonl":
            yield from _parse_jsonl(text, limits)
        else:
            yield from _parse_json_array(text, limits, labelstudio=fmt == "labelstudio")
    except UnsupportedEncoding as exc:
        raise FormatError(str(exc)) from None
    except RecordTooLarge as exc:
        raise FormatError(f"{exc} Nothing was imported.") from None
    except UnicodeDecodeError:  # only a UTF-16 file's transcoding raises it
        raise FormatError(f"The file is not valid UTF-16. {RESAVE}") from None


def parse_objects(objects: Iterable[Any]) -> Iterator[RawRow]:
    """Rows from already-parsed JSON (the API's ``{"items": [...]}`` body)."""
    for number, obj in enumerate(objects, start=1):
        yield _object_row(number, obj)


class _Lines:
    """Decoded lines, each at most ``max_bytes``, and at most that many per CSV record."""

    def __init__(self, stream: io.BufferedReader, max_bytes: int):
        self._stream = stream
        self._max_bytes = max_bytes
        self.bad_lines: set[int] = set()
        self.record_bytes = 0  # the caller resets it after each record

    def __iter__(self) -> Iterator[str]:
        number = 0
        while raw := self._stream.readline(self._max_bytes + 1):
            number += 1
            self.record_bytes += len(raw)
            if len(raw) > self._max_bytes or self.record_bytes > self._max_bytes:
                what = "Line" if len(raw) > self._max_bytes else "The record ending on line"
                raise RecordTooLarge(
                    f"{what} {number} is over {self._max_bytes:,} bytes (QUORUM_MAX_ROW_BYTES)."
                )
            try:
                yield raw.decode("utf-8")
            except UnicodeDecodeError:
                self.bad_lines.add(number)
                yield raw.decode("utf-8", errors="replace")


def _parse_csv(stream: io.BufferedReader, limits: Limits) -> Iterator[RawRow]:
    lines = _Lines(stream, limits.max_row_bytes)
    csv.field_size_limit(limits.max_row_bytes)  # process-wide, and the same for every import
    reader = csv.reader(lines)
    try:
        header = next(reader)
    except StopIteration:
        raise FormatError("The CSV file is empty: it needs a header row.") from None
    except csv.Error as exc:
        raise FormatError(f"The CSV header cannot be read: {exc}.") from None
    header = [h.strip() for h in header]
    if lines.bad_lines:
        raise FormatError(f"The CSV header is not valid UTF-8. {RESAVE}")
    if not {"text", "image"} & set(header):
        raise FormatError(f"The CSV header needs a 'text' or 'image' column; it has {header}.")
    number = 0
    last_line = reader.line_num
    while True:
        lines.record_bytes = 0
        try:
            values = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            number += 1
            yield RawRow(number, None, f"Malformed CSV on line {reader.line_num}: {exc}.")
            return
        line_numbers = range(last_line + 1, reader.line_num + 1)
        last_line = reader.line_num
        if not values:  # blank line
            continue
        number += 1
        bad = sorted(lines.bad_lines.intersection(line_numbers))
        lines.bad_lines.clear()
        if bad:
            yield RawRow(number, None, not_utf8_message(bad[0]))
        elif len(values) != len(header):
            yield RawRow(number, None, f"Expected {len(header)} columns, found {len(values)}.")
        else:
            yield RawRow(number, dict(zip(header, values, strict=True)))


def _parse_jsonl(stream: io.BufferedReader, limits: Limits) -> Iterator[RawRow]:
    lines = _Lines(stream, limits.max_row_bytes)
    number = 0
    for line_number, line in enumerate(lines, start=1):
        lines.record_bytes = 0
        if not line.strip():
            continue
        number += 1
        if line_number in lines.bad_lines:
            yield RawRow(number, None, not_utf8_message(line_number))
            continue
        try:
            obj = jsonsafe.loads(line, max_depth=limits.max_depth)
        except jsonsafe.JsonRejected as exc:
            yield RawRow(number, None, f"Line {line_number}: {exc}", exc.field)
            continue
        except ValueError as exc:
            message = exc.msg if isinstance(exc, json.JSONDecodeError) else str(exc)
            yield RawRow(number, None, f"Malformed JSON on line {line_number}: {message}.")
            continue
        yield _object_row(number, obj)


def _parse_json_array(
    stream: io.BufferedReader, limits: Limits, *, labelstudio: bool
) -> Iterator[RawRow]:
    number = 0
    items = jsonsafe.iter_array(
        stream, max_depth=limits.max_depth, max_item_bytes=limits.max_row_bytes
    )
    try:
        for number, obj in enumerate(items, start=1):
            if labelstudio or (isinstance(obj, dict) and isinstance(obj.get("data"), dict)):
                yield _labelstudio_row(number, obj)
            else:
                yield _object_row(number, obj)
    except UnicodeDecodeError:
        yield RawRow(number + 1, None, f"Undecodable bytes (not UTF-8) in the JSON file. {RESAVE}")
        return
    except jsonsafe.JsonRejected as exc:
        raise FormatError(f"Item {number + 1}: {exc}" if number else str(exc)) from None
    except ijson.JSONError as exc:
        yield RawRow(
            number + 1,
            None,
            f"Malformed JSON after item {number}: {exc}. A JSON file must be "
            "an array of objects; use .jsonl for one object per line.",
        )
        return
    if number == 0:
        raise FormatError("The JSON file holds no items: expected a non-empty array of objects.")


def _object_row(number: int, obj: Any) -> RawRow:
    if not isinstance(obj, dict):
        return RawRow(number, None, f"Expected a JSON object, found {_json_type(obj)}.")
    return RawRow(number, obj)


def _labelstudio_row(number: int, task: Any) -> RawRow:
    """Label Studio's task JSON: data fields, plus choices from its first annotation."""
    if not isinstance(task, dict) or not isinstance(task.get("data"), dict):
        return RawRow(number, None, "A Label Studio task needs a 'data' object.", "data")
    try:
        choices = _labelstudio_choices(task.get("annotations"))
    except _ShapeError as exc:
        return RawRow(number, None, f"Label Studio annotations: {exc}", "annotations")
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
