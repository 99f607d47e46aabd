"""Selecting a snapshot's items and turning them into canonical rows, in bounded memory.

Items are read in primary-key pages by raw SQL (``annotation.rawsql.snapshot_items``) and
their annotations fetched per page, so no more than one page of data is ever held. A
stratified split needs every item's label before any row can get its split, so the first
pass writes the items' rows to a scratch file, one record per ``CHUNK`` items
(``annotation.snapshots.batches``), and keeps two small arrays (a stratum code and a hash
draw per item, 12 bytes per item); the second pass reads the records back with each item's
split and hands each as one ``Batch`` to the writers.
"""

import hashlib
import json
from array import array
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from django.contrib.auth import get_user_model
from django.db import DEFAULT_DB_ALIAS, connections

from annotation.audit_selectors import Curation
from annotation.item_label import decide_label
from annotation.models import Annotation, Project
from annotation.rawsql import snapshot_annotations, snapshot_items
from annotation.snapshots.batches import (
    COLUMNS,
    COMPRESSED_COLUMNS,
    TAIL,
    Batch,
    Tail,
    record_write,
    scratch_batches,
)
from annotation.snapshots.compressed import CompressedSource
from annotation.snapshots.spec import SnapshotSpec
from annotation.text_selectors import shown_text

PAGE = 5000
_NOTHING: tuple[list[tuple], list[Any]] = ([], [])  # an item nobody annotated (never changed)
CHUNK = 2000  # items per scratch record and per batch handed to the writers
MEMO = 100_000  # distinct label texts or decisions remembered before starting over
__all__ = ["COLUMNS", "COMPRESSED_COLUMNS", "SelectedItem", "canonical_batches", "canonical_rows",
           "first_pass", "row_columns", "select_items"]  # fmt: skip


def row_columns(spec: SnapshotSpec) -> tuple[str, ...]:
    """A snapshot's columns: the canonical ones, then the compression's when it has one."""
    if spec.compression is None:
        return COLUMNS
    return COLUMNS + COMPRESSED_COLUMNS + (("original_text",) if spec.include_original else ())


@dataclass
class SelectedItem:
    """One selected item as the build holds it: its own values once, and one ``Tail``
    (``batches.TAIL``: what the row takes from the label decision) per row."""

    external_id: str
    stratum: str
    text: str
    image: str | None
    meta: Any
    extra: tuple[Any, ...]  # the compressed columns' values, in row_columns order
    tails: list[Tail]
    batch_id: int | None = None
    annotators: list[str | None] = field(default_factory=list)  # aliases (annotator_aliases)
    redacted_types: tuple[str, ...] = ()  # the personal data redacted from its text, by type

    @property
    def rows(self) -> list[dict[str, Any]]:
        """The rows as dicts in ``row_columns`` order, ``split`` None (for comparisons)."""
        extra = dict(zip((*COMPRESSED_COLUMNS, "original_text"), self.extra, strict=False))
        out = []
        for tail in self.tails:
            row = dict(zip(TAIL, tail, strict=True)) | {"labels": list(tail[1])}
            out.append({"id": self.external_id, "text": self.text, "image": self.image,
                        "label": row["label"], "labels": row["labels"], "split": None,
                        **{k: row[k] for k in TAIL[2:]}, "meta": self.meta, **extra})  # fmt: skip
        return out


def select_items(*, project: Project, spec: SnapshotSpec, curation: Curation | None = None,
                 compressed: CompressedSource | None = None) -> Iterator[SelectedItem]:  # fmt: skip
    """The spec's items in primary-key order, each with its rows.

    Items a reviewer excluded, and items whose content was deleted, are never exported; a
    reviewer's redacted copy replaces the text unless the spec asks for ``originals``;
    ``curation`` (the latest audit's, for the spec's ``exclude`` and ``redact_pii``) leaves
    out more and redacts texts; ``compressed`` swaps in the cached compressed texts.

    Each page is two statements (``rawsql.snapshot_items`` and ``snapshot_annotations``)
    whose JSON columns arrive as text: a project has few distinct label lists, so each is
    decoded once (``_Decoded``), and so is each item's label decision (``_Decisions``).
    """
    curation = curation or Curation()
    keep = set(spec.labels) if spec.labels is not None else None
    aliases = annotator_aliases(project=project, names=spec.annotator_names)
    order = list(project.labels.order_by("position", "id").values_list("name", flat=True))
    labels_of, decisions = _Decoded(), _Decisions(multi=project.multi_label, order=order)
    tails = _Tails(spec=spec, keep=keep, multi=project.multi_label)
    excluded, spans_of = curation.excluded, (curation.spans if spec.redact_pii else {})
    for page, page_annotations, cached in _pages(project=project, spec=spec,
                                                 compressed=compressed):  # fmt: skip
        # Per item: its annotations (name, labels, source) and its votes' JSON texts, the
        # decision's key (a driver that decodes JSON itself gives the labels as a tuple).
        by_item: dict[int, tuple[list[tuple], list[Any]]] = {}
        known = labels_of.known.get
        for item_id, user_id, raw, source in page_annotations:
            labels = known(raw) if raw.__class__ is str else None
            if labels is None:
                labels = labels_of(raw)
            entry = by_item.get(item_id)
            if entry is None:
                entry = by_item[item_id] = ([], [])
            entry[0].append((None if user_id is None else aliases[user_id], labels, source))
            if source != "review":
                entry[1].append(raw if raw.__class__ is str else tuple(labels))
        for pk, ext, text, image, meta, final, consensus, batch, redacted in page:
            if pk in excluded:
                continue
            redacted_types: tuple[str, ...] = ()
            spans = spans_of.get(pk, ())
            if redacted is not None or spans:  # else shown_text returns the text itself
                new = shown_text(text, redacted, originals=spec.originals, spans=spans)
                if new != text:  # a reviewer's redacted copy may hold spans no longer found
                    redacted_types = tuple(str(s["type"]) for s in spans) or ("reviewed",)
                text = new
            extra: tuple[Any, ...] = ()
            if compressed is not None:
                text, columns = compressed.columns(text, cached.get(pk))
                extra = tuple(columns.values())
            annotations, votes = by_item.get(pk, _NOTHING)
            decision = decisions((final, consensus, *votes), annotations, labels_of)
            found = tails(decision, annotations)
            if found is not None:
                yield SelectedItem(ext, found[0], text, image or None, _meta(meta), extra,
                                   found[1], batch, [user for user, _, _ in annotations],
                                   redacted_types)  # fmt: skip


Page = tuple[list[tuple], list[tuple], dict[int, Any]]  # items, annotations, compressed


def _pages(*, project: Project, spec: SnapshotSpec,
           compressed: CompressedSource | None) -> Iterator[Page]:  # fmt: skip
    """The spec's items a page at a time, with the page's annotations and cached compressed
    texts; each page is read on a thread, over this thread's database connection, while
    the caller works through the one before, so the database's time hides behind ours.
    Only that thread uses the connection until the pages end or the caller stops."""
    shared = connections[DEFAULT_DB_ALIAS]
    shared.inc_thread_sharing()
    pool = ThreadPoolExecutor(1, thread_name_prefix="snapshot-pages")

    def fetch(after: int) -> Page:
        connections[DEFAULT_DB_ALIAS] = shared
        page = snapshot_items(project_id=project.pk, after=after, limit=PAGE,
                              min_quality=spec.min_consensus_quality,
                              only_reviewed=spec.only_reviewed,
                              exclude_open_issues=spec.exclude_open_issues)  # fmt: skip
        if not page:
            return page, [], {}
        annotations = snapshot_annotations(project_id=project.pk, first=page[0][0],
                                           last=page[-1][0])  # fmt: skip
        return page, annotations, (compressed.page([row[0] for row in page]) if compressed
                                   else {})  # fmt: skip

    try:
        future = pool.submit(fetch, 0)
        while True:
            page, annotations, cached = future.result()
            if not page:
                return
            future = pool.submit(fetch, page[-1][0])
            yield page, annotations, cached
    finally:
        pool.shutdown(wait=True, cancel_futures=True)  # a query under way ends first
        shared.dec_thread_sharing()


class _Decoded:
    """JSON label lists by their text (a database returns JSON columns as text here): each
    distinct text is decoded once and shared, read-only, by every row that has it."""

    def __init__(self) -> None:
        self.known: dict[str, list[str]] = {}

    def __call__(self, raw: Any) -> list[str]:
        if not isinstance(raw, str):  # NULL, or a driver that decodes JSON itself
            return _as_list(raw)
        found = self.known.get(raw)
        if found is None:
            if len(self.known) > MEMO:
                self.known = {}
            found = self.known[raw] = _as_list(json.loads(raw))
        return found


class _Decisions:
    """``decide_label`` for one project, remembered by its inputs' JSON texts: the decision
    is a pure function of them, and a project has few distinct combinations."""

    def __init__(self, *, multi: bool, order: list[str]) -> None:
        self.multi, self.order = multi, order
        self.known: dict[tuple, tuple[str, tuple[str, ...], float | None, int]] = {}

    def __call__(self, key: tuple, annotations: list[tuple],
                 labels_of: _Decoded) -> tuple[str, tuple[str, ...], float | None, int]:  # fmt: skip
        """The decision for ``key``: the item's final and consensus labels and its votes,
        as the JSON texts they were read as."""
        found = self.known.get(key)
        if found is None:
            votes = [labels for _, labels, source in annotations if source != "review"]
            decision = decide_label(final=labels_of(key[0]), consensus=labels_of(key[1]),
                                    votes=votes, multi_label=self.multi,
                                    order=self.order)  # fmt: skip
            agreement = None if decision.agreement is None else round(decision.agreement, 6)
            if len(self.known) > MEMO:
                self.known = {}
            found = self.known[key] = (decision.source, tuple(decision.labels), agreement,
                                       decision.n_votes)  # fmt: skip
        return found


def _meta(raw: Any) -> dict[str, Any]:
    if raw is None or raw == "{}":
        return {}
    return (json.loads(raw) if isinstance(raw, str) else raw) or {}


def annotator_aliases(*, project: Project, names: bool = False) -> dict[int, str]:
    """What a snapshot calls each annotator (user id to name): ``annotator-<n>``, numbered
    in user-id order among everyone who ever labeled in the project, so the same data gives
    the same rows and a newcomer never renumbers the others; usernames only when the spec
    asks for ``annotator_names`` (managers only)."""
    ids = list(
        Annotation.objects.filter(project=project, annotator__isnull=False)
        .order_by("annotator_id")
        .values_list("annotator_id", flat=True)
        .distinct()
    )
    if names:
        users = get_user_model().objects.filter(pk__in=ids)
        return dict(users.values_list("pk", "username"))
    return {user_id: f"annotator-{n}" for n, user_id in enumerate(ids, start=1)}


def _as_list(labels: Any) -> list[str]:
    if not labels:
        return []
    return [labels] if isinstance(labels, str) else [str(v) for v in labels]


class _Tails:
    """An item's stratum and its rows' tails from its label decision and annotations; in a
    "final" snapshot the tails are a pure function of the decision, so remembered by it."""

    def __init__(self, *, spec: SnapshotSpec, keep: set[str] | None, multi: bool) -> None:
        self.spec, self.keep, self.multi = spec, keep, multi
        self.final = spec.label_source == "final"
        self.known: dict[tuple, tuple[str, list[Tail]] | None] = {}

    def __call__(self, decision: tuple, annotations: list[tuple]) -> tuple[str, list[Tail]] | None:
        if self.final:
            found = self.known.get(decision, False)
            if found is False:
                if len(self.known) > MEMO:
                    self.known = {}
                found = self.known[decision] = self._build(decision, annotations)
            return found  # type: ignore[return-value]
        return self._build(decision, annotations)

    def _build(self, decision: tuple, annotations: list[tuple]) -> tuple[str, list[Tail]] | None:
        source, labels, agreement, n_votes = decision
        min_agreement = self.spec.min_agreement
        if min_agreement is not None and (agreement is None or agreement < min_agreement):
            return None
        if not source:
            return None
        # (labels, source, annotator): the decision's, or each annotation's.
        candidates: list[tuple[tuple[str, ...], str, str | None]]
        if self.final:
            candidates = [(labels, source, None)]
        else:
            candidates = [(a_labels, a_source, user) for user, a_labels, a_source in annotations]
        keep = self.keep
        tails: list[Tail] = []
        for row_labels, row_source, annotator in candidates:
            kept = tuple(name for name in row_labels if keep is None or name in keep)
            if kept:
                label = "|".join(kept) if self.multi else kept[0]
                tails.append((label, kept, row_source, agreement, n_votes, annotator))
        if not tails:
            return None
        return (tails[0][0] if self.final else "|".join(labels)), tails


def unit_draw(seed: int, external_id: str) -> float:
    """A uniform number in [0, 1) fixed by the seed and the item: splits survive re-snapshots."""
    digest = hashlib.blake2b(f"{seed}:{external_id}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


class UnitDraws:
    """``unit_draw`` for many items, 8 bytes each: the digests are kept and turned into
    numbers all at once (a 64-bit integer to float64 and a division by 2**64 round as
    Python's ``int / int`` does)."""

    def __init__(self, seed: int) -> None:
        self.prefix = f"{seed}:".encode()
        self.digests = bytearray()

    def add(self, external_id: str) -> None:
        self.digests += hashlib.blake2b(self.prefix + external_id.encode(),
                                        digest_size=8).digest()  # fmt: skip

    def array(self) -> np.ndarray:
        """(N,) float64 array, one draw per ``add``, in order."""
        return np.frombuffer(self.digests, dtype=">u8").astype(np.float64) / 2**64


def assign_splits(strata: np.ndarray, draws: np.ndarray, *, ratios: list[float],
                  stratify: bool) -> np.ndarray:  # fmt: skip
    """Split index per item.

    Parameters
    ----------
    strata : (N,) int array, the item's label group.
    draws : (N,) float array in [0, 1), from ``unit_draw``.
    ratios : (S,) split ratios summing to 1.

    Returns
    -------
    (N,) int8 array of indices into the splits. Unstratified, an item's split
    depends on its draw alone; stratified, each label group is ordered by draw
    and cut at the rounded cumulative ratios, so every label gets its share.
    """
    bounds = np.cumsum(ratios)
    bounds[-1] = 1.0
    if not stratify:
        return np.searchsorted(bounds, draws, side="right").astype(np.int8)
    out = np.empty(len(draws), dtype=np.int8)
    order = np.lexsort((draws, strata))
    sorted_strata = strata[order]
    starts = np.flatnonzero(np.r_[True, sorted_strata[1:] != sorted_strata[:-1]])
    ends = np.r_[starts[1:], len(order)]
    for start, end in zip(starts, ends, strict=True):
        cuts = np.rint(bounds * (end - start)).astype(int)
        ranks = np.arange(end - start)
        out[order[start:end]] = np.searchsorted(cuts, ranks, side="right")
    return out


def canonical_batches(*, project: Project, spec: SnapshotSpec, scratch: Path,
                      on_item: Callable[[SelectedItem], None], curation: Curation | None = None,
                      compressed: CompressedSource | None = None) -> Iterator[Batch]:  # fmt: skip
    """Every row of the snapshot, split included, in a reproducible order, as a ``Batch``
    per up to ``CHUNK`` items (``first_pass`` then ``scratch_batches``)."""
    splits = first_pass(project=project, spec=spec, scratch=scratch, on_item=on_item,
                        curation=curation, compressed=compressed)  # fmt: skip
    yield from scratch_batches(scratch, splits, list(spec.splits))


def first_pass(*, project: Project, spec: SnapshotSpec, scratch: Path,
               on_item: Callable[[SelectedItem], None], curation: Curation | None = None,
               compressed: CompressedSource | None = None) -> bytes:  # fmt: skip
    """Write the selected items to ``scratch`` (one record per ``CHUNK`` items) and return
    each item's split, as an index into the spec's split names: one byte per item.

    ``on_item`` sees each selected item once (for lineage counts).
    """
    codes: dict[str, int] = {}
    strata = array("i")  # 4 + 8 bytes per item, not two Python objects
    draws = UnitDraws(spec.seed)
    pending: list[SelectedItem] = []
    with scratch.open("wb") as out:
        for item in select_items(project=project, spec=spec, curation=curation,
                                 compressed=compressed):  # fmt: skip
            on_item(item)
            strata.append(codes.setdefault(item.stratum, len(codes)))
            draws.add(item.external_id)
            pending.append(item)
            if len(pending) == CHUNK:
                record_write(out, _record(pending))
                pending = []
        if pending:
            record_write(out, _record(pending))
    del pending
    splits = assign_splits(np.frombuffer(strata, dtype=np.int32), draws.array(),
                           ratios=list(spec.splits.values()), stratify=spec.stratify)  # fmt: skip
    return splits.astype(np.int8).tobytes()


def _record(items: list[SelectedItem]) -> tuple:
    """A chunk's scratch record (``batches.scratch_batches`` reads it): rows per item, the
    items' columns, each row's tail code and the chunk's distinct tails."""
    table: dict[Tail, int] = {}
    codes = [table.setdefault(tail, len(table)) for item in items for tail in item.tails]
    width = len(items[0].extra)
    extras = [[item.extra[k] for item in items] for k in range(width)]
    return ([len(item.tails) for item in items], [item.external_id for item in items],
            [item.text for item in items], [item.image for item in items],
            [item.meta for item in items], extras, codes, list(table))  # fmt: skip


def canonical_rows(*, spec: SnapshotSpec, **kwargs: Any) -> Iterator[dict[str, Any]]:
    """``canonical_batches``' rows one at a time, as dicts in ``row_columns`` order."""
    for batch in canonical_batches(spec=spec, **kwargs):
        yield from batch.rows(row_columns(spec))
