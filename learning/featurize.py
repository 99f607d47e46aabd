"""Turn items (texts, images, vectors) into feature matrices for the classifier.

Text features must scale to a million items, so the vocabulary is never stored:
words and character n-grams are hashed (stateless, identical in every process)
and only the IDF weights are fitted, once, on the labeled items plus a sample.
A fitted ``TextFeaturizer`` is a (D,) float array that can be pickled, stored
via ``to_state()`` and shipped to several workers, each transforming its own
chunk of the pool with bit-identical results.

No Django imports here.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from os import PathLike
from typing import Any

import numpy as np
import scipy.sparse as sp
from PIL import Image
from sklearn.preprocessing import normalize

from learning.hashed_ngrams import HashedNgramCounter, token_block
from learning.word_vectors import WordVectors

__all__ = ["TextBlocks", "TextFeaturizer", "image_features", "vector_features"]

_STATE_VERSION = 2  # 2 added word vectors; version-1 states load without them
_DTYPE = np.float32
# The word-vector block's weight against the TF-IDF block (each has unit norm before the
# row is normalised). From an 8-seed offline learning-curve sweep over 0.5 / 0.7 / 0.85 / 1.0
# on SMS spam and sentiment: heavier vectors help sentiment (new words) but blur SMS (spam
# is in specific tokens); 0.85 was the one weight that did well on both.
_VECTOR_WEIGHT = 0.85


class TextFeaturizer:
    """TF-IDF over hashed word (1-2)-grams and char_wb (2-4)-grams, plus mean word vectors.

    The output has ``D = 2 * n_features + d`` columns: word n-grams, then character
    n-grams (within word boundaries, which copes with typos and morphology), then the
    text's mean pretrained word vector (``learning.word_vectors``, d = 100; d = 0 with
    ``word_vectors=False``). Term frequencies are sublinear (``1 + log tf``), IDF is
    smoothed like scikit-learn's; the TF-IDF part and the vector part are each scaled to
    unit L2 norm, the vector part is weighted 0.85, and then the row is normalised.

    Why both: TF-IDF separates classes well once there are labels for the words that
    matter; the vectors generalise from the first few labels to words nobody has labeled
    yet. On the UCI sentiment sentences, margin sampling reached 0.78 accuracy with 200
    labels with both; with TF-IDF alone it took 400-500 (``bench/al_curve.py``).

    Parameters
    ----------
    n_features : hash buckets per analyzer (a power of two is fastest).
    word_vectors : add the bundled word vectors.
    """

    def __init__(self, *, n_features: int = 2**18, word_vectors: bool = True) -> None:
        if n_features < 1:
            raise ValueError("n_features must be positive")
        self.n_features = int(n_features)
        self.word_vectors = WordVectors.bundled() if word_vectors else None
        self.idf_: np.ndarray | None = None
        # The counts of HashingVectorizer(analyzer="word", ngram_range=(1, 2)) and
        # (analyzer="char_wb", ngram_range=(2, 4)), alternate_sign=False (non-negative, so
        # TF-IDF stays meaningful), norm=None (normalised once, after IDF weighting);
        # computed hashing each distinct word and token once, which is ~5x faster.
        self._counter = HashedNgramCounter(
            n_features=self.n_features, char_ngrams=(2, 4), dtype=_DTYPE
        )

    @property
    def n_output_features(self) -> int:
        """D, the number of columns that ``transform`` returns."""
        return 2 * self.n_features + (self.word_vectors.dimensions if self.word_vectors else 0)

    def _counts(self, texts: Sequence[str]) -> sp.csr_matrix:
        # No duplicate entries by construction; indices are left unsorted (sorting them
        # cost ~15% of featurizing and nothing downstream needs it).
        return self._counter.counts(_check_texts(texts))

    def fit(self, texts: Sequence[str]) -> TextFeaturizer:
        """Fit IDF weights on ``texts`` (labeled items plus a sample of the pool).

        Returns ``self`` so that ``TextFeaturizer().fit(texts).transform(pool)`` reads well.
        """
        counts = self._counts(texts)
        n_docs = counts.shape[0]
        doc_freq = np.bincount(counts.indices, minlength=counts.shape[1])
        self.idf_ = (np.log((1.0 + n_docs) / (1.0 + doc_freq)) + 1.0).astype(_DTYPE)
        return self

    def transform(self, texts: Sequence[str], *, chunk_size: int = 10_000) -> sp.csr_matrix:
        """Return the (N, D) float32 CSR TF-IDF matrix of ``texts``.

        Works ``chunk_size`` texts at a time so the dense intermediate memory of
        the hashing step stays flat; the result is the same for any chunk size.
        """
        chunks = list(self.iter_transform(texts, chunk_size=chunk_size))
        if not chunks:
            return sp.csr_matrix((0, self.n_output_features), dtype=_DTYPE)
        return sp.vstack(chunks, format="csr")

    def iter_transform(
        self, texts: Sequence[str], *, chunk_size: int = 10_000
    ) -> Iterator[sp.csr_matrix]:
        """Yield (chunk, D) CSR blocks of ``transform`` for streaming writers."""
        self._require_fitted()
        if chunk_size < 1:
            raise ValueError("chunk_size must be positive")
        for start in range(0, len(texts), chunk_size):
            yield self._blocks(texts[start : start + chunk_size]).joined()

    def transform_blocks(self, texts: Sequence[str]) -> TextBlocks:
        """``transform(texts)`` as its two blocks, not yet joined (see ``TextBlocks``)."""
        self._require_fitted()
        return self._blocks(texts)

    def _require_fitted(self) -> np.ndarray:
        """The fitted (F,) idf weights, or ``ValueError`` before ``fit``/``from_state``."""
        if self.idf_ is None:
            raise ValueError("TextFeaturizer is not fitted: call fit() or from_state() first")
        return self.idf_

    def _blocks(self, texts: Sequence[str]) -> TextBlocks:
        block = token_block(_check_texts(texts))
        counts = self._counter.counts(block)
        # Sublinear tf (1 + log tf): "free free free" should not outweigh the rest.
        np.log(counts.data, out=counts.data)
        counts.data += 1.0
        counts.data *= self._require_fitted()[
            counts.indices
        ]  # = counts @ diag(idf), without a copy
        tfidf = normalize(counts, norm="l2", copy=False).astype(_DTYPE, copy=False)
        if self.word_vectors is None:
            vectors = np.zeros((tfidf.shape[0], 0), dtype=_DTYPE)
        else:
            vectors = self.word_vectors.embed(block)
        return TextBlocks(tfidf=tfidf, vectors=vectors, weight=_VECTOR_WEIGHT)

    def to_state(self) -> dict[str, Any]:
        """Plain, picklable state: ``{"version", "n_features", "idf", "word_vectors"}``.

        ``word_vectors`` names the table (or is None), not its contents: the table ships
        with the code."""
        if self.idf_ is None:
            raise ValueError("TextFeaturizer is not fitted")
        return {
            "version": _STATE_VERSION, "n_features": self.n_features, "idf": self.idf_.copy(),
            "word_vectors": self.word_vectors.name if self.word_vectors else None,
        }  # fmt: skip

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> TextFeaturizer:
        """Rebuild a fitted featurizer from ``to_state()`` output."""
        if state.get("version") not in (1, _STATE_VERSION):
            raise ValueError(f"unsupported TextFeaturizer state version {state.get('version')!r}")
        table = state.get("word_vectors")
        featurizer = cls(n_features=int(state["n_features"]), word_vectors=table is not None)
        installed = featurizer.word_vectors.name if featurizer.word_vectors else None
        if table is not None and table != installed:
            raise ValueError(
                f"this model was trained with word vectors {table!r} but this install has "
                f"{installed!r}: retrain the model"
            )
        idf = np.asarray(state["idf"], dtype=_DTYPE)
        if idf.shape != (2 * featurizer.n_features,):
            raise ValueError(f"idf has shape {idf.shape}, expected ({2 * featurizer.n_features},)")
        featurizer.idf_ = idf
        return featurizer


@dataclass(frozen=True)
class TextBlocks:
    """Text feature rows before the join: the row ``transform`` returns is
    ``scale * [tfidf, weight * vectors]``, with ``scale`` making it unit length.

    Why not always join: the joined CSR matrix copies every stored value once more, 100
    dense vector columns per row, and building it cost more than the classifier's product
    (20 of ~60 us per text). A linear model can score the blocks separately (``dot``).
    """

    tfidf: sp.csr_matrix  # (N, D) float32, rows of unit L2 norm (or zero)
    vectors: np.ndarray  # (N, d) float32, rows of unit L2 norm (or zero); d may be 0
    weight: float

    @property
    def shape(self) -> tuple[int, int]:
        return self.tfidf.shape[0], self.tfidf.shape[1] + self.vectors.shape[1]

    def scale(self) -> np.ndarray:
        """(N,) float64: 1 / the norm of ``[tfidf, weight * vectors]`` (0 for empty rows)."""
        # TF-IDF rows are unit or empty, so their squared norm is 1 or 0 (summing the
        # squares again cost as much as the model's product).
        squares = (np.diff(self.tfidf.indptr) > 0).astype(np.float64)
        squares += self.weight**2 * np.einsum("ij,ij->i", self.vectors, self.vectors,
                                              dtype=np.float64)  # fmt: skip
        norm = np.sqrt(squares)
        return np.divide(1.0, norm, out=np.zeros_like(norm), where=norm > 0)

    def dot(self, weights: np.ndarray) -> np.ndarray:
        """``joined() @ weights`` for (D + d, K) dense ``weights``, without the join."""
        width = self.tfidf.shape[1]
        # In float32 like the features: a float64 operand would copy the sparse rows.
        weights = np.asarray(weights, dtype=_DTYPE)
        out = np.asarray(self.tfidf @ weights[:width], dtype=np.float64)
        if self.vectors.shape[1]:
            out += self.weight * (self.vectors @ weights[width:])
        return out * self.scale()[:, None]

    def joined(self) -> sp.csr_matrix:
        """The (N, D + d) CSR rows ``TextFeaturizer.transform`` returns."""
        if self.vectors.shape[1] == 0:
            return self.tfidf
        return _append_dense(self.tfidf, self.vectors, weight=self.weight)


def _append_dense(rows: sp.csr_matrix, dense: np.ndarray, *, weight: float) -> sp.csr_matrix:
    """``normalize(hstack([rows, weight * dense]))``, built in one pass over the arrays.

    (N, D) CSR rows and (N, d) dense rows give (N, D + d) CSR rows of unit L2 norm (or
    zero). Writing the arrays directly skips scipy's dense-to-COO conversion, the hstack
    and sklearn's second pass: about a third of the cost of the word-vector columns.
    """
    n, d = dense.shape
    per_row = np.diff(rows.indptr)
    row_of_entry = np.repeat(np.arange(n), per_row)
    squares = np.bincount(row_of_entry, weights=rows.data.astype(np.float64) ** 2, minlength=n)
    norm = np.sqrt(squares + weight**2 * np.einsum("ij,ij->i", dense, dense, dtype=np.float64))
    scale = np.divide(1.0, norm, out=np.zeros_like(norm), where=norm > 0).astype(_DTYPE)
    indptr = rows.indptr + d * np.arange(n + 1)
    data = np.empty(indptr[-1], dtype=_DTYPE)
    indices = np.empty(indptr[-1], dtype=rows.indices.dtype)
    sparse_at = np.arange(rows.nnz) + d * row_of_entry
    dense_at = (indptr[1:] - d)[:, None] + np.arange(d)  # (N, d): the last d slots per row
    data[sparse_at] = rows.data * scale[row_of_entry]
    indices[sparse_at] = rows.indices
    data[dense_at] = dense * (weight * scale)[:, None]
    indices[dense_at] = rows.shape[1] + np.arange(d)
    return sp.csr_matrix((data, indices, indptr), shape=(n, rows.shape[1] + d))


def _check_texts(texts: Sequence[str]) -> list[str]:
    if isinstance(texts, str):
        raise ValueError("texts must be a sequence of strings, not a single string")
    out = list(texts)
    for i, text in enumerate(out):
        if not isinstance(text, str):
            raise ValueError(f"texts[{i}] is {type(text).__name__}, expected str")
    return out


def image_features(
    images: Sequence[Image.Image | str | PathLike[str]],
    *,
    size: tuple[int, int] = (16, 16),
) -> np.ndarray:
    """Grayscale thumbnails flattened to (N, size[0] * size[1]) float32 in [0, 1].

    ``size`` is (width, height) as Pillow uses it. Downscaling uses a box filter,
    which averages pixels (no aliasing) and is Pillow's fastest good reducer.
    Paths are opened and closed one at a time so memory stays flat.
    """
    width, height = size
    out = np.empty((len(images), width * height), dtype=_DTYPE)
    for i, image in enumerate(images):
        if isinstance(image, Image.Image):
            out[i] = _thumbnail(image, size)
        else:
            with Image.open(image) as opened:
                out[i] = _thumbnail(opened, size)
    return out


def _thumbnail(image: Image.Image, size: tuple[int, int]) -> np.ndarray:
    small = image.convert("L").resize(size, Image.Resampling.BOX)
    return np.asarray(small, dtype=_DTYPE).reshape(-1) / 255.0


def vector_features(vectors: Sequence[Sequence[float]]) -> np.ndarray:
    """Stack precomputed embeddings into a (N, D) float32 array.

    Raises ``ValueError`` naming the first row whose length differs from row 0,
    or the first row holding a NaN / infinity. An empty input gives (0, 0).
    """
    rows = list(vectors)
    if not rows:
        return np.empty((0, 0), dtype=_DTYPE)
    width = len(rows[0])
    for i, row in enumerate(rows):
        if len(row) != width:
            raise ValueError(f"ragged vectors: row {i} has length {len(row)}, row 0 has {width}")
    arr = np.asarray(rows, dtype=_DTYPE)
    if arr.ndim != 2:
        raise ValueError(f"vectors must be a sequence of flat numeric rows; got shape {arr.shape}")
    bad = np.flatnonzero(~np.isfinite(arr).all(axis=1))
    if bad.size:
        raise ValueError(f"vector row {bad[0]} contains NaN or infinity")
    return arr
