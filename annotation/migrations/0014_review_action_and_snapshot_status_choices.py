"""Review actions and snapshot statuses are enums (``ReviewActionKind``, ``SnapshotStatus``),
and the database refuses a value outside them."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("annotation", "0013_agreement_record_and_job_foreign_keys"),
    ]

    operations = [
        migrations.AlterField(
            model_name="reviewaction",
            name="action",
            field=models.CharField(
                choices=[
                    ("accept", "Accept"),
                    ("relabel", "Relabel"),
                    ("dismiss", "Dismiss"),
                    ("requeue", "Requeue"),
                    ("undo", "Undo"),
                ],
                max_length=10,
            ),
        ),
        migrations.AlterField(
            model_name="snapshot",
            name="status",
            field=models.CharField(
                choices=[
                    ("queued", "Queued"),
                    ("running", "Running"),
                    ("ready", "Ready"),
                    ("failed", "Failed"),
                ],
                default="queued",
                max_length=10,
            ),
        ),
        migrations.AddConstraint(
            model_name="reviewaction",
            constraint=models.CheckConstraint(
                condition=models.Q(("action__in", ["accept", "relabel", "dismiss", "requeue", "undo"])),
                name="review_action_kind",
            ),
        ),
        migrations.AddConstraint(
            model_name="snapshot",
            constraint=models.CheckConstraint(
                condition=models.Q(("status__in", ["queued", "running", "ready", "failed"])),
                name="snapshot_status_known",
            ),
        ),
    ]
