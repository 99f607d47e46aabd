"""HashedNgramCounter: exactly scikit-learn's hashed word and char_wb counts, only faster."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.feature_extraction.text import HashingVectorizer

from learning.hashed_ngrams import HashedNgramCounter

TEXTS = [
    "the battery died after two days",
    "THE Battery died, after TWO days!!",
    "",
    "   ",
    "a",
    "x\ty  \n z\x1cq",
    "İstanbul straße ΣΑΣ naïve café",
    "ab ab ab ab ab",
    "don't stop-me now 42 4 2",
]


def _reference(texts: list[str], n_features: int) -> sp.csr_matrix:
    common = dict(n_features=n_features, alternate_sign=False, norm=None, dtype=np.float32)
    word = HashingVectorizer(analyzer="word", ngram_range=(1, 2), **common)
    char = HashingVectorizer(analyzer="char_wb", ngram_range=(2, 4), **common)
    return sp.hstack([word.transform(texts), char.transform(texts)], format="csr")


def _random_texts(n: int, seed: int) -> list[str]:
    rng = np.random.default_rng(seed)
    words = np.array(["free", "win", "call", "now", "hi", "ok", "Lunch?", "U", "x", "2morrow"])
    return [" ".join(rng.choice(words, size=rng.integers(0, 12))) for _ in range(n)]


@pytest.mark.parametrize("n_features", [2**4, 2**18])
def test_counts_equal_hashing_vectorizer(n_features: int) -> None:
    texts = TEXTS + _random_texts(300, seed=1)
    counts = HashedNgramCounter(n_features=n_features, char_ngrams=(2, 4), dtype=np.float32).counts(
        texts
    )
    assert counts.shape == (len(texts), 2 * n_features)
    assert abs(counts - _reference(texts, n_features)).max() == 0
    summed = counts.copy()
    summed.sum_duplicates()
    assert summed.nnz == counts.nnz  # no duplicate entries


def test_the_token_cache_does_not_change_later_results() -> None:
    counter = HashedNgramCounter(n_features=2**10, char_ngrams=(2, 4), dtype=np.float32)
    first, second = _random_texts(200, seed=2), _random_texts(200, seed=3)
    counter.counts(first)  # fills the cache with the shared vocabulary
    chars = counter.counts(second)
    fresh = HashedNgramCounter(n_features=2**10, char_ngrams=(2, 4), dtype=np.float32).counts(
        second
    )
    assert abs(chars - fresh).max() == 0


def test_pickles_without_its_cache() -> None:
    counter = HashedNgramCounter(n_features=2**10, char_ngrams=(2, 4), dtype=np.float32)
    counter.counts(_random_texts(500, seed=4))
    small = len(
        pickle.dumps(HashedNgramCounter(n_features=2**10, char_ngrams=(2, 4), dtype=np.float32))
    )
    clone = pickle.loads(pickle.dumps(counter))
    assert len(pickle.dumps(counter)) == small
    assert abs(clone.counts(TEXTS) - counter.counts(TEXTS)).max() == 0
