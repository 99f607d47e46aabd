"""``manage.py apply_retention``: delete the content of items past their project's retention.

The same service the daily beat task (``annotation.tasks.apply_retention``) runs; for a cron
job on deployments without a beat process.
"""

from django.core.management.base import BaseCommand

from annotation.services.retention import retention_apply


class Command(BaseCommand):
    help = "Delete the content (keeping labels) of items older than their project's retention."

    def handle(self, *args, **options):
        done = retention_apply()
        for project_id, count in sorted(done.items()):
            self.stdout.write(f"project {project_id}: content of {count} items deleted")
        self.stdout.write(f"{sum(done.values())} items in {len(done)} projects")
