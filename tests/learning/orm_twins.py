"""The ORM code each statement of ``learning.rawsql`` replaces, for tests and the bench only."""

import json

import numpy as np

from annotation.models import Annotation, AnnotationSource, Item


def human_annotation_rows(*, project_id: int) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Labels as JSON text like the statement's (the caller decodes each distinct one)."""
    rows = list(
        Annotation.objects.filter(project_id=project_id, annotator__isnull=False)
        .exclude(source=AnnotationSource.REVIEW)
        .values_list("item_id", "annotator_id", "labels")
    )
    items = np.asarray([r[0] for r in rows], dtype=np.int64)
    annotators = np.asarray([r[1] for r in rows], dtype=np.int64)
    return items, annotators, [json.dumps(r[2]) for r in rows]


def scores_write(
    ids: np.ndarray, priority: np.ndarray, label_idx: np.ndarray, names: list[str],
    score: np.ndarray, *, model_version_id: int, generation: int,
) -> None:  # fmt: skip
    items = [
        Item(pk=pk, priority=p, predicted_label=names[k], predicted_score=s,
             scored_by_id=model_version_id, score_generation=generation)
        for pk, p, k, s in zip(ids.tolist(), priority.tolist(), label_idx.tolist(),
                               score.tolist(), strict=True)
    ]  # fmt: skip
    Item.objects.bulk_update(
        items,
        ["priority", "predicted_label", "predicted_score", "scored_by", "score_generation"],
        batch_size=1000,
    )
