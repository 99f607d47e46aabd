"""Loaded at start-up by a test's Celery worker (its PYTHONPATH names this folder): a disk
that fills up, at the file-write seam of the snapshot writers.

While the file ``$QUORUM_FAULT_DISK_FULL`` exists and holds a number N, every snapshot file
(``snapshot*``) opened for writing takes N bytes, then raises ``OSError(ENOSPC)`` as a full
disk does. Delete the file and the disk has room again. Nothing else changes.
"""

import errno
import os
import pathlib

_FLAG = os.environ.get("QUORUM_FAULT_DISK_FULL", "")
_open = pathlib.Path.open


class _FillingFile:
    def __init__(self, file, path: pathlib.Path, room: int):
        self._file, self._path, self._room = file, path, room

    def write(self, data):
        self._room -= len(data.encode() if isinstance(data, str) else data)
        if self._room < 0:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(self._path))
        return self._file.write(data)

    def __getattr__(self, name):
        return getattr(self._file, name)


def _open_on_a_small_disk(self, mode="r", *args, **kwargs):
    file = _open(self, mode, *args, **kwargs)
    if _FLAG and "w" in mode and self.name.startswith("snapshot") and os.path.exists(_FLAG):
        with _open(pathlib.Path(_FLAG)) as flag:
            return _FillingFile(file, self, int(flag.read().strip() or 0))
    return file


if _FLAG:
    pathlib.Path.open = _open_on_a_small_disk
