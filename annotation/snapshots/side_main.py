"""Entry point of the snapshot's side process (``annotation.snapshots.side``).

    python -m annotation.snapshots.side_main     # orders: one JSON line on stdin

pandas is kept out before pyarrow loads: ``pyarrow.array`` imports it, when it can, to
check whether its argument is a pandas object, and that import alone measured 40 MB of
the side process's 135 MB peak. This process never sees a pandas object.
"""

import sys
from importlib.machinery import ModuleSpec


class _NoPandas:
    """A meta path finder that refuses pandas, so ``import pandas`` raises ImportError."""

    @staticmethod
    def find_spec(name: str, path: object = None, target: object = None) -> ModuleSpec | None:
        if name.partition(".")[0] == "pandas":
            raise ImportError("pandas is not loaded in the snapshot's side process")
        return None


sys.meta_path.insert(0, _NoPandas())

from annotation.snapshots.side import side_main  # noqa: E402 - after the finder, on purpose

side_main()
