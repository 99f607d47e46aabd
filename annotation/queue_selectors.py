"""Reads behind the annotator's queue: the queue's order, suggestions, history, progress.

The queue's order: an item that has started collecting labels comes before any fresh
item (more labels first), so items waiting for a second opinion (overlap, the agreement
sample, adaptive overlap, a reviewer's requeue) are completed before new ones are started;
among items with as many labels, the newest rescore's items come first (``score_generation``:
a rescore writes only the head of its ranking, and older heads stay below it in their own
model's order), then the active-learning priority decides, then the fallback order. Active
learning thus decides which items to *start*.

The candidate query and the held lease are hand-written (``annotation.rawsql.queue_head``,
``held_lease``): the labeling hot path. The candidate query walks the partial index of open
items (``item_open_queue_idx``: project, -annotation_count, -score_generation, -priority, sequence,
id WHERE open) in
queue order and stops at the first row that passes the per-row checks, so its cost depends
on how many items at the head of the queue this annotator cannot take (their own labels and
skips, other people's leases), not on project size. One annotator alone on an overlap-2
project walks past every item they labeled that still waits for its second label.
"""

from django.contrib.auth.models import User
from django.db.models import QuerySet

from annotation.models import Annotation, Item, ItemStatus, Project

QUEUE_ORDER = ("-annotation_count", "-score_generation", "-priority", "sequence", "id")


def item_suggestion(*, project: Project, item: Item) -> dict | None:
    """The model's suggested label when the project shows it, else None."""
    if not project.model_in_loop or not item.predicted_label:
        return None
    return {"label": item.predicted_label, "probability": item.predicted_score}


def my_history(
    *, project: Project, annotator: User, limit: int = 20, before_id: int | None = None
) -> QuerySet[Annotation]:
    """The annotator's own annotations in the project, newest first, with their items.

    Ordered by id (creation order) so the (project, id) index serves it backwards;
    ``before_id`` pages further into the past.
    """
    annotations = Annotation.objects.filter(project=project, annotator=annotator)
    if before_id is not None:
        annotations = annotations.filter(id__lt=before_id)
    return annotations.select_related("item").order_by("-id")[:limit]


def my_progress(*, project: Project, annotator: User) -> dict[str, int]:
    """``{"mine", "done", "total"}``: my annotations, complete items, all items."""
    items = Item.objects.filter(project=project)
    return {
        "mine": Annotation.objects.filter(project=project, annotator=annotator).count(),
        "done": items.filter(status=ItemStatus.COMPLETE).count(),
        "total": items.count(),
    }
