"""``manage.py export_snapshot PROJECT --spec spec.json --out DIR``: a snapshot without HTTP.

Records the snapshot and its job like the API does, runs the same job handler in
this process, then copies the files into ``DIR``.
"""

import json
import shutil
from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from annotation.jobs.runner import job_execute
from annotation.models import Project, SnapshotStatus
from annotation.services.snapshots import snapshot_create, snapshot_directory


class Command(BaseCommand):
    help = "Cut a curated, versioned snapshot of a project and write its files to a folder."

    def add_arguments(self, parser):
        parser.add_argument("project", help="Project id or exact name.")
        parser.add_argument(
            "--spec", type=Path, help="Curation spec (JSON); default spec if omitted."
        )
        parser.add_argument("--out", type=Path, required=True, help="Folder for the files.")

    def handle(self, *args, project: str, spec: Path | None, out: Path, **options):
        found = Project.objects.filter(pk=int(project)) if project.isdigit() else None
        target = (found and found.first()) or Project.objects.filter(name=project).first()
        if target is None:
            raise CommandError(f"No project {project!r} (give its id or exact name).")
        try:
            spec_data = json.loads(spec.read_text()) if spec else {}
        except (OSError, json.JSONDecodeError) as exc:
            raise CommandError(f"Cannot read the spec {spec}: {exc}") from exc
        try:
            snapshot = snapshot_create(project=target, spec=spec_data, enqueue=False)
        except ValidationError as exc:
            raise CommandError(f"Bad spec: {exc.message_dict}") from exc
        if snapshot.job_id is None:  # snapshot_create records the job that builds it
            raise CommandError("The snapshot has no build job.")
        job_execute(job_id=snapshot.job_id, task_id="manage.py export_snapshot")
        snapshot.refresh_from_db()
        if snapshot.status != SnapshotStatus.READY:
            job = snapshot.job  # None only if the job row was deleted meanwhile
            raise CommandError(f"The build failed: {job.error if job else 'its job is gone.'}")
        out.mkdir(parents=True, exist_ok=True)
        for path in snapshot_directory(snapshot).iterdir():
            shutil.copy2(path, out / path.name)
        self.stdout.write(
            f"{target.name} v{snapshot.version}: {snapshot.row_count} rows, "
            f"sha256 {snapshot.content_hash}, files in {out}"
        )
