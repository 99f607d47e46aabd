"""Give an annotator a lease directly, for tests whose subject is not how the queue picks."""

from datetime import timedelta

from django.utils import timezone

from annotation.models import Item, Lease


def lease_for(item: Item, user, *, minutes: float = 10) -> Lease:
    """The annotator's lease on ``item`` for ``minutes`` (negative: already expired)."""
    lease, _ = Lease.objects.update_or_create(
        item=item, annotator=user,
        defaults={"project_id": item.project_id,
                  "expires_at": timezone.now() + timedelta(minutes=minutes)},
    )  # fmt: skip
    return lease
