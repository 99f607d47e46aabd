"""Token counts with a real LLM tokenizer whose vocabulary ships inside the package.

``bpe-openai`` bundles the cl100k_base and o200k_base merge tables in its wheel and
tokenizes in Rust; tiktoken downloads them on first use, which a machine without network
(and Quorum's no-download rule) cannot allow. Attention cost grows with the square of the
sequence length, so the attention-cost ratio is sum(L_after^2) / sum(L_before^2).
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from typing import Any

import bpe_openai
import numpy as np

__all__ = ["count_tokens", "token_report"]


@lru_cache(maxsize=4)
def _encoding(name: str) -> Any:
    return bpe_openai.get_encoding(name)


def count_tokens(texts: Sequence[str], *, encoding: str = "cl100k_base") -> np.ndarray:
    """(N,) int64 token counts; special-token strings in the text count as plain text."""
    enc = _encoding(encoding)
    return np.fromiter(
        (len(enc.encode_ordinary(t)) for t in texts), dtype=np.int64, count=len(texts)
    )


def token_report(before: np.ndarray, after: np.ndarray) -> dict[str, Any]:
    """Per-corpus token figures, and per item ``token_ratio`` (after / before).

    ``compression_ratio`` is before / after (2.0 = half the tokens); ``attention_ratio``
    is sum(after^2) / sum(before^2). Empty items count as ratio 1 (nothing to compress).
    """
    before = np.asarray(before, dtype=np.int64)
    after = np.asarray(after, dtype=np.int64)
    total_before, total_after = int(before.sum()), int(after.sum())
    square_before = float(np.square(before, dtype=np.float64).sum())
    with np.errstate(divide="ignore", invalid="ignore"):
        per_item = np.where(before > 0, after / np.maximum(before, 1), 1.0)
    return {
        "tokens_before": total_before,
        "tokens_after": total_after,
        "token_ratio": total_after / total_before if total_before else 1.0,
        "compression_ratio": total_before / total_after if total_after else float("inf"),
        "attention_ratio": float(np.square(after, dtype=np.float64).sum()) / square_before
        if square_before
        else 1.0,
        "item_token_ratio": per_item,
    }
