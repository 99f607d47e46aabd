"""Reads behind the data audit: the latest run and its findings."""

from django.db.models import QuerySet

from annotation.models import AuditFinding, Job, JobKind, JobStatus, Project


def latest_audit_run(*, project: Project) -> Job | None:
    """The newest audit job that finished successfully, or None."""
    return (
        Job.objects.filter(project=project, kind=JobKind.AUDIT, status=JobStatus.SUCCEEDED)
        .order_by("-id")
        .first()
    )


def audit_findings(*, project: Project, kind: str | None = None,
                   status: str | None = None) -> QuerySet[AuditFinding]:  # fmt: skip
    """Findings, strongest first, each with its items (one query per page for them)."""
    findings = AuditFinding.objects.filter(project=project).prefetch_related("items")
    if kind:
        findings = findings.filter(kind=kind)
    if status:
        findings = findings.filter(status=status)
    return findings.order_by("-score", "id")
