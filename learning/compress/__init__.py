"""Data-centric compression: fewer tokens for the same labels, measured and reversible.

Pure Python and numpy, no Django: filters (``markup``, ``normalize``, ``replies``,
``boilerplate``, ``repetition``, ``near_duplicates``, ``model``) return ``Edit``s whose kept
segments map compressed offsets back to the original; a ``Profile`` orders and validates
them and maps one aggressiveness level to their parameters; ``sweep`` measures tokens and
cross-validated macro-F1 per level and proposes one.
"""

from learning.compress.profile import (
    DEFAULT_PROFILE,
    FILTERS,
    Pipeline,
    Problem,
    Profile,
    ProfileError,
)
from learning.compress.spans import Edit, compose
from learning.compress.sweep import compress_texts, propose_level, sweep
from learning.compress.tokens import count_tokens, token_report

__all__ = [
    "DEFAULT_PROFILE",
    "FILTERS",
    "Edit",
    "Pipeline",
    "Problem",
    "Profile",
    "ProfileError",
    "compose",
    "compress_texts",
    "count_tokens",
    "propose_level",
    "sweep",
    "token_report",
]
