"""Mean word vectors: exact on a hand-made table, meaningful on the bundled GloVe one."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

from learning.hashed_ngrams import token_block
from learning.word_vectors import WordVectors


@pytest.fixture
def tiny() -> WordVectors:
    return WordVectors(["good", "bad"], np.array([[1.0, 0.0], [0.0, 1.0]]), name="tiny")


def test_a_text_gets_the_unit_length_mean_of_its_known_words(tiny: WordVectors) -> None:
    vectors = tiny.embed(["Good good BAD", "good, unknown!"])
    np.testing.assert_allclose(vectors, [[2 / 5**0.5, 1 / 5**0.5], [1.0, 0.0]], rtol=1e-6)


def test_texts_without_a_known_word_get_the_zero_vector(tiny: WordVectors) -> None:
    vectors = tiny.embed(["", "a b c", "unknown words only"])
    assert vectors.shape == (3, 2) and not vectors.any()


def test_pre_split_blocks_and_a_warm_cache_give_the_same_vectors(tiny: WordVectors) -> None:
    texts = ["good bad bad", "bad", "good-ish goods good"]
    first = tiny.embed(texts)
    np.testing.assert_array_equal(tiny.embed(token_block(texts)), first)
    np.testing.assert_array_equal(tiny.embed(texts[::-1])[::-1], first)


def test_a_table_needs_one_vector_per_word() -> None:
    with pytest.raises(ValueError, match="need"):
        WordVectors(["good", "bad"], np.zeros((3, 2)), name="broken")


def test_the_bundled_table_puts_synonyms_closer_than_unrelated_words() -> None:
    table = WordVectors.bundled()
    assert table.dimensions == 100 and "GloVe" in table.name
    movie, film, battery = table.embed(["a superb movie", "an excellent film", "the battery died"])
    assert movie @ film > movie @ battery + 0.2


def test_the_bundled_table_pickles_as_a_reference() -> None:
    table = WordVectors.bundled()
    data = pickle.dumps(table)
    assert len(data) < 200 and pickle.loads(data) is table


def test_vectors_do_not_depend_on_how_many_tokens_were_cached_before() -> None:
    words = [f"w{i:04d}" for i in range(3000)]
    table = np.random.default_rng(0).normal(size=(3000, 4))
    texts = [f"{words[i]} {words[(7 * i) % 3000]} x{i}" for i in range(3000)]
    at_once = WordVectors(words, table, name="t").embed(texts)
    warm = WordVectors(words, table, name="t")
    in_blocks = np.vstack([warm.embed(texts[i : i + 500]) for i in range(0, 3000, 500)])
    np.testing.assert_allclose(in_blocks, at_once, rtol=1e-6)
    expected = table[[1, 7]].sum(axis=0)  # text 1: w0001 w0007 x1 (unknown)
    np.testing.assert_allclose(at_once[1], expected / np.linalg.norm(expected), rtol=1e-5)
