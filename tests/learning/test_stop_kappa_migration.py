"""Migration learning 0006 turns every stored stop-set kappa into the least stable label's."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from learning.monitoring.stopping import least_stable, prediction_kappa

BEFORE = [("learning", "0005_eval_scores"), ("annotation", "0026_eval_sample")]
AFTER = [("learning", "0006_stop_least_stable")]
V1 = {"1": "cat", "2": "dog", "3": "bird", "4": "cat", "5": "dog", "6": "bird"}
V2 = {"1": "cat", "2": "dog", "3": "bird", "4": "cat", "5": "cat", "6": "bird"}
V3 = {"1": "cat", "2": "dog", "3": "dog", "4": "cat", "5": "cat", "6": "bird"}


def values(d):
    return [d[k] for k in sorted(d)]


@pytest.mark.django_db(transaction=True)
def test_stored_kappas_become_the_least_stable_labels():
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    old = executor.loader.project_state(BEFORE).apps
    Project = old.get_model("annotation", "Project")
    Version = old.get_model("learning", "ModelVersion")
    single = Project.objects.create(name="single")
    multi = Project.objects.create(name="multi", multi_label=True)
    rows = [
        (single, 1, V1),
        (single, 2, None),
        (single, 3, V2),
        (single, 4, V3),
        (multi, 1, {"1": "a|b", "2": "", "3": "b"}),
        (multi, 2, {"1": "a", "2": "", "3": "b"}),
    ]
    for project, number, predictions in rows:
        Version.objects.create(project=project, version=number, strategy="margin",
                               featurizer="text", n_labels=10 * number,
                               stop_predictions=predictions, stop_kappa=0.5)  # fmt: skip
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(AFTER)
    new = executor.loader.project_state(AFTER).apps
    stored = {
        (v.project.name, v.version): (v.stop_kappa, v.stop_least_stable or None)
        for v in new.get_model("learning", "ModelVersion").objects.select_related("project")
    }
    assert stored[("single", 1)] == (None, None)
    assert stored[("single", 2)] == (0.5, None)  # no predictions: left as it was
    # Version 3 is compared with version 1, the last one that predicted the stop set.
    kappa, label = least_stable(values(V1), values(V2))
    assert stored[("single", 3)] == (pytest.approx(kappa), label) and label == "dog"
    assert kappa < prediction_kappa(values(V1), values(V2))
    kappa, label = least_stable(values(V2), values(V3))
    assert stored[("single", 4)] == (pytest.approx(kappa), label)
    # Multi-label: each label's presence; only "b" changed (item 1 lost it).
    assert stored[("multi", 1)] == (None, None)
    assert stored[("multi", 2)][1] == "b" and stored[("multi", 2)][0] < 1
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())  # leave the database as it was
