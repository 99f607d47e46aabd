"""The reference data sets in ../shared/data (beside the checkout; never copied into it)."""

import os
from pathlib import Path

import pytest

SHARED_DATA = Path(__file__).resolve().parent.parent.parent / "shared" / "data"


def shared_data(*parts: str) -> Path:
    """A reference data set from ../shared/data, or a skip outside CI (a failure in CI)."""
    path = SHARED_DATA.joinpath(*parts)
    if not path.exists():
        message = f"reference data {path} is missing (it sits beside the checkout in CI)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return path
