"""Server-rendered pages. Each page reads through selectors and writes through services."""

from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, render

from annotation.guidelines import render_guidelines
from annotation.models import Item, Project
from annotation.nav import project_actions
from annotation.selectors import (
    can_create_project,
    project_counts,
    projects_with_progress,
    user_role,
)


def member_project_or_404(request, project_id: int) -> tuple[Project, str]:
    project = get_object_or_404(Project, pk=project_id)
    role = user_role(user=request.user, project=project)
    if role is None:
        raise Http404("No such project.")
    return project, role


@login_required
def home(request):
    context = {
        "rows": projects_with_progress(user=request.user),
        "can_create": can_create_project(user=request.user),
    }
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
    }
    return render(request, "annotation/project_detail.html", context)


@login_required
def item_media(request, item_id: int):
    """Serve an item's image to members of its project only."""
    item = get_object_or_404(Item.objects.select_related("project"), pk=item_id)
    if user_role(user=request.user, project=item.project_id) is None or not item.image:
        raise Http404("No such image.")
    response = FileResponse(item.image.open("rb"))
    response["Cache-Control"] = "private, max-age=3600"
    response["X-Content-Type-Options"] = "nosniff"
    return response
