"""Every label-issues run writes ``given_labels``/``suggested_labels``; the columns become
required and readers no longer fall back to the display text. A row without them (none
shipped) gets its one display label as the list."""

from django.db import migrations, models


def fill_label_lists(apps, schema_editor):
    LabelIssue = apps.get_model("annotation", "LabelIssue")
    for field in ("given", "suggested"):
        rows = LabelIssue.objects.filter(**{f"{field}_labels__isnull": True})
        for issue in rows.only("pk", f"{field}_label").iterator():
            LabelIssue.objects.filter(pk=issue.pk).update(
                **{f"{field}_labels": [getattr(issue, f"{field}_label")]}
            )


class Migration(migrations.Migration):
    # PostgreSQL refuses to ALTER a table with deferred foreign-key checks pending from the
    # backfill's UPDATEs in the same transaction; the backfill is idempotent, so a rerun
    # after a failure between the steps is harmless.
    atomic = False

    dependencies = [
        ("annotation", "0014_review_action_and_snapshot_status_choices"),
    ]

    operations = [
        migrations.RunPython(fill_label_lists, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="labelissue",
            name="given_labels",
            field=models.JSONField(default=list),
        ),
        migrations.AlterField(
            model_name="labelissue",
            name="suggested_labels",
            field=models.JSONField(default=list),
        ),
    ]
