"""The project page's "cut a snapshot" form: the default spec, then back to the page."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect
from django.urls import reverse
from django.views.decorators.http import require_POST

from annotation.selectors import CAN_EXPORT
from annotation.services.snapshots import snapshot_create
from annotation.views.pages import member_project_or_404


@login_required
@require_POST
def snapshot_new(request, project_id: int):
    project, role = member_project_or_404(request, project_id)
    if role not in CAN_EXPORT:
        raise PermissionDenied("Only managers and engineers can cut snapshots.")
    snapshot = snapshot_create(project=project, spec={}, user=request.user)
    messages.info(request, f"Snapshot v{snapshot.version} is being built.")
    return redirect(reverse("project-detail", args=[project.pk]) + "#snapshots")
