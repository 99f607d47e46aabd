"""The compressed texts a snapshot exports: read from the cache, one page of items at a time.

The compression job caches every item's text per (profile, version, level); a snapshot reads
them, never compresses. An item added after the sweep has no cached text: it is exported as
its original, with null token counts, and counted in the lineage (``uncompressed_items``).
"""

from dataclasses import dataclass
from typing import Any

from annotation.models import CompressedText

CachedText = tuple[
    str | None, int | None, int | None
]  # text (None: the original), tokens, original


@dataclass
class CompressedSource:
    """A resolved spec's ``{"profile", "version", "level"}``; ``page`` looks items up."""

    profile: int
    version: int
    level: float
    include_original: bool = False
    missing: int = 0

    @classmethod
    def from_spec(cls, compression: dict[str, Any] | None, *,
                  include_original: bool) -> "CompressedSource | None":  # fmt: skip
        if compression is None:
            return None
        return cls(profile=int(compression["profile"]), version=int(compression["version"]),
                   level=float(compression["level"]), include_original=include_original)  # fmt: skip

    def page(self, item_ids: list[int]) -> dict[int, CachedText]:
        """Each cached item's (text, tokens, tokens_original). At level 0 (the originals)
        any measured level's row gives the original's token count."""
        rows = CompressedText.objects.filter(profile_id=self.profile, version=self.version,
                                             item_id__in=item_ids)  # fmt: skip
        if self.level > 0:
            rows = rows.filter(level=self.level)
            return {i: (t, n, o) for i, t, n, o in
                    rows.values_list("item_id", "text", "tokens", "tokens_original")}  # fmt: skip
        return {i: (None, o, o) for i, o in rows.values_list("item_id", "tokens_original")}

    def columns(self, text: str, cached: CachedText | None) -> tuple[str, dict[str, Any]]:
        """The row's text and its extra columns."""
        if cached is None:
            self.missing += 1
            cached = (None, None, None)
        new_text, tokens, original = cached
        extra: dict[str, Any] = {"tokens": tokens, "tokens_original": original}
        if self.include_original:
            extra["original_text"] = text
        return (text if new_text is None else new_text), extra
