"""Items to label, where they came from, and the labels people gave them."""

from django.conf import settings
from django.db import models

from annotation.models.project import Project


class ImportBatch(models.Model):
    """One imported file: the start of every item's lineage."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="import_batches")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    file_name = models.CharField(max_length=255)
    file_format = models.CharField(max_length=20, blank=True)
    sha256 = models.CharField(max_length=64)
    size_bytes = models.BigIntegerField(default=0)
    rows_total = models.PositiveIntegerField(default=0)
    created_count = models.PositiveIntegerField(default=0)
    skipped_count = models.PositiveIntegerField(default=0)
    labels_count = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name_plural = "import batches"

    def __str__(self) -> str:
        return f"{self.file_name} ({self.created_count} items)"


class ItemStatus(models.TextChoices):
    OPEN = "open", "Open"
    COMPLETE = "complete", "Complete"


def item_image_path(item: "Item", filename: str) -> str:
    return f"projects/{item.project_id}/{filename}"


class Item(models.Model):
    # No separate index: the (project, external_id) unique constraint leads with project.
    # No database constraint on ``project`` nor ``import_batch``: an import writes a million
    # rows in one COPY, and the two per-row foreign-key checks queued for its end cost as
    # much server time as the COPY itself. Items are only written with the project and the
    # batch the import created, and the batch's own constraint to the project is checked
    # when the import commits, so an import into a project deleted meanwhile rolls back.
    # Django still cascades deletes (CASCADE, SET_NULL) as before.
    project = models.ForeignKey(
        Project, on_delete=models.CASCADE, related_name="items", db_index=False,
        db_constraint=False,
    )  # fmt: skip
    external_id = models.CharField(max_length=255)
    text = models.TextField(blank=True)
    image = models.FileField(upload_to=item_image_path, blank=True, max_length=500)
    meta = models.JSONField(default=dict, blank=True)
    vector = models.JSONField(null=True, blank=True, help_text="User-supplied embedding.")
    import_batch = models.ForeignKey(
        ImportBatch, null=True, blank=True, on_delete=models.SET_NULL, related_name="items",
        db_constraint=False,
    )  # fmt: skip
    status = models.CharField(max_length=10, choices=ItemStatus.choices, default=ItemStatus.OPEN)
    # Queue bookkeeping, kept in step by annotation services (never by save()).
    required_overlap = models.PositiveSmallIntegerField(default=1)
    annotation_count = models.PositiveSmallIntegerField(default=0)
    sequence = models.BigIntegerField(default=0, help_text="Fallback queue order.")
    priority = models.FloatField(default=0.0, help_text="Active-learning score: higher first.")
    # Which rescore wrote ``priority`` (``learning.services.score_swap.score_generation``):
    # the queue serves the newest generation first, so a rescore writes only the head of
    # its ranking and the rows it leaves keep an older model's order below it.
    # db_default: the import writers insert rows with hand-written SQL that names its columns.
    score_generation = models.BigIntegerField(default=0, db_default=0)
    # Written by the active-learning job, with ``priority``, on the head of its ranking only:
    # ``scored_by`` names the model that wrote them (pool-wide counts live on the version).
    predicted_label = models.CharField(max_length=100, blank=True)
    predicted_score = models.FloatField(null=True, blank=True)
    # Rewritten on many rows by each rescore, so it carries no database constraint and no
    # index: the per-row foreign-key check and index entry were a fifth of a full swap's
    # time on a million items. Django still applies SET_NULL when a version goes.
    scored_by = models.ForeignKey(
        "learning.ModelVersion", null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
        db_constraint=False, db_index=False,
    )  # fmt: skip
    # Written by label-quality and review services.
    consensus_labels = models.JSONField(null=True, blank=True)
    consensus_quality = models.FloatField(null=True, blank=True)
    consensus_method = models.CharField(max_length=20, blank=True)
    final_labels = models.JSONField(null=True, blank=True, help_text="Set by a reviewer.")
    # Written by audit decisions (annotation.services.audit).
    # db_default: the import writers insert rows with hand-written SQL that names its columns.
    excluded = models.BooleanField(
        default=False, db_default=False, help_text="Left out of snapshots and exports."
    )
    # None: never redacted ("" is a text redacted to nothing).
    redacted_text = models.TextField(  # noqa: DJ001
        null=True, blank=True, help_text="The text with personal data replaced; shown instead."
    )
    content_deleted_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["project", "external_id"], name="item_unique_external_id"
            )
        ]
        # One queue index only: every index on this table is rewritten for each item an
        # active-learning job rescores (the head of its ranking), and imports pay for each too.
        indexes = [
            # The labeling queue's hot path (annotation/queue_selectors.py): open items only,
            # in exactly the queue's order, so `next` reads the head of the index and stops.
            models.Index(
                fields=[
                    "project",
                    "-annotation_count",
                    "-score_generation",
                    "-priority",
                    "sequence",
                    "id",
                ],
                condition=models.Q(status=ItemStatus.OPEN),
                name="item_open_queue_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.project_id}/{self.external_id}"


class AnnotationSource(models.TextChoices):
    HUMAN = "human", "Human"
    IMPORT = "import", "Import"
    REVIEW = "review", "Review"


class Annotation(models.Model):
    """One person's label(s) for one item. Imported labels have no annotator."""

    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="annotations")
    # Denormalized from the item: every bulk read (agreement, training labels,
    # exports, "labels since the last job") is per project.
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="+")
    annotator = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="annotations",
    )
    labels = models.JSONField(help_text="Label names; one for single-label projects.")
    source = models.CharField(
        max_length=10, choices=AnnotationSource.choices, default=AnnotationSource.HUMAN
    )
    time_spent_ms = models.PositiveIntegerField(null=True, blank=True)
    suggestion = models.CharField(max_length=100, blank=True, help_text="Model suggestion shown.")
    suggestion_accepted = models.BooleanField(null=True, blank=True)
    model_version = models.ForeignKey(
        "learning.ModelVersion", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["item", "annotator"],
                condition=models.Q(annotator__isnull=False),
                name="annotation_one_per_annotator",
            ),
            models.UniqueConstraint(
                fields=["item"],
                condition=models.Q(source="import"),
                name="annotation_one_import_per_item",
            ),
        ]
        indexes = [
            models.Index(fields=["annotator", "item"], name="annotation_by_annotator"),
            models.Index(fields=["project", "id"], name="annotation_by_project"),
        ]

    def __str__(self) -> str:
        return f"{self.item_id}: {self.labels}"


class Lease(models.Model):
    """The item is reserved for this annotator until ``expires_at`` (the queue's hold on it)."""

    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="leases")
    annotator = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="leases"
    )
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["item", "annotator"], name="lease_unique")]
        indexes = [models.Index(fields=["project", "annotator", "expires_at"])]

    def __str__(self) -> str:
        return f"lease of item {self.item_id} for user {self.annotator_id} until {self.expires_at}"


class Skip(models.Model):
    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="skips")
    annotator = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="skips"
    )
    reason = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["item", "annotator"], name="skip_unique")]

    def __str__(self) -> str:
        return f"skip of item {self.item_id} by user {self.annotator_id}"
