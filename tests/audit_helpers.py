"""A small project with one of each audit finding, audited in-process (tests of the pages,
the API and the job share it)."""

from django.utils import timezone

from annotation.models import Annotation, Item, Job, JobKind
from annotation.services.projects import label_set_replace
from learning.services.audit import audit_job_handler

SPAM = "win a brand new car today just text WIN to 80086 and claim your prize now"
TEXTS = [
    ("same", "Are we still meeting for lunch tomorrow at noon?", "ham"),
    ("same-copy", "are we still meeting   for LUNCH tomorrow at noon?", "spam"),
    ("near-a", SPAM, "spam"),
    ("near-b", SPAM.replace("brand new car", "brand new bike"), "ham"),
    ("pii", "Call me on +44 20 7946 0958 or mail jo.bloggs@example.com", "ham"),
    ("empty", "   ", None),
] + [(f"filler-{i}", f"ordinary message number {i} about {w} plans", None)
     for i, w in enumerate("dinner cinema football gardening music travel cooking".split())]  # fmt: skip


def audit_run(project) -> Job:
    """Run the audit job's handler on ``project`` and record it as a finished run."""
    job = Job.objects.create(project=project, kind=JobKind.AUDIT, status="running")
    job.result = audit_job_handler(job, lambda fraction: None)
    job.status, job.finished_at = "succeeded", timezone.now()
    job.save()
    return job


def audited_project(project, annotator) -> Job:
    """Fill ``project`` with ``TEXTS`` (labels ham/spam, one annotation each) and audit it."""
    project.labels.all().delete()
    label_set_replace(project=project, labels=["ham", "spam"])
    for ext, text, label in TEXTS:
        item = Item.objects.create(project=project, external_id=ext, text=text)
        if label:
            Annotation.objects.create(item=item, project=project, annotator=annotator,
                                      labels=[label])  # fmt: skip
    return audit_run(project)
