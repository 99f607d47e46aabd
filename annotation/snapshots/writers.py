"""File writers for the snapshot's text formats (JSON Lines, CSV, Label Studio); the Parquet
and Hugging Face files are ``parquet_files``'. Each takes canonical rows a batch at a time and
keeps at most one Parquet row group in memory, so a million rows cost what a thousand do.

Contract: ``write_batch(batch)`` per ``batches.Batch``, then ``close(card)`` once; ``card``
is the dataset card (Markdown) that only the Hugging Face folder uses. The files are the
bytes one ``json.dumps`` and one ``csv.writer.writerow`` per row gave
(``tests/annotation/test_snapshot_identity.py`` builds them that way and compares): a line
is assembled from pieces that those encoders produced, the per-row values (id, text, image,
meta) through the very string encoder ``json.dumps`` calls, and the values a row takes from
its label decision (``batches.TAIL``) encoded once per distinct tail and split.
"""

import hashlib
import io
import json
from collections.abc import Callable, Iterator
from itertools import chain
from json.encoder import c_make_encoder, encode_basestring  # type: ignore[attr-defined]
from operator import itemgetter
from pathlib import Path
from typing import Any

from annotation.csv_cells import ESCAPE, TRIGGERS, CsvRows, csv_cell
from annotation.snapshots.batches import COLUMNS, TAIL, Batch

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


def meta_cell(meta: dict[str, Any]) -> str | None:
    """``meta`` as the CSV and Parquet files hold it: sorted JSON, None when empty."""
    return _SORTED(meta) if meta else None


class JsonlWriter:
    """JSON Lines; its bytes are hashed as written, so the hash is ``sha256sum`` of the file.

    A line is ``{"id":…,"text":…,"image":…`` + the row's tail and split (``,"label":…,
    "annotator":…``, encoded once per batch and pair) + ``,"meta":…`` + compressed columns.
    """

    def __init__(self, path: Path):
        self.file = path.open("wb")
        self.sha256 = hashlib.sha256()

    def write_batch(self, batch: Batch) -> None:
        if not len(batch):
            return
        pieces = [_COMPACT(dict(zip(TAIL[:2], tail[:2], strict=True)) | {"split": split}
                           | dict(zip(TAIL[2:], tail[2:], strict=True)))[1:-1]
                  for tail, split in batch.pairs()]  # fmt: skip
        tails = _pick(pieces, batch.keys())
        metas = [_COMPACT(m) if m else "{}" for m in batch.metas]
        columns = [_strings(batch.ids), _strings(batch.texts), _strings(batch.images), tails,
                   metas]  # fmt: skip
        form = '{"id":%s,"text":%s,"image":%s,%s,"meta":%s'
        for name, values in zip(("tokens", "tokens_original", "original_text"), batch.extras,
                                strict=False):  # fmt: skip
            form += f',"{name}":%s'
            columns.append([_COMPACT(v) for v in values])
        lines = map((form + "}").__mod__, zip(*columns, strict=True))
        data = ("\n".join(lines) + "\n").encode("utf-8")
        self.sha256.update(data)
        self.file.write(data)

    def close(self, card: str = "") -> None:
        self.file.close()


def _strings(values: list[Any]) -> list[str]:
    """Each value as ``json.dumps`` encodes it: strings through its own C encoder, in one
    ``map``; ``None`` (an image-less row) and anything else through the full encoder."""
    if values.count(None) == len(values):  # no images: the common case, counted in C
        return ["null"] * len(values)
    try:
        return list(map(encode_basestring, values))
    except TypeError:
        return [encode_basestring(v) if isinstance(v, str) else _COMPACT(v) for v in values]


def _pick(pieces: list[str], keys: list[int]) -> list[str]:
    """``[pieces[k] for k in keys]`` in C."""
    if len(keys) == 1:
        return [pieces[keys[0]]]
    return list(itemgetter(*keys)(pieces)) if keys else []


class CsvWriter:
    """One row per line; ``labels`` joined by '|', ``meta`` as JSON, null as empty.

    Spreadsheet formulas are neutralised (see ``csv_cells``): the stored file is always
    ``ESCAPE`` mode, where ``csv.writer`` quotes every text cell and doubles its quotes,
    which ``_quoted`` does for the per-row cells; the tail's cells go through ``CsvRows``.
    """

    def __init__(self, path: Path, *, columns: tuple[str, ...] = COLUMNS):
        self.file = path.open("w", encoding="utf-8", newline="")
        CsvRows(self.file, mode=ESCAPE).header(columns)
        self.columns = columns

    def write_batch(self, batch: Batch) -> None:
        if not len(batch):
            return
        out = io.StringIO(newline="")
        tail_rows = CsvRows(out, mode=ESCAPE)
        for (label, labels, source, agreement, n, annotator), split in batch.pairs():
            tail_rows.row([_blank(label), "|".join(labels), split, _blank(source),
                           _blank(agreement), _blank(n), _blank(annotator)])  # fmt: skip
        pieces = out.getvalue().split("\r\n")  # its cells hold no line breaks: our own values
        if len(pieces) != len(batch.split_names) * len(batch.tails) + 1:
            return self._write_slowly(batch)
        tails = _pick(pieces, batch.keys())
        metas = ['""' if not m else _quoted([meta_cell(m)])[0] for m in batch.metas]
        columns = [_quoted(batch.ids), _quoted(batch.texts), _quoted(batch.images), tails, metas]
        columns += [_quoted(values) for values in batch.extras]
        form = ",".join(["%s"] * len(columns)) + "\r\n"
        self.file.write("".join(map(form.__mod__, zip(*columns, strict=True))))

    def _write_slowly(self, batch: Batch) -> None:
        """Row by row through ``CsvRows`` (a label name with a line break in it)."""
        rows = CsvRows(self.file, mode=ESCAPE)
        for row in batch.rows(self.columns):
            rows.row([_cell(name, row[name]) for name in self.columns])

    def close(self, card: str = "") -> None:
        self.file.close()


def _blank(value: Any) -> Any:
    return "" if value is None else value


def _quoted(values: list[Any]) -> list[str]:
    """What ``CsvRows(mode=ESCAPE)`` writes for each cell: ``None`` as ``""``; text made
    inert (``csv_cell``), quoted, its quotes doubled; a number as ``csv.writer`` writes it."""
    if values.count(None) == len(values):  # no images: the common case, counted in C
        return ['""'] * len(values)
    out = []
    for v in values:
        if v.__class__ is str:
            if v and (v[0] in TRIGGERS or v[0].isspace()):
                v = csv_cell(v)
            out.append('"' + v.replace('"', '""') + '"' if '"' in v else '"' + v + '"')
        elif v is None:
            out.append('""')
        elif v.__class__ is int:
            out.append(str(v))
        else:
            cell = io.StringIO(newline="")
            CsvRows(cell, mode=ESCAPE).row([v])
            out.append(cell.getvalue()[:-2])
    return out


def _cell(name: str, value: Any) -> Any:
    if value is None:
        return ""
    if name == "labels":
        return "|".join(value)
    if name == "meta":
        return meta_cell(value) or ""
    return value


class LabelStudioWriter:
    """Label Studio tasks (a JSON array): one task per item, its label(s) as ``choices``.

    Rows of one item arrive together (``every`` gives several), so they become
    that task's annotations. The task id is Quorum's external id, which Quorum's
    importer reads back as the item id. A task is assembled from its id and data, its
    annotations (one piece per tail) and its meta (one piece per tail and split).
    """

    def __init__(self, path: Path, *, to_name: str = "text"):
        self.file = path.open("w", encoding="utf-8")
        self.file.write("[")
        self.to_name = to_name
        self.task: list[Any] | None = None  # [id, '{"id": …, "data": …', [annotations], meta]
        self.count = 0

    def write_batch(self, batch: Batch) -> None:
        """Tasks end when the next row's id differs; the last one waits for more rows."""
        if not len(batch):
            return
        results = [_PLAIN({"result": [{"from_name": "label", "to_name": self.to_name,
                                       "type": "choices", "value": {"choices": tail[1]}}]})
                   for tail in batch.tails]  # fmt: skip
        metas = [', "meta": ' + _PLAIN({"split": split, "agreement": tail[3]}) + "}"
                 for tail, split in batch.pairs()]  # fmt: skip
        annotations = _pick(results, batch.codes)
        task_metas = _pick(metas, batch.keys())
        ids, texts, images, metas_ = _strings(batch.ids), batch.texts, batch.images, batch.metas
        if images.count(None) == len(images) and not any(metas_):  # text only: in C mostly
            datas = ['{"text": ' + e + "}" if t else "{}" for e, t in
                     zip(_strings(texts), texts, strict=True)]  # fmt: skip
        else:
            datas = list(map(_task_data, texts, images, metas_))
        done, task = [], self.task
        for k, row_id in enumerate(batch.ids):
            if task is not None and task[0] == row_id:
                task[2].append(annotations[k])
                continue
            if task is not None:
                done.append(task)
            head = '{"id": ' + ids[k] + ', "data": ' + datas[k]
            task = [row_id, head, [annotations[k]], task_metas[k]]
        self.task = task
        self._write(done)

    def _write(self, tasks: list[list[Any]]) -> None:
        if tasks:
            lines = [head + ', "annotations": [' + ", ".join(anns) + "]" + meta
                     for _, head, anns, meta in tasks]  # fmt: skip
            self.file.write((",\n" if self.count else "\n") + ",\n".join(lines))
            self.count += len(tasks)

    def close(self, card: str = "") -> None:
        self._write([self.task] if self.task is not None else [])
        self.file.write("\n]\n")
        self.file.close()


def _task_data(text: str, image: str | None, meta: Any) -> str:
    """A task's ``data`` object as ``_PLAIN`` encodes it."""
    if text and not image and not meta:
        return '{"text": ' + _strings([text])[0] + "}"
    data: dict[str, Any] = {"text": text} if text else {}
    if image:
        data["image"] = image
    if meta:
        data["meta"] = meta
    return _PLAIN(data)


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


def open_writers(directory: Path, *, data_type: str,
                 columns: tuple[str, ...] = COLUMNS) -> dict[str, Any]:  # fmt: skip
    """The writers of the formats the build process writes itself (Parquet and Hugging Face
    are the side process's, ``annotation.snapshots.side``), into ``directory`` under
    ``FORMAT_FILES`` names."""
    return {
        "jsonl": JsonlWriter(directory / FORMAT_FILES["jsonl"]),
        "csv": CsvWriter(directory / FORMAT_FILES["csv"], columns=columns),
        "labelstudio": LabelStudioWriter(directory / FORMAT_FILES["labelstudio"],
                                         to_name=data_type),
    }  # fmt: skip
