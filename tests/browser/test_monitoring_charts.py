"""The dashboard's monitoring charts in real Chromium under the enforced CSP: drift over time
(one chart per scale, flagged runs marked, the baseline drawn), the learning curve extended by
the forecast's fitted curve and 80% band, annotator quality over time; every chart's numbers
reachable from the keyboard."""

import pytest

from tests.browser.journey import Journey
from tests.browser.test_csp import WATCH_VIOLATIONS, violations
from tests.browser.test_dashboard import CHARTS, FORECAST_CURVE, seed_project

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CHART = "(id) => { const c = Chart.getChart(document.getElementById(id)); return %s; }"


def chart(page, canvas_id: str, expression: str):
    return page.evaluate(CHART % expression, canvas_id)


def tab_to(page, selector: str, limit: int = 250) -> bool:
    """Press Tab until ``selector`` has the focus (False if it never does)."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate("(s) => document.activeElement.matches(s)", selector):
            return True
    return False


@pytest.fixture
def dashboard(page, live_url, login, make_user):
    """The seeded dashboard, fully drawn, with the CSP reports it got: ``(page, reports)``."""
    reports: list[str] = []
    page.add_init_script(WATCH_VIOLATIONS)
    page.on("console", lambda m: reports.append(m.text) if "Content" in m.text and
            "Security" in m.text else None)  # fmt: skip
    project = seed_project(make_user)
    login(page, "lead")
    response = page.goto(f"{live_url}/projects/{project.pk}/dashboard")
    assert "script-src 'self'" in response.headers["content-security-policy"]
    page.wait_for_function(
        f"() => !!window.Chart && document.querySelectorAll('canvas').length === {len(CHARTS)}"
    )
    page.wait_for_load_state("networkidle")
    return page, reports


def test_drift_is_plotted_per_run_with_flagged_runs_marked(dashboard, page_errors, screenshot):
    page, reports = dashboard
    assert chart(page, "chart-drift-data", "c.data.labels.length") == 3  # three runs
    series = chart(page, "chart-drift-data", "c.data.datasets.map((d) => d.label)")
    assert series == ["labeled set vs unlabeled pool", "baseline (shuffled windows)"]
    data = chart(page, "chart-drift-data", "c.data.datasets[0]")
    assert data["data"] == [0.52, 0.83, 0.55]
    assert data["pointStyle"] == ["circle", "triangle", "circle"]  # the second run flagged
    assert chart(page, "chart-drift-data", "c.data.datasets[1].data") == [0.5, 0.5, 0.5]
    annotator = chart(page, "chart-drift-annotator", "c.data.datasets[0]")
    assert annotator["pointStyle"] == ["circle", "circle", "triangle"]
    assert chart(page, "chart-drift-annotator", "c.data.datasets[1].data") == [0, 0, 0]
    meta = chart(page, "chart-drift-meta", "c.data.datasets[0].data")
    assert meta == pytest.approx([0.02, 0.04, 0.06])
    flagged = page.evaluate("""() => Object.fromEntries([...document.querySelectorAll(
        '[data-chart^="drift-"]')].map((f) => [f.dataset.chart, f.dataset.flagged]))""")
    assert flagged == {"drift-data": "1", "drift-meta": "0", "drift-label": "0",
                       "drift-annotator": "1"}  # fmt: skip
    # The latest run's table stays, under the charts' heading.
    assert page.locator("#drift-checks tbody tr").count() == 4
    screenshot(page, "dashboard-monitoring")
    assert violations(page, reports) == [] and page_errors == []


def test_the_learning_curve_carries_the_forecast_band(dashboard, page_errors):
    page, reports = dashboard
    assert page.get_attribute('[data-chart="learning"]', "data-band") == "true"
    sets = chart(
        page,
        "chart-learning",
        "c.data.datasets.map((d) => [d.label, d.fill ?? null, d.data.length])",
    )
    by_label = {label: (fill, n) for label, fill, n in sets}
    assert by_label["Forecast 80% band"] == ("-1", len(FORECAST_CURVE))  # filled to the lower edge
    assert by_label["Forecast (fitted macro F1)"][1] == len(FORECAST_CURVE)
    assert by_label[""] == (False, len(FORECAST_CURVE))  # the lower edge, out of the legend
    x_max = chart(page, "chart-learning", "c.scales.x.max")
    assert x_max >= 640  # the axis runs past the last version (80 labels) to the band's end
    legend = chart(page, "chart-learning", "c.legend.legendItems.map((i) => i.text)")
    assert "" not in legend and "Forecast 80% band" in legend
    assert violations(page, reports) == [] and page_errors == []


def test_annotator_quality_is_plotted_over_time(dashboard):
    page, _ = dashboard
    assert chart(page, "chart-quality-history", "c.data.labels.length") == 3
    scores = chart(page, "chart-quality-history",
                   "Object.fromEntries(c.data.datasets.map((d) => [d.label, d.data]))")  # fmt: skip
    assert scores["ann2"] == pytest.approx([0.6, 0.5, 0.4]) and scores["ann0"] == [0.9] * 3


def test_every_monitoring_chart_s_numbers_are_reachable_by_keyboard(dashboard, page_errors):
    page, reports = dashboard
    page.locator("h1").click()  # start from the top of the content
    for name in ("drift-data", "drift-annotator", "quality-history", "learning"):
        summary = f'[data-chart="{name}"] summary'
        assert tab_to(page, summary), f"Tab never reached {name}'s numbers"
        page.keyboard.press("Enter")
        assert (
            page.locator(f'[data-chart="{name}"] details').first.get_attribute("open") is not None
        )
    assert tab_to(page, '[data-chart="learning"] details:nth-of-type(2) summary')
    page.keyboard.press("Enter")
    rows = page.locator('[data-chart="learning"] details:nth-of-type(2) tbody tr')
    assert rows.count() == len(FORECAST_CURVE)
    drift_rows = page.locator('[data-chart="drift-data"] tbody tr')
    assert drift_rows.count() == 3 and "drift" in drift_rows.nth(1).inner_text()
    assert violations(page, reports) == [] and page_errors == []


def test_the_drawn_monitoring_dashboard_passes_axe(page, live_url, login, make_user):
    journey = Journey(page, "monitoring-dashboard")
    project = seed_project(make_user)
    login(page, "lead")
    page.goto(f"{live_url}/projects/{project.pk}/dashboard")
    page.wait_for_function(
        f"() => !!window.Chart && document.querySelectorAll('canvas').length === {len(CHARTS)}"
    )
    page.locator('[data-chart="drift-data"] summary').click()  # an open table is checked too
    journey.seen("dashboard")
    journey.done()
