"""Who may add a label to an item: the queue's rule, checked once, inside the submit.

An annotator labels an item only through the queue:

- holding an unexpired lease on it: accepted;
- with a lease that expired (a label sent late, e.g. from the labeling page's offline
  outbox): accepted while the item still needs a label that nobody else holds a lease
  for, that is while its annotations plus other people's unexpired leases stay under its
  required overlap; otherwise refused (``lease_lost``);
- never leased (or the lease was given up by a skip): refused (``not_leased``);
- the item is complete (enough labels, or a reviewer's decision): refused
  (``item_complete``), whoever asks. Reviewers and managers change a finished item's
  label with ``POST /api/items/{id}/review`` (relabel), which is recorded as a review.

A refusal is data: ``code`` names the rule, ``message`` says what to do. Someone who
already labeled the item always hears ``already_annotated`` with their annotation's id
instead, so that a retried send is recognised as delivered.

An expired lease row stays in the table until its owner labels, skips or is leased the
item again (nothing sweeps them), which is what makes a late label recognisable.
"""

from datetime import datetime

from annotation.models import Annotation, Item, ItemStatus, Lease


class LabelRefused(Exception):
    """The label was not recorded; ``code`` says which rule refused it."""

    code = "refused"

    def __init__(self, message: str, *, annotation_id: int | None = None):
        super().__init__(message)
        self.message = message
        self.annotation_id = annotation_id

    def as_data(self) -> dict:
        data: dict[str, str | int] = {"code": self.code, "detail": self.message}
        if self.annotation_id is not None:
            data["annotation_id"] = self.annotation_id
        return data


class AlreadyAnnotated(LabelRefused):
    """The annotator already labeled this item; ``annotation_id`` is that label."""

    code = "already_annotated"

    def __init__(self, annotation_id: int | None):
        super().__init__(
            f"You already labeled this item (annotation {annotation_id}); change it with "
            f"PATCH /api/annotations/{annotation_id}/.",
            annotation_id=annotation_id,
        )


class NotLeased(LabelRefused):
    code = "not_leased"


class LeaseLost(LabelRefused):
    code = "lease_lost"


class ItemComplete(LabelRefused):
    code = "item_complete"


def label_check(*, item: Item, annotator_id: int, lease_expires: datetime | None,
                now: datetime) -> None:  # fmt: skip
    """Raise the ``LabelRefused`` that applies, or return when the label may be recorded.

    ``item`` is locked (its counts are current); ``lease_expires`` comes from
    ``annotation.rawsql.lease_take``, which deleted the lease inside the submit's transaction
    (a refusal rolls that back; on the accepted path it is the release). Only the refusals and late labels read anything more.
    """
    fresh = lease_expires is not None and lease_expires > now
    if fresh and item.status != ItemStatus.COMPLETE:
        return
    mine = (
        Annotation.objects.filter(item_id=item.pk, annotator_id=annotator_id)
        .values_list("id", flat=True)
        .first()
    )
    if mine is not None:
        raise AlreadyAnnotated(mine)
    if item.status == ItemStatus.COMPLETE:
        raise ItemComplete(
            "This item already has the labels it needs. Reviewers and managers change its "
            f"label with POST /api/items/{item.pk}/review."
        )
    if lease_expires is None:
        raise NotLeased(
            "This item was not given to you: ask the queue for your next item "
            f"(GET /api/projects/{item.project_id}/next) and label that one."
        )
    held = Lease.objects.filter(item_id=item.pk, expires_at__gt=now).exclude(
        annotator_id=annotator_id
    )
    if item.annotation_count + held.count() >= item.required_overlap:
        raise LeaseLost(
            "Your time on this item ran out and it went to someone else; your label was "
            "not recorded. Ask the queue for your next item."
        )
