"""What a valid compression profile is, as the app that owns the filters says.

The filters live in ``learning.compress`` (pure, framework-free), which ``annotation`` must
not import. So ``learning`` registers two dotted paths from ``LearningConfig.ready()``, like
job handlers: a function ``spec -> [(field, code, message), ...]`` (no problems: valid) and a
function ``() -> filters`` giving the filters of every project's ``default`` profile. They are
imported on first use, so a process that never writes a profile never loads the filters.
"""

from collections.abc import Callable
from typing import Any

from django.utils.module_loading import import_string

Problems = list[tuple[str, str, str]]

_RULES: dict[str, str] = {}


def register_profile_rules(*, validate: str, default_filters: str) -> None:
    """Register the validator's and the default filters' dotted paths (idempotent)."""
    for key, path in (("validate", validate), ("default_filters", default_filters)):
        if _RULES.setdefault(key, path) != path:
            raise ValueError(f"Compression profile {key} is already {_RULES[key]}, not {path}.")


def _rule(key: str) -> Callable[..., Any]:
    try:
        return import_string(_RULES[key])
    except KeyError:
        raise LookupError("No app registered the compression profile rules.") from None


def profile_problems(spec: Any) -> Problems:
    """Every problem of ``{"name", "filters"}`` as (field, code, message); [] when valid."""
    return [(str(f), str(c), str(m)) for f, c, m in _rule("validate")(spec)]


def default_filters() -> list[dict[str, Any]]:
    """The filters a project's ``default`` profile starts with."""
    return list(_rule("default_filters")())
