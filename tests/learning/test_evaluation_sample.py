"""The evaluation sample: random items served before the model's picks, and the learning
curve scored on them, on a real database with the active-learning job run in process."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from annotation.models import Item
from annotation.services.labeling import queue_next
from annotation.services.projects import membership_set
from learning.classifier import cross_validated_metrics
from learning.models import ModelVersion, StopSet
from learning.services.monitoring import evaluation_ids, forecast_section
from learning.services.score_swap import _mark_evaluation
from tests.learning.test_al_services import label_item, queue_order, run, text_project  # noqa: F401


def test_off_by_default_and_the_curve_stays_cross_validated(db, text_project):  # noqa: F811
    assert text_project.eval_sample == 0 and evaluation_ids(project=text_project) == []
    run(text_project, batch=3)
    version = ModelVersion.objects.get(project=text_project)
    assert version.eval_macro_f1 is None and version.eval_n is None
    assert forecast_section(project=text_project)["metric"] == "cv_macro_f1"


def test_the_sample_is_served_first_in_its_own_order_then_the_model_picks(
    db,
    text_project,  # noqa: F811
    make_user,
):
    text_project.eval_sample = 6
    text_project.save(update_fields=["eval_sample"])
    run(text_project, batch=3)
    sample = evaluation_ids(project=text_project)
    stop = StopSet.objects.get(project=text_project).item_ids
    assert len(sample) == 6 == len(set(sample)) and set(sample) <= set(stop)
    assert sample == evaluation_ids(project=text_project)  # seeded: the same every time
    assert queue_order(text_project)[:6] == sample  # before the diverse batch
    annotator = make_user("eve")
    membership_set(project=text_project, user=annotator, role="annotator")
    served = []
    for _ in range(6):
        lease = queue_next(project=text_project, annotator=annotator)
        served.append(lease.item_id)
        label_item(Item.objects.get(pk=lease.item_id), ["positive"], annotator)
    assert served == sample
    # A larger setting extends the same order: the items already labeled stay in it.
    text_project.eval_sample = 10
    text_project.save(update_fields=["eval_sample"])
    assert evaluation_ids(project=text_project)[:6] == sample


def test_each_version_scores_the_labeled_sample_items_out_of_fold(db, text_project, manager):  # noqa: F811
    text_project.eval_sample = 30
    text_project.save(update_fields=["eval_sample"])
    run(text_project, batch=3)
    sample = evaluation_ids(project=text_project)
    for item in Item.objects.filter(pk__in=sample).order_by("id"):
        label_item(item, ["positive" if item.meta["kind"] != "neg" else "negative"], manager)
    run(text_project, batch=3)
    latest = ModelVersion.objects.filter(project=text_project).latest("version")
    assert latest.eval_n == 30 and latest.n_labels == 46  # 16 labeled before, then the sample
    assert 0 <= latest.eval_macro_f1 <= 1
    section = forecast_section(project=text_project)
    assert section["metric"] == "eval_macro_f1"


def test_the_eval_score_is_the_out_of_fold_score_of_the_masked_items():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(120, 5))
    y = (X[:, 0] + 0.5 * rng.normal(size=120) > 0).astype(np.int64)
    mask = np.zeros(120, dtype=bool)
    mask[rng.choice(120, 40, replace=False)] = True
    both = cross_validated_metrics(X, y, multi_label=False, n_classes=2, seed=3, evaluate=mask)
    plain = cross_validated_metrics(X, y, multi_label=False, n_classes=2, seed=3)
    assert both["macro_f1"] == plain["macro_f1"] and both["eval_n"] == 40
    assert 0 <= both["eval_macro_f1"] <= 1
    everything = cross_validated_metrics(X, y, multi_label=False, n_classes=2, seed=3,
                                         evaluate=np.ones(120, dtype=bool))  # fmt: skip
    assert everything["eval_macro_f1"] == pytest.approx(plain["macro_f1"])
    one = cross_validated_metrics(X, y, multi_label=False, n_classes=2, seed=3,
                                  evaluate=np.eye(1, 120, dtype=bool)[0])  # fmt: skip
    assert np.isnan(one["eval_macro_f1"]) and one["eval_n"] == 1
    with pytest.raises(ValueError):
        cross_validated_metrics(X, y, multi_label=False, n_classes=2, evaluate=mask[:10])


@given(st.lists(st.integers(1, 500), unique=True, min_size=1, max_size=60),
       st.lists(st.integers(1, 600), unique=True, max_size=30))  # fmt: skip
def test_sample_items_still_open_get_the_top_priorities_in_the_sample_order(pool, sample):
    ids = np.array(pool, dtype=np.int64)
    priority = np.linspace(0, 1, ids.size)
    before = priority.copy()
    chosen = _mark_evaluation(ids, priority, sample)
    expected = [i for i in sample if i in set(pool)]  # labeled or gone: not served
    assert ids[chosen].tolist() == expected
    assert np.all(np.diff(priority[chosen]) < 0) and np.all(priority[chosen] > 2)
    rest = np.setdiff1d(np.arange(ids.size), chosen)
    assert np.array_equal(priority[rest], before[rest])
