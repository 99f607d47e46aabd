"""Labels and features of a set of items, loaded in bulk, for the label-issues job.

Featurizes exactly like the active-learning job (``featurizer_kind`` picks vectors, thumbnails
or hashed TF-IDF; ``pool_features`` turns rows into the matrix), so both jobs see one model of
the data. Only the loading differs: ids are read in chunks, because a 100k-item ``id IN (...)``
overflows SQLite's bound-parameter limit.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from django.conf import settings

from annotation.models import Annotation, AnnotationSource, Item, Project
from annotation.selectors import featurizer_kind
from annotation.services.review import IMPORT_KEY
from learning.featurize import TextFeaturizer
from learning.issue_gate import DEFAULT_MAX_QUALITY, DEFAULT_MIN_LIFT, DEFAULT_MIN_PER_CLASS, Gate
from learning.services.model_state import pool_features

ID_CHUNK = 900  # stays under SQLite's bound-parameter limit on every version
IDF_SAMPLE = 20_000  # hashing is the slow part, and IDF weights settle long before 20k texts


def labels_by_item(*, project: Project) -> tuple[dict[int, dict], dict[int, list]]:
    """Who gave which labels, per item, and the reviewers' final labels.

    Returns ``({item id: {annotator id or IMPORT_KEY: labels}}, {item id: final labels})``;
    review annotations are left out (a reviewer's decision is ``Item.final_labels``).
    """
    rows = (
        Annotation.objects.filter(project=project)
        .exclude(source=AnnotationSource.REVIEW)
        .order_by()
        .values_list("item_id", "annotator_id", "labels")
    )
    per_item: dict[int, dict] = {}
    for item_id, annotator_id, labels in rows.iterator(chunk_size=10_000):
        key = annotator_id if annotator_id is not None else IMPORT_KEY
        per_item.setdefault(item_id, {})[key] = labels
    finals = {
        item_id: labels
        for item_id, labels in Item.objects.filter(project=project, final_labels__isnull=False)
        .values_list("id", "final_labels")
        .iterator(chunk_size=10_000)
        if labels is not None
    }
    return per_item, finals


def item_rows(*, project: Project, item_ids: np.ndarray) -> list[tuple]:
    """[(id, text, image, vector), ...] in the order of ``item_ids``."""
    ids = item_ids.tolist()
    found: dict[int, tuple] = {}
    for start in range(0, len(ids), ID_CHUNK):
        chunk = Item.objects.filter(project=project, id__in=ids[start : start + ID_CHUNK])
        found.update((row[0], row) for row in chunk.values_list("id", "text", "image", "vector"))
    return [found[i] for i in ids]


def featurize_items(*, project: Project, item_ids: np.ndarray) -> tuple[Any, str]:
    """(N, D) features of ``item_ids`` (rows in that order) and the featurizer's kind."""
    rows = item_rows(project=project, item_ids=item_ids)
    kind = featurizer_kind(project)
    text = None
    if kind == "text":
        rng = np.random.default_rng(project.seed)
        sample = rng.choice(len(rows), size=min(len(rows), IDF_SAMPLE), replace=False)
        text = TextFeaturizer().fit([rows[i][1] for i in sample])
    return pool_features({"featurizer": kind, "text": text}, rows), kind


def project_gate() -> Gate:
    """The label-issue gate's thresholds: ``learning.issue_gate``'s measured defaults, unless
    the deployment's settings override them."""
    return Gate(
        min_per_class=getattr(settings, "QUORUM_ISSUE_GATE_MIN_PER_CLASS", DEFAULT_MIN_PER_CLASS),
        min_lift=getattr(settings, "QUORUM_ISSUE_GATE_MIN_LIFT", DEFAULT_MIN_LIFT),
        max_quality=getattr(settings, "QUORUM_ISSUE_MAX_QUALITY", DEFAULT_MAX_QUALITY),
    )
