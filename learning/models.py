"""The learning seam's records: each trained model is a version, the project's learning curve."""

from django.db import models


class ModelVersion(models.Model):
    project = models.ForeignKey(
        "annotation.Project", on_delete=models.CASCADE, related_name="model_versions"
    )
    job = models.ForeignKey(
        "annotation.Job", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    version = models.PositiveIntegerField()
    strategy = models.CharField(max_length=20)
    featurizer = models.CharField(max_length=30)
    n_labels = models.PositiveIntegerField()
    label_counts = models.JSONField(default=dict)
    cv_accuracy = models.FloatField(null=True, blank=True)
    cv_macro_f1 = models.FloatField(null=True, blank=True)
    # The same out-of-fold predictions scored on the labeled items of the project's random
    # evaluation sample only (null when it is off or under 2 of them are labeled).
    eval_macro_f1 = models.FloatField(null=True, blank=True)
    eval_n = models.PositiveIntegerField(null=True, blank=True)
    n_scored = models.PositiveIntegerField(default=0)
    # {label name: open items this version predicts it for}, over the whole pool it scored:
    # the items keep per-item predictions only where the rescore wrote its head.
    predicted_counts = models.JSONField(default=dict, blank=True)
    # The stopping rule (learning.services.monitoring): this version's predicted label per
    # stop-set item ({item id: label name}) and its kappa against the previous version's: the
    # smallest one-vs-rest kappa over the labels, and the label it comes from.
    stop_predictions = models.JSONField(null=True, blank=True, editable=False)
    stop_kappa = models.FloatField(null=True, blank=True)
    stop_least_stable = models.TextField(blank=True, default="")  # "": none
    # The forecast fitted on the learning curve up to this version, with the settings it
    # answers ({"key": [metric, target, relative], "value": {...}}): read by the stats.
    forecast = models.JSONField(null=True, blank=True, editable=False)
    # zlib-compressed pickle of {featurizer state, fitted estimator, label names}: every
    # worker that scores a chunk loads the model from here, so workers share no disk.
    state = models.BinaryField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-version"]
        constraints = [
            models.UniqueConstraint(fields=["project", "version"], name="model_version_unique")
        ]

    def __str__(self) -> str:
        return f"{self.project_id} model v{self.version}"


class StopSet(models.Model):
    """The project's fixed, seeded sample of items every model version predicts (the stopping
    rule compares successive versions there). Drawn once, from the open pool, and kept: a
    stop set that changed would make successive kappas incomparable."""

    project = models.OneToOneField(
        "annotation.Project", on_delete=models.CASCADE, related_name="stop_set"
    )
    item_ids = models.JSONField(default=list)
    seed = models.IntegerField()
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.project_id} stop set ({len(self.item_ids)} items)"


class ChunkStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    RUNNING = "running", "Running"
    DONE = "done", "Done"


class ScoringChunk(models.Model):
    """One item-id range of an active-learning job's pool, scored by whichever worker claims it.

    Scores wait here (``scores``: compressed arrays) until every chunk is done; then the head
    of the ranking is written to the items (``learning.services.score_swap``), so a crashed
    job leaves the previous scores alone.
    """

    job = models.ForeignKey("annotation.Job", on_delete=models.CASCADE, related_name="+")
    model_version = models.ForeignKey(ModelVersion, on_delete=models.CASCADE, related_name="+")
    index = models.PositiveIntegerField()
    first_id = models.BigIntegerField()
    last_id = models.BigIntegerField()
    status = models.CharField(
        max_length=10, choices=ChunkStatus.choices, default=ChunkStatus.PENDING
    )
    claim = models.CharField(max_length=64, blank=True, help_text="Who is scoring it.")
    claimed_at = models.DateTimeField(null=True, blank=True)
    n_items = models.PositiveIntegerField(default=0)
    scores = models.BinaryField(null=True, blank=True)

    class Meta:
        ordering = ["index"]
        constraints = [
            models.UniqueConstraint(fields=["job", "index"], name="scoring_chunk_unique")
        ]

    def __str__(self) -> str:
        return f"job {self.job_id} chunk {self.index} ({self.status})"
