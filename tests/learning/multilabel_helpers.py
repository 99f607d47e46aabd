"""Seeded multi-label items with known wrong label sets, for the label-issues job tests."""

import numpy as np

from annotation.services.importing import import_objects
from annotation.services.projects import project_create

TOPICS = ["sports", "politics", "tech"]
N_ITEMS, N_FLIPPED = 105, 7


def project_with_flipped_sets(creator, *, seed: int = 0):
    """A multi-label project whose items sit at their label set's corner of a 3-d cube.

    Label k applies exactly when coordinate k is positive (well separated), so one-vs-rest models
    learn every label; every 15th item has one label added or removed (never leaving it empty).
    Returns (project, {external id: true set}, {external ids of the flipped items}).
    """
    project = project_create(creator=creator, name="Topics", labels=TOPICS, multi_label=True)
    rng = np.random.default_rng(seed)
    rows, truth, flipped = [], {}, set()
    for i in range(N_ITEMS):
        present = np.zeros(3, dtype=bool)
        while not present.any():
            present = rng.random(3) < 0.5
        vector = np.where(present, 2.0, -2.0) + rng.normal(scale=0.5, size=3)
        given = present.copy()
        if i % (N_ITEMS // N_FLIPPED) == 0:
            k = rng.integers(3) if given.sum() > 1 else rng.choice(np.flatnonzero(~given))
            given[k] = not given[k]
            flipped.add(f"item-{i}")
        truth[f"item-{i}"] = [TOPICS[k] for k in np.flatnonzero(present)]
        rows.append(
            {
                "id": f"item-{i}",
                "text": f"item {i}",
                "vector": vector.round(4).tolist(),
                "labels": [TOPICS[k] for k in np.flatnonzero(given)],
            }
        )
    assert import_objects(project=project, objects=rows).ok
    return project, truth, flipped
