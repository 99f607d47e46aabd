"""A model version's stored state: written once by the job, loaded by every worker that scores.

The state is a pickled dict (``featurizer``, ``model``, ``labels``, ``strategy``, ...) on the
``ModelVersion`` row, so that any worker can score a chunk of the pool with the model the
job fitted, and the features a pool is scored on are computed the way the state says.
"""

from __future__ import annotations

import pickle
import zlib
from functools import lru_cache
from typing import Any

from django.core.files.storage import default_storage

from learning.featurize import TextFeaturizer, image_features, vector_features
from learning.models import ModelVersion

_TEXT_BLOCK = 50_000  # texts featurized at once (the largest default chunk)


def state_dump(state: dict[str, Any]) -> bytes:
    return zlib.compress(pickle.dumps(state, protocol=pickle.HIGHEST_PROTOCOL), 1)


@lru_cache(maxsize=2)
def state_load(model_version_id: int, attempt: int = 0) -> dict[str, Any]:
    """The stored model of a version (cached: a worker scores many chunks of one version).

    ``attempt``, the job's attempt number, is part of the cache key: a retried job
    stores its new model in the same version row, and no worker may score with the
    model it cached from the failed attempt.
    """
    blob = ModelVersion.objects.values_list("state", flat=True).get(pk=model_version_id)
    if blob is None:
        raise ValueError(f"model version {model_version_id} has no stored model")
    state = pickle.loads(zlib.decompress(bytes(blob)))  # noqa: S301 - written by this app only
    if state.get("text_state") is not None:
        state["text"] = TextFeaturizer.from_state(state["text_state"])
    return state


def pool_features(state: dict[str, Any], rows: list[tuple]) -> Any:
    """(N, D) features of ``rows`` = [(id, text, image, vector), ...] the way ``state`` says."""
    kind = state["featurizer"]
    if kind == "vector":
        return vector_features([r[3] for r in rows])
    if kind == "image":
        return image_features([default_storage.path(r[2]) for r in rows])
    # One block per chunk: stacking 10k-row blocks cost ~5% of featurizing.
    return state["text"].transform([r[1] for r in rows], chunk_size=_TEXT_BLOCK)


def scoring_features(state: dict[str, Any], rows: list[tuple]) -> Any:
    """``pool_features`` for prediction only: text stays in its two blocks (``TextBlocks``),
    which the linear model scores without the costly join."""
    if state["featurizer"] == "text":
        return state["text"].transform_blocks([r[1] for r in rows])
    return pool_features(state, rows)
