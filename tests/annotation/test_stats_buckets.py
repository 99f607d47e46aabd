"""Labels per hour reads right at any scale: every hour of the span, zeros included."""

import itertools
from datetime import timedelta

import pytest
from django.utils import timezone

from annotation.models import Annotation, Item
from annotation.stats import MIN_HOURS, labels_per_hour, progress_stats

pytestmark = pytest.mark.django_db


def label_at(project, user, when, n: int = 1) -> None:
    for i in range(n):
        item = Item.objects.create(project=project, external_id=f"{when:%d%H}-{i}", text="t")
        a = Annotation.objects.create(item=item, project=project, annotator=user, labels=["x"])
        Annotation.objects.filter(pk=a.pk).update(created_at=when)


def test_one_burst_shows_its_hours_around_it_not_a_single_dot(project, manager):
    now = timezone.now().replace(minute=30)
    label_at(project, manager, now, n=3)
    rows = labels_per_hour(annotations=Annotation.objects.all(), now=now)
    assert len(rows) == MIN_HOURS
    assert [r["annotations"] for r in rows] == [0] * (MIN_HOURS - 1) + [3]


def test_hours_without_labels_are_zeros_between_the_first_label_and_now(project, manager):
    now = timezone.now().replace(minute=10)
    label_at(project, manager, now - timedelta(hours=30), n=2)
    label_at(project, manager, now - timedelta(hours=2))
    rows = labels_per_hour(annotations=Annotation.objects.all(), now=now)
    hours = [r["hour"] for r in rows]
    assert len(rows) == 31 and all(
        b - a == timedelta(hours=1) for a, b in itertools.pairwise(hours)
    )
    assert sum(r["annotations"] for r in rows) == 3 and rows[0]["annotations"] == 2


def test_progress_counts_done_in_progress_and_left(project, manager):
    for i in range(4):
        Item.objects.create(project=project, external_id=f"i{i}", text="t")
    Item.objects.filter(external_id="i0").update(status="complete", annotation_count=1)
    Item.objects.filter(external_id="i1").update(annotation_count=1)
    stats = progress_stats(project=project)
    assert (stats["done"], stats["in_progress"], stats["left"], stats["total"]) == (1, 1, 2, 4)
