"""File writers for every snapshot format. Each takes canonical rows a batch at a time and
keeps at most one Parquet row group in memory, so a million rows cost what a thousand do.

Contract: ``write_many(rows)`` per batch (or ``write(row)``), then ``close(card)`` once;
``card`` is the dataset card (Markdown) that only the Hugging Face folder uses. A batch
costs a few calls per column, not per row: the files are the bytes one ``json.dumps`` and
one ``writerow`` per row gave (``tests/annotation/test_snapshot_identity.py``).
"""

import hashlib
import io
import json
import zipfile
from collections.abc import Callable, Iterator
from itertools import chain
from json.encoder import c_make_encoder, encode_basestring  # type: ignore[attr-defined]
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from annotation.csv_cells import ESCAPE, CsvRows
from annotation.snapshots.rows import COLUMNS

ROW_GROUP = 16_384
COMPRESSION = "zstd"
FORMAT_FILES = {
    "jsonl": "snapshot.jsonl",
    "csv": "snapshot.csv",
    "parquet": "snapshot.parquet",
    "hf": "snapshot-hf.zip",
    "labelstudio": "snapshot-labelstudio.json",
}
CONTENT_TYPES = {
    "jsonl": "application/x-ndjson",
    "csv": "text/csv; charset=utf-8",
    "parquet": "application/vnd.apache.parquet",
    "hf": "application/zip",
    "labelstudio": "application/json",
}
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


def _encoder(*, item: str = ", ", key: str = ": ", sort_keys: bool = False) -> Callable[[Any], str]:
    """``json.dumps(value, ensure_ascii=False, separators=(item, key), sort_keys=sort_keys)``.

    ``json.dumps`` builds a ``JSONEncoder`` and then its C encoder on every call, which cost
    more than the encoding of a short row; this C encoder is built once. It skips the
    circular-reference check, which never fires for rows (plain data built here), so the
    bytes are the same (``test_snapshot_identity`` compares them with ``json.dumps``).
    """
    if c_make_encoder is None:  # an interpreter without the C accelerator
        return json.JSONEncoder(ensure_ascii=False, separators=(item, key),
                                sort_keys=sort_keys).encode  # fmt: skip
    chunks = c_make_encoder(None, None, encode_basestring, None, key, item, sort_keys, False, True)
    return lambda value: "".join(chunks(value, 0))


_COMPACT = _encoder(item=",", key=":")
_SORTED = _encoder(sort_keys=True)
_PLAIN = _encoder()


def canonical_line(row: dict[str, Any]) -> str:
    """The row as one compact JSON line: the unit of the content hash."""
    return _COMPACT(row) + "\n"


def _meta_cell(meta: dict[str, Any]) -> str | None:
    """``meta`` as the CSV and Parquet files hold it: sorted JSON, None when empty."""
    return _SORTED(meta) if meta else None


class JsonlWriter:
    """JSON Lines; its bytes are hashed as written, so the hash is ``sha256sum`` of the file."""

    def __init__(self, path: Path):
        self.file = path.open("wb")
        self.sha256 = hashlib.sha256()

    def write(self, row: dict[str, Any]) -> None:
        self.write_many([row])

    def write_many(self, rows: list[dict[str, Any]]) -> None:
        if rows:
            data = ("\n".join(map(_COMPACT, rows)) + "\n").encode("utf-8")
            self.sha256.update(data)
            self.file.write(data)

    def close(self, card: str = "") -> None:
        self.file.close()


class CsvWriter:
    """One row per line; ``labels`` joined by '|', ``meta`` as JSON, null as empty.

    Spreadsheet formulas are neutralised unless ``csv_formulas`` is raw (see ``csv_cells``).
    """

    def __init__(self, path: Path, *, csv_formulas: str = ESCAPE,
                 columns: tuple[str, ...] = COLUMNS):  # fmt: skip
        self.file = path.open("w", encoding="utf-8", newline="")
        self.rows = CsvRows(self.file, mode=csv_formulas)
        self.columns = columns
        self.rows.header(columns)

    def write(self, row: dict[str, Any]) -> None:
        self.write_many([row])

    def write_many(self, rows: list[dict[str, Any]]) -> None:
        """The batch's cells column by column (what ``_cell`` gives each), then its lines."""
        cells = []
        for name in self.columns:
            values = [row[name] for row in rows]
            if name == "labels":
                values = ["" if v is None else "|".join(v) for v in values]
            elif name == "meta":
                values = ["" if v is None else (_meta_cell(v) or "") for v in values]
            else:
                values = ["" if v is None else v for v in values]
            cells.append(values)
        self.rows.many(cells)

    def close(self, card: str = "") -> None:
        self.file.close()


def _cell(name: str, value: Any) -> Any:
    if value is None:
        return ""
    if name == "labels":
        return "|".join(value)
    if name == "meta":
        return _meta_cell(value) or ""
    return value


class ParquetWriter:
    """Parquet in row groups of ``ROW_GROUP`` rows; ``meta`` is a JSON string column.

    The group waits as one list per column (not one dict per row): a 16,384-row
    group of short texts costs about 8 MB.
    """

    def __init__(self, path: Path, *, columns: tuple[str, ...] = COLUMNS):
        self.schema = _schema(columns)
        self.names = columns
        self.writer = pq.ParquetWriter(path, self.schema, compression=COMPRESSION)
        self.columns: dict[str, list[Any]] = {name: [] for name in columns}

    def write(self, row: dict[str, Any]) -> None:
        self.write_many([row])

    def write_many(self, rows: list[dict[str, Any]]) -> None:
        for name, column in self.columns.items():
            if name == "meta":
                column.extend([_meta_cell(row["meta"]) for row in rows])
            else:
                column.extend([row[name] for row in rows])
        while len(self.columns["id"]) >= ROW_GROUP:  # every group but the last: ROW_GROUP rows
            self.flush(ROW_GROUP)

    def flush(self, size: int | None = None) -> None:
        if self.columns["id"]:
            group = {name: column[:size] for name, column in self.columns.items()}
            self.writer.write_table(pa.Table.from_pydict(group, schema=self.schema))
            self.columns = {name: column[len(group["id"]):]
                            for name, column in self.columns.items()}  # fmt: skip
            del group
            _release_arrow_memory()

    def close(self, card: str = "") -> None:
        self.flush()
        self.writer.close()


class HuggingFaceWriter:
    """A ``datasets``-ready folder, zipped: ``data/<split>-00000-of-00001.parquet`` per split
    and a README.md dataset card whose YAML header names the split files.

    It writes nothing per row: at close it reads the finished snapshot Parquet file one
    row group at a time and routes each group's rows to their split's file, so no second
    set of row buffers is ever held.
    """

    def __init__(self, path: Path, *, folder: str, source: Path):
        self.path = path
        self.folder = folder
        self.source = source

    def write(self, row: dict[str, Any]) -> None:
        pass

    def write_many(self, rows: list[dict[str, Any]]) -> None:
        pass

    def close(self, card: str = "") -> None:
        parts = self.path.parent / f".{self.path.name}.parts"
        parts.mkdir(exist_ok=True)
        writers: dict[str, pq.ParquetWriter] = {}
        source = pq.ParquetFile(self.source)  # its schema: the compressed columns too
        for batch in source.iter_batches(batch_size=ROW_GROUP):
            split_column = batch.column("split")
            for split in pc.unique(split_column).to_pylist():
                if split not in writers:
                    name = parts / f"{split}-00000-of-00001.parquet"
                    writers[split] = pq.ParquetWriter(name, source.schema_arrow,
                                                      compression=COMPRESSION)  # fmt: skip
                chosen = batch.filter(pc.equal(split_column, split))
                writers[split].write_table(pa.Table.from_batches([chosen]))
            _release_arrow_memory()
        for writer in writers.values():
            writer.close()
        splits = [s for s in ("train", "validation", "test") if s in writers]
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
        parts.rmdir()


class LabelStudioWriter:
    """Label Studio tasks (a JSON array): one task per item, its label(s) as ``choices``.

    Rows of one item arrive together (``every`` gives several), so they become
    that task's annotations. The task id is Quorum's external id, which Quorum's
    importer reads back as the item id.
    """

    def __init__(self, path: Path, *, to_name: str = "text"):
        self.file = path.open("w", encoding="utf-8")
        self.file.write("[")
        self.to_name = to_name
        self.task: dict[str, Any] | None = None
        self.count = 0

    def write(self, row: dict[str, Any]) -> None:
        self.write_many([row])

    def write_many(self, rows: list[dict[str, Any]]) -> None:
        """Tasks end when the next row's id differs; the last one waits for more rows."""
        done, task = [], self.task
        for row in rows:
            if task is None or task["id"] != row["id"]:
                if task is not None:
                    done.append(_PLAIN(task))
                data: dict[str, Any] = {"text": row["text"]} if row["text"] else {}
                if row["image"]:
                    data["image"] = row["image"]
                if row["meta"]:
                    data["meta"] = row["meta"]
                meta = {"split": row["split"], "agreement": row["agreement"]}
                task = {"id": row["id"], "data": data, "annotations": [], "meta": meta}
            result = {"from_name": "label", "to_name": self.to_name, "type": "choices",
                      "value": {"choices": row["labels"]}}  # fmt: skip
            task["annotations"].append({"result": [result]})
        self.task = task
        self._write(done)

    def _write(self, tasks: list[str]) -> None:
        if tasks:
            self.file.write((",\n" if self.count else "\n") + ",\n".join(tasks))
            self.count += len(tasks)

    def close(self, card: str = "") -> None:
        self._write([_PLAIN(self.task)] if self.task is not None else [])
        self.file.write("\n]\n")
        self.file.close()


def csv_from_jsonl(jsonl: Path, *, csv_formulas: str, chunk_rows: int = 500) -> Iterator[bytes]:
    """A snapshot's CSV rebuilt from its JSON Lines file, streamed: for a CSV in another
    ``csv_formulas`` mode than the stored one, without a second file on disk."""
    out = io.StringIO()
    rows = CsvRows(out, mode=csv_formulas)
    with jsonl.open(encoding="utf-8") as lines:
        first = lines.readline()
        columns = tuple(json.loads(first)) if first else COLUMNS  # canonical rows: in order
        rows.header(columns)
        for n, line in enumerate(chain([first] if first else [], lines), start=1):
            row = json.loads(line)
            rows.row([_cell(name, row[name]) for name in columns])
            if n % chunk_rows == 0:
                yield out.getvalue().encode()
                out.seek(0)
                out.truncate()
    yield out.getvalue().encode()


def open_writers(directory: Path, *, folder: str, data_type: str,
                 columns: tuple[str, ...] = COLUMNS) -> dict[str, Any]:  # fmt: skip
    """One writer per format, writing into ``directory`` under ``FORMAT_FILES`` names."""
    return {
        "jsonl": JsonlWriter(directory / FORMAT_FILES["jsonl"]),
        "csv": CsvWriter(directory / FORMAT_FILES["csv"], columns=columns),
        "parquet": ParquetWriter(directory / FORMAT_FILES["parquet"], columns=columns),
        # After "parquet" (dicts keep their order): it reads the finished Parquet file.
        "hf": HuggingFaceWriter(
            directory / FORMAT_FILES["hf"], folder=folder, source=directory / FORMAT_FILES["parquet"]
        ),
        "labelstudio": LabelStudioWriter(directory / FORMAT_FILES["labelstudio"],
                                         to_name=data_type),
    }  # fmt: skip
