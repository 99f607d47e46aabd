"""The line-based formats, CSV and JSON Lines: read line by line, each line and record
bounded in bytes, each problem reported at the record (and line) where it starts."""

import csv
import io
import json
from collections.abc import Iterator

from annotation.importing import errors as codes
from annotation.importing import jsonsafe
from annotation.importing.encoding import RESAVE
from annotation.importing.errors import FormatError, RowError
from annotation.importing.jsonsafe import RecordTooLarge
from annotation.importing.records import Limits, RawRow, not_utf8_error, object_row


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
        readline, max_bytes = self._stream.readline, self._max_bytes  # the hot loop's locals
        while raw := readline(max_bytes + 1):
            size = len(raw)
            self.number += 1
            start = self.offset
            self.offset = start + size
            self.record_bytes += size
            if self.record_bytes > max_bytes:  # covers the line alone too: record >= line
                raise RecordTooLarge(self._too_large_message(size), line=self.record_start)
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
        return not_utf8_error(row, line, offset, byte)


def parse_csv(stream: io.BufferedReader, limits: Limits) -> Iterator[RawRow]:
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
        row = _quote_error(0, lines, reader.line_num)
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
    width = len(header)
    bad_lines = lines.bad_lines
    while True:
        lines.record_bytes = 0  # lines.new_record(), inlined: this loop runs once per row
        lines.record_start = lines.number + 1
        try:
            values = next(reader)
        except StopIteration:
            return
        except csv.Error:
            number += 1
            error = _quote_error(number, lines, reader.line_num)
            yield RawRow(number, None, error, lines.record_start)
            if lines.eof:
                return
            last_line = reader.line_num
            continue
        first, last_line = last_line + 1, reader.line_num
        if not values:  # blank line
            continue
        number += 1
        start = first if last_line >= first else None
        encoding_error = None
        if bad_lines:
            bad = sorted(bad_lines.keys() & set(range(first, last_line + 1)))
            encoding_error = lines.not_utf8(number, bad[0]) if bad else None
            bad_lines.clear()
        if encoding_error:
            yield RawRow(number, None, encoding_error, start)
        elif len(values) != width:
            message = f"Expected {width} columns, found {len(values)}."
            params = {"expected": width, "found": len(values)}
            error = RowError(number, "row", message, codes.COLUMN_COUNT, start, params)
            yield RawRow(number, None, error, start)
        else:
            yield RawRow(
                number, dict(zip(header, values, strict=False)), line=start
            )  # width checked above


def _quote_error(number: int, lines: _Lines, line: int) -> RowError:
    """The strict CSV reader stopped: at the end of the file inside a quote, or at a quote
    followed by other characters (``"a"b``), which must be doubled inside a field."""
    start = lines.record_start
    if lines.eof:
        message = (
            f"A quote opened on line {start} is never closed: the rest of the file would be "
            'one field. Close the quote, or write a quote inside a field as two quotes ("").'
        )
        return RowError(number, "row", message, codes.UNCLOSED_QUOTE, start, {"line": start})
    message = (
        f"Line {line}: a closing quote is followed by other characters. Inside a quoted "
        'field write a quote as two quotes (""), and end the field right after its quote.'
    )
    return RowError(number, "row", message, codes.BAD_QUOTE, line, {"line": line})


def parse_jsonl(stream: io.BufferedReader, limits: Limits) -> Iterator[RawRow]:
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
        yield object_row(number, obj, line_number)


def _malformed_line(number: int, line: int, exc: ValueError) -> RowError:
    if isinstance(exc, json.JSONDecodeError):
        message = f"Malformed JSON on line {line}, column {exc.colno}: {exc.msg}."
        params = {"column": exc.colno}
    else:  # NaN, Infinity
        message, params = f"Malformed JSON on line {line}: {exc}", {}
    return RowError(number, "row", message, codes.MALFORMED_JSON, line, params)
