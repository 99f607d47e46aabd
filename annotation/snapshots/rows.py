"""Selecting a snapshot's items and turning them into canonical rows, in bounded memory.

Items are read in primary-key pages with ``values_list`` and their annotations
fetched per page, so no more than one page of model data is ever held. A stratified
split needs every item's label before any row can get its split, so the first pass
writes each item's rows to a scratch file and keeps two small arrays (a stratum
code and a hash draw per item, 12 bytes per item); the second pass reads the scratch
file back and adds the split.
"""

import hashlib
import marshal
from array import array
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from django.contrib.auth import get_user_model
from django.db.models import Exists, OuterRef

from annotation.audit_selectors import Curation
from annotation.item_label import decide_label
from annotation.models import Annotation, IssueStatus, Item, LabelIssue, Project, ReviewAction
from annotation.snapshots.compressed import CompressedSource
from annotation.snapshots.spec import SnapshotSpec
from annotation.text_selectors import shown_text

PAGE = 5000
# Every row has exactly these keys, in this order (the JSONL line is canonical).
COLUMNS = ("id", "text", "image", "label", "labels", "split", "label_source", "agreement",
           "n_annotations", "annotator", "meta")  # fmt: skip
COMPRESSED_COLUMNS = ("tokens", "tokens_original")  # after COLUMNS, in compressed snapshots


def row_columns(spec: SnapshotSpec) -> tuple[str, ...]:
    """A snapshot's columns: the canonical ones, then the compression's when it has one."""
    if spec.compression is None:
        return COLUMNS
    return COLUMNS + COMPRESSED_COLUMNS + (("original_text",) if spec.include_original else ())


@dataclass
class ItemRows:
    """One selected item: its rows (without split), stratum and lineage facts."""

    external_id: str
    stratum: str
    rows: list[dict[str, Any]]
    batch_id: int | None
    annotators: list[str | None] = field(default_factory=list)  # aliases (annotator_aliases)
    redacted_types: tuple[str, ...] = ()  # the personal data redacted from its text, by type


def select_items(*, project: Project, spec: SnapshotSpec, curation: Curation | None = None,
                 compressed: CompressedSource | None = None) -> Iterator[ItemRows]:  # fmt: skip
    """The spec's items in primary-key order, each with its rows.

    Items a reviewer excluded, and items whose content was deleted, are never exported; a
    reviewer's redacted copy replaces the text unless the spec asks for ``originals``;
    ``curation`` (the latest audit's, for the spec's ``exclude`` and ``redact_pii``) leaves
    out more and redacts texts; ``compressed`` swaps in the cached compressed texts.
    """
    curation = curation or Curation()
    items = Item.objects.filter(project=project, excluded=False, content_deleted_at__isnull=True)
    if spec.min_consensus_quality is not None:
        items = items.filter(consensus_quality__gte=spec.min_consensus_quality)
    if spec.only_reviewed:
        items = items.filter(Exists(ReviewAction.objects.filter(item=OuterRef("pk"))))
    if spec.exclude_open_issues:
        open_issue = LabelIssue.objects.filter(item=OuterRef("pk"), status=IssueStatus.OPEN)
        items = items.filter(~Exists(open_issue))
    fields = ("pk", "external_id", "text", "image", "meta", "final_labels", "consensus_labels",
              "import_batch_id", "redacted_text")  # fmt: skip
    keep = set(spec.labels) if spec.labels is not None else None
    aliases = annotator_aliases(project=project, names=spec.annotator_names)
    order = list(project.labels.order_by("position", "id").values_list("name", flat=True))
    last_pk = 0
    while True:
        page = list(items.filter(pk__gt=last_pk).order_by("pk").values_list(*fields)[:PAGE])
        if not page:
            return
        first_pk, last_pk = page[0][0], page[-1][0]
        by_item: dict[int, list[tuple]] = {}
        annotations = (
            Annotation.objects.filter(item_id__gte=first_pk, item_id__lte=last_pk, project=project)
            .order_by("item_id", "created_at", "pk")
            .values_list("item_id", "annotator_id", "labels", "source")
        )
        for item_id, user_id, labels, source in annotations:
            name = None if user_id is None else aliases[user_id]
            by_item.setdefault(item_id, []).append((name, _as_list(labels), source))
        cached = compressed.page([row[0] for row in page]) if compressed else {}
        for pk, ext, text, image, meta, final, consensus, batch, redacted in page:
            if pk in curation.excluded:
                continue
            redacted_types: tuple[str, ...] = ()
            spans = curation.spans.get(pk, ()) if spec.redact_pii else ()
            new = shown_text(text, redacted, originals=spec.originals, spans=spans)
            if new != text:  # a reviewer's redacted copy may hold spans no longer found
                redacted_types = tuple(str(s["type"]) for s in spans) or ("reviewed",)
            text = new
            base = {"id": ext, "text": text, "image": image or None, "meta": meta or {}}
            if compressed is not None:
                base["text"], extra = compressed.columns(text, cached.get(pk))
                base |= extra
            built = _item_rows(base, _as_list(final), _as_list(consensus), by_item.get(pk, []),
                               spec=spec, keep=keep, multi=project.multi_label,
                               order=order)  # fmt: skip
            if built is not None:
                built.batch_id, built.redacted_types = batch, redacted_types
                yield built


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


def _item_rows(base, final, consensus, annotations, *, spec, keep, multi, order) -> ItemRows | None:
    votes = [labels for _, labels, source in annotations if source != "review"]
    decision = decide_label(final=final, consensus=consensus, votes=votes, multi_label=multi,
                            order=order)  # fmt: skip
    agreement = None if decision.agreement is None else round(decision.agreement, 6)
    if spec.min_agreement is not None and (agreement is None or agreement < spec.min_agreement):
        return None
    if not decision.source:
        return None
    source, labels = decision.source, list(decision.labels)
    common = {"agreement": agreement, "n_annotations": decision.n_votes}
    if spec.label_source == "final":
        candidates = [(labels, source, None)]
    else:
        candidates = [(a_labels, a_source, user) for user, a_labels, a_source in annotations]
    rows = []
    for row_labels, row_source, annotator in candidates:
        kept = [name for name in row_labels if keep is None or name in keep]
        if not kept:
            continue
        rows.append(base | {"label": "|".join(kept) if multi else kept[0], "labels": kept,
                            "label_source": row_source, "annotator": annotator} | common)  # fmt: skip
    if not rows:
        return None
    stratum = rows[0]["label"] if spec.label_source == "final" else "|".join(labels)
    return ItemRows(base["id"], stratum, rows, None, [user for user, _, _ in annotations])


def unit_draw(seed: int, external_id: str) -> float:
    """A uniform number in [0, 1) fixed by the seed and the item: splits survive re-snapshots."""
    digest = hashlib.blake2b(f"{seed}:{external_id}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


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


def canonical_rows(*, project: Project, spec: SnapshotSpec, scratch: Path,
                   on_item: Callable[[ItemRows], None], curation: Curation | None = None,
                   compressed: CompressedSource | None = None) -> Iterator[dict[str, Any]]:  # fmt: skip
    """Every row of the snapshot, split included, in a reproducible order.

    ``on_item`` sees each selected item once (for lineage counts) during the
    first pass.
    """
    split_names = list(spec.splits)
    columns = row_columns(spec)
    codes: dict[str, int] = {}
    strata = array("i")  # 4 + 8 bytes per item, not two Python objects
    draws = array("d")
    with scratch.open("wb") as out:  # marshal: the fastest round trip for plain data
        for item in select_items(project=project, spec=spec, curation=curation,
                                 compressed=compressed):  # fmt: skip
            on_item(item)
            strata.append(codes.setdefault(item.stratum, len(codes)))
            draws.append(unit_draw(spec.seed, item.external_id))
            marshal.dump(item.rows, out)
    splits = assign_splits(np.frombuffer(strata, dtype=np.int32), np.frombuffer(draws),
                           ratios=list(spec.splits.values()), stratify=spec.stratify)  # fmt: skip
    del strata, draws
    with scratch.open("rb") as stored:
        for index in range(len(splits)):
            split = split_names[splits[index]]
            for row in marshal.load(stored):  # noqa: S302 - our own scratch file, written above
                row["split"] = split
                yield {name: row.get(name) for name in columns}
