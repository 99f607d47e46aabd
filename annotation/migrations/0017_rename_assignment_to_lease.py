"""``Assignment`` becomes ``Lease``, the name the code and the docs use for it.

RenameModel renames the table (``annotation_assignment`` -> ``annotation_lease``) and
keeps its rows; the hand-written SQL reads the table name from the model, so it follows.
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("annotation", "0016_project_content_retention"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RenameModel(old_name="Assignment", new_name="Lease"),
        migrations.AlterField(
            model_name="lease",
            name="annotator",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.CASCADE,
                related_name="leases",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
        migrations.AlterField(
            model_name="lease",
            name="item",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.CASCADE,
                related_name="leases",
                to="annotation.item",
            ),
        ),
        migrations.RenameIndex(
            model_name="lease",
            new_name="annotation__project_b44f45_idx",
            old_name="annotation__project_847583_idx",
        ),
        migrations.RemoveConstraint(model_name="lease", name="assignment_unique"),
        migrations.AddConstraint(
            model_name="lease",
            constraint=models.UniqueConstraint(fields=("item", "annotator"), name="lease_unique"),
        ),
    ]
