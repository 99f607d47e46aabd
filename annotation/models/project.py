"""Projects, their label sets and who may do what in them."""

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models


class DataType(models.TextChoices):
    TEXT = "text", "Text"
    IMAGE = "image", "Image"


class Strategy(models.TextChoices):
    """How the active-learning job scores the unlabeled pool."""

    MARGIN = "margin", "Margin"
    ENTROPY = "entropy", "Entropy"
    LEAST_CONFIDENCE = "least_confidence", "Least confidence"
    RANDOM = "random", "Random"


class FallbackOrder(models.TextChoices):
    """Queue order before any model has scored the items."""

    IMPORT = "import", "Import order"
    RANDOM = "random", "Seeded random"


class Role(models.TextChoices):
    MANAGER = "manager", "Manager"
    ANNOTATOR = "annotator", "Annotator"
    REVIEWER = "reviewer", "Reviewer"
    ENGINEER = "engineer", "Engineer"


class Project(models.Model):
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    guidelines = models.TextField(blank=True, help_text="Markdown; rendered sanitized.")
    data_type = models.CharField(max_length=10, choices=DataType.choices, default=DataType.TEXT)
    multi_label = models.BooleanField(default=False)
    overlap = models.PositiveSmallIntegerField(
        default=1,
        validators=[MinValueValidator(1), MaxValueValidator(50)],
        help_text="Distinct annotators every item needs (the minimum, with adaptive overlap).",
    )
    max_overlap = models.PositiveSmallIntegerField(
        default=1,
        validators=[MinValueValidator(1), MaxValueValidator(50)],
        help_text="Disagreeing items get more annotators, up to this many.",
    )
    agreement_sample = models.FloatField(
        default=0.0,
        validators=[MinValueValidator(0.0), MaxValueValidator(1.0)],
        help_text="On overlap-1 projects, the share of items that get a second annotator, so "
        "agreement is measured from the first hour.",
    )
    min_item_agreement = models.FloatField(
        default=1.0,
        validators=[MinValueValidator(0.0), MaxValueValidator(1.0)],
        help_text="Share of annotators that must agree before an item stops at its overlap.",
    )
    strategy = models.CharField(max_length=20, choices=Strategy.choices, default=Strategy.MARGIN)
    fallback_order = models.CharField(
        max_length=10, choices=FallbackOrder.choices, default=FallbackOrder.IMPORT
    )
    seed = models.IntegerField(default=0)
    lease_minutes = models.PositiveSmallIntegerField(default=10, validators=[MinValueValidator(1)])
    retrain_every = models.PositiveIntegerField(
        default=20, help_text="New labels that trigger a retrain-and-rescore job; 0 turns it off."
    )
    batch_size = models.PositiveIntegerField(
        default=20,
        validators=[MinValueValidator(1), MaxValueValidator(1000)],
        help_text="Varied items each retrain puts first (1-1000): selection cost grows with it.",
    )
    label_issues_every = models.PositiveIntegerField(
        default=200, help_text="New labels that trigger a label-issues run; 0 turns it off."
    )
    agreement_every = models.PositiveIntegerField(
        default=50, help_text="New multi-annotated items that trigger an agreement run; 0: off."
    )
    duplicate_threshold = models.FloatField(
        default=0.7,
        validators=[MinValueValidator(0.3), MaxValueValidator(1.0)],
        help_text="Word-set similarity (Jaccard) at which the audit calls two texts "
        "near-duplicates (0.7 measured best on SMS spam with planted copies).",
    )
    content_retention_days = models.PositiveIntegerField(
        null=True,
        blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(36_500)],
        help_text="Days an item's content is kept after import; then the daily sweep deletes "
        "its text, image and metadata and keeps its labels. Empty: kept until deleted by hand.",
    )
    stop_threshold = models.FloatField(
        default=0.99,
        validators=[MinValueValidator(0.0), MaxValueValidator(1.0)],
        help_text="Mean kappa between successive models, over the last 3, at which the model "
        "has stopped changing (Bloodgood & Vijay-Shanker's 0.99 by default).",
    )
    stop_on_plateau = models.BooleanField(
        default=False,
        help_text="Also call the model stable when kappa has stopped increasing (no gain over "
        "the last doubling of the labels, mean kappa at least 0.95): for tasks where kappa "
        "levels off below the threshold.",
    )
    eval_sample = models.PositiveIntegerField(
        default=0,
        validators=[MaxValueValidator(1000)],
        help_text="Random items served right after the first model, before the model's picks, "
        "to score the learning curve fairly (0-1000; 0: off). Actively chosen items are the "
        "hardest, so scores over them understate the model; 100-200 suit most forecasts.",
    )
    forecast_target = models.FloatField(
        default=0.95,
        validators=[MinValueValidator(0.01), MaxValueValidator(1.0)],
        help_text="The macro-F1 the forecast aims at: a share of the plateau, or an absolute "
        "value when 'forecast relative' is off.",
    )
    forecast_relative = models.BooleanField(
        default=True, help_text="The forecast target is a share of the learning curve's plateau."
    )
    model_in_loop = models.BooleanField(
        default=False, help_text="Show the model's suggested label (anchors annotators)."
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.name


class Label(models.Model):
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="labels")
    name = models.CharField(max_length=100)
    color = models.CharField(max_length=7, default="#4e79a7")
    key = models.CharField(max_length=1, blank=True)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["project", "name"], name="label_unique_name"),
            models.UniqueConstraint(
                fields=["project", "key"], condition=~models.Q(key=""), name="label_unique_key"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Membership(models.Model):
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField(max_length=10, choices=Role.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["project", "user"], name="membership_unique_user")
        ]

    def __str__(self) -> str:
        return f"{self.user} as {self.role} in {self.project}"
