"""Features of a set of items, loaded in bulk, for the label-issues job.

Kept apart from the job so that it can be swapped for the active-learning job's shared
featurization helper once that exists: the contract is ``featurize_items(project, item_ids)
-> (X (N, D), description)`` with rows in the order of ``item_ids``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from django.core.files.storage import default_storage

from annotation.models import DataType, Item, Project
from learning.featurize import TextFeaturizer, image_features, vector_features

ID_CHUNK = 900  # stays under SQLite's bound-parameter limit
TEXT_HASH_FEATURES = 2**18
IDF_SAMPLE = 20_000


def _rows(project: Project, item_ids: np.ndarray, fields: tuple[str, ...]) -> list[tuple]:
    ids = item_ids.tolist()
    found: dict[int, tuple] = {}
    for start in range(0, len(ids), ID_CHUNK):
        chunk = ids[start : start + ID_CHUNK]
        for row in Item.objects.filter(project=project, id__in=chunk).values_list("id", *fields):
            found[row[0]] = row[1:]
    return [found[i] for i in ids]


def featurize_items(*, project: Project, item_ids: np.ndarray) -> tuple[Any, str]:
    """(N, D) features of ``item_ids`` (in that order) and a name for the featurizer used.

    User-supplied vectors win when every item has one; otherwise hashed TF-IDF for text
    projects (IDF fitted on these items) and grayscale thumbnails for image projects.
    """
    vectors = [row[0] for row in _rows(project, item_ids, ("vector",))]
    if vectors and all(v is not None for v in vectors):
        return vector_features(vectors), "vector"
    if project.data_type == DataType.IMAGE:
        names = [row[0] for row in _rows(project, item_ids, ("image",))]
        return image_features([default_storage.path(name) for name in names]), "image16"
    texts = [row[0] for row in _rows(project, item_ids, ("text",))]
    # IDF from a seeded sample: hashing is the slow part, and IDF settles long before 20k texts.
    rng = np.random.default_rng(project.seed)
    sample = rng.choice(len(texts), size=min(len(texts), IDF_SAMPLE), replace=False)
    featurizer = TextFeaturizer(n_features=TEXT_HASH_FEATURES).fit([texts[i] for i in sample])
    return featurizer.transform(texts), "tfidf-hash"

