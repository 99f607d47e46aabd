"""Streaming parsers for every import format. Each yields ``RawRow``s, one per record,
never holding the whole file: CSV and JSON Lines line by line, JSON arrays with ijson.

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

FORMATS = ("csv", "jsonl", "json", "labelstudio")
EXTENSIONS = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "json"}
csv.field_size_limit(2**31 - 1)  # oversize fields get our own clear error, not csv's


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


def parse(stream: BinaryIO, fmt: str) -> Iterator[RawRow]:
    if fmt == "csv":
        return _parse_csv(stream)
    if fmt == "jsonl":
        return _parse_jsonl(stream)
    return _parse_json_array(stream, labelstudio=fmt == "labelstudio")


def parse_objects(objects: Iterable[Any]) -> Iterator[RawRow]:
    """Rows from already-parsed JSON (the API's ``{"items": [...]}`` body)."""
    for number, obj in enumerate(objects, start=1):
        yield _object_row(number, obj)


def _decoded_lines(stream: BinaryIO, bad_lines: set[int]) -> Iterator[str]:
    buffered = io.BufferedReader(stream, buffer_size=1 << 20)  # type: ignore[arg-type]
    for number, raw in enumerate(buffered, start=1):
        if number == 1 and raw.startswith(b"\xef\xbb\xbf"):
            raw = raw[3:]
        try:
            yield raw.decode("utf-8")
        except UnicodeDecodeError:
            bad_lines.add(number)
            yield raw.decode("utf-8", errors="replace")


def _parse_csv(stream: BinaryIO) -> Iterator[RawRow]:
    bad_lines: set[int] = set()
    reader = csv.reader(_decoded_lines(stream, bad_lines))
    try:
        header = next(reader)
    except StopIteration:
        raise FormatError("The CSV file is empty: it needs a header row.") from None
    except csv.Error as exc:
        raise FormatError(f"The CSV header cannot be read: {exc}.") from None
    header = [h.strip() for h in header]
    if bad_lines:
        raise FormatError("The CSV header is not valid UTF-8.")
    if not {"text", "image"} & set(header):
        raise FormatError(f"The CSV header needs a 'text' or 'image' column; it has {header}.")
    number = 0
    last_line = reader.line_num
    while True:
        try:
            values = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            number += 1
            yield RawRow(number, None, f"Malformed CSV on line {reader.line_num}: {exc}.")
            return
        lines = range(last_line + 1, reader.line_num + 1)
        last_line = reader.line_num
        if not values:  # blank line
            continue
        number += 1
        bad = sorted(bad_lines.intersection(lines))
        if bad:
            yield RawRow(number, None, f"Undecodable bytes (not UTF-8) on line {bad[0]}.")
        elif len(values) != len(header):
            yield RawRow(number, None, f"Expected {len(header)} columns, found {len(values)}.")
        else:
            yield RawRow(number, dict(zip(header, values, strict=True)))


def _parse_jsonl(stream: BinaryIO) -> Iterator[RawRow]:
    bad_lines: set[int] = set()
    number = 0
    for line_number, line in enumerate(_decoded_lines(stream, bad_lines), start=1):
        if not line.strip():
            continue
        number += 1
        if line_number in bad_lines:
            yield RawRow(number, None, f"Undecodable bytes (not UTF-8) on line {line_number}.")
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            yield RawRow(number, None, f"Malformed JSON on line {line_number}: {exc.msg}.")
            continue
        yield _object_row(number, obj)


def _parse_json_array(stream: BinaryIO, *, labelstudio: bool) -> Iterator[RawRow]:
    number = 0
    failed = False
    try:
        for number, obj in enumerate(ijson.items(stream, "item", use_float=True), start=1):
            if labelstudio or (isinstance(obj, dict) and isinstance(obj.get("data"), dict)):
                yield _labelstudio_row(number, obj)
            else:
                yield _object_row(number, obj)
    except UnicodeDecodeError:
        failed = True
        yield RawRow(number + 1, None, "Undecodable bytes (not UTF-8) in the JSON file.")
    except ijson.JSONError as exc:
        failed = True
        yield RawRow(
            number + 1,
            None,
            f"Malformed JSON after item {number}: {exc}. A JSON file must be "
            "an array of objects; use .jsonl for one object per line.",
        )
    if number == 0 and not failed:
        raise FormatError("The JSON file holds no items: expected a non-empty array of objects.")


def _object_row(number: int, obj: Any) -> RawRow:
    if not isinstance(obj, dict):
        return RawRow(number, None, f"Expected a JSON object, found {type(obj).__name__}.")
    return RawRow(number, obj)


def _labelstudio_row(number: int, task: Any) -> RawRow:
    """Label Studio's task JSON: data fields, plus choices from its first annotation."""
    if not isinstance(task, dict) or not isinstance(task.get("data"), dict):
        return RawRow(number, None, "A Label Studio task needs a 'data' object.", "data")
    data = dict(task["data"])
    row: dict[str, Any] = {}
    for field in ("text", "image"):
        if field in data:
            row[field] = data.pop(field)
    if "id" in task:
        row["id"] = task["id"]
    choices: list[str] = []
    for annotation in (task.get("annotations") or [])[:1]:
        for result in annotation.get("result") or []:
            choices.extend((result.get("value") or {}).get("choices") or [])
    if choices:
        row["labels"] = choices
    meta = data.pop("meta", None)
    row["meta"] = {**(meta if isinstance(meta, dict) else {}), **data}
    return RawRow(number, row)
