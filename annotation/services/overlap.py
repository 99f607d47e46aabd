"""When is an item done? Adaptive overlap.

An item needs ``project.overlap`` distinct annotators. When that many have
labeled it and they disagree (fewer than ``min_item_agreement`` of them chose the
most common label set), it needs one more, up to ``project.max_overlap``.
Called inside the transaction that saves an annotation, with the item locked.
"""

from collections import Counter

from annotation.models import Annotation, AnnotationSource, Item, ItemStatus, Project


def item_agreement(label_sets: list[tuple[str, ...]]) -> float:
    """Share of annotations that agree with the most common label set (1.0 for <= 1)."""
    if len(label_sets) <= 1:
        return 1.0
    return Counter(label_sets).most_common(1)[0][1] / len(label_sets)


def item_refresh_status(*, item: Item, project: Project) -> Item:
    """Recount the item's annotations and decide its status and required overlap."""
    label_sets = [
        tuple(sorted(labels))
        for labels in Annotation.objects.filter(item=item)
        .exclude(source=AnnotationSource.REVIEW)
        .values_list("labels", flat=True)
    ]
    item.annotation_count = len(label_sets)
    required = max(item.required_overlap, project.overlap)
    if (
        item.annotation_count >= required
        and required < project.max_overlap
        and item_agreement(label_sets) < project.min_item_agreement
    ):
        required += 1  # disagreement: one more pair of eyes
    item.required_overlap = min(required, project.max_overlap)
    done = item.annotation_count >= item.required_overlap or item.final_labels is not None
    item.status = ItemStatus.COMPLETE if done else ItemStatus.OPEN
    item.save(update_fields=["annotation_count", "required_overlap", "status"])
    return item
