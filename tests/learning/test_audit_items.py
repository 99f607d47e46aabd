"""Outliers by kNN distance and low-information texts."""

import numpy as np
import scipy.sparse as sp

from learning.audit.low_information import low_information_reasons
from learning.audit.outliers import knn_outliers


def test_points_far_from_every_cluster_are_the_outliers_farthest_first():
    rng = np.random.default_rng(0)
    X = np.vstack([rng.normal(0, 1, (300, 5)), rng.normal(8, 1, (300, 5)), [[40] * 5, [25] * 5]])
    found = knn_outliers(X, k=5, max_share=0.01)
    assert found.flagged[:2].tolist() == [600, 601]  # a Gaussian tail point or two may follow
    assert found.flagged.size <= 6
    assert found.scores[600] > found.cutoff


def test_outliers_work_on_sparse_text_features_with_a_reference_sample():
    X = sp.random(2000, 500, density=0.02, random_state=1, format="lil")
    X[1999] = np.full((1, 500), 5.0)
    X = X.tocsr()
    found = knn_outliers(X, k=10, reference=300, dims=16)
    assert 1999 in found.flagged.tolist()
    assert found.flagged.size <= 20


def test_too_few_items_flag_nothing():
    assert knn_outliers(np.zeros((5, 2)), k=10).flagged.size == 0


def test_low_information_reasons():
    texts = (["", "ok", "<div><br/><br/></div><p>Hello</p>!!!!!!!!!!", "Your code is 1234"]
             + [f"Your code is {n}" for n in range(10)]
             + ["Unsubscribe here\nSent from my phone"] * 1
             + [f"shall we eat {food} tonight?\nSent from my phone"
                  for food in "pasta rice soup fish tacos curry salad pizza stew noodles".split()]
             + ["Unsubscribe here\nfine words"] * 0
             + ["a perfectly informative sentence about the weather"])  # fmt: skip
    reasons = low_information_reasons(texts, min_template=10, min_line_items=10)
    assert reasons[0] == "empty"
    assert reasons[1].startswith("very short")
    assert reasons[2] == "mostly markup or punctuation"
    assert reasons[3].startswith("repeated template (11 items)")
    assert reasons[-1] is None
    assert all(r is None for r in reasons[15:25])  # a shared signature line is not the whole item


def test_projected_text_features_keep_a_text_unlike_the_others_far_out():
    from learning.audit.outliers import project_blocks
    from learning.featurize import TextFeaturizer

    rng = np.random.default_rng(3)
    words = "meet lunch today tomorrow office call later home dinner soon".split()
    texts = [" ".join(rng.choice(words, size=6)) for _ in range(400)]
    texts.append("0x7f3a9c 0xdeadbeef SIGSEGV core dumped at libc.so.6+0x2a1f0 errno=14")
    featurizer = TextFeaturizer(word_vectors=False).fit(texts)
    blocks = featurizer.iter_transform(texts, chunk_size=150)  # three blocks, one projection
    X = project_blocks(blocks, n_features=featurizer.n_output_features, seed=1)  # 64 dims
    assert X.shape == (401, 64) and X.dtype == np.float32
    found = knn_outliers(X, k=10)
    assert found.flagged[0] == 400
