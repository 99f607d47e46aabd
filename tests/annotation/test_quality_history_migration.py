"""Migration 0021 seeds each annotator's history with their latest quality, at its time."""

from datetime import timedelta

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

BEFORE = [("annotation", "0020_alerts_webhooks"), ("learning", "0003_monitoring")]
AFTER = [("annotation", "0021_monitoring_history")]


@pytest.mark.django_db(transaction=True)
def test_the_latest_quality_becomes_the_first_point_of_the_history():
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    old = executor.loader.project_state(BEFORE).apps
    user = old.get_model("auth", "User").objects.create(username="ann")
    project = old.get_model("annotation", "Project").objects.create(name="P")
    quality = old.get_model("annotation", "AnnotatorQuality")
    row = quality.objects.create(project=project, annotator=user, score=0.75, n_items=12,
                                 method="crowdlab")  # fmt: skip
    measured = timezone.now() - timedelta(days=3)
    quality.objects.filter(pk=row.pk).update(updated_at=measured)
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(AFTER)
    new = executor.loader.project_state(AFTER).apps
    (record,) = new.get_model("annotation", "AnnotatorQualityRecord").objects.all()
    assert (record.project_id, record.annotator_id, record.score, record.n_items) == (
        project.pk, user.pk, 0.75, 12)  # fmt: skip
    assert record.created_at == measured
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())  # leave the database as it was
