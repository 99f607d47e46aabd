"""Deciding whether a request may read original texts of redacted items, and logging it.

Only managers see originals, and only when they ask; every view of an original that differs
from its redacted copy is written to the access log as ``pii_view``. The rule for which text
is shown lives in ``annotation.text_selectors``.
"""

from collections.abc import Iterable

from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied

from annotation.models import Item, Project
from annotation.selectors import CAN_MANAGE
from annotation.services.audit import access_log_write
from annotation.text_selectors import REDACTED_VIEW, TextView

LOGGED_IDS = 1000  # item ids kept in one access-log entry; the count is always exact


def text_view_for(*, role: str | None, originals: bool) -> TextView:
    """The redacted view, or the originals for a manager who asked; anyone else who asks
    is refused (``PermissionDenied``: 403), so nobody mistakes a redacted copy for the text."""
    if not originals:
        return REDACTED_VIEW
    if role not in CAN_MANAGE:
        raise PermissionDenied("Only the project's managers can read original texts.")
    return TextView(originals=True)


def originals_served(*, view: TextView, user: User, project: Project,
                     items: Iterable[Item], object_type: str, object_id: object) -> None:  # fmt: skip
    """Log ``pii_view`` when ``view`` served originals of items that have a redacted copy
    (``items``: the items served; ``object_type``/``object_id``: what was read)."""
    if not view.originals:
        return
    redacted = sorted(item.pk for item in items if item.redacted_text is not None)
    _log(user, project, redacted, object_type, object_id)


def project_originals_served(*, view: TextView, user: User, project: Project,
                             object_type: str, object_id: object) -> None:  # fmt: skip
    """``originals_served`` for a whole-project read (an export, a snapshot download)."""
    if not view.originals:
        return
    redacted = list(
        Item.objects.filter(project=project, redacted_text__isnull=False)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    _log(user, project, redacted, object_type, object_id)


def _log(user, project: Project, redacted: list[int], object_type: str, object_id: object) -> None:
    if not redacted:
        return
    access_log_write(actor=user, action="pii_view", object_type=object_type, object_id=object_id,
                     project_id=project.pk,
                     detail={"items": redacted[:LOGGED_IDS], "count": len(redacted)})  # fmt: skip
