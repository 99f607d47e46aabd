"""Selectors: read-only queries, shared by views, the API and tasks."""

import re
from collections import Counter
from collections.abc import Iterable

from django.contrib.auth.models import AnonymousUser, User
from django.db.models import Count, Q, QuerySet

from annotation.models import (
    Annotation,
    ImportBatch,
    Item,
    ItemStatus,
    Membership,
    Project,
    Role,
)

CAN_MANAGE = frozenset({Role.MANAGER})
CAN_REVIEW = frozenset({Role.MANAGER, Role.REVIEWER})
CAN_LABEL = frozenset({Role.MANAGER, Role.ANNOTATOR, Role.REVIEWER})
CAN_READ_LABELS = frozenset({Role.MANAGER, Role.REVIEWER, Role.ENGINEER})
CAN_EXPORT = frozenset({Role.MANAGER, Role.ENGINEER})
CREATE_PROJECT_PERMISSION = "annotation.add_project"


def can_create_project(*, user: User) -> bool:
    """Who may start a project: staff, or users given ``annotation.add_project`` (in the admin,
    directly or through a group). The page, its button and the API all ask this one function."""
    return bool(
        user
        and user.is_authenticated
        and user.is_active
        and (user.is_staff or user.has_perm(CREATE_PROJECT_PERMISSION))
    )


def user_role(*, user: User | AnonymousUser, project: Project | int) -> str | None:
    """The user's role in the project, or None for a non-member."""
    if not user or not user.is_authenticated:
        return None
    project_id = project if isinstance(project, int) else project.pk
    return (
        Membership.objects.filter(project_id=project_id, user=user)
        .values_list("role", flat=True)
        .first()
    )


def projects_for_user(*, user: User) -> QuerySet[Project]:
    return Project.objects.filter(memberships__user=user).distinct()


def projects_with_progress(*, user: User) -> list[dict]:
    """Each of the user's projects with its role, item counts and the user's own count."""
    memberships = Membership.objects.filter(user=user).select_related("project")
    rows = []
    for membership in memberships.order_by("-project__created_at"):
        project = membership.project
        counts = project.items.aggregate(
            total=Count("id"), done=Count("id", filter=Q(status=ItemStatus.COMPLETE))
        )
        mine = Annotation.objects.filter(item__project=project, annotator=user).count()
        rows.append(
            {
                "project": project,
                "role": membership.role,
                "total": counts["total"],
                "done": counts["done"],
                "mine": mine,
                "percent": round(100 * counts["done"] / counts["total"]) if counts["total"] else 0,
            }
        )
    return rows


def project_counts(*, project: Project) -> dict[str, int]:
    counts = project.items.aggregate(
        items=Count("id"),
        complete=Count("id", filter=Q(status=ItemStatus.COMPLETE)),
    )
    counts["annotations"] = Annotation.objects.filter(item__project=project).count()
    counts["members"] = project.memberships.count()
    return counts


def label_usage(*, project: Project, names: Iterable[str]) -> dict[str, int]:
    """How many annotations use each of ``names`` (portable: no JSON lookups)."""
    wanted = set(names)
    if not wanted:
        return {}
    usage: Counter[str] = Counter()
    rows = Annotation.objects.filter(item__project=project).values_list("labels", flat=True)
    for labels in rows.iterator(chunk_size=5000):
        usage.update(name for name in labels if name in wanted)
    return {name: usage[name] for name in wanted}


def items_for_project(*, project: Project, status: str | None = None) -> QuerySet[Item]:
    items = project.items.order_by("sequence", "id")
    if status:
        items = items.filter(status=status)
    return items


SAFE_COLOR = re.compile(r"#[0-9a-fA-F]{6}")
FALLBACK_COLOR = "#4e79a7"


def labels_for_page(*, project: Project) -> list[dict[str, str]]:
    """The label set as the labeling and review pages draw it.

    Colours land in style attributes, so anything but a plain ``#rrggbb`` (possible
    through the admin) is replaced rather than trusted.
    """
    return [
        {
            "name": label.name,
            "key": label.key,
            "color": label.color if SAFE_COLOR.fullmatch(label.color) else FALLBACK_COLOR,
        }
        for label in project.labels.all()
    ]


def recent_import_batches(*, project: Project, limit: int = 20) -> QuerySet[ImportBatch]:
    return project.import_batches.select_related("created_by").order_by("-created_at")[:limit]


def featurizer_kind(project: Project) -> str:
    """How the project's items become features: ``vector`` when every item has a
    user-supplied embedding, else the project's data type (``image`` or ``text``)."""
    items = Item.objects.filter(project=project)
    if items.exists() and not items.filter(vector__isnull=True).exists():
        return "vector"
    return "image" if project.data_type == "image" else "text"
