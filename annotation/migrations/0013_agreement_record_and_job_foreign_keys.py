"""Names that say one thing: an agreement value is an ``AgreementRecord`` (a ``Snapshot`` is a
dataset version), and every foreign key to ``Job`` is called ``job``.

The label-issue uniqueness constraint names the renamed field, so it is dropped before the
rename and created again after it (SQLite rebuilds the table on a rename).
"""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("annotation", "0012_admin_plurals"),
        # RenameModel renames the content type too; when migrating backwards it needs the
        # content-type table as it is now (without the old ``name`` column) in its state.
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [
        migrations.RenameModel(old_name="AgreementSnapshot", new_name="AgreementRecord"),
        migrations.RenameIndex(
            model_name="agreementrecord",
            new_name="agreement_record_series",
            old_name="annotation__project_cf0863_idx",
        ),
        migrations.RemoveConstraint(model_name="labelissue", name="label_issue_once_per_run"),
        migrations.RenameField(model_name="agreementrecord", old_name="run", new_name="job"),
        migrations.RenameField(model_name="annotatorquality", old_name="run", new_name="job"),
        migrations.RenameField(model_name="auditfinding", old_name="run", new_name="job"),
        migrations.RenameField(model_name="labelissue", old_name="run", new_name="job"),
        migrations.RenameField(model_name="reviewaction", old_name="run", new_name="job"),
        migrations.AddConstraint(
            model_name="labelissue",
            constraint=models.UniqueConstraint(
                fields=("item", "job"), name="label_issue_once_per_job"
            ),
        ),
    ]
