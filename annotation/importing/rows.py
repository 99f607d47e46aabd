"""Validating parsed rows into item drafts, with one error per (row, field) problem."""

import base64
import binascii
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from annotation.importing import errors as codes
from annotation.importing import jsonsafe
from annotation.importing.errors import RowError
from annotation.importing.images import ImageRejected, clean_image

MAX_IMAGE_BYTES = 10 * 1024 * 1024
KNOWN_FIELDS = frozenset({"id", "text", "image", "label", "labels", "meta", "vector"})


@dataclass(slots=True)
class ItemDraft:
    row: int
    external_id: str | None
    text: str = ""
    image: tuple[str, bytes] | None = None  # (file name, content)
    labels: list[str] = field(default_factory=list)
    meta: dict[str, Any] = field(default_factory=dict)
    vector: list[float] | None = None
    line: int | None = None  # where the row starts in the file, when known
    valid: bool = True  # False: a row with errors, kept only for the duplicate-id check


@dataclass
class RowRules:
    """What a valid row looks like for one project."""

    data_type: str
    label_names: frozenset[str]
    multi_label: bool
    max_field_bytes: int
    max_image_pixels: int = 16_777_216
    max_depth: int = 32
    base_dir: Path | None = None  # image paths are allowed only from a local file
    vector_dim: int | None = None  # learned from the first vector seen


class RowValidator:
    def __init__(self, rules: RowRules):
        self.rules = rules

    def validate(
        self, row: int, data: dict[str, Any], *, line: int | None = None
    ) -> tuple[ItemDraft | None, list[RowError]]:
        """The row as a draft, and every problem it has.

        The draft comes back even when the row has errors (``None`` only when it cannot
        be read at all), so its id still takes part in the duplicate check: one pass
        reports a row's bad label and the later row that repeats its id.
        """
        errors: list[RowError] = []

        def fail(field_name: str, code: str, message: str) -> None:
            errors.append(RowError(row, field_name, message, code, line))

        try:  # NUL anywhere (PostgreSQL cannot store it) or meta nested too deep
            jsonsafe.check_value(data, max_depth=self.rules.max_depth)
        except jsonsafe.JsonRejected as exc:
            fail(exc.field if exc.field in data else "row", exc.code, str(exc))
            return None, errors
        external_id = self._external_id(data.get("id"), fail)
        text, image = "", None
        if self.rules.data_type == "text":
            text = self._text(data.get("text"), fail)
        else:
            image = self._image(data.get("image"), row, fail)
        draft = ItemDraft(
            row, external_id, text, image, self._labels(data, fail), self._meta(data, fail),
            self._vector(data.get("vector"), fail), line,
        )  # fmt: skip
        return draft, errors

    def _too_big(self, value: str) -> bool:
        limit = self.rules.max_field_bytes
        # A character is at most 4 bytes: most values are decided without encoding them.
        return len(value) * 4 > limit and len(value.encode("utf-8")) > limit

    def _external_id(self, value: Any, fail) -> str | None:
        if value is None or value == "":
            return None
        if isinstance(value, (dict, list, bool)):
            fail("id", codes.BAD_ID, "The id must be a string or a number.")
            return None
        text = str(value).strip()
        if len(text) > 255:
            fail("id", codes.BAD_ID, "The id is longer than 255 characters.")
        return text

    def _text(self, value: Any, fail) -> str:
        if value is None:
            fail("text", codes.MISSING_TEXT, "Missing the 'text' field.")
            return ""
        if not isinstance(value, str):
            fail("text", codes.BAD_TEXT, f"The text must be a string, not {type(value).__name__}.")
            return ""
        if not value.strip():
            fail("text", codes.EMPTY_TEXT, "The text is empty.")
        elif self._too_big(value):
            size = len(value.encode("utf-8"))
            limit = self.rules.max_field_bytes
            fail("text", codes.TOO_LONG, f"The text is {size:,} bytes; the limit is {limit:,}.")
        return value

    def _image(self, value: Any, row: int, fail) -> tuple[str, bytes] | None:
        if not value or not isinstance(value, str):
            fail(
                "image",
                codes.MISSING_IMAGE,
                "Missing the 'image' field (a data: URI or, from a local file, a path).",
            )
            return None
        if value.startswith("data:"):
            # The declared media type is ignored: the decoded content decides.
            payload = value.partition(",")[2]
            try:
                content = base64.b64decode(payload, validate=True)
            except (binascii.Error, ValueError):
                fail("image", codes.BAD_IMAGE, "The image data URI is not valid base64.")
                return None
            stem = f"row{row}"
        elif self.rules.base_dir is not None:
            path = (self.rules.base_dir / value).resolve()
            if not path.is_relative_to(self.rules.base_dir.resolve()) or not path.is_file():
                fail(
                    "image",
                    codes.BAD_IMAGE,
                    f"No image file at {value!r} (relative to the data file).",
                )
                return None
            if path.stat().st_size > MAX_IMAGE_BYTES:
                fail("image", codes.BAD_IMAGE, f"The image is over {MAX_IMAGE_BYTES // 2**20} MB.")
                return None
            content, stem = path.read_bytes(), Path(value).stem[:100] or f"row{row}"
        else:
            fail("image", codes.BAD_IMAGE, "Over the API an image must be a data: URI (base64).")
            return None
        if len(content) > MAX_IMAGE_BYTES:
            fail("image", codes.BAD_IMAGE, f"The image is over {MAX_IMAGE_BYTES // 2**20} MB.")
            return None
        try:
            image = clean_image(content, max_pixels=self.rules.max_image_pixels)
        except ImageRejected as exc:
            fail("image", codes.BAD_IMAGE, str(exc))
            return None
        return f"{stem}.{image.extension}", image.content

    def _labels(self, data: dict[str, Any], fail) -> list[str]:
        if "labels" not in data and "label" not in data:
            return []
        field_name = "labels" if "labels" in data else "label"
        value = data.get(field_name)
        if value is None or value == "" or value == []:
            return []
        if isinstance(value, str):
            names = [value] if field_name == "label" else _split_labels(value)
        elif isinstance(value, list) and all(isinstance(v, str) for v in value):
            names = value
        else:
            fail(
                field_name,
                codes.BAD_LABELS,
                "Labels must be a label name or a list of label names.",
            )
            return []
        names = list(dict.fromkeys(n.strip() for n in names if n.strip()))
        unknown = [n for n in names if n not in self.rules.label_names]
        if unknown:
            allowed = ", ".join(sorted(self.rules.label_names))
            fail(
                field_name,
                codes.UNKNOWN_LABEL,
                f"Unknown label {unknown[0]!r}; the project's labels are: {allowed}.",
            )
        elif len(names) > 1 and not self.rules.multi_label:
            fail(
                field_name,
                codes.TOO_MANY_LABELS,
                f"{len(names)} labels given, but the project is single-label.",
            )
        return names

    def _meta(self, data: dict[str, Any], fail) -> dict[str, Any]:
        meta = data.get("meta") or {}
        if isinstance(meta, str):
            try:
                meta = jsonsafe.loads(meta, max_depth=self.rules.max_depth)
            except jsonsafe.JsonRejected as exc:
                fail("meta", exc.code, str(exc))
                return {}
            except ValueError:
                fail("meta", codes.BAD_META, "The meta field is not valid JSON.")
                return {}
        if not isinstance(meta, dict):
            fail("meta", codes.BAD_META, "The meta field must be a JSON object.")
            return {}
        if not KNOWN_FIELDS.issuperset(data):  # columns beyond the known ones go to meta
            extra = {k: v for k, v in data.items() if k not in KNOWN_FIELDS}
            meta = {**extra, **meta}
        elif meta:
            meta = dict(meta)  # as the merge above does: never the caller's object
        if meta and self._too_big(json.dumps(meta, ensure_ascii=False)):
            fail(
                "meta",
                codes.TOO_LONG,
                f"The meta field is over {self.rules.max_field_bytes:,} bytes.",
            )
        return meta

    def _vector(self, value: Any, fail) -> list[float] | None:
        if value is None or value == "":
            return None
        if isinstance(value, str):
            try:
                value = jsonsafe.loads(value, max_depth=1)
            except ValueError:
                fail("vector", codes.BAD_VECTOR, "The vector must be a JSON list of numbers.")
                return None
        if not isinstance(value, list) or not value:
            fail("vector", codes.BAD_VECTOR, "The vector must be a non-empty list of numbers.")
            return None
        if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value):
            fail("vector", codes.BAD_VECTOR, "The vector holds something that is not a number.")
            return None
        if not all(math.isfinite(v) for v in value):
            fail("vector", codes.BAD_VECTOR, "The vector holds NaN or infinity.")
            return None
        if self.rules.vector_dim is None:
            self.rules.vector_dim = len(value)
        elif len(value) != self.rules.vector_dim:
            fail(
                "vector",
                codes.VECTOR_SIZE,
                f"The vector has {len(value)} dimensions; this project's have "
                f"{self.rules.vector_dim}.",
            )
            return None
        return [float(v) for v in value]


def _split_labels(value: str) -> list[str]:
    """CSV cells hold several labels as a JSON list or separated by '|'."""
    if value.startswith("["):
        try:
            parsed = jsonsafe.loads(value, max_depth=1)
            if isinstance(parsed, list):
                return [str(v) for v in parsed]
        except ValueError:  # not a flat JSON list: names separated by '|'
            pass
    return value.split("|")
