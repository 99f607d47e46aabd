"""The review page: a server-rendered shell; static/js/review.js walks the open label issues,
most severe first, through the review API."""

import re

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.middleware.csrf import get_token
from django.shortcuts import render

from annotation.selectors import CAN_REVIEW
from annotation.views.pages import member_project_or_404

COLOR = re.compile(r"#[0-9a-fA-F]{6}")
# Keys of the review actions: a label with one of these keys is relabeled with r + its key.
ACTION_KEYS = {"a": "accept", "d": "dismiss", "q": "requeue"}


@login_required
def review_page(request, project_id: int):
    """One flagged item at a time: 404 for non-members, 403 for roles that cannot review."""
    project, role = member_project_or_404(request, project_id)
    if role not in CAN_REVIEW:
        raise PermissionDenied("Only reviewers and managers review flagged labels.")
    labels = [
        {
            "name": label.name,
            "key": label.key,
            "color": label.color if COLOR.fullmatch(label.color) else "#4e79a7",
            "direct": bool(label.key) and label.key not in ACTION_KEYS and label.key not in "r?",
        }
        for label in project.labels.all()
    ]
    config = {"project": project.pk, "labels": labels, "csrf": get_token(request)}
    return render(
        request, "annotation/review.html", {"project": project, "labels": labels, "config": config}
    )
