"""The review page: a server-rendered shell; static/js/review.js walks the open label issues,
most severe first, through the review API."""

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.middleware.csrf import get_token
from django.shortcuts import render

from annotation.selectors import CAN_REVIEW, labels_for_page
from annotation.views.pages import member_project_or_404

# Keys of the review actions: a label with one of these keys is relabeled with r + its key.
ACTION_KEYS = {"a": "accept", "d": "dismiss", "q": "requeue"}
# r: relabel with a chosen label; t: take the model's suggestion (a whole set when multi-label).
DIRECT_KEY_CLASHES = {*ACTION_KEYS, "r", "t", "?"}


@login_required
def review_page(request, project_id: int):
    """One flagged item at a time: 404 for non-members, 403 for roles that cannot review."""
    project, role = member_project_or_404(request, project_id)
    if role not in CAN_REVIEW:
        raise PermissionDenied("Only reviewers and managers review flagged labels.")
    labels = [
        label | {"direct": bool(label["key"]) and label["key"] not in DIRECT_KEY_CLASHES}
        for label in labels_for_page(project=project)
    ]
    config = {"project": project.pk, "labels": labels, "csrf": get_token(request)}
    return render(
        request, "annotation/review.html", {"project": project, "labels": labels, "config": config}
    )
