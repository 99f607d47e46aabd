"""``manage.py import_items``: the service behind a command line, with a progress bar and a
readable table of bad rows."""

import io
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from annotation.management.commands.import_items import Command
from annotation.models import ImportBatch, Item
from annotation.services.projects import project_create

pytestmark = pytest.mark.django_db


def run(*args: str) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("import_items", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_imports_by_project_id_and_reports_counts_with_a_progress_bar(project, manager, tmp_path):
    rows = "".join(f"t{i},item number {i}\n" for i in range(5000))  # more than one chunk
    data = write(tmp_path / "items.csv", "id,text\n" + rows)
    out, err = run(str(project.pk), str(data), "--user", "manager")
    assert "5000 created, 0 skipped" in out
    assert "items.csv" in err and "100%" in err  # the bar ran to the end
    assert Item.objects.filter(project=project).count() == 5000
    assert ImportBatch.objects.get(project=project).created_by == manager


def test_project_by_name_with_format_and_skipped_duplicates(project, tmp_path):
    first = write(tmp_path / "a.txt", '{"id": "x", "text": "one"}\n')
    run("Sentiment", str(first), "--format", "jsonl", "--no-progress")
    again = write(tmp_path / "b.jsonl", '{"id": "x", "text": "one"}\n{"id": "y", "text": "two"}\n')
    out, err = run("Sentiment", str(again), "--on-duplicate", "skip", "--no-progress")
    assert "1 created, 1 skipped" in out
    assert err == ""
    assert sorted(project.items.values_list("external_id", flat=True)) == ["x", "y"]


def test_bad_rows_print_a_table_import_nothing_and_fail(project, tmp_path):
    data = write(tmp_path / "bad.csv", "text,label\ngood,positive\n ,negative\nfine,happy\n")
    err = io.StringIO()
    with pytest.raises(CommandError, match=r"2 error\(s\) in bad.csv; nothing was imported"):
        call_command("import_items", str(project.pk), str(data), "--no-progress", stderr=err)
    lines = err.getvalue().splitlines()
    assert lines[0].split() == ["row", "line", "field", "code", "message"]
    assert lines[1].split(None, 4) == ["2", "3", "text", "empty_text", "The text is empty."]
    assert lines[2].split(None, 4) == [
        "3",
        "4",
        "label",
        "unknown_label",
        "Unknown label 'happy'; the project's labels are: negative, neutral, positive.",
    ]
    assert Item.objects.count() == 0 and ImportBatch.objects.count() == 0


def test_more_than_a_hundred_errors_say_how_many_more(project, tmp_path):
    data = write(tmp_path / "empty.csv", "text\n" + " \n" * 130)
    err = io.StringIO()
    with pytest.raises(CommandError):
        call_command("import_items", str(project.pk), str(data), "--no-progress", stderr=err)
    assert err.getvalue().rstrip().endswith("... and 30 more")


def test_errors_exit_non_zero_from_the_command_line(project, tmp_path, capsys):
    data = write(tmp_path / "bad.jsonl", '{"id": 1}\n')
    with pytest.raises(SystemExit) as exit_info:
        Command().run_from_argv(["manage.py", "import_items", str(project.pk), str(data)])
    assert exit_info.value.code == 1
    assert "Missing the 'text' field." in capsys.readouterr().err


@pytest.mark.parametrize(
    ("project_arg", "file_name", "message"),
    [
        ("999", "ok.csv", "No project with id or name '999'."),
        ("Nope", "ok.csv", "No project with id or name 'Nope'."),
        ("Sentiment", "missing.csv", "No file at "),
    ],
)
def test_unknown_project_or_file(project, tmp_path, project_arg, file_name, message):
    write(tmp_path / "ok.csv", "text\nfine\n")
    with pytest.raises(CommandError, match=message):
        run(project_arg, str(tmp_path / file_name))


def test_an_ambiguous_name_asks_for_the_id(project, manager, tmp_path):
    project_create(creator=manager, name="Sentiment", labels=["a"])
    data = write(tmp_path / "ok.csv", "text\nfine\n")
    with pytest.raises(CommandError, match="Several projects are named 'Sentiment'; give the"):
        run("Sentiment", str(data))
