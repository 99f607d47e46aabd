"""Migrations learning 0006 and 0007 recompute every stored stop-set kappa by today's rule:
the least stable label's kappa over the labels the stop set resolves."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from learning.monitoring.stopping import least_stable, prediction_kappa

BEFORE = [("learning", "0005_eval_scores"), ("annotation", "0026_eval_sample")]
WITH_FIELD = [("learning", "0006_stop_least_stable")]
AFTER = [("learning", "0007_stop_kappa_resolved_labels")]
V1 = {str(i): ["cat", "dog", "bird"][i % 3] for i in range(300)}
V1 |= {str(i): "fish" for i in range(300, 310)}  # a rare label: ten items
V2 = V1 | {str(i): "cat" for i in (1, 4, 7, 10, 13)}  # five dogs become cats
V3 = V2 | {"300": "bird"}  # one of the ten fish becomes a bird
MULTI_1 = {str(i): "|".join(["a"] * (i % 2 == 0) + ["b"] * (i % 4 < 2)) for i in range(400)}
MULTI_2 = MULTI_1 | {"0": ["a"], "1": []}  # b lost two items


def values(d):
    return [d[k] for k in sorted(d)]


def migrate(target):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(target)
    return executor.loader.project_state(target).apps


def stored_kappas(apps) -> dict:
    return {
        (v.project.name, v.version): (v.stop_kappa, v.stop_least_stable or None)
        for v in apps.get_model("learning", "ModelVersion").objects.select_related("project")
    }


def create_versions(apps, **fields):
    Project = apps.get_model("annotation", "Project")
    Version = apps.get_model("learning", "ModelVersion")
    single = Project.objects.create(name="single")
    multi = Project.objects.create(name="multi", multi_label=True)
    rows = [(single, 1, V1), (single, 2, None), (single, 3, V2), (single, 4, V3),
            (multi, 1, MULTI_1), (multi, 2, MULTI_2)]  # fmt: skip
    for project, number, predictions in rows:
        Version.objects.create(project=project, version=number, strategy="margin",
                               featurizer="text", n_labels=10 * number,
                               stop_predictions=predictions, stop_kappa=0.5, **fields)  # fmt: skip


def assert_recomputed(stored, untouched=(0.5, None)):
    assert stored[("single", 1)] == (None, None)
    assert stored[("single", 2)] == untouched  # no predictions: left as it was
    # Version 3 is compared with version 1, the last one that predicted the stop set.
    kappa, label = least_stable(values(V1), values(V2))
    assert stored[("single", 3)] == (pytest.approx(kappa), label) and label == "dog"
    assert kappa < prediction_kappa(values(V1), values(V2))
    # One of ten fish changing is too small a change for the stop set to measure fish's
    # kappa at 0.99: the kappa is the bird's, which gained it.
    kappa, label = least_stable(values(V2), values(V3))
    assert stored[("single", 4)] == (pytest.approx(kappa), "bird") and kappa > 0.99
    # Multi-label: each label's presence; only "b" changed. Stored "|"-joined, read split.
    assert stored[("multi", 1)] == (None, None)
    assert stored[("multi", 2)][1] == "b" and stored[("multi", 2)][0] < 1


@pytest.fixture
def leaves_the_database_as_it_was():
    yield
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())


@pytest.mark.django_db(transaction=True)
def test_0006_turns_the_plain_kappas_into_the_least_stable_labels(
    leaves_the_database_as_it_was,
):
    create_versions(migrate(BEFORE))
    assert_recomputed(stored_kappas(migrate(AFTER)))


@pytest.mark.django_db(transaction=True)
def test_0007_recomputes_kappas_stored_with_every_label_counted(leaves_the_database_as_it_was):
    apps = migrate(WITH_FIELD)
    create_versions(apps, stop_least_stable="fish")  # as the rule over every label named it
    assert set(stored_kappas(apps).values()) == {(0.5, "fish")}
    assert_recomputed(stored_kappas(migrate(AFTER)), untouched=(0.5, "fish"))
