from importlib import import_module

from django.db import migrations

# The same recomputation as 0006: the rule's kappa now reads only the labels the stop set
# resolves (``learning.monitoring.stopping.least_stable``), so stored kappas are recomputed
# from the stored predictions, and a project's curve reads one kind of kappa throughout.
recompute_stop_kappas = import_module(
    "learning.migrations.0006_stop_least_stable"
).recompute_stop_kappas


class Migration(migrations.Migration):

    dependencies = [
        ("learning", "0006_stop_least_stable"),
    ]

    operations = [
        migrations.RunPython(recompute_stop_kappas, migrations.RunPython.noop),
    ]
