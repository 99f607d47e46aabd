"""What is wrong with an import file, as data: a code, where it is, and a sentence.

Every problem carries a machine-readable ``code`` (the names below) and its place: the
record number (``row``: the 1-based data row of a CSV, the line's record of JSON Lines,
the element of a JSON array) and, where the parser knows it, the physical ``line``
(and ``column``, byte ``offset``) in the file. ``message`` is a sentence for API users;
a page shows its own words for a code and uses ``message`` only for codes it does not
know. ``params`` holds the facts a page's wording needs (the duplicate id, the first
row that used it, the bad byte...), so nobody parses a message.
"""

import dataclasses
from dataclasses import dataclass
from typing import Any

# Whole-file problems (row 0, field "file").
UNKNOWN_FORMAT = "unknown_format"
BAD_OPTION = "bad_option"
BAD_REQUEST = "bad_request"  # an API request that holds no file and no items
EMPTY_FILE = "empty_file"
MISSING_HEADER = "missing_header"
MISSING_TEXT_COLUMN = "missing_text_column"
NO_ITEMS = "no_items"
NOT_AN_ARRAY = "not_an_array"
RECORD_TOO_LARGE = "record_too_large"
# Problems of one record; the parsing ones may also end the file (an unclosed quote).
BAD_ENCODING = "bad_encoding"
UNCLOSED_QUOTE = "unclosed_quote"
BAD_QUOTE = "bad_quote"
COLUMN_COUNT = "column_count"
MALFORMED_JSON = "malformed_json"
NOT_AN_OBJECT = "not_an_object"
BAD_LABEL_STUDIO = "bad_label_studio"
TOO_DEEP = "too_deep"
NUL_CHARACTER = "nul_character"
# Problems of one field of a parsed record.
BAD_ID = "bad_id"
DUPLICATE = "duplicate"
MISSING_TEXT = "missing_text"
BAD_TEXT = "bad_text"
EMPTY_TEXT = "empty_text"
TOO_LONG = "too_long"
MISSING_IMAGE = "missing_image"
BAD_IMAGE = "bad_image"
BAD_LABELS = "bad_labels"
UNKNOWN_LABEL = "unknown_label"
TOO_MANY_LABELS = "too_many_labels"
BAD_META = "bad_meta"
BAD_VECTOR = "bad_vector"
VECTOR_SIZE = "vector_size"


@dataclass
class RowError:
    """One problem of one record (``row`` 0: the file as a whole)."""

    row: int
    field: str
    message: str
    code: str
    line: int | None = None
    # dataclasses.field, spelled out: the ``field`` attribute above shadows the bare name here.
    params: dict[str, Any] = dataclasses.field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "row": self.row,
            "field": self.field,
            "message": self.message,
            "code": self.code,
            "line": self.line,
            "params": self.params,
        }


class FormatError(ValueError):
    """The file cannot be read on (or at all): one structured problem, ``str()`` its message.

    ``row`` is 0 when the file as a whole is at fault (no header, unknown format), else
    the record where reading stopped (an unclosed quote runs to the end of the file).
    """

    def __init__(
        self,
        message: str,
        *,
        code: str,
        row: int = 0,
        line: int | None = None,
        params: dict[str, Any] | None = None,
    ):
        super().__init__(message)
        field_name = "file" if row == 0 else "row"
        self.error = RowError(row, field_name, message, code, line, params or {})
