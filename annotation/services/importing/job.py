"""The background job for a large import: the uploaded file waits under var/uploads."""

from pathlib import Path
from typing import Any

from annotation.jobs.registry import JobRejected
from annotation.services.importing.service import import_file


def import_job_handler(job, report_progress) -> dict[str, Any]:
    """Run a large import in a worker: the uploaded file waits under var/uploads."""
    params = job.params
    path = Path(params["path"])
    if not path.exists():
        raise FileNotFoundError(
            f"The uploaded file {params['file_name']!r} is gone; upload it again."
        )
    with path.open("rb") as stream:
        result = import_file(
            project=job.project, stream=stream, file_name=params["file_name"], user=job.created_by,
            fmt=params.get("format"), on_duplicate=params.get("on_duplicate", "error"),
            size=path.stat().st_size, progress=report_progress,
        )  # fmt: skip
    path.unlink(missing_ok=True)
    if not result.ok:
        raise JobRejected(
            f"{result.error_count} rows have errors; nothing was imported.", result.as_dict()
        )
    return result.as_dict()
