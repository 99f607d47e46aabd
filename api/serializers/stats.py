"""The shape of ``GET /api/projects/{id}/stats`` for the OpenAPI schema (output only).

The long-standing sections stay free-form objects; the monitoring ones (``stopping``,
``forecast``) are spelled out, nulls included, so clients and the fuzz test can rely on them.
"""

from rest_framework import serializers

FORECAST_STATUSES = ["ok", "reached", "unreachable", "not_enough_versions", "no_plateau"]


class StopKappaSerializer(serializers.Serializer):
    model_version = serializers.IntegerField()
    labels = serializers.IntegerField()
    kappa = serializers.FloatField(
        allow_null=True,
        help_text="Against the previous version on the stop set: the smallest one-vs-rest "
        "kappa over the labels the stop set resolves (each predicted often enough that one "
        "item changing leaves its kappa at 0.99 or more), or the plain kappa over all labels "
        "when that is smaller (with two labels, always); null: no previous version.",
    )
    least_stable = serializers.CharField(
        allow_null=True,
        help_text="The label that kappa comes from, the one changing most; null when it is "
        "the plain kappa.",
    )


class StoppingSerializer(serializers.Serializer):
    threshold = serializers.FloatField()
    window = serializers.IntegerField()
    stop_on_plateau = serializers.BooleanField(
        help_text="The project's plateau criterion is on: the rule also fires when kappa has "
        "stopped increasing (least-squares slope against log2(labels) <= 0 over the versions "
        "of the last doubling of the labels, at least the last 5; window mean >= 0.95)."
    )
    kappas = StopKappaSerializer(many=True)
    mean_kappa = serializers.FloatField(allow_null=True, help_text="Over the last `window`.")
    f_change_bound = serializers.FloatField(
        allow_null=True,
        help_text="Bloodgood & Grothendieck's bound on |ΔF| between successive versions, "
        "4(1-κ)/κ for the window's smallest κ: it holds for every label's one-vs-rest F, so "
        "for the macro-F1 too.",
    )
    stopped = serializers.BooleanField()
    fired_by = serializers.ChoiceField(
        choices=["threshold", "plateau"], allow_null=True,
        help_text="Which criterion fired first; null until the rule fires.",
    )  # fmt: skip
    stopped_at_labels = serializers.IntegerField(allow_null=True)


class CurvePointSerializer(serializers.Serializer):
    labels = serializers.IntegerField()
    value = serializers.FloatField(help_text="The fitted score at that many labels.")
    low = serializers.FloatField(help_text="Lower end of the 80% band.")
    high = serializers.FloatField(help_text="Upper end of the 80% band.")


class ForecastSerializer(serializers.Serializer):
    metric = serializers.CharField(
        help_text="The curve fitted. cv_macro_f1: cross-validated on the labeled items; under "
        "an active-learning strategy those are the hardest items, so it understates the model "
        "and the forecast is pessimistic (bench/monitoring.py). eval_macro_f1 (the project "
        "keeps an evaluation sample): the same out-of-fold predictions scored on the sample's "
        "labeled items, a random sample of the pool."
    )
    target = serializers.FloatField(help_text="The absolute score aimed at.")
    target_relative = serializers.BooleanField(help_text="The setting was a share of the plateau.")
    plateau = serializers.FloatField(allow_null=True)
    plateau_interval = serializers.ListField(
        child=serializers.FloatField(), min_length=2, max_length=2, allow_null=True
    )
    labels_needed = serializers.IntegerField(
        allow_null=True, help_text="Total labels (not additional ones) to reach the target."
    )
    labels_needed_interval = serializers.ListField(
        child=serializers.IntegerField(allow_null=True), min_length=2, max_length=2,
        allow_null=True, help_text="80% interval; an upper end of null: it may never be met.",
    )  # fmt: skip
    status = serializers.ChoiceField(
        choices=FORECAST_STATUSES,
        help_text="ok: the target lies ahead; reached; unreachable: the plateau is at or under "
        "the target; not_enough_versions: the fit is not identifiable yet; no_plateau: the "
        "curve is still rising with no plateau in sight (the fit's plateau is the ceiling, 1): "
        "no plateau or labels_needed, only the intervals.",
    )
    curve = CurvePointSerializer(
        many=True,
        help_text="The fitted curve from the first version's labels to max(the interval's upper "
        "end, twice the current labels), ~30 points with the 80% band; empty unless status is "
        "ok.",
    )  # fmt: skip


class ProjectStatsSerializer(serializers.Serializer):
    progress = serializers.DictField()
    distribution = serializers.DictField()
    agreement = serializers.DictField()
    agreement_history = serializers.DictField()
    annotators = serializers.ListField(child=serializers.DictField())
    confusion = serializers.DictField()
    learning_curve = serializers.ListField(child=serializers.DictField())
    open_issues = serializers.IntegerField()
    stopping = StoppingSerializer()
    forecast = ForecastSerializer()
