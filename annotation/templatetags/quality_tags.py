"""``{% label_quality project as quality %}`` for the project page's quality partial, whose
context (project, role, counts) is shared by every feature's partial."""

from django import template

from annotation.models import Job, JobKind
from annotation.review_selectors import annotator_quality_for_project, open_issue_count

register = template.Library()


@register.simple_tag
def label_quality(project) -> dict:
    """Open flags, the latest label-issues run and annotator quality (callers check the role)."""
    return {
        "open_issues": open_issue_count(project=project),
        "last_run": Job.objects.filter(project=project, kind=JobKind.LABEL_ISSUES).first(),
        "annotators": list(annotator_quality_for_project(project=project)),
    }
