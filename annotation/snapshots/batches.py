"""A snapshot's rows as the writers take them: column lists per batch, from a scratch file.

Django-free, so the format side process (``annotation.snapshots.side``) reads the same
scratch file without loading the app.

The first pass (``rows.canonical_batches``) writes one marshal record per chunk of items;
a record holds the items' own values once (id, text, image, meta, the compressed columns)
and, per row, a code into the chunk's table of distinct *tails*: the values a row takes
from its label decision, ``(label, labels, label_source, agreement, n_annotations,
annotator)``. A project has few distinct tails, so the writers encode each one once per
chunk and split (``Batch.keys``) instead of once per row.
"""

import marshal
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

# Every row has exactly these keys, in this order (the JSONL line is canonical).
COLUMNS = ("id", "text", "image", "label", "labels", "split", "label_source", "agreement",
           "n_annotations", "annotator", "meta")  # fmt: skip
COMPRESSED_COLUMNS = ("tokens", "tokens_original")  # after COLUMNS, in compressed snapshots
TAIL = ("label", "labels", "label_source", "agreement", "n_annotations", "annotator")
Tail = tuple[str, tuple[str, ...], str, float | None, int, str | None]


@dataclass
class Batch:
    """The rows of a chunk of items, column by column (every list has one entry per row).

    ``tails`` is the chunk's table of distinct tails, ``codes`` each row's index into it;
    ``splits`` each row's index into ``split_names``; ``extras`` the compressed columns
    after ``COLUMNS`` (``tokens``, ``tokens_original`` and maybe ``original_text``).
    """

    ids: list[str]
    texts: list[str]
    images: list[str | None]
    metas: list[Any]
    extras: list[list[Any]]
    codes: list[int]
    tails: list[Tail]
    splits: list[int]
    split_names: list[str]

    def __len__(self) -> int:
        return len(self.ids)

    def keys(self) -> list[int]:
        """Each row's (tail, split) pair as one index: ``code * len(split_names) + split``."""
        n = len(self.split_names)
        return [code * n + split for code, split in zip(self.codes, self.splits, strict=True)]

    def pairs(self) -> list[tuple[Tail, str]]:
        """Every (tail, split name) pair, in ``keys`` order."""
        return [(tail, name) for tail in self.tails for name in self.split_names]

    def column(self, name: str) -> list[Any]:
        """One column's values (``labels`` as tuples)."""
        if name in TAIL:
            k = TAIL.index(name)
            values = [tail[k] for tail in self.tails]
            return [values[code] for code in self.codes]
        if name == "split":
            return [self.split_names[s] for s in self.splits]
        plain: dict[str, list[Any]] = {
            "id": self.ids,
            "text": self.texts,
            "image": self.images,
            "meta": self.metas,
        }
        if name in plain:
            return plain[name]
        return self.extras[(*COMPRESSED_COLUMNS, "original_text").index(name)]

    def rows(self, columns: tuple[str, ...]) -> list[dict[str, Any]]:
        """The rows as dicts with ``columns`` keys in order (``labels`` as lists), for
        callers that want rows, not speed."""
        values = [self.column(name) for name in columns]
        at = columns.index("labels")
        values[at] = [list(v) for v in values[at]]
        return [dict(zip(columns, row, strict=True)) for row in zip(*values, strict=True)]


def record_write(out: BinaryIO, value: Any) -> None:
    """One length-prefixed marshal record: ``marshal.load`` on a file calls its ``readinto``
    once per object inside, ``marshal.loads`` of the record's bytes reads them in C."""
    data = marshal.dumps(value)
    out.write(len(data).to_bytes(8, "little"))
    out.write(data)


def record_read(stored: BinaryIO) -> Any:
    size = int.from_bytes(stored.read(8), "little")
    return marshal.loads(stored.read(size))  # noqa: S302 - our own scratch file


def scratch_batches(scratch: Path, splits: bytes, split_names: list[str]) -> Iterator[Batch]:
    """The scratch file's records as batches, ``splits`` giving each item's split index (one
    byte per item, in the order the items were written)."""
    start = 0
    with scratch.open("rb") as stored:
        while stored.peek(1):
            counts, ids, texts, images, metas, extras, codes, tails = record_read(stored)
            item_splits = list(splits[start : start + len(ids)])
            start += len(ids)
            if len(codes) != len(ids):  # some item has other than one row: repeat its values
                ids, texts, images, metas, item_splits = (
                    [v for v, n in zip(col, counts, strict=True) for _ in range(n)]
                    for col in (ids, texts, images, metas, item_splits)
                )
                extras = [[v for v, n in zip(col, counts, strict=True) for _ in range(n)]
                          for col in extras]  # fmt: skip
            yield Batch(ids, texts, images, metas, extras, codes, tails, item_splits, split_names)
