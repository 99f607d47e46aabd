"""The snapshot's Parquet file and the Hugging Face folder's split files.

The side process (``annotation.snapshots.side``) writes them; the ``writers`` module's
contract holds: ``write_batch(batch)`` per ``batches.Batch``, then ``close``. The bytes are
those of ``Table.from_pydict`` per row group of ``ROW_GROUP`` rows
(``tests/annotation/test_snapshot_identity.py``).
"""

import zipfile
from collections.abc import Callable
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from annotation.snapshots.batches import COLUMNS, TAIL, Batch
from annotation.snapshots.writers import meta_cell

ROW_GROUP = 16_384
COMPRESSION = "zstd"
SCHEMA = pa.schema([
    ("id", pa.string()), ("text", pa.string()), ("image", pa.string()), ("label", pa.string()),
    ("labels", pa.list_(pa.string())), ("split", pa.string()), ("label_source", pa.string()),
    ("agreement", pa.float64()), ("n_annotations", pa.int32()), ("annotator", pa.string()),
    ("meta", pa.string()),
])  # fmt: skip
EXTRA_FIELDS = {"tokens": pa.int64(), "tokens_original": pa.int64(), "original_text": pa.string()}


def _schema(columns: tuple[str, ...]) -> pa.Schema:
    """``SCHEMA`` and the compressed snapshot's columns it has."""
    return pa.schema([*SCHEMA, *((name, EXTRA_FIELDS[name]) for name in columns
                                 if name in EXTRA_FIELDS)])  # fmt: skip


def _release_arrow_memory() -> None:
    """Hand Arrow's freed buffers back to the OS: its allocator otherwise keeps them, which
    measured about 40 MB more peak RSS for one Parquet file plus the per-split copies."""
    pa.default_memory_pool().release_unused()


class ParquetWriter:
    """Parquet in row groups of ``ROW_GROUP`` rows; ``meta`` is a JSON string column.

    Each batch becomes Arrow arrays at once (the tail's columns as one small array per
    batch, taken by each row's code); a group is the batches' arrays joined and cut at
    ``ROW_GROUP`` rows, one chunk per column as ``Table.from_pydict`` made it.
    """

    def __init__(self, path: Path, *, columns: tuple[str, ...] = COLUMNS,
                 row_group: int | None = None,
                 on_group: Callable[[pa.Table], None] | None = None):  # fmt: skip
        self.on_group = on_group  # sees each row group once written (the Hugging Face files)
        self.schema = _schema(columns)
        self.names = columns
        self.row_group = row_group or ROW_GROUP
        self.writer = pq.ParquetWriter(path, self.schema, compression=COMPRESSION)
        self.pending: list[list[pa.Array]] = []
        self.rows = 0

    def write_batch(self, batch: Batch) -> None:
        if not len(batch):
            return
        codes = pa.array(batch.codes, pa.int32())
        split = pa.array(batch.split_names, pa.string()).take(pa.array(batch.splits, pa.int8()))
        arrays = []
        for name, field in zip(self.names, self.schema, strict=True):
            if name in TAIL:
                k = TAIL.index(name)
                values = [tail[k] for tail in batch.tails]
                arrays.append(pa.array(values, field.type).take(codes))
            elif name == "split":
                arrays.append(split)
            elif name == "meta":
                metas = [meta_cell(m) if m else None for m in batch.metas]
                arrays.append(pa.array(metas, field.type))
            else:
                arrays.append(pa.array(batch.column(name), field.type))
        self.pending.append(arrays)
        self.rows += len(batch)
        while self.rows >= self.row_group:  # every group but the last: row_group rows
            self.flush(self.row_group)

    def flush(self, size: int | None = None) -> None:
        if not self.rows:
            return
        joined = [pa.concat_arrays(list(parts)) for parts in zip(*self.pending, strict=True)]
        size = self.rows if size is None else size
        group = pa.Table.from_arrays([a.slice(0, size) for a in joined], schema=self.schema)
        self.writer.write_table(group)
        if self.on_group is not None:
            self.on_group(group)
        rest = [a.slice(size) for a in joined]
        self.rows -= size
        self.pending = [rest] if self.rows else []
        del group, joined, rest
        _release_arrow_memory()

    def close(self, card: str = "") -> None:
        self.flush()
        self.writer.close()


def _as_read(schema: pa.Schema) -> pa.Schema:
    """``schema`` as a Parquet file written with it reads back: a list's items are named
    ``element`` there, and the split files always carried the read-back schema."""
    return pa.schema([
        pa.field(f.name, pa.list_(pa.field("element", f.type.value_type)), f.nullable)
        if pa.types.is_list(f.type) else f
        for f in schema
    ])  # fmt: skip


class HuggingFaceWriter:
    """A ``datasets``-ready folder, zipped: ``data/<split>-00000-of-00001.parquet`` per split
    and a README.md dataset card whose YAML header names the split files.

    It writes nothing per row: ``write_group`` takes each row group of the snapshot's
    Parquet file as it is written and routes its rows to their split's file, so no second
    set of row buffers is ever held; ``finish_parts`` closes those files, and ``close``
    zips them with the card.
    """

    def __init__(self, path: Path, *, folder: str):
        self.path = path
        self.folder = folder
        self.writers: dict[str, pq.ParquetWriter] = {}

    def write_group(self, group: pa.Table) -> None:
        """Route a row group of the snapshot's Parquet file to its splits' files."""
        parts = self._parts()
        group = group.cast(_as_read(group.schema))
        split_column = group.column("split")
        for split in pc.unique(split_column).to_pylist():
            if split not in self.writers:
                parts.mkdir(exist_ok=True)
                name = parts / f"{split}-00000-of-00001.parquet"
                self.writers[split] = pq.ParquetWriter(name, group.schema,
                                                       compression=COMPRESSION)  # fmt: skip
            self.writers[split].write_table(group.filter(pc.equal(split_column, split)))

    def finish_parts(self) -> None:
        for writer in self.writers.values():
            writer.close()
        self.writers = {}

    def close(self, card: str = "") -> None:
        """The zip of the split files ``write_group`` wrote and the card."""
        parts = self._parts()
        splits = [s for s in ("train", "validation", "test")
                  if (parts / f"{s}-00000-of-00001.parquet").exists()]  # fmt: skip
        header = ["---", "configs:", "- config_name: default", "  data_files:"]
        for split in splits:
            header += [f"  - split: {split}", f"    path: data/{split}-*.parquet"]
        readme = "\n".join([*header, "---", "", card])
        with zipfile.ZipFile(self.path, "w") as archive:
            archive.writestr(f"{self.folder}/README.md", readme, zipfile.ZIP_DEFLATED)
            for split in splits:  # Parquet is compressed already: store it
                name = f"{split}-00000-of-00001.parquet"
                archive.write(parts / name, f"{self.folder}/data/{name}", zipfile.ZIP_STORED)
                (parts / name).unlink()
        if parts.exists():
            parts.rmdir()

    def _parts(self) -> Path:
        return self.path.parent / f".{self.path.name}.parts"
