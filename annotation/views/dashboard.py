"""The data lead's dashboard: a server-rendered shell with the numbers in one JSON blob;
static/js/dashboard.js draws them with the vendored Chart.js. The same selector feeds
``GET /api/projects/{id}/stats``, so the page and the API never disagree."""

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import render

from annotation.audit_selectors import audit_overview
from annotation.drift_selectors import drift_history, drift_latest
from annotation.models import FindingKind
from annotation.monitoring_selectors import alerts_of
from annotation.quality_selectors import quality_history
from annotation.selectors import CAN_REVIEW
from annotation.stats import project_stats
from annotation.views.pages import member_project_or_404


@login_required
def dashboard(request, project_id: int):
    """Managers and reviewers only: 404 for non-members, 403 for other roles."""
    project, role = member_project_or_404(request, project_id)
    if role not in CAN_REVIEW:
        raise PermissionDenied("Only managers and reviewers see the dashboard.")
    stats = project_stats(project=project)
    stats["label_colors"] = dict(project.labels.values_list("name", "color"))
    stats["drift_history"] = drift_history(project=project)
    stats["quality_history"] = quality_history(project=project)
    context = {"project": project, "role": role, "stats": stats,
               "audit": audit_overview(project=project), "audit_kinds": FindingKind.labels,
               "drift": drift_latest(project=project)}  # fmt: skip
    context["alerts"] = list(alerts_of(project=project, role=role)[:10])  # open first
    context["open_alerts"] = alerts_of(project=project, state="open", role=role).count()
    return render(request, "annotation/dashboard.html", context)
