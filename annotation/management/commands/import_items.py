"""``python manage.py import_items PROJECT FILE``: import a file of items with a progress bar.

The command only parses arguments and reports: the import itself is
``annotation.services.importing.import_file``, the same service the API calls.
"""

import gc
from pathlib import Path
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from annotation.models import Project
from annotation.services.importing import ON_DUPLICATE, ImportResult, import_file

FORMATS = ("csv", "jsonl", "json", "labelstudio")


def project_by_id_or_name(value: str) -> Project:
    """A project by its numeric id, else by its exact name (which must be unambiguous)."""
    if value.isdigit():
        project = Project.objects.filter(pk=int(value)).first()
        if project is not None:
            return project
    matches = list(Project.objects.filter(name=value)[:2])
    if not matches:
        raise CommandError(f"No project with id or name {value!r}.")
    if len(matches) > 1:
        raise CommandError(f"Several projects are named {value!r}; give the project's id.")
    return matches[0]


def format_errors(result: ImportResult) -> str:
    """The row errors as an aligned table (row, line, field, code, message), plus "and N
    more". ``code`` is the machine-readable name a script can match (``annotation/importing/
    errors.py``); ``line`` is the physical line in the file, where the parser knows it."""
    header = ("row", "line", "field", "code", "message")
    rows = [header] + [
        (str(e["row"]), "" if e.get("line") is None else str(e["line"]), str(e["field"]),
         str(e.get("code", "")), str(e["message"]))
        for e in result.errors
    ]  # fmt: skip
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    lines = [
        f"{r[0]:>{widths[0]}}  {r[1]:>{widths[1]}}  {r[2]:<{widths[2]}}  {r[3]:<{widths[3]}}  {r[4]}"
        for r in rows
    ]
    hidden = result.error_count - len(result.errors)
    if hidden > 0:
        lines.append(f"... and {hidden} more")
    return "\n".join(lines)


class Command(BaseCommand):
    help = (
        "Import items (CSV, JSON Lines, JSON array or Label Studio JSON) into a project. "
        "A file with any bad row imports nothing; the bad rows are listed."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("project", help="The project's id or exact name.")
        parser.add_argument("file", type=Path, help="The file to import.")
        parser.add_argument("--format", choices=FORMATS, help="Default: from the file's extension.")
        parser.add_argument(
            "--on-duplicate", choices=ON_DUPLICATE, default="error",
            help="What a row whose id already exists does: fail the import (default) or be skipped.",
        )  # fmt: skip
        parser.add_argument("--user", help="Username recorded as the importer.")
        parser.add_argument("--no-progress", action="store_true", help="Hide the progress bar.")

    def handle(self, *args: Any, **options: Any) -> None:
        project = project_by_id_or_name(options["project"])
        path: Path = options["file"]
        if not path.is_file():
            raise CommandError(f"No file at {path}.")
        user = None
        if options["user"]:
            user = get_user_model().objects.filter(username=options["user"]).first()
            if user is None:
                raise CommandError(f"No user named {options['user']!r}.")
        size = path.stat().st_size
        # The import allocates a few objects per row that die young; the collector's full
        # passes also walked every object Django had loaded, each time: freezing those
        # (this process ends with the command) made a 200k-row import 15-25% faster.
        gc.freeze()
        result = self._import(project, path, size, user, options)
        if not result.ok:
            self.stderr.write(format_errors(result))
            raise CommandError(
                f"{result.error_count} error(s) in {path.name}; nothing was imported."
            )
        self.stdout.write(
            self.style.SUCCESS(
                f"Imported {path.name} into {project.name!r}: {result.created} created, "
                f"{result.skipped} skipped, {result.labels} existing labels kept."
            )
        )

    def _import(self, project: Project, path: Path, size: int, user, options) -> ImportResult:
        # tqdm writes carriage returns; Django's OutputWrapper would append newlines.
        bar = tqdm(
            total=size, unit="B", unit_scale=True, unit_divisor=1024, desc=path.name,
            file=self.stderr._out, disable=options["no_progress"], leave=True,
        )  # fmt: skip

        def progress(fraction: float) -> None:
            bar.update(max(0, int(fraction * size) - bar.n))

        try:
            with path.open("rb") as stream:
                result = import_file(
                    project=project, stream=stream, file_name=path.name, user=user,
                    fmt=options["format"], on_duplicate=options["on_duplicate"],
                    base_dir=path.resolve().parent, size=size, progress=progress,
                )  # fmt: skip
            if result.ok:
                bar.update(size - bar.n)
        finally:
            bar.close()
        return result
