"""Hashed word (1, 2)-gram and char_wb n-gram counts, each distinct string hashed once.

scikit-learn's ``HashingVectorizer`` builds and hashes every n-gram of every text in
Python: for SMS-length texts about 350 character n-grams each, ~0.2 ms per text, which
made featurizing a million-item pool take minutes. Texts repeat words, though, and
char_wb n-grams never cross a whitespace-separated token, so a text's char counts are
the sum of its tokens' counts, and its word counts the sum of its words' and word
pairs' one-hot rows. Here each distinct token / word / word pair of a block is hashed
once (with the same MurmurHash3 bucket rule as scikit-learn) and the per-text counts
come from sparse products: (N, V) occurrences @ (V, F) hashed rows. A counter also keeps
the char rows of the tokens it has seen (bounded), so a worker scoring chunk after chunk
of one pool stops re-deriving the n-grams of common words. The counts equal
``HashingVectorizer.transform`` exactly (integer sums in float32).

No Django imports here.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from itertools import chain
from typing import Any

import numpy as np
import scipy.sparse as sp
from sklearn.feature_extraction.text import HashingVectorizer
from sklearn.utils import murmurhash3_32

__all__ = ["HashedNgramCounter"]

# scikit-learn's default token_pattern for analyzer="word".
_WORD = re.compile(r"(?u)\b\w\w+\b")
_CACHE_TOKENS = 2**20  # distinct tokens whose char rows a counter keeps (~100 MB at most)


class HashedNgramCounter:
    """Counts identical to two lowercasing ``HashingVectorizer``s (word, char_wb), faster.

    Parameters
    ----------
    n_features : hash buckets per analyzer.
    char_ngrams : (min_n, max_n) of the char_wb analyzer.
    dtype : dtype of the returned counts.
    """

    def __init__(self, *, n_features: int, char_ngrams: tuple[int, int], dtype: type) -> None:
        self.n_features = int(n_features)
        self.dtype = dtype
        # Input is lowercased once in ``counts``, so this one must not redo it
        # (str.lower is not idempotent for every code point).
        self._char = HashingVectorizer(
            analyzer="char_wb", ngram_range=char_ngrams, lowercase=False,
            n_features=self.n_features, alternate_sign=False, norm=None, dtype=dtype,
        )  # fmt: skip
        self._reset_cache()

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()  # the cache is derived data: do not pickle it
        state.update(_vocab={}, _rows=None)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._reset_cache()

    def _reset_cache(self) -> None:
        self._vocab: dict[str, int] = {}
        self._rows = sp.csr_matrix((0, self.n_features), dtype=self.dtype)

    def counts(self, texts: Sequence[str]) -> tuple[sp.csr_matrix, sp.csr_matrix]:
        """(N, F) word (1, 2)-gram counts and (N, F) char_wb n-gram counts of ``texts``."""
        lowered = [t.lower() for t in texts]
        n = len(lowered)
        words, word_ids, word_ptr = _occurrences(_WORD.findall(t) for t in lowered)
        unigrams = self._one_hot(self._buckets(words)[word_ids], word_ptr, n)
        tokens, token_ids, token_ptr = _occurrences(t.split() for t in lowered)
        rows = self._token_rows(tokens)
        chars = sp.csr_matrix(
            (np.ones(token_ids.size, dtype=self.dtype), rows[token_ids], token_ptr),
            shape=(n, self._rows.shape[0]),
        ) @ self._rows  # fmt: skip
        return (unigrams + self._bigrams(words, word_ids, word_ptr, n)).tocsr(), chars.tocsr()

    def _bigrams(self, words: list[str], ids: np.ndarray, ptr: np.ndarray, n: int) -> sp.csr_matrix:
        """Counts of the " "-joined pairs of consecutive words within each text."""
        doc = np.repeat(np.arange(n), np.diff(ptr))
        same = doc[1:] == doc[:-1]  # pairs that do not straddle two texts
        width = max(1, len(words))
        pairs, inverse = np.unique(ids[:-1][same] * width + ids[1:][same], return_inverse=True)
        first, second = np.divmod(pairs, width)
        buckets = self._buckets(
            [f"{words[a]} {words[b]}" for a, b in zip(first.tolist(), second.tolist(), strict=True)]
        )
        pair_ptr = np.concatenate([[0], np.cumsum(np.bincount(doc[1:][same], minlength=n))])
        return self._one_hot(buckets[inverse.reshape(-1)], pair_ptr, n)

    def _buckets(self, strings: list[str]) -> np.ndarray:
        """(S,) hash bucket of each string, as scikit-learn's ``_hashing_fast`` computes it."""
        h = np.fromiter((murmurhash3_32(s, 0) for s in strings), dtype=np.int64, count=len(strings))
        out = np.abs(h) % self.n_features
        out[h == -(2**31)] = (2**31 - 1 - (self.n_features - 1)) % self.n_features
        return out

    def _one_hot(self, buckets: np.ndarray, ptr: np.ndarray, n: int) -> sp.csr_matrix:
        counts = sp.csr_matrix(
            (np.ones(buckets.size, dtype=self.dtype), buckets, ptr), shape=(n, self.n_features)
        )
        counts.sum_duplicates()
        return counts

    def _token_rows(self, tokens: list[str]) -> np.ndarray:
        """(V,) row of each distinct token in the cached (V', F) char counts, adding new ones."""
        if len(self._vocab) + len(tokens) > _CACHE_TOKENS:
            self._reset_cache()
        new = [t for t in tokens if t not in self._vocab]
        if new:
            for t in new:
                self._vocab[t] = len(self._vocab)
            self._rows = sp.vstack([self._rows, self._char.transform(new)], format="csr")
        vocab = self._vocab
        return np.fromiter((vocab[t] for t in tokens), dtype=np.int64, count=len(tokens))


def _occurrences(docs: Iterable[list[str]]) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Distinct strings, the (T,) string index of every occurrence, (N + 1,) text offsets."""
    lists = list(docs)
    flat = list(chain.from_iterable(lists))
    distinct = list(dict.fromkeys(flat))  # C-level loops from here on: no per-token bytecode
    index = {s: i for i, s in enumerate(distinct)}
    ids = np.fromiter(map(index.__getitem__, flat), dtype=np.int64, count=len(flat))
    ptr = np.zeros(len(lists) + 1, dtype=np.int64)
    np.cumsum(np.fromiter(map(len, lists), dtype=np.int64, count=len(lists)), out=ptr[1:])
    return distinct, ids, ptr
