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
from typing import Any, NamedTuple

import numpy as np
import scipy.sparse as sp
from sklearn.utils import murmurhash3_32

__all__ = ["HashedNgramCounter", "TokenBlock", "token_block", "token_words"]

# scikit-learn's default token_pattern for analyzer="word".
_WORD = re.compile(r"(?u)\b\w\w+\b")
_CACHE_TOKENS = 2**19  # distinct tokens a counter keeps analysed (~150 MB at most)
_CACHE_PAIRS = 2**20  # distinct word pairs whose bucket it keeps (~100 MB at most)


class HashedNgramCounter:
    """Counts identical to two lowercasing ``HashingVectorizer``s (word, char_wb), faster.

    Every whitespace-separated token is analysed once per counter (then cached): its
    words (the ``\\b\\w\\w+\\b`` matches: they never span whitespace, so a text's words are
    its tokens' words in order), their unigram buckets and its char_wb n-gram buckets.

    Parameters
    ----------
    n_features : hash buckets per analyzer (F).
    char_ngrams : (min_n, max_n) of the char_wb analyzer.
    dtype : dtype of the returned counts.
    """

    def __init__(self, *, n_features: int, char_ngrams: tuple[int, int], dtype: type) -> None:
        self.n_features = int(n_features)
        self.dtype = dtype
        self.char_ngrams = (int(char_ngrams[0]), int(char_ngrams[1]))
        self._reset_cache()

    def __getstate__(self) -> dict[str, Any]:
        keep = ("n_features", "dtype", "char_ngrams")  # the cache is derived data: not pickled
        return {k: self.__dict__[k] for k in keep}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._reset_cache()

    def _reset_cache(self) -> None:
        self._tokens: dict[str, int] = {}
        self._rows = sp.csr_matrix((0, 2 * self.n_features), dtype=self.dtype)  # (V, 2F)
        self._token_words = np.zeros(0, dtype=np.int64)  # word ids of every token, in order
        self._token_word_ptr = np.zeros(1, dtype=np.int64)  # (V + 1,) offsets into it
        self._word_ids: dict[str, int] = {}
        self._words: list[str] = []
        self._pairs: dict[int, int] = {}  # (first word id << 32 | second) -> hash bucket

    def counts(self, texts: Sequence[str] | TokenBlock) -> sp.csr_matrix:
        """(N, 2F) counts: word (1, 2)-grams in columns [0, F), char_wb n-grams in [F, 2F).

        ``texts`` may be given already split (``token_block``), so that other features of
        the same block do not split it again. One sparse product (N, U + P) @ (U + P, 2F)
        over the block's U distinct tokens and P distinct word pairs sums everything at
        once: no second pass to add the bigrams.
        """
        block = texts if isinstance(texts, TokenBlock) else token_block(texts)
        tokens, occurrence, ptr = block
        n = ptr.size - 1
        cache_rows = self._token_rows(tokens)  # (U,) cache row of each distinct token
        pair_doc, pair_local, pair_buckets = self._bigrams(cache_rows[occurrence], ptr, n)
        ones: np.ndarray = np.ones(len(tokens) + pair_buckets.size, dtype=self.dtype)
        pair_rows = sp.csr_matrix(
            (ones[: pair_buckets.size], pair_buckets, np.arange(pair_buckets.size + 1)),
            shape=(pair_buckets.size, 2 * self.n_features),
        )
        right = sp.vstack([self._rows[cache_rows], pair_rows], format="csr")
        token_doc = np.repeat(np.arange(n), np.diff(ptr))
        left = sp.coo_matrix(
            (
                np.ones(occurrence.size + pair_doc.size, dtype=self.dtype),
                (np.concatenate([token_doc, pair_doc]),
                 np.concatenate([occurrence, pair_local + len(tokens)])),
            ),
            shape=(n, right.shape[0]),
        ).tocsr()  # fmt: skip
        return left @ right

    def _bigrams(
        self, rows: np.ndarray, ptr: np.ndarray, n: int
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The " "-joined pairs of consecutive words within each text.

        Returns (Q,) text of each pair occurrence, (Q,) its index into the (P,) hash
        buckets of the block's distinct pairs, and those buckets.
        """
        lengths = np.diff(self._token_word_ptr)[rows]  # words per token occurrence
        starts = np.repeat(self._token_word_ptr[rows] - (np.cumsum(lengths) - lengths), lengths)
        words = self._token_words[starts + np.arange(starts.size)]  # each text's words, in order
        doc = np.repeat(np.repeat(np.arange(n), np.diff(ptr)), lengths)
        same = doc[1:] == doc[:-1]  # pairs that do not straddle two texts
        keys = (words[:-1][same] << 32) | words[1:][same]
        pairs, inverse = np.unique(keys, return_inverse=True)
        return doc[1:][same], inverse.reshape(-1), self._pair_buckets(pairs)

    def _pair_buckets(self, pairs: np.ndarray) -> np.ndarray:
        """(P,) buckets of word-id pairs; each distinct pair is hashed once per cache."""
        cache = self._pairs
        keys = pairs.tolist()
        new = [k for k in keys if k not in cache]
        if new:
            words = self._words
            strings = [f"{words[k >> 32]} {words[k & 0xFFFFFFFF]}" for k in new]
            cache.update(zip(new, self._buckets(strings).tolist(), strict=True))
        return np.fromiter(map(cache.__getitem__, keys), dtype=np.int64, count=len(keys))

    def _buckets(self, strings: list[str]) -> np.ndarray:
        """(S,) hash bucket of each string, as scikit-learn's ``_hashing_fast`` computes it."""
        h = np.fromiter((murmurhash3_32(s, 0) for s in strings), dtype=np.int64, count=len(strings))
        out = np.abs(h) % self.n_features
        out[h == -(2**31)] = (2**31 - 1 - (self.n_features - 1)) % self.n_features
        return out

    def _one_hot(self, buckets: np.ndarray, ptr: np.ndarray, n: int) -> sp.csr_matrix:
        """(n, 2F) counts of ``buckets`` (column indices), row i holding ptr[i]:ptr[i + 1]."""
        ones: np.ndarray = np.ones(buckets.size, dtype=self.dtype)
        counts = sp.csr_matrix((ones, buckets, ptr), shape=(n, 2 * self.n_features))
        counts.sum_duplicates()
        return counts

    def _token_rows(self, tokens: list[str]) -> np.ndarray:
        """(V,) cache row of each distinct token, analysing the new ones."""
        if len(self._tokens) + len(tokens) > _CACHE_TOKENS or len(self._pairs) > _CACHE_PAIRS:
            self._reset_cache()
        new = [t for t in tokens if t not in self._tokens]
        if new:
            self._add_tokens(new)
        index = self._tokens
        return np.fromiter(map(index.__getitem__, tokens), dtype=np.int64, count=len(tokens))

    def _add_tokens(self, new: list[str]) -> None:
        words, word_occurrence, word_ptr = token_words(new)
        for w in words:
            if w not in self._word_ids:
                self._word_ids[w] = len(self._words)
                self._words.append(w)
        ids = np.fromiter(map(self._word_ids.__getitem__, words), dtype=np.int64, count=len(words))
        grams, gram_occurrence, gram_ptr = _occurrences(map(self._char_wb, new))
        rows = self._one_hot(self._buckets(words)[word_occurrence], word_ptr, len(new))
        rows += self._one_hot(
            self._buckets(grams)[gram_occurrence] + self.n_features, gram_ptr, len(new)
        )
        for t in new:
            self._tokens[t] = len(self._tokens)
        self._rows = sp.vstack([self._rows, rows.tocsr()], format="csr")
        self._token_words = np.concatenate([self._token_words, ids[word_occurrence]])
        self._token_word_ptr = np.concatenate(
            [self._token_word_ptr, self._token_word_ptr[-1] + word_ptr[1:]]
        )

    def _char_wb(self, token: str) -> list[str]:
        """scikit-learn's ``_char_wb_ngrams`` of one whitespace-free token."""
        padded = f" {token} "
        size = len(padded)
        low, high = self.char_ngrams
        if size <= low:  # a word shorter than every n is counted once, whole
            return [padded]
        return [
            padded[i : i + n] for n in range(low, min(high, size) + 1) for i in range(size - n + 1)
        ]


class TokenBlock(NamedTuple):
    """A block of N texts split into lowercased whitespace-separated tokens."""

    tokens: list[str]  # (U,) the distinct tokens
    occurrence: np.ndarray  # (T,) index into ``tokens`` of every token, text after text
    ptr: np.ndarray  # (N + 1,) text i holds occurrence[ptr[i]:ptr[i + 1]]


def token_block(texts: Sequence[str]) -> TokenBlock:
    """Split ``texts`` once for every featurizer that works token by token."""
    return TokenBlock(*_occurrences(t.lower().split() for t in texts))


def token_words(tokens: Iterable[str]) -> TokenBlock:
    """The words of each token (scikit-learn's default ``token_pattern``), in the same
    layout: the distinct words, every word occurrence, and token i's offsets in ``ptr``."""
    return TokenBlock(*_occurrences(map(_WORD.findall, tokens)))


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
