"""JSON from users, parsed within bounds: nesting depth, NUL characters, bytes per record.

Why each bound exists:

- Depth. ijson's ``items()`` keeps a dotted prefix per open container, so its memory
  grows with the square of the nesting depth (a 200 KB file of ``[`` took a process
  past 20 GB), and ``json.loads`` raises ``RecursionError`` past ~1,000 levels. The
  stream here is read with ``basic_parse`` (flat events, constant memory) and objects
  are built only up to ``max_depth``; ``json.loads`` results are walked once.
- NUL. PostgreSQL cannot store U+0000 in text or jsonb (``DataError``), and SQLite
  stores it silently; either way it is refused before it reaches a service.
- Bytes per record. ``ijson`` holds a whole string token before yielding it, so one
  enormous field is bounded at the reader, not after the fact.

A JSON document's outermost container is depth 1: the API body ``{"items": [{"meta":
{}}]}`` puts ``meta`` at depth 4, a JSON Lines row's ``meta`` is at depth 2.
"""

import io
import json
from collections import deque
from collections.abc import Iterator
from typing import Any

import ijson
from ijson.common import ObjectBuilder

from annotation.importing.encoding import ByteSource

_OPEN = frozenset({"start_map", "start_array"})
_CLOSE = frozenset({"end_map", "end_array"})


class JsonRejected(ValueError):
    """JSON that parses but may not be used; ``str()`` is the user's message."""

    def __init__(self, message: str, field: str = "", *, code: str = "too_deep"):
        super().__init__(message)
        self.field = field  # the top-level key the problem is under, when known
        self.code = code  # an ``annotation.importing.errors`` code


class RecordTooLarge(ValueError):
    """One record (CSV row, line, JSON array item) is over the byte limit."""

    def __init__(self, message: str, *, line: int | None = None):
        super().__init__(message)
        self.line = line  # where the record starts, when known


def too_deep_message(max_depth: int) -> str:
    return f"The JSON is nested more than {max_depth} levels deep (QUORUM_MAX_JSON_DEPTH)."


NUL_MESSAGE = "NUL characters (U+0000) are not allowed."


def check_value(value: Any, *, max_depth: int) -> None:
    """Raise ``JsonRejected`` if ``value`` nests deeper than ``max_depth`` or holds a NUL.

    Iterative, so it cannot recurse out of stack whatever the input; ``field`` on the
    error is the top-level key (or index) under which the problem lies.
    """
    if isinstance(value, dict):  # the hot case, a CSV row of strings: two scans, no walk
        try:
            values = "".join(value.values())
        except TypeError:  # not all strings: walk it
            values = "\x00"
        if "\x00" not in values and "\x00" not in "".join(value):
            return
    stack: list[tuple[Any, int, str]] = [(value, 1, "")]
    while stack:
        current, depth, field = stack.pop()
        if isinstance(current, str):
            if "\x00" in current:
                raise JsonRejected(NUL_MESSAGE, field, code="nul_character")
            continue
        if isinstance(current, dict):
            children = []
            for key, child in current.items():
                if "\x00" in key:
                    raise JsonRejected(NUL_MESSAGE, field or key, code="nul_character")
                children.append((child, field or key))
        elif isinstance(current, list):
            children = [(child, field or str(index)) for index, child in enumerate(current)]
        else:
            continue
        if depth > max_depth:
            raise JsonRejected(too_deep_message(max_depth), field)
        stack.extend((child, depth + 1, key) for child, key in children if _walkable(child))


def _walkable(value: Any) -> bool:
    return isinstance(value, (str, dict, list))


def loads(text: str | bytes, *, max_depth: int) -> Any:
    """``json.loads`` that raises ``JsonRejected`` for deep or NUL-holding JSON.

    ``json.JSONDecodeError`` (a ``ValueError``) still means malformed JSON.
    """
    try:
        value = json.loads(text, parse_constant=_reject_constant)
    except RecursionError:
        raise JsonRejected(too_deep_message(max_depth)) from None
    check_value(value, max_depth=max_depth)
    return value


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON.")


class BudgetReader(io.RawIOBase):
    """A binary stream that refuses to read more than ``limit`` bytes between ``mark()``s.

    ``slack`` covers a parser's read-ahead (ijson reads 64 KB at a time).
    """

    def __init__(self, stream: ByteSource, *, limit: int, slack: int = 1 << 17):
        self._stream = stream
        self._allowance = limit + slack
        self.limit = limit
        self._since_mark = 0

    def readable(self) -> bool:
        return True

    def mark(self) -> None:
        self._since_mark = 0

    def readinto(self, buffer) -> int:
        data = self._stream.read(len(buffer))
        n = len(data)
        self._since_mark += n
        if self._since_mark > self._allowance:
            raise RecordTooLarge(f"A record is over {self.limit:,} bytes (QUORUM_MAX_ROW_BYTES).")
        buffer[:n] = data
        return n


def iter_array(stream: ByteSource, *, max_depth: int, max_item_bytes: int) -> Iterator[Any]:
    """Yield the elements of a top-level JSON array, one at a time.

    Raises ``JsonRejected`` when the document is not an array or nests too deep,
    ``RecordTooLarge`` when one element is over ``max_item_bytes``, and ijson's
    ``JSONError`` (or ``UnicodeDecodeError``) when it is malformed.
    """
    reader = BudgetReader(stream, limit=max_item_bytes)
    depth = 0
    builder: ObjectBuilder | None = None
    events = ijson.basic_parse(reader, use_float=True)
    for event, value in events:
        if depth == 0:
            if event != "start_array":
                raise JsonRejected(
                    "The JSON file must be an array of objects.", code="not_an_array"
                )
            depth = 1
            continue
        if event in _OPEN:
            depth += 1
            if depth > max_depth:
                raise JsonRejected(too_deep_message(max_depth))
        elif event in _CLOSE:
            depth -= 1
            if depth == 0:  # the top-level array closed; ijson raises on anything after it
                deque(events, maxlen=0)
                return
        if depth == 1 and event not in _CLOSE:  # a scalar element
            yield value
            reader.mark()
            continue
        if builder is None:
            builder = ObjectBuilder()
        builder.event(event, value)
        if depth == 1:  # the element's container just closed
            yield builder.value
            builder = None
            reader.mark()
