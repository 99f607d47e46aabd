"""Exact and near-duplicate groups of texts and images: arrays and strings in, groups out.

Texts
-----
*Exact* duplicates share their normalized form (``normalize_text``: Unicode NFKC, case folded,
runs of white space collapsed). *Near* duplicates are found with MinHash (datasketch) over word
shingles and LSH banding: texts that agree on every minhash of at least one band are candidate
pairs, and each candidate pair is then checked on its exact shingle sets, so a reported pair is
never a hashing accident. Pairs are joined into clusters (connected components), and a cluster
is reported once, not as its pairs. The index is flat arrays (``_ShingleIndex``: one 64-bit key
per band and the sorted shingle hashes per text), so memory grows with the number of texts and
of candidate pairs, never with Python objects per text or band.

Images
------
Exact duplicates share a content hash; near duplicates a perceptual hash (``imagehash.phash``,
64 bits) within ``max_distance`` bits. Candidates come from splitting the hash into
``max_distance + 1`` bands: two hashes within that distance agree on at least one whole band
(pigeonhole), so no pair is missed and only hashes sharing a band are compared.
"""

from __future__ import annotations

import itertools
import re
import unicodedata
from array import array
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
from datasketch import MinHash, MinHashLSH

#: Measured on SMS spam with planted edits (bench/audit.py): single words at Jaccard 0.7 reached
#: F1 0.99 (word pairs: 0.77, since one edit in a short text breaks two pairs).
DEFAULT_THRESHOLD = 0.7
DEFAULT_SHINGLE = 1
NUM_PERM = 128
_SPACE = re.compile(r"\s+")
_WORD = re.compile(r"\w+", re.UNICODE)


@dataclass(frozen=True)
class Group:
    """Indices of the members (ascending) and the group's score in [0, 1]: 1.0 for exact
    duplicates, the smallest verified similarity that joined the cluster for near ones."""

    members: tuple[int, ...]
    score: float


def normalize_text(text: str) -> str:
    """The form exact duplicates share: NFKC, case folded, white space collapsed and trimmed."""
    return _SPACE.sub(" ", unicodedata.normalize("NFKC", text).casefold()).strip()


def exact_groups(keys: Sequence[str | bytes]) -> list[Group]:
    """Groups of two or more indices with equal keys (normalized texts or content hashes)."""
    by_key: dict[str | bytes, list[int]] = defaultdict(list)
    for index, key in enumerate(keys):
        if key:
            by_key[key].append(index)
    return [Group(tuple(members), 1.0) for members in by_key.values() if len(members) > 1]


def shingles(text: str, size: int = DEFAULT_SHINGLE) -> set[bytes]:
    """Word ``size``-grams of the normalized text (the words themselves for shorter texts)."""
    words = _WORD.findall(normalize_text(text))
    if len(words) < size:
        return {" ".join(words).encode()} if words else set()
    return {" ".join(words[i : i + size]).encode() for i in range(len(words) - size + 1)}


def near_duplicate_groups(
    texts: Sequence[str],
    *,
    threshold: float = DEFAULT_THRESHOLD,
    shingle: int = DEFAULT_SHINGLE,
    seed: int = 1,
) -> list[Group]:
    """Clusters of texts whose shingle sets have Jaccard similarity >= ``threshold``.

    Texts with equal normalized forms are searched once (as one representative) and come
    back together: a cluster here holds at least two *different* normalized texts, each with
    all of its exact copies. Exact-only groups are ``exact_groups``'s job.
    """
    normal = [normalize_text(t) for t in texts]
    representative: dict[str, int] = {}
    copies: dict[int, list[int]] = defaultdict(list)
    for index, key in enumerate(normal):
        copies[representative.setdefault(key, index)].append(index)
    del normal
    reps = [i for key, i in representative.items() if key]
    del representative
    lsh = _ShingleIndex(threshold=threshold)
    words = ((i, shingles(texts[i], shingle)) for i in reps)
    words = ((i, w) for i, w in words if w)
    firsts, second = itertools.tee(words)
    signatures = MinHash.generator((w for _, w in firsts), num_perm=NUM_PERM, seed=seed)
    for (i, shingle_set), signature in zip(second, signatures, strict=True):
        lsh.add(i, shingle_set, signature.hashvalues)
    return [
        Group(tuple(sorted(i for rep in cluster for i in copies[rep])), score)
        for cluster, score in _components(lsh.edges())
    ]


class _ShingleIndex:
    """MinHash LSH over texts in flat arrays: per text, one 64-bit key per band and its
    shingle hashes; no Python object per text.

    The bands and rows are datasketch's ``MinHashLSH`` optimum for the threshold (so the
    candidates are the ones it would propose); a band's key combines its rows' minhashes
    (equal rows, equal key; a rare unequal pair sharing a key is only an extra candidate,
    which verification then drops). At 100k texts this holds about 30 MB where
    ``MinHashLSH``'s dicts of byte strings held about 540 MB (bench/audit.py).
    """

    CHUNK = 4096  # signatures turned into band keys at a time

    def __init__(self, *, threshold: float) -> None:
        shape = MinHashLSH(threshold=threshold, num_perm=NUM_PERM)
        self.threshold, self.bands, self.rows = threshold, shape.b, shape.r
        self._multipliers = np.random.default_rng(0).integers(
            1, 2**63, size=self.rows, dtype=np.uint64
        ) * np.uint64(2) + np.uint64(1)  # odd, so no row is ignored
        self.ids: array[int] = array("q")
        self._keys: list[np.ndarray] = []
        self._pending: list[np.ndarray] = []
        self._hashes: array[int] = array("q")
        self._offsets: array[int] = array("q", [0])

    def add(self, text_id: int, words: set[bytes], hashvalues: np.ndarray) -> None:
        self.ids.append(text_id)
        self._hashes.extend(_hashes(words).tolist())
        self._offsets.append(len(self._hashes))
        self._pending.append(hashvalues[: self.bands * self.rows])
        if len(self._pending) == self.CHUNK:
            self._flush()

    def _flush(self) -> None:
        if self._pending:
            rows = np.stack(self._pending).reshape(len(self._pending), self.bands, self.rows)
            self._keys.append((rows * self._multipliers).sum(axis=2, dtype=np.uint64))
            self._pending = []

    def edges(self) -> list[tuple[int, int, float]]:
        """Verified pairs ``(earlier, later, similarity)``, by later text then earlier."""
        self._flush()
        if not self._keys:
            return []
        keys = np.concatenate(self._keys)
        self._keys = []
        hashes = np.frombuffer(self._hashes, dtype=np.int64)
        offsets = np.frombuffer(self._offsets, dtype=np.int64)
        edges = []
        for code in _candidates(keys):
            later, earlier = divmod(int(code), len(keys))
            a = hashes[offsets[earlier] : offsets[earlier + 1]]
            b = hashes[offsets[later] : offsets[later + 1]]
            similarity = _jaccard(a, b)
            if similarity >= self.threshold:
                edges.append((self.ids[earlier], self.ids[later], similarity))
        return edges


def _candidates(keys: np.ndarray) -> np.ndarray:
    """Pairs of rows of ``keys`` (N, bands) that agree on at least one band, as unique
    ``later * N + earlier`` codes in ascending order."""
    n = len(keys)
    found = np.empty(0, dtype=np.int64)
    for band in range(keys.shape[1]):
        column = keys[:, band]
        order = np.argsort(column, kind="stable")
        ordered = column[order]
        starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]])
        sizes = np.diff(np.r_[starts, n])
        codes = []
        pairs = starts[sizes == 2]  # most buckets: one pair, found without a loop
        first, second = order[pairs], order[pairs + 1]
        codes.append(np.maximum(first, second) * n + np.minimum(first, second))
        for start, size in zip(starts[sizes > 2], sizes[sizes > 2], strict=True):
            bucket = np.sort(order[start : start + size])
            earlier, later = np.triu_indices(size, k=1)
            codes.append(bucket[later] * n + bucket[earlier])
        found = np.union1d(found, np.concatenate(codes))
    return found


def _hashes(words: set[bytes]) -> np.ndarray:
    """The shingle set as sorted unique int64 hashes: ~8 bytes a shingle instead of ~100 for a
    set of bytes objects (a 64-bit collision in one run is negligible)."""
    return np.unique(np.fromiter(map(hash, words), dtype=np.int64, count=len(words)))


def _jaccard(a: np.ndarray, b: np.ndarray) -> float:
    both = np.intersect1d(a, b, assume_unique=True).size
    return both / (a.size + b.size - both)


def _components(edges: Iterable[tuple[int, int, float]]) -> list[tuple[list[int], float]]:
    """Connected components of the similarity graph, each with its weakest edge."""
    parent: dict[int, int] = {}

    def find(x: int) -> int:
        parent.setdefault(x, x)
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    edges = list(edges)
    for a, b, _ in edges:
        parent[find(a)] = find(b)
    weakest: dict[int, float] = {}
    members: dict[int, list[int]] = defaultdict(list)
    for a, _, similarity in edges:
        root = find(a)
        weakest[root] = min(weakest.get(root, 1.0), similarity)
    for node in parent:
        members[find(node)].append(node)
    return [(sorted(nodes), round(weakest[root], 4)) for root, nodes in members.items()]


def image_hash_groups(hashes: np.ndarray, *, max_distance: int = 4) -> list[Group]:
    """Clusters of 64-bit perceptual hashes within ``max_distance`` bits of each other.

    Parameters
    ----------
    hashes : (N,) uint64.

    Returns
    -------
    Groups with score ``1 - d / 64`` for the largest distance ``d`` that joined them.
    Equal hashes (distance 0) count too: re-encoded or resized copies of one image.
    """
    hashes = np.asarray(hashes, dtype=np.uint64)
    bands = max_distance + 1
    width = -(-64 // bands)
    edges = set()
    for band in range(bands):
        mask = np.uint64((1 << width) - 1)
        keys = (hashes >> np.uint64(band * width)) & mask
        order = np.argsort(keys, kind="stable")
        sorted_keys = keys[order]
        starts = np.flatnonzero(np.r_[True, sorted_keys[1:] != sorted_keys[:-1]])
        ends = np.r_[starts[1:], order.size]
        for start, end in zip(starts, ends, strict=True):
            if end - start < 2:
                continue
            bucket = order[start:end]
            distances = _popcount(hashes[bucket][:, None] ^ hashes[bucket][None, :])
            for i, j in zip(*np.nonzero(np.triu(distances <= max_distance, k=1)), strict=True):
                edges.add((int(bucket[i]), int(bucket[j]), int(distances[i, j])))
    return [
        Group(tuple(nodes), round(score, 4))
        for nodes, score in _components((a, b, 1 - d / 64) for a, b, d in edges)
    ]


def _popcount(values: np.ndarray) -> np.ndarray:
    return np.unpackbits(values.view(np.uint8), axis=-1).reshape(*values.shape, 64).sum(axis=-1)
