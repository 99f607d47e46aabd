"""Server-rendered pages. Each page reads through selectors and writes through services."""

import os

from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import User
from django.http import FileResponse, Http404, HttpRequest
from django.shortcuts import get_object_or_404, render

from annotation.guidelines import render_guidelines
from annotation.importing.images import MEDIA_TYPES
from annotation.models import Item, Project
from annotation.monitoring_selectors import alerts_of, open_alert_counts
from annotation.nav import project_actions
from annotation.selectors import (
    can_create_project,
    project_counts,
    projects_with_progress,
    user_role,
)

MEDIA_CSP = "default-src 'none'; img-src 'self'; sandbox"


class AuthenticatedHttpRequest(HttpRequest):
    """The request of a view behind ``login_required``, whose user is signed in: a type only
    (django-stubs' recipe), so the services that take a ``User`` get one."""

    user: User


def member_project_or_404(request, project_id: int) -> tuple[Project, str]:
    project = get_object_or_404(Project, pk=project_id)
    role = user_role(user=request.user, project=project)
    if role is None:
        raise Http404("No such project.")
    return project, role


@login_required
def home(request):
    rows = projects_with_progress(user=request.user)
    alerts = open_alert_counts(roles={row["project"].pk: row["role"] for row in rows})
    for row in rows:
        row["alerts"] = alerts.get(row["project"].pk, 0)
    context = {"rows": rows, "can_create": can_create_project(user=request.user)}
    return render(request, "annotation/home.html", context)


@login_required
def project_detail(request, project_id: int):
    project, role = member_project_or_404(request, project_id)
    context = {
        "project": project,
        "role": role,
        "counts": project_counts(project=project),
        "actions": [
            a for a in project_actions(project=project, role=role) if a["name"] != "project-detail"
        ],
        "guidelines_html": render_guidelines(project.guidelines),
        "alerts": list(alerts_of(project=project, state="open", role=role)[:10]),
    }
    context["open_alerts"] = alerts_of(project=project, state="open", role=role).count()
    return render(request, "annotation/project_detail.html", context)


@login_required
def item_media(request, item_id: int):
    """Serve an item's image to members of its project only, never as a page.

    The Content-Type comes from a whitelist keyed by the stored extension (which the
    importer took from the decoded image), ``nosniff`` stops the browser from guessing
    another, and the sandboxing CSP keeps even a mislabelled file from running script
    on this origin. A stored file with any other extension is only ever downloaded.
    """
    item = get_object_or_404(Item.objects.select_related("project"), pk=item_id)
    image_name = item.image.name  # a file field is falsy exactly when its name is
    if user_role(user=request.user, project=item.project_id) is None or not image_name:
        raise Http404("No such image.")
    name = os.path.basename(image_name)
    media_type = MEDIA_TYPES.get(os.path.splitext(name)[1].lstrip(".").lower())
    response = FileResponse(
        item.image.open("rb"),
        content_type=media_type or "application/octet-stream",
        as_attachment=media_type is None,
        filename=name,
    )
    response["Cache-Control"] = "private, max-age=3600"
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = MEDIA_CSP
    return response
