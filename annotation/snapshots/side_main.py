"""Entry point of the snapshot's side process (``annotation.snapshots.side``).

    python -m annotation.snapshots.side_main     # orders: one JSON line on stdin

pandas and numpy are kept out before pyarrow loads: pyarrow imports them when it can
(``pyarrow.array`` imports pandas to check whether its argument is a pandas object), and
they measured 40 MB and 11 MB of the side process's peak; it uses neither.
"""

import sys
from importlib.machinery import ModuleSpec

REFUSED = frozenset({"pandas", "numpy"})


class _Refuse:
    """A meta path finder that refuses ``REFUSED``, so importing them raises ImportError."""

    @staticmethod
    def find_spec(name: str, path: object = None, target: object = None) -> ModuleSpec | None:
        if name.partition(".")[0] in REFUSED:
            raise ImportError(f"{name} is not loaded in the snapshot's side process")
        return None


sys.meta_path.insert(0, _Refuse())

from annotation.snapshots.side import side_main  # noqa: E402 - after the finder, on purpose

side_main()
