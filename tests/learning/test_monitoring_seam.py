"""The monitoring seam on a real database: the stop set, kappas on versions, the stats sections."""

import numpy as np
import pytest

from annotation.models import Item
from learning.models import ModelVersion, StopSet
from learning.monitoring.forecast import power_law
from learning.services.monitoring import forecast_section, stop_set_ensure, stopping_section
from tests.learning.test_al_services import label_item, run, text_project  # noqa: F401


def test_each_version_records_its_kappa_on_a_fixed_stop_set(db, text_project, manager):  # noqa: F811
    _, first, _ = run(text_project, batch=2)
    stop = StopSet.objects.get(project=text_project)
    assert first["stop_kappa"] is None and len(stop.item_ids) == 74  # every open item (< 1000)
    assert set(stop.item_ids) <= set(
        Item.objects.filter(project=text_project).values_list("id", flat=True)
    )
    for kind, label in (("pos", "positive"), ("neg", "negative")):
        for item in Item.objects.filter(project=text_project, meta__kind=kind, status="open")[:4]:
            label_item(item, [label], manager)
    _, second, _ = run(text_project, batch=2)
    assert StopSet.objects.get(project=text_project).item_ids == stop.item_ids  # drawn once
    versions = list(ModelVersion.objects.filter(project=text_project).order_by("version"))
    assert versions[0].stop_kappa is None
    assert versions[1].stop_kappa == second["stop_kappa"]
    assert -1 <= second["stop_kappa"] <= 1
    assert set(versions[1].stop_predictions) == {str(i) for i in stop.item_ids}
    assert set(versions[1].stop_predictions.values()) <= {"positive", "negative"}
    section = stopping_section(project=text_project)
    assert [k["model_version"] for k in section["kappas"]] == [1, 2]
    assert section["kappas"][1]["labels"] == 24 and not section["stopped"]


def test_stop_set_is_seeded_and_bounded(db, project, monkeypatch):
    from learning.services import monitoring

    monkeypatch.setattr(monitoring, "STOP_SET_SIZE", 10)
    Item.objects.bulk_create(
        [Item(project=project, external_id=str(i), text="t") for i in range(50)]
    )
    chosen = stop_set_ensure(project=project)
    assert len(chosen) == 10 == len(set(chosen)) and chosen == sorted(chosen)
    StopSet.objects.all().delete()
    assert stop_set_ensure(project=project) == chosen  # same seed, same draw


def versions(project, rows):
    for i, (n, f1, kappa) in enumerate(rows, start=1):
        ModelVersion.objects.create(project=project, version=i, strategy="margin",
                                    featurizer="text", n_labels=n, cv_macro_f1=f1,
                                    stop_kappa=kappa)  # fmt: skip


def test_stopping_section_follows_the_project_threshold(db, project):
    versions(project, [(20, 0.5, None), (40, 0.6, 0.9), (60, 0.7, 0.97), (80, 0.7, 0.98),
                       (100, 0.7, 0.99), (120, 0.7, 1.0)])  # fmt: skip
    section = stopping_section(project=project)
    assert (section["threshold"], section["window"]) == (0.99, 3) and not section["stopped"]
    assert section["mean_kappa"] == pytest.approx((0.98 + 0.99 + 1.0) / 3)
    project.stop_threshold = 0.98
    section = stopping_section(project=project)
    assert section["stopped"] and section["stopped_at_labels"] == 100
    assert section["f_change_bound"] == pytest.approx(4 * 0.02 / 0.98)
    assert (section["fired_by"], section["stop_on_plateau"]) == ("threshold", False)


def test_the_plateau_setting_fires_where_kappa_levels_off(db, project):
    kappas = [None, 0.8, 0.95, 0.97, 0.975, 0.97, 0.972, 0.974, 0.971]
    versions(project, [(20 + 20 * i, 0.7, k) for i, k in enumerate(kappas)])
    section = stopping_section(project=project)
    assert not section["stopped"] and section["fired_by"] is None  # the default rule
    project.stop_on_plateau = True
    section = stopping_section(project=project)
    assert section["stop_on_plateau"] and section["stopped"] and section["fired_by"] == "plateau"
    assert section["stopped_at_labels"] == 180  # 0.975 ... 0.971 over 100..180: no upward trend


def test_forecast_section_waits_then_fits_and_refits_when_the_target_changes(db, project):
    n = np.arange(20, 260, 20)
    f1 = power_law(n, 0.9, 1.5, 0.6)
    versions(project, [(int(a), float(b), None) for a, b in zip(n[:3], f1[:3], strict=True)])
    waiting = forecast_section(project=project)
    assert waiting["status"] == "not_enough_versions" and waiting["curve"] == []
    ModelVersion.objects.filter(project=project).delete()
    versions(project, [(int(a), float(b), None) for a, b in zip(n, f1, strict=True)])
    section = forecast_section(project=project)
    assert section["metric"] == "cv_macro_f1" and section["plateau"] == pytest.approx(0.9, abs=0.01)
    assert section["labels_needed"] == pytest.approx((1.5 / (0.05 * 0.9)) ** (1 / 0.6), rel=0.05)
    assert ModelVersion.objects.get(project=project, version=12).forecast["value"] == section
    assert section["status"] == "ok" and len(section["curve"]) >= 25
    assert set(section["curve"][0]) == {"labels", "value", "low", "high"}
    assert section["curve"][0]["labels"] == 20 and section["curve"][-1]["labels"] >= 2 * 240
    project.forecast_target, project.forecast_relative = 0.5, False
    reached = forecast_section(project=project)
    assert reached["status"] == "reached" and reached["curve"] == []


def test_a_curve_without_a_plateau_is_served_as_such(db, project, api):
    """Still rising by the same amount per doubling: the stats say no_plateau, with the
    intervals and without the plateau and labels a fit pinned at 1 would invent."""
    n = np.arange(20, 420, 20)
    versions(project, [(int(a), float(0.55 + 0.04 * np.log2(a / 20)), None) for a in n])
    body = api.get(f"/api/projects/{project.pk}/stats").json()["forecast"]
    assert body["status"] == "no_plateau"
    assert body["plateau"] is None and body["labels_needed"] is None and body["curve"] == []
    assert body["target"] == project.forecast_target and body["target_relative"]
    assert body["plateau_interval"] is not None and body["labels_needed_interval"] is not None


def test_stats_api_and_hostile_settings(db, project, api):
    body = api.get(f"/api/projects/{project.pk}/stats").json()
    assert body["stopping"]["kappas"] == [] and not body["stopping"]["stopped"]
    assert body["forecast"]["status"] == "not_enough_versions"
    url = f"/api/projects/{project.pk}/"
    for field, value in (("stop_threshold", 1.5), ("forecast_target", 0), ("stop_threshold", "x"),
                         ("forecast_target", -1), ("forecast_relative", "maybe"),
                         ("stop_on_plateau", "maybe"), ("stop_on_plateau", [1]),
                         ("eval_sample", -1), ("eval_sample", 1001), ("eval_sample", "x"),
                         ("eval_sample", 2.5), ("stop_threshold", True),
                         ("forecast_target", False)):  # fmt: skip
        response = api.patch(url, {field: value}, format="json")
        assert response.status_code == 400 and field in response.json()
    assert api.patch(url, {"forecast_target": 0.8}, format="json").status_code == 200
    assert api.patch(url, {"stop_on_plateau": True}, format="json").json()["stop_on_plateau"]
    assert api.patch(url, {"eval_sample": 150}, format="json").json()["eval_sample"] == 150
    assert api.get(f"{url}stats/").json()["stopping"]["stop_on_plateau"]


def test_multi_label_versions_compare_label_sets(db, manager):
    """Each version stores the list of labels it predicts per stop-set item, so a label name
    holding the separator a joined string would use ("|") stays one label."""
    from annotation.services.importing import import_objects
    from annotation.services.projects import project_create

    topics = ["sports", "politics|news", "tech"]
    project = project_create(creator=manager, name="Topics", labels=topics, multi_label=True)
    rng = np.random.default_rng(0)
    rows = []
    for i in range(100):
        present = rng.random(3) < 0.5
        present[i % 3] = True
        vector = np.where(present, 2.0, -2.0) + rng.normal(scale=0.5, size=3)
        row = {"id": f"item-{i}", "text": f"item {i}", "vector": vector.round(4).tolist()}
        if i < 60:
            row["labels"] = [topics[k] for k in np.flatnonzero(present)]
        rows.append(row)
    assert import_objects(project=project, objects=rows).ok
    run(project)
    _, second, _ = run(project)
    latest = ModelVersion.objects.filter(project=project).order_by("-version").first()
    assert len(latest.stop_predictions) == 40
    predicted = [set(labels) for labels in latest.stop_predictions.values()]
    assert set().union(*predicted) == set(topics)
    assert second["stop_kappa"] == pytest.approx(1.0)  # the same labels: the same model
    assert latest.stop_least_stable == ""  # nothing changed: no label is the least stable


def test_the_stopping_rule_alert_opens_once_when_the_model_stops_changing(db, manager):
    """Issue #19: "the stopping rule firing" is an alert a manager can turn on. Four versions
    on the same labels give three kappas of 1.0: the rule fires, and one alert opens."""
    from annotation.models import Alert, Project
    from annotation.services.alert_rules import alert_rules_put

    test_multi_label_versions_compare_label_sets(db, manager)  # two versions, same labels
    project = Project.objects.get(name="Topics")
    alert_rules_put(project=project, rules=[{"kind": "stopping_rule", "enabled": True}])
    assert not Alert.objects.filter(project=project).exists()  # one kappa: not yet
    run(project)
    run(project)
    assert stopping_section(project=project)["stopped"]
    alerts = Alert.objects.filter(project=project, key="stopping_rule")
    assert alerts.count() == 1 and alerts.get().resolved_at is None


def cycle(labels: list, n: int) -> dict:
    """{item id: label} for n items, the labels taken in turn."""
    return {str(i): labels[i % len(labels)] for i in range(n)}


def test_the_stored_kappa_is_the_least_stable_labels_over_the_items_both_predicted():
    """Item 999 was deleted since the previous version: it drops out. With three labels the
    kappa is the smallest one-vs-rest kappa, below the plain one, and names its label."""
    from learning.monitoring.stopping import least_stable, prediction_kappa
    from learning.services.monitoring import stop_kappa

    before = cycle(["a", "b", "c"], 300) | {"999": "a"}
    after = cycle(["a", "b", "c"], 300) | {str(i): "a" for i in (1, 4, 7, 10, 13)}  # b -> a
    kappa, label = stop_kappa(before, after, multi_label=False)
    common = [before[k] for k in sorted(after)], [after[k] for k in sorted(after)]
    assert (kappa, label) == (least_stable(*common)[0], "b")
    assert kappa < prediction_kappa(*common)
    assert stop_kappa(before, {"7000": "a"}, multi_label=False) == (None, None)


def test_a_label_the_stop_set_predicts_too_rarely_does_not_set_the_kappa():
    """Ten of 300 items are "d"; one of them becoming "c" moves d's kappa to 0.95, a change
    the stop set cannot tell from noise at 0.99, so the kappa is c's (0.99 or more: one item
    among its hundred). A common label changing as much as a single item of it is named."""
    from learning.monitoring.stopping import class_kappas
    from learning.services.monitoring import stop_kappa

    before = cycle(["a", "b", "c"], 300) | {str(i): "d" for i in range(0, 300, 30)}
    after = before | {"0": "c"}
    ids = sorted(before)
    per_label = class_kappas([before[i] for i in ids], [after[i] for i in ids])
    assert per_label["d"] < 0.96
    assert stop_kappa(before, after, multi_label=False) == (pytest.approx(per_label["c"]), "c")
    assert per_label["c"] >= 0.99
    kappa, label = stop_kappa(before, before | {"1": "c", "4": "c"}, multi_label=False)
    assert label == "b" and kappa < 0.99


def test_a_multi_label_kappa_compares_each_labels_presence():
    from learning.services.monitoring import stop_kappa

    before = {str(i): ["news"] * (i % 2 == 0) + ["sport"] * (i % 4 < 2) for i in range(400)}
    assert stop_kappa(before, dict(before), multi_label=True) == (1.0, None)  # nothing changed
    changed = before | {"0": ["news"], "1": []}  # sport lost two items
    kappa, label = stop_kappa(before, changed, multi_label=True)
    assert label == "sport" and kappa < 1
    assert stop_kappa({"1": []}, {"1": []}, multi_label=True) == (1.0, None)
    # Versions stored before lists joined the labels by "|": read by splitting.
    legacy = {k: "|".join(v) for k, v in before.items()}
    assert stop_kappa(legacy, changed, multi_label=True) == (kappa, label)


def test_the_stopping_section_names_each_versions_least_stable_label(db, project):
    versions(project, [(20, 0.5, None), (40, 0.6, 0.9)])
    ModelVersion.objects.filter(project=project, version=2).update(stop_least_stable="dog")
    kappas = stopping_section(project=project)["kappas"]
    assert [(k["kappa"], k["least_stable"]) for k in kappas] == [(None, None), (0.9, "dog")]
