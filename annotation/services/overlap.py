"""When is an item done? Adaptive overlap and the agreement sample.

An item needs ``project.overlap`` distinct annotators (the minimum). On an overlap-1 project,
``project.agreement_sample`` (a share) picks items that need two instead, spread evenly through
the queue by a hash of their id, so that agreement is measured from the first labels on
(Label Studio Enterprise calls this an overlap percentage). The queue completes an item that has
started collecting labels before it starts a fresh one (``annotation.queue_selectors``), so
the sampled items get their second label early. When that many have labeled it
and they disagree (fewer than ``min_item_agreement`` of them gave the majority label set), or the
label-quality job found its consensus doubtful (``consensus_quality`` below ``min_item_agreement``
passed in by that job right after scoring), it needs one more, up to ``project.max_overlap``.

The required overlap is recomputed from the annotations in the order they arrived rather than
bumped by one per call: the first ``overlap`` annotations decide whether a next one is needed, the
first ``overlap + 1`` whether another, and so on. So a repeated call (a retry, a skip, a lease
release) never adds an annotator twice. It never goes down either: someone may already hold a lease
for the extra annotation.

Called inside the transaction that saves an annotation, with the item locked.
"""

from collections.abc import Sequence

from django.db.models import BigIntegerField, Case, F, Value, When
from django.db.models.lookups import LessThan

from annotation.item_label import agreement
from annotation.models import Item, ItemStatus, Project
from annotation.rawsql import annotation_labels, item_status_write

# Knuth's multiplicative hash: consecutive ids land far apart in [0, 2**32).
_SAMPLE_MULTIPLIER = 2_654_435_761
_SAMPLE_SPACE = 2**32


def in_agreement_sample(item_id: int, share: float) -> bool:
    """Whether the item is one of the ``share`` of items that get a second annotator."""
    return (item_id * _SAMPLE_MULTIPLIER) % _SAMPLE_SPACE < share * _SAMPLE_SPACE


def base_overlap(project: Project, item_id: int) -> int:
    """How many annotators the item needs before any of them disagree."""
    if project.overlap == 1 and in_agreement_sample(item_id, project.agreement_sample):
        return 2
    return project.overlap


def fresh_item_overlaps_set(*, project: Project, batch_id: int | None = None) -> int:
    """Give every item nobody has labeled yet its base overlap; returns how many rows changed.

    Called when the overlap or the agreement sample changes, and by an import for its own
    batch (``batch_id``), whose rows were written with the project's overlap: only a sample
    changes them then. Items that have labels keep what they have (adaptive overlap may have
    raised it).
    """
    # Typed constants: with server-side binding PostgreSQL would guess int4 for a bare
    # parameter, and 2**32 as an int4 is 0 ("division by zero").
    big = BigIntegerField()
    draw = (F("id") * Value(_SAMPLE_MULTIPLIER, big)) % Value(_SAMPLE_SPACE, big)
    sampled = project.overlap == 1 and project.agreement_sample > 0
    items = Item.objects.filter(project=project)
    if batch_id is not None:
        if not sampled:
            return 0
        items = items.filter(import_batch_id=batch_id)
    wanted = (
        Case(When(LessThan(draw, project.agreement_sample * _SAMPLE_SPACE), then=Value(2)),
             default=Value(1))
        if sampled else Value(project.overlap)
    )  # fmt: skip
    return items.filter(
        annotation_count=0, final_labels__isnull=True, status=ItemStatus.OPEN
    ).update(required_overlap=wanted)


def item_agreement(label_sets: Sequence[tuple[str, ...]], *, multi_label: bool) -> float:
    """Share of annotations that agree with their majority (``annotation.item_label``); 1.0 for
    one annotation or none."""
    if len(label_sets) <= 1:
        return 1.0
    share = agreement(label_sets, multi_label=multi_label)
    return 1.0 if share is None else share


def required_overlap(
    label_sets: Sequence[tuple[str, ...]],
    *,
    overlap: int,
    max_overlap: int,
    min_agreement: float,
    consensus_quality: float | None = None,
    multi_label: bool = False,
) -> int:
    """How many annotators an item needs, given its label sets in arrival order.

    ``consensus_quality`` (0..1, higher is better) counts only when it was computed on all of
    ``label_sets``; the caller passes None otherwise.
    """
    ceiling = max(max_overlap, overlap)
    required = overlap
    while required < ceiling and len(label_sets) >= required:
        first = label_sets[:required]
        doubtful = item_agreement(first, multi_label=multi_label) < min_agreement or (
            consensus_quality is not None
            and len(first) == len(label_sets)
            and consensus_quality < min_agreement
        )
        if not doubtful:
            break
        required += 1  # disagreement: one more pair of eyes
    return required


def item_refresh_status(*, item: Item, project: Project, consensus_fresh: bool = False) -> Item:
    """Recount the item's annotations and decide its status and required overlap.

    ``consensus_fresh``: the caller (the label-quality job) has just scored ``item.consensus_quality``
    on the item's current annotations, so a low score may ask for one more annotator. Otherwise the
    stored score predates the newest annotation and is ignored.
    """
    label_sets = [tuple(sorted(labels or ())) for labels in annotation_labels(item.pk)]
    item.annotation_count = len(label_sets)
    needed = required_overlap(
        label_sets,
        overlap=base_overlap(project, item.pk),
        max_overlap=project.max_overlap,
        min_agreement=project.min_item_agreement,
        consensus_quality=item.consensus_quality if consensus_fresh else None,
        multi_label=project.multi_label,
    )
    item.required_overlap = min(
        max(item.required_overlap, needed), max(project.max_overlap, base_overlap(project, item.pk))
    )
    done = item.annotation_count >= item.required_overlap or item.final_labels is not None
    item.status = ItemStatus.COMPLETE if done else ItemStatus.OPEN
    item_status_write(item_id=item.pk, annotation_count=item.annotation_count,
                      required_overlap=item.required_overlap, status=str(item.status))  # fmt: skip
    return item
