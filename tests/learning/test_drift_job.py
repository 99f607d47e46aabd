"""The drift job on a real database: checks stored per run, newest first through the API."""

import numpy as np
import pytest

from annotation.models import Annotation, DriftCheck, ImportBatch, Item, Job, JobKind, JobStatus
from learning.services.drift import drift_job_handler


def batch(project, name, texts, meta):
    b = ImportBatch.objects.create(project=project, file_name=name, sha256=name)
    Item.objects.bulk_create(
        [
            Item(project=project, import_batch=b, external_id=f"{name}-{i}", text=t, meta=m)
            for i, (t, m) in enumerate(zip(texts, meta, strict=True))
        ]  # fmt: skip
    )
    return b


def run(project):
    job = Job.objects.create(project=project, kind=JobKind.DRIFT, status=JobStatus.RUNNING)
    return job, drift_job_handler(job, lambda f: None)


@pytest.fixture
def shifted(project, members):
    """Two import batches: reviews, then a different source with a new meta value; an
    annotator who agreed with consensus, then stopped; labels that moved to one class."""
    rng = np.random.default_rng(0)
    good = ["great film", "lovely acting", "superb plot", "awful film", "poor acting"]
    other = ["win a free prize now", "call now to claim cash", "txt to win", "free entry"]
    batch(project, "reviews.csv", [f"{rng.choice(good)} {i}" for i in range(120)],
          [{"source": "web", "n": float(rng.normal())} for _ in range(120)])  # fmt: skip
    batch(project, "sms.csv", [f"{rng.choice(other)} {i}" for i in range(120)],
          [{"source": "sms", "n": float(rng.normal())} for _ in range(120)])  # fmt: skip
    user = members["annotator"]
    items = list(Item.objects.filter(project=project).order_by("id")[:150])
    for i, item in enumerate(items):
        label = "negative" if 100 <= i < 120 else "positive"
        Item.objects.filter(pk=item.pk).update(consensus_labels=[label], status="complete")
        given = label if i < 120 else "negative"  # the last 30: all negative, all disagreeing
        Annotation.objects.create(item=item, project=project, annotator=user, labels=[given])
    return project


def test_drift_job_flags_known_shifts_and_stores_them(db, shifted):
    job, result = run(shifted)
    checks = {c.reference: c for c in DriftCheck.objects.filter(job=job)}
    assert result["checks"] == len(checks) >= 6
    batches = next(c for r, c in checks.items() if r.startswith("import batch"))
    assert batches.kind == "data" and batches.drift and batches.score > 0.9
    assert batches.window == {"old": 120, "new": 120, "old_file": "reviews.csv",
                              "new_file": "sms.csv"}  # fmt: skip
    assert checks["meta.source: " + batches.reference].drift
    assert not checks["meta.n: " + batches.reference].drift
    label = checks["latest annotations vs earlier ones"]
    assert label.kind == "label" and label.drift and label.window == {"earlier": 120, "recent": 30}
    annotator = checks["annotator annotator"]
    assert annotator.kind == "annotator" and annotator.drift


def test_no_shift_no_drift_and_reruns_keep_history(db, project, members):
    rng = np.random.default_rng(1)
    words = ["great film", "lovely acting", "awful film", "poor acting"]
    for name in ("a.csv", "b.csv"):
        batch(project, name, [f"{rng.choice(words)} {rng.integers(1000)}" for _ in range(150)],
              [{"source": "web"} for _ in range(150)])  # fmt: skip
    job, _ = run(project)
    data = DriftCheck.objects.filter(job=job, reference__startswith="import batch").get()
    assert not data.drift and data.p_value > 0.05
    run(project)
    assert (
        DriftCheck.objects.filter(project=project).count()
        == 2 * DriftCheck.objects.filter(job=job).count()
    )


def test_too_little_data_stores_nothing(db, project):
    Item.objects.create(project=project, external_id="1", text="x")
    _, result = run(project)
    assert result == {"checks": 0, "drift": 0}


def test_drift_api_lists_newest_first_and_starts_a_job(db, shifted, api, client_for, members):
    first, _ = run(shifted)
    second, _ = run(shifted)
    url = f"/api/projects/{shifted.pk}/drift"
    body = api.get(url).json()
    rows = body["results"]
    assert rows[0]["job"] == second.pk and rows[-1]["job"] == first.pk
    assert {"kind", "reference", "window", "score", "p_value", "drift", "created_at"} <= set(
        rows[0]
    )
    assert client_for(members["annotator"]).get(url).status_code == 403
    response = api.post(f"/api/projects/{shifted.pk}/jobs", {"kind": "drift"}, format="json")
    assert response.status_code in (201, 202) and response.json()["kind"] == "drift"
    assert api.get(url + "?page=999").status_code == 404


def test_drift_opens_one_alert_per_kind_when_the_rule_is_on_and_none_when_off(db, shifted):
    """Issue #19's "drift detected" alert rule: a run with drift opens the alert once per
    kind of drift (not once per run); without the rule, nothing opens."""
    from annotation.models import Alert
    from annotation.services.alert_rules import alert_rules_put

    run(shifted)
    assert not Alert.objects.filter(project=shifted).exists()
    alert_rules_put(project=shifted, rules=[{"kind": "drift", "enabled": True}])
    run(shifted)
    run(shifted)
    opened = Alert.objects.filter(project=shifted, resolved_at__isnull=True)
    assert sorted(opened.values_list("key", flat=True)) == [
        "drift:annotator", "drift:data", "drift:label",
    ]  # fmt: skip
    assert "import batch" in opened.get(key="drift:data").message  # by number: the next test


def test_the_drift_alert_every_member_sees_names_batches_without_their_files(db, shifted):
    """File names are the managers' (the imports page) and the drift list's (reviewers);
    the alert shows on every member's dashboard."""
    from annotation.models import Alert, ImportBatch
    from annotation.services.alert_rules import alert_rules_put

    alert_rules_put(project=shifted, rules=[{"kind": "drift"}])
    run(shifted)
    alert = Alert.objects.get(project=shifted, key="drift:data")
    before, latest = ImportBatch.objects.filter(project=shifted).order_by("id")
    assert f"import batch {before.pk} vs {latest.pk}" in alert.message
    shown = alert.message + str(alert.data)
    assert "reviews.csv" not in shown and "sms.csv" not in shown
