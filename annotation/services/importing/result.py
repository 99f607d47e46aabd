"""What an import answers: counts, and every problem as structured data."""

from dataclasses import dataclass, field
from typing import Any

from django.conf import settings

from annotation.importing.errors import RowError

ON_DUPLICATE = ("error", "skip")


@dataclass
class ImportResult:
    created: int = 0
    skipped: int = 0
    labels: int = 0
    rows: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)
    error_count: int = 0
    # code -> how many rows have it, counted past the reported ``errors`` too, so a page
    # can say "12 rows repeat an item already in the project" when it lists only 100.
    error_codes: dict[str, int] = field(default_factory=dict)
    batch_id: int | None = None
    file_name: str = ""
    sha256: str = ""

    @property
    def ok(self) -> bool:
        return self.error_count == 0

    def add_error(self, error: RowError) -> None:
        self.error_count += 1
        self.error_codes[error.code] = self.error_codes.get(error.code, 0) + 1
        if len(self.errors) < settings.QUORUM_MAX_REPORTED_ERRORS:
            self.errors.append(error.as_dict())

    def as_dict(self) -> dict[str, Any]:
        return {
            "created": self.created,
            "skipped": self.skipped,
            "labels": self.labels,
            "rows": self.rows,
            "errors": self.errors,
            "error_count": self.error_count,
            "error_codes": self.error_codes,
            "batch": self.batch_id,
            "file_name": self.file_name,
            "sha256": self.sha256,
        }
