"""Features of a set of items, loaded in bulk, for the label-issues job.

Featurizes exactly like the active-learning job (``featurizer_kind`` picks vectors, thumbnails
or hashed TF-IDF; ``pool_features`` turns rows into the matrix), so both jobs see one model of
the data. Only the loading differs: ids are read in chunks, because a 100k-item ``id IN (...)``
overflows SQLite's bound-parameter limit.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from annotation.models import Item, Project
from learning.featurize import TextFeaturizer
from learning.services.active_learning import featurizer_kind
from learning.services.scoring import pool_features

ID_CHUNK = 900  # stays under SQLite's bound-parameter limit on every version
IDF_SAMPLE = 20_000  # hashing is the slow part, and IDF weights settle long before 20k texts


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
