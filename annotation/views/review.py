"""The review page: a server-rendered shell; static/js/review.js walks the open label issues,
most severe first, through the review API."""

from typing import Any, cast

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import JsonResponse
from django.middleware.csrf import get_token
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_POST

from annotation.review_selectors import latest_issue_search
from annotation.selectors import CAN_REVIEW, labels_for_page
from annotation.services.review_undo import review_undo
from annotation.views.pages import member_project_or_404

# What an undone action was, in the words of the page's status line.
UNDONE = {
    "accept": "acceptance of",
    "relabel": "relabel of",
    "dismiss": "dismissal of the flag on",
    "requeue": "request for another annotation of",
}

# Keys of the review actions: a label with one of these keys is relabeled with r + its key.
ACTION_KEYS = {"a": "accept", "d": "dismiss", "q": "requeue"}
# r: relabel with a chosen label; t: take the model's suggestion (a whole set when multi-label).
DIRECT_KEY_CLASHES = {*ACTION_KEYS, "r", "t", "u", "?"}


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
    config = {
        "project": project.pk,
        "labels": labels,
        "csrf": get_token(request),
        "undoUrl": reverse("review-undo", args=[project.pk]),
    }
    context = {"project": project, "labels": labels, "config": config,
               "search": latest_issue_search(project=project)}  # fmt: skip
    return render(request, "annotation/review.html", context)


@login_required
@require_POST
def review_undo_view(request, project_id: int):
    """``u`` on the review page: reverse the reviewer's latest action (the page's own endpoint:
    JSON for the page's script). 409 with the reason when there is nothing to undo."""
    project, role = member_project_or_404(request, project_id)
    if role not in CAN_REVIEW:
        raise PermissionDenied("Only reviewers and managers review flagged labels.")
    try:
        logged = review_undo(project=project, reviewer=request.user)
    except ValidationError as error:
        return JsonResponse({"detail": " ".join(error.messages)}, status=409)
    after = cast(dict[str, Any], logged.after)  # review_undo always writes it
    undone = UNDONE.get(after["undone_action"], after["undone_action"])
    return JsonResponse(
        {
            "item": logged.item_id,
            "message": f"Undone: your {undone} item {logged.item.external_id}. "
            "It is back in the review queue.",
        }
    )
