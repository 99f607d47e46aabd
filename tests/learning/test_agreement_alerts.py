"""The agreement rule end to end: a real agreement job, run by the runner, writes its records;
the rule reads the latest one once the job's outcome commits, opens one alert for as long as
agreement stays low, and the webhook gets ``job.finished`` and ``alert.opened``."""

import pytest

from annotation.jobs.runner import job_execute
from annotation.models import AgreementRecord, Alert, Job, JobKind, WebhookDelivery
from annotation.services.alert_rules import alert_rules_put
from annotation.services.webhooks import webhook_create
from tests.learning.test_agreement_service import seeded_votes, store


@pytest.mark.django_db(transaction=True)
def test_a_real_agreement_run_opens_the_alert_once(project, make_user):
    users = [make_user(f"a{i}") for i in range(4)]
    store(project, users, seeded_votes(3, 40, 4))  # 80%-accurate annotators: alpha well below 0.99
    alert_rules_put(project=project, rules=[{"kind": "agreement_below",
                                             "params": {"threshold": 0.99}}])  # fmt: skip
    webhook_create(project=project, url="http://127.0.0.1:9/", secret="x" * 16,
                   events=["job.finished", "alert.opened"])  # fmt: skip
    for _ in range(2):
        job = Job.objects.create(project=project, kind=JobKind.AGREEMENT)
        job_execute(job_id=job.pk, task_id="test")
        job.refresh_from_db()
        assert job.status == "succeeded", job.error
    (alert,) = Alert.objects.all()
    latest = AgreementRecord.objects.filter(project=project, scope="project",
                                            metric="krippendorff_alpha").latest("created_at")  # fmt: skip
    assert alert.key == "agreement_below" and alert.resolved_at is None
    assert alert.data["value"] == pytest.approx(latest.value) and latest.value < 0.99
    events = list(WebhookDelivery.objects.order_by("pk").values_list("event", flat=True))
    assert events.count("job.finished") == 2 and events.count("alert.opened") == 1
