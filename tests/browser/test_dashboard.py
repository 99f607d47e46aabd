"""The dashboard draws every chart with data (pixels on every canvas) and shows the numbers."""

from datetime import timedelta

import numpy as np
import pytest
from django.utils import timezone

from annotation.models import (
    Annotation,
    AnnotatorQuality,
    AnnotatorQualityRecord,
    DriftCheck,
    Item,
    ItemStatus,
    Job,
    JobKind,
    JobStatus,
)
from annotation.services.overlap import item_refresh_status
from annotation.services.projects import membership_set, project_create
from learning.agreement.service import agreement_job_handler
from learning.models import ModelVersion
from learning.services.monitoring import forecast_key

CHARTS = ["progress", "annotators", "rate", "distribution", "agreement", "annotator-quality",
          "quality-history", "confusion", "learning", "stopping", "drift-data", "drift-meta",
          "drift-label", "drift-annotator"]  # fmt: skip
# The forecast's fitted curve and 80% band past the last version (80 labels), as the learning
# seam stores it on the latest model version (``ModelVersion.forecast``).
FORECAST_CURVE = [{"labels": n, "value": 0.8 - 3 / n, "low": 0.76 - 3 / n, "high": 0.82 - 3 / n}
                  for n in (10, 40, 80, 160, 320, 640)]  # fmt: skip
LABELS = ["positive", "negative", "neutral"]

# Share of a canvas's pixels that are painted (alpha > 0), per canvas id.
PAINTED = """() => Object.fromEntries([...document.querySelectorAll("canvas")].map((c) => {
  const px = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
  let painted = 0;
  for (let i = 3; i < px.length; i += 4) if (px[i] > 0) painted++;
  return [c.id, painted / (c.width * c.height)];
}))"""


def run_agreement(project):
    job = Job.objects.create(project=project, kind=JobKind.AGREEMENT, status=JobStatus.RUNNING)
    result = agreement_job_handler(job, lambda f: None)
    Job.objects.filter(pk=job.pk).update(status=JobStatus.SUCCEEDED, result=result,
                                         finished_at=timezone.now())  # fmt: skip


def seed_project(make_user):
    """Three annotators, 30 items with 2-3 labels over the last hours, two agreement runs,
    three model versions, annotator quality scores and a predicted unlabeled pool."""
    lead = make_user("lead")
    project = project_create(creator=lead, name="Reviews", labels=LABELS, overlap=2, max_overlap=3)
    people = [make_user(f"ann{i}") for i in range(3)]
    for user in people:
        membership_set(project=project, user=user, role="annotator")
    rng = np.random.default_rng(7)
    now = timezone.now()
    for n in range(30):
        item = Item.objects.create(project=project, external_id=str(n), text="t")
        truth = rng.integers(0, 3)
        for user in people[: 2 + n % 2]:
            said = truth if rng.random() < 0.8 else rng.integers(0, 3)
            a = Annotation.objects.create(
                item=item, project=project, annotator=user, labels=[LABELS[said]]
            )
            Annotation.objects.filter(pk=a.pk).update(created_at=now - timedelta(hours=int(n % 6)))
        item_refresh_status(item=item, project=project)
        if n == 15:
            run_agreement(project)
    run_agreement(project)
    for n in range(10):
        Item.objects.create(project=project, external_id=f"pool{n}", predicted_label=LABELS[n % 3])
    curve = [(10, 0.55, None), (20, 0.68, 0.7), (30, 0.74, 0.95), (40, 0.77, 0.99), (60, 0.79, 0.995),
             (80, 0.80, 0.998)]  # fmt: skip
    for v, (n, acc, kappa) in enumerate(curve, start=1):
        ModelVersion.objects.create(project=project, version=v, strategy="margin", featurizer="tfidf",
                                    n_labels=n, cv_accuracy=acc, cv_macro_f1=acc - 0.05,
                                    stop_kappa=kappa)  # fmt: skip
    ModelVersion.objects.filter(project=project, version=len(curve)).update(forecast={
        "key": forecast_key(project), "value": {
            "metric": "cv_macro_f1", "target": 0.78, "target_relative": False, "plateau": 0.8,
            "plateau_interval": [0.76, 0.82], "labels_needed": 150, "labels_needed_interval": [100, 400],
            "status": "ok", "curve": FORECAST_CURVE}})  # fmt: skip
    # Three drift runs a day apart: data (with a meta field), labels and one annotator; the
    # latest flags the annotator, the one before the data.
    for day, (auc, annotator_p) in enumerate([(0.52, 0.4), (0.83, 0.3), (0.55, 0.001)]):
        drift = Job.objects.create(project=project, kind=JobKind.DRIFT, status=JobStatus.SUCCEEDED)
        DriftCheck.objects.create(project=project, job=drift, kind="data", reference="labeled set vs unlabeled pool",
                                  score=auc, p_value=0.001 if auc > 0.8 else 0.5, drift=auc > 0.8,
                                  detail={"baseline": 0.5})  # fmt: skip
        DriftCheck.objects.create(project=project, job=drift, kind="data", reference="meta.source: labeled set vs unlabeled pool",
                                  score=0.02 * (day + 1), p_value=0.4, drift=False,
                                  detail={"field": "source", "test": "chi2"})  # fmt: skip
        DriftCheck.objects.create(project=project, job=drift, kind="annotator", reference="annotator ann1",
                                  score=0.1 * day, p_value=annotator_p, drift=annotator_p < 0.05)  # fmt: skip
        DriftCheck.objects.create(project=project, job=drift, kind="label", reference="latest vs earlier",
                                  score=0.01, p_value=0.6, drift=False)  # fmt: skip
        DriftCheck.objects.filter(job=drift).update(created_at=now - timedelta(days=2 - day))
    for day in range(3):
        quality = Job.objects.create(
            project=project, kind=JobKind.LABEL_ISSUES, status=JobStatus.SUCCEEDED
        )
        for user, score in zip(people, [0.9, 0.8, 0.6 - 0.1 * day], strict=True):
            record = AnnotatorQualityRecord.objects.create(project=project, annotator=user, job=quality,
                                                           score=score, n_items=20, method="crowdlab")  # fmt: skip
            AnnotatorQualityRecord.objects.filter(pk=record.pk).update(
                created_at=now - timedelta(days=2 - day)
            )
    for user, score in zip(people, [0.9, 0.8, 0.4], strict=True):
        AnnotatorQuality.objects.create(project=project, annotator=user, score=score, n_items=20,
                                        method="crowdlab")  # fmt: skip
    return project


@pytest.mark.browser
def test_dashboard_draws_every_chart(page, live_url, login, screenshot, make_user, page_errors):
    project = seed_project(make_user)
    login(page, "lead")
    page.goto(f"{live_url}/projects/{project.pk}/dashboard")
    page.wait_for_function(
        f"() => document.querySelectorAll('canvas').length === {len(CHARTS)} && !!window.Chart"
    )
    # One table per chart, and the forecast's own under the learning curve.
    page.wait_for_function(
        f"() => document.querySelectorAll('figure details').length === {len(CHARTS) + 1}"
    )
    painted = page.evaluate(PAINTED)
    screenshot(page, "dashboard")
    assert page_errors == []
    assert set(painted) == {f"chart-{name}" for name in CHARTS}
    blank = {name: share for name, share in painted.items() if share < 0.01}
    assert blank == {}, f"charts drawn blank: {blank}"
    done = Item.objects.filter(project=project, status=ItemStatus.COMPLETE).count()
    assert 0 < done < 30
    assert page.locator(".tile .big").first.inner_text() == f"{done} / 40"
    page.locator('[data-chart="agreement"] summary').click()
    rows = page.locator('[data-chart="agreement"] tbody tr')
    assert rows.count() == 2  # two runs, one row each
    # The stopping rule fired at 80 labels (mean of 0.99, 0.995, 0.998); the forecast is fitted.
    assert "stopped changing at 80 labels" in page.inner_text("#stopping-summary")
    assert "plateau" in page.inner_text("#forecast-summary")
    flagged = page.locator('#drift-checks tr[data-drift="yes"]')  # the latest run's table
    assert flagged.count() == 1 and "annotator ann1" in flagged.inner_text()


@pytest.mark.browser
def test_an_empty_project_says_not_enough_data(page, live_url, login, make_user, page_errors):
    lead = make_user("lead")
    project = project_create(creator=lead, name="Empty", labels=LABELS)
    login(page, "lead")
    page.goto(f"{live_url}/projects/{project.pk}/dashboard")
    page.wait_for_selector('[data-chart="agreement"] .empty')
    assert page.locator("canvas").count() == 0
    assert "agreement has not been computed yet" in page.inner_text('[data-chart="agreement"]')
    assert "not enough model versions" in page.inner_text("#forecast-summary")
    assert "No drift checks yet" in page.inner_text("#drift-panel")
    assert page_errors == []


@pytest.mark.browser
def test_a_curve_still_rising_says_no_plateau_in_sight(
    page, live_url, login, make_user, page_errors
):
    """Versions gaining the same per doubling of labels: the forecast, fitted on read, says the
    curve has no plateau yet and gives only its 80% range, not a made-up number of labels."""
    lead = make_user("lead")
    project = project_create(creator=lead, name="Rising", labels=LABELS)
    for v, n in enumerate((20, 40, 80, 160, 320, 640), start=1):
        score = 0.5 + 0.05 * np.log2(n / 20)
        ModelVersion.objects.create(project=project, version=v, strategy="margin", featurizer="tfidf",
                                    n_labels=n, cv_accuracy=score, cv_macro_f1=score)  # fmt: skip
    login(page, "lead")
    page.goto(f"{live_url}/projects/{project.pk}/dashboard")
    page.wait_for_function("document.getElementById('forecast-summary').textContent.length > 0")
    summary = page.inner_text("#forecast-summary")
    assert "no plateau in sight" in summary and "80% range" in summary
    assert "needs about" not in summary
    assert page_errors == []


@pytest.mark.browser
def test_with_an_evaluation_sample_the_curve_and_forecast_use_it(
    page, live_url, login, make_user, page_errors
):
    """The evaluation sample's macro F1 is drawn and tabled beside the cross-validated one,
    and the forecast, fitted on read, fits it (the CV curve here falls, as under AL)."""
    lead = make_user("lead")
    project = project_create(creator=lead, name="Fair", labels=LABELS, eval_sample=100)
    for v, n in enumerate((40, 80, 160, 320, 640, 1280), start=1):
        fair = 0.85 - 2.0 * n**-0.5
        ModelVersion.objects.create(project=project, version=v, strategy="margin", featurizer="tfidf",
                                    n_labels=n, cv_accuracy=0.7 - 0.02 * v, cv_macro_f1=0.7 - 0.02 * v,
                                    eval_macro_f1=fair, eval_n=min(n - 20, 100))  # fmt: skip
    login(page, "lead")
    page.goto(f"{live_url}/projects/{project.pk}/dashboard")
    page.wait_for_function("document.getElementById('forecast-summary').textContent.length > 0")
    assert "plateau 0.8" in page.inner_text("#forecast-summary")  # 0.85, not the falling CV
    assert "100 random items" in page.inner_text("#curve-fair")
    table = page.locator('[data-chart="learning"] details table').first.text_content()
    assert "evaluation sample macro F1" in table  # in the chart's folded numbers table
    assert page_errors == []


@pytest.mark.browser
def test_a_model_still_changing_names_its_least_stable_label_as_text(
    page, live_url, login, make_user, page_errors
):
    """The rule reads the least stable label's kappa; the dashboard names that label in the
    summary and the table, as text: a label name is user input."""
    lead = make_user("lead")
    name = '<b id="injected">7</b>'
    project = project_create(creator=lead, name="Changing", labels=[*LABELS, name])
    for v, (n, kappa, unstable) in enumerate([(20, None, ""), (40, 0.8, LABELS[0]),
                                              (60, 0.9, name)], start=1):  # fmt: skip
        ModelVersion.objects.create(project=project, version=v, strategy="margin",
                                    featurizer="tfidf", n_labels=n, cv_macro_f1=0.5,
                                    stop_kappa=kappa, stop_least_stable=unstable)  # fmt: skip
    login(page, "lead")
    page.goto(f"{live_url}/projects/{project.pk}/dashboard")
    page.wait_for_selector("#chart-stopping")
    summary = page.inner_text("#stopping-summary")
    assert "Still changing" in summary and f"Changing most: “{name}”" in summary
    page.locator('[data-chart="stopping"] summary').click()
    cells = page.locator('[data-chart="stopping"] tbody tr').last.locator("td")
    assert cells.last.inner_text() == name
    assert page.locator("#injected").count() == 0
    assert page_errors == []
