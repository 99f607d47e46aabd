"""What each role may do in a project, as links: the project bar and the project page's hub.

The role sets are the selectors' own (``CAN_*``), the same ones the views check, so a link
is shown exactly when its page would open.
"""

from typing import NotRequired, TypedDict

from django.urls import reverse

from annotation.audit_selectors import open_finding_count
from annotation.models import Project
from annotation.review_selectors import open_issue_count
from annotation.selectors import CAN_EXPORT, CAN_LABEL, CAN_MANAGE, CAN_REVIEW

HINTS = {
    "label": "Label the next items the queue picks for you.",
    "review": "Check the labels the model flagged as likely wrong.",
    "audit": "Duplicates, conflicts, personal data and outliers the data audit found.",
    "project-dashboard": "Progress, agreement, class balance and the model's learning curve.",
    "snapshots": "Cut a versioned training set and download it.",
    "manage-settings": "Name, labels, overlap, queue strategy and guidelines.",
    "manage-import": "Upload items (CSV, JSON Lines, images) and see every bad row.",
    "manage-members": "Add people and give each a role.",
    "compression": "Preview what a compression profile removes and what it costs the model.",
    "access-log": "Who downloaded, changed roles or settings, or saw personal data.",
    "webhooks": "Alert rules, webhooks that receive events, and their delivery log.",
}


class ProjectAction(TypedDict):
    name: str  # the URL name
    label: str
    url: str
    count: NotRequired[int]  # open work on the page (review, audit)
    hint: NotRequired[str]  # set on every action before it is returned


def project_actions(*, project: Project, role: str | None) -> list[ProjectAction]:
    """``[{"name", "label", "url", "count"?}]``: the pages ``role`` may open, in work order."""
    pk = project.pk
    actions: list[ProjectAction] = [
        {"name": "project-detail", "label": "Overview", "url": reverse("project-detail", args=[pk])}
    ]
    if role in CAN_LABEL:
        actions.append({"name": "label", "label": "Label", "url": reverse("label", args=[pk])})
    if role in CAN_REVIEW:
        actions.append(
            {"name": "review", "label": "Review", "url": reverse("review", args=[pk]),
             "count": open_issue_count(project=project)}
        )  # fmt: skip
        actions.append(
            {"name": "audit", "label": "Audit", "url": reverse("audit", args=[pk]),
             "count": open_finding_count(project=project)}
        )  # fmt: skip
        actions.append(
            {"name": "project-dashboard", "label": "Dashboard",
             "url": reverse("project-dashboard", args=[pk])}
        )  # fmt: skip
    if role in CAN_EXPORT:
        url = reverse("project-detail", args=[pk]) + "#snapshots"
        actions.append({"name": "snapshots", "label": "Snapshots", "url": url})
    if role in CAN_MANAGE:
        for name, label in (("manage-settings", "Settings"), ("manage-import", "Import"),
                            ("manage-members", "Members"), ("compression", "Compression"),
                            ("access-log", "Access log"),
                            ("webhooks", "Alerts & webhooks")):  # fmt: skip
            actions.append({"name": name, "label": label, "url": reverse(name, args=[pk])})
    for action in actions:
        action["hint"] = HINTS.get(action["name"], "")
    return actions
