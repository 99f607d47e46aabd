"""Featurizers: shapes, ranges, chunk/process invariance and clear errors."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp
from PIL import Image

from learning.featurize import TextFeaturizer, image_features, vector_features

TEXTS = [
    "the battery died after two days",
    "great battery life, lasts a week",
    "screen cracked on arrival",
    "the screen is bright and sharp",
    "shipping was slow",
    "",
]


def test_text_features_are_l2_normalised_sparse_rows() -> None:
    featurizer = TextFeaturizer(n_features=2**10).fit(TEXTS)
    X = featurizer.transform(TEXTS)
    assert sp.isspmatrix_csr(X) or isinstance(X, sp.csr_array)
    assert X.shape == (6, featurizer.n_output_features) == (6, 2**11 + 100)
    norms = np.sqrt(np.asarray(X.multiply(X).sum(axis=1))).ravel()
    np.testing.assert_allclose(norms[:5], 1.0, rtol=1e-5)
    assert norms[5] == 0.0  # an empty text has no features, not NaNs
    assert X[:, : 2**11].data.min() > 0  # TF-IDF weights; the word-vector columns are signed


def test_word_vectors_relate_texts_that_share_no_word() -> None:
    texts = ["an excellent film", "a superb movie", "the battery died"]
    with_vectors = TextFeaturizer(n_features=2**10).fit(texts).transform(texts)
    tfidf_only = TextFeaturizer(n_features=2**10, word_vectors=False).fit(texts).transform(texts)
    assert tfidf_only.shape[1] == 2**11
    sim, plain = (with_vectors @ with_vectors.T).toarray(), (tfidf_only @ tfidf_only.T).toarray()
    assert sim[0, 1] > sim[0, 2] and sim[0, 1] > plain[0, 1] + 0.2


def test_a_version_1_state_still_loads_without_word_vectors() -> None:
    """Model versions stored before word vectors existed keep scoring as they were trained."""
    old = TextFeaturizer(n_features=2**10, word_vectors=False).fit(TEXTS)
    state = {"version": 1, "n_features": 2**10, "idf": old.idf_.copy()}
    restored = TextFeaturizer.from_state(state)
    assert restored.word_vectors is None
    assert (restored.transform(TEXTS) != old.transform(TEXTS)).nnz == 0


def test_a_state_trained_with_another_word_vector_table_is_rejected() -> None:
    state = TextFeaturizer(n_features=16).fit(TEXTS).to_state()
    state["word_vectors"] = "glove-300d-other"
    with pytest.raises(ValueError, match="retrain the model"):
        TextFeaturizer.from_state(state)


def test_shared_words_make_texts_similar() -> None:
    X = TextFeaturizer(n_features=2**12).fit(TEXTS).transform(TEXTS)
    sim = (X @ X.T).toarray()
    # "battery" pair shares more than "battery" vs "shipping".
    assert sim[0, 1] > sim[0, 4]
    assert sim[2, 3] > sim[2, 4]


def test_transform_is_identical_for_any_chunk_size() -> None:
    featurizer = TextFeaturizer(n_features=2**10).fit(TEXTS)
    whole = featurizer.transform(TEXTS, chunk_size=100)
    chunked = featurizer.transform(TEXTS, chunk_size=2)
    assert (whole != chunked).nnz == 0


def test_state_round_trip_reproduces_the_features() -> None:
    featurizer = TextFeaturizer(n_features=2**10).fit(TEXTS)
    state = pickle.loads(pickle.dumps(featurizer.to_state()))
    assert set(state) == {"version", "n_features", "idf", "word_vectors"}
    assert isinstance(state["idf"], np.ndarray)
    restored = TextFeaturizer.from_state(state)
    assert (featurizer.transform(TEXTS) != restored.transform(TEXTS)).nnz == 0


def test_rare_terms_weigh_more_than_common_ones() -> None:
    featurizer = TextFeaturizer(n_features=2**12).fit(["common rare", "common", "common", "common"])
    row = featurizer.transform(["common rare"]).toarray()[0, : 2**12]
    word_weights = sorted(row[row > 0])
    common_w, rare_w = word_weights[0], word_weights[-1]
    assert rare_w > common_w


def test_transform_before_fit_fails_clearly() -> None:
    with pytest.raises(ValueError, match="not fitted"):
        TextFeaturizer(n_features=16).transform(["x"])


def test_a_single_string_is_rejected() -> None:
    with pytest.raises(ValueError, match="not a single string"):
        TextFeaturizer(n_features=16).fit("oops")


def test_state_with_the_wrong_idf_size_is_rejected() -> None:
    state = TextFeaturizer(n_features=16).fit(TEXTS).to_state()
    state["n_features"] = 32
    with pytest.raises(ValueError, match="idf has shape"):
        TextFeaturizer.from_state(state)


def test_empty_pool_transforms_to_an_empty_matrix() -> None:
    featurizer = TextFeaturizer(n_features=16).fit(TEXTS)
    assert featurizer.transform([]).shape == (0, 32 + 100)


def test_image_features_accept_images_and_paths(tmp_path: Path) -> None:
    white = Image.new("RGB", (40, 30), (255, 255, 255))
    half = Image.new("L", (32, 32), 0)
    half.paste(255, (0, 0, 16, 32))  # left half white
    path = tmp_path / "half.png"
    half.save(path)
    X = image_features([white, path], size=(8, 4))
    assert X.shape == (2, 32)
    assert X.dtype == np.float32
    np.testing.assert_allclose(X[0], 1.0)
    grid = X[1].reshape(4, 8)  # (height, width)
    np.testing.assert_allclose(grid[:, :4], 1.0)
    np.testing.assert_allclose(grid[:, 4:], 0.0)


def test_vector_features_stack_rows() -> None:
    X = vector_features([[1, 2, 3], (4.5, 5, 6)])
    assert X.shape == (2, 3)
    np.testing.assert_allclose(X[1], [4.5, 5, 6])


def test_ragged_vectors_name_the_bad_row() -> None:
    with pytest.raises(ValueError, match="row 2 has length 2"):
        vector_features([[1, 2, 3], [1, 2, 3], [1, 2]])


def test_non_finite_vectors_are_rejected() -> None:
    with pytest.raises(ValueError, match="row 1"):
        vector_features([[1.0, 2.0], [float("nan"), 0.0]])


def test_joined_rows_equal_normalising_the_stacked_blocks() -> None:
    """The one-pass join of TF-IDF and word vectors is the plain hstack-then-normalise."""
    from sklearn.preprocessing import normalize

    from learning.featurize import _append_dense

    rng = np.random.default_rng(0)
    rows = normalize(sp.random(40, 30, density=0.2, format="csr", random_state=1))
    rows = sp.csr_matrix(rows.multiply(np.arange(40)[:, None] % 7 != 3)).astype(np.float32)
    dense = normalize(rng.normal(size=(40, 4))).astype(np.float32)
    dense[::5] = 0.0  # rows without a known word
    expected = normalize(sp.hstack([rows, sp.csr_matrix(dense * 0.85)], format="csr"))
    joined = _append_dense(rows, dense, weight=0.85)
    assert joined.shape == (40, 34) and joined.dtype == np.float32
    np.testing.assert_allclose(joined.toarray(), expected.toarray(), atol=1e-6)


@pytest.mark.parametrize("word_vectors", [True, False])
def test_blocks_join_to_exactly_what_transform_returns(word_vectors: bool) -> None:
    featurizer = TextFeaturizer(n_features=2**10, word_vectors=word_vectors).fit(TEXTS)
    blocks = featurizer.transform_blocks(TEXTS)
    expected = featurizer.transform(TEXTS)
    assert blocks.shape == expected.shape
    np.testing.assert_allclose(blocks.joined().toarray(), expected.toarray(), atol=1e-7)


def test_blocks_multiply_like_the_joined_rows_without_joining() -> None:
    featurizer = TextFeaturizer(n_features=2**10).fit(TEXTS)
    blocks = featurizer.transform_blocks(TEXTS)  # includes an empty text: a zero row
    weights = np.random.default_rng(0).normal(size=(blocks.shape[1], 3))
    expected = blocks.joined().toarray() @ weights
    np.testing.assert_allclose(blocks.dot(weights), expected, rtol=1e-5, atol=1e-6)
    assert np.all(blocks.dot(weights)[TEXTS.index("")] == 0)
