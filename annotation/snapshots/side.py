"""The Parquet and Hugging Face files of a snapshot, written by a second process.

Once the first pass has written the scratch file and chosen the splits, the build's formats
are independent, so they run on two cores: this process writes the JSON Lines, CSV and
Label Studio files while a side process reads the same scratch file and writes the Parquet
file and, from each of its row groups, the Hugging Face split files. The side process is a fresh interpreter
that loads neither Django nor the app (``batches`` and ``writers`` need neither): about
75 MB, where a fork of a worker would count the worker's whole heap twice. It is started
when the build begins, so its imports overlap the first pass, and waits for its orders on
stdin. It writes only inside the build's scratch folder, so a failure anywhere publishes
nothing; it exits when the build process goes away.

    python -m annotation.snapshots.side_main     # orders: one JSON line on stdin
"""

import json
import logging
import os
import subprocess
import sys
from pathlib import Path
from typing import IO, Any, cast

import annotation
from annotation.snapshots.batches import scratch_batches
from annotation.snapshots.parquet_files import HuggingFaceWriter, ParquetWriter
from annotation.snapshots.writers import FORMAT_FILES

ROOT = Path(annotation.__file__).resolve().parents[1]
logger = logging.getLogger(__name__)


class SideProcess:
    """The side process of one build, writing into ``directory``: create it early, ``run``
    it once the splits are known, ``wait`` for it; ``stop`` ends it whatever happened (call
    it in ``finally``)."""

    def __init__(self, directory: Path) -> None:
        path = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
        # Arrow's system allocator: mimalloc held about 40 MB more at the peak here.
        env = os.environ | {"PYTHONPATH": path, "ARROW_DEFAULT_MEMORY_POOL": "system"}
        self.log = directory / "side.log"  # a file, not a pipe: nothing waits on its reader
        with self.log.open("wb") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "annotation.snapshots.side_main"], cwd=ROOT, env=env,
                stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=log,
            )  # fmt: skip
        self.stdin = cast(IO[bytes], self.proc.stdin)

    def run(self, *, scratch: Path, splits: bytes, split_names: list[str],
            directory: Path, columns: tuple[str, ...], folder: str, row_group: int) -> None:  # fmt: skip
        """Send the orders: the scratch file, each item's split (a file of one byte per
        item), where to write, the columns and the Parquet row-group size."""
        splits_file = directory / "splits.bin"
        splits_file.write_bytes(splits)
        orders = {"scratch": str(scratch), "splits": str(splits_file),
                  "split_names": split_names, "directory": str(directory),
                  "columns": list(columns), "folder": folder, "row_group": row_group,
                  "parent": os.getpid()}  # fmt: skip
        self.stdin.write(json.dumps(orders).encode() + b"\n")
        self.stdin.close()

    def wait(self) -> None:
        """Block until the side process is done; raise with its error if it failed."""
        if self.proc.wait() != 0:  # its traceback names server paths: the log, not the job
            logger.error("snapshot side process failed:\n%s",
                         self.log.read_text(errors="replace")[-4000:])  # fmt: skip
            raise RuntimeError(f"The snapshot's Parquet writer failed (exit status "
                               f"{self.proc.returncode}); the worker's log has its error.")  # fmt: skip
        self.log.unlink()

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        if not self.stdin.closed:
            self.stdin.close()


def side_write(orders: dict[str, Any]) -> None:
    """What the side process does with its orders."""
    directory, parent = Path(orders["directory"]), orders["parent"]
    splits = Path(orders["splits"]).read_bytes()
    hf = HuggingFaceWriter(directory / FORMAT_FILES["hf"], folder=orders["folder"])
    writer = ParquetWriter(directory / FORMAT_FILES["parquet"], columns=tuple(orders["columns"]),
                           row_group=orders["row_group"], on_group=hf.write_group)  # fmt: skip
    for batch in scratch_batches(Path(orders["scratch"]), splits, orders["split_names"]):
        if os.getppid() != parent:  # the build is gone: nobody will read what follows
            sys.exit("The snapshot build stopped.")
        writer.write_batch(batch)
    writer.close()
    hf.finish_parts()


def side_main() -> None:
    """Wait for the orders on stdin, then carry them out (``side_main`` module)."""
    line = sys.stdin.readline()
    if not line:  # the build ended before the first pass did
        sys.exit(1)
    side_write(json.loads(line))
