"""The labeling page: a server-rendered shell; static/js/label.js drives it through the
labeling API (next, annotations, skip, history, progress)."""

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import render

from annotation.guidelines import render_guidelines
from annotation.selectors import CAN_LABEL, labels_for_page
from annotation.views.pages import member_project_or_404


@login_required
def label_page(request, project_id: int):
    """The annotator's screen for one project: 404 for non-members, 403 for roles that
    cannot label. Everything the script needs travels in one JSON blob (json_script,
    so label names can never break out of it)."""
    project, role = member_project_or_404(request, project_id)
    if role not in CAN_LABEL:
        raise PermissionDenied("Your role in this project cannot label.")
    labels = labels_for_page(project=project)
    config = {
        "project": project.pk,
        "user": request.user.username,
        "multiLabel": project.multi_label,
        "dataType": project.data_type,
        "labels": labels,
    }
    context = {
        "project": project,
        "labels": labels,
        "config": config,
        "guidelines_html": render_guidelines(project.guidelines),
    }
    return render(request, "annotation/label.html", context)
