"""Pretrained word vectors: what words mean before anyone has labeled anything.

With a few dozen labels, a TF-IDF model knows only the words those labels happen to
contain: "superb" teaches it nothing about "excellent". The mean GloVe vector of a text
carries that knowledge in, which is where active learning needs it most (the first few
hundred labels). Quorum ships a 50k-word, 100-dimension table (``resources/
word_vectors.npz``, ~4 MB, built by ``scripts/build_word_vectors.py`` from an npm package;
its sources are recorded in the file), so this works offline on a fresh install.

Words are lowercased and tokenized as scikit-learn's default ``token_pattern`` does (two
or more word characters), the same words the TF-IDF featurizer sees. A text with no
known word gets the zero vector. No Django imports here.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from learning.hashed_ngrams import TokenBlock, token_block, token_words

__all__ = ["BUNDLED", "WordVectors"]

BUNDLED = Path(__file__).resolve().parent / "resources" / "word_vectors.npz"
_CACHE_TOKENS = 2**19  # distinct tokens whose vector sum is kept (~200 MB at most)


class WordVectors:
    """A word -> vector table and the mean-vector embedding of texts.

    Parameters
    ----------
    words : (W,) distinct words.
    vectors : (W, d) their vectors.
    name : identifies the table in stored model states (a model trained on one table
        must not be used with another).
    """

    _sums: np.ndarray  # (capacity, d) vector sums of the cached tokens (see _reset_cache)

    def __init__(self, words: Sequence[str], vectors: np.ndarray, *, name: str) -> None:
        vectors = np.asarray(vectors, dtype=np.float32)
        if vectors.ndim != 2 or vectors.shape[0] != len(words):
            raise ValueError(f"need (W, d) vectors for W={len(words)} words; got {vectors.shape}")
        # Row W is the zero vector: where every unknown word points.
        self._vectors = np.vstack([vectors, np.zeros((1, vectors.shape[1]), np.float32)])
        self.name = name
        self._index = {w: i for i, w in enumerate(words)}
        self._reset_cache()

    def __reduce__(self) -> str | tuple:
        if self.name == WordVectors.bundled().name:  # ships with the code: pickle a reference
            return (_bundled, ())
        return super().__reduce__()

    @property
    def dimensions(self) -> int:
        """d, the width of ``embed``'s output."""
        return int(self._vectors.shape[1])

    @classmethod
    @lru_cache(maxsize=1)
    def bundled(cls) -> WordVectors:
        """The table shipped with Quorum, loaded once per process (~0.1 s)."""
        with np.load(BUNDLED) as data:
            words = data["words"].tobytes().decode("utf-8").split("\n")
            vectors = data["vectors"].astype(np.float32) * data["scale"]
            name = f"{BUNDLED.name}:{len(words)}x{vectors.shape[1]}:{data['source']}"
        return cls(words, vectors, name=name)

    def embed(self, texts: Sequence[str] | TokenBlock) -> np.ndarray:
        """(N, d) float32: each text's mean word vector, scaled to unit L2 norm (or zero).

        ``texts`` may be a ``token_block`` that the TF-IDF counter splits too. Each
        distinct token is analysed once per table (then cached: its words' vector sum),
        so a text costs one sparse row: (N, U) token counts @ (U, d) token sums.
        """
        tokens, occurrence, ptr = texts if isinstance(texts, TokenBlock) else token_block(texts)
        rows = self._token_rows(tokens)
        cached = self._sums[: len(self._tokens)]
        counts = sp.csr_matrix(
            (np.ones(occurrence.size, np.float32), rows[occurrence], ptr),
            shape=(ptr.size - 1, cached.shape[0]),
        )
        sums = np.asarray(counts @ cached, dtype=np.float32)
        norms = np.linalg.norm(sums, axis=1, keepdims=True)
        return np.divide(sums, norms, out=np.zeros_like(sums), where=norms > 0)

    def _token_rows(self, tokens: list[str]) -> np.ndarray:
        """(U,) row in ``_sums`` of each token, analysing the new ones."""
        if len(self._tokens) + len(tokens) > _CACHE_TOKENS:
            self._reset_cache()
        new = [t for t in tokens if t not in self._tokens]
        if new:
            words, occurrence, ptr = token_words(new)
            get, unknown = self._index.get, self._vectors.shape[0] - 1
            rows = np.fromiter((get(w, unknown) for w in words), dtype=np.int64, count=len(words))
            onehot = sp.csr_matrix(
                (np.ones(occurrence.size, np.float32), rows[occurrence], ptr),
                shape=(len(new), self._vectors.shape[0]),
            )
            start, end = len(self._tokens), len(self._tokens) + len(new)
            if end > self._sums.shape[0]:  # grow by doubling: each row is copied O(1) times
                grown = np.empty((max(end, 2 * self._sums.shape[0]), self.dimensions), np.float32)
                grown[:start] = self._sums[:start]
                self._sums = grown
            self._sums[start:end] = onehot @ self._vectors
            for t in new:
                self._tokens[t] = len(self._tokens)
        index = self._tokens
        return np.fromiter(map(index.__getitem__, tokens), dtype=np.int64, count=len(tokens))

    def _reset_cache(self) -> None:
        self._tokens: dict[str, int] = {}
        # Row i: the vector sum of cached token i; rows past len(_tokens) are spare capacity.
        self._sums = np.zeros((1024, self.dimensions), np.float32)


def _bundled() -> WordVectors:
    return WordVectors.bundled()
