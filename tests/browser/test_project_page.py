"""The project page's snapshot table in headless Chromium: it lays out at a laptop's width."""

import pytest

from annotation.models import Snapshot, SnapshotStatus

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def overlapping(boxes: list[dict]) -> list[tuple[int, int]]:
    """Pairs of boxes (by index) whose areas intersect by more than a pixel each way."""
    pairs = []
    for i, a in enumerate(boxes):
        for j, b in enumerate(boxes[i + 1 :], start=i + 1):
            dx = min(a["x"] + a["width"], b["x"] + b["width"]) - max(a["x"], b["x"])
            dy = min(a["y"] + a["height"], b["y"] + b["height"]) - max(a["y"], b["y"])
            if dx > 1 and dy > 1:
                pairs.append((i, j))
    return pairs


TEXT_GAPS = """selector => {
  const rects = [...document.querySelectorAll(selector)].map(el => {
    const range = document.createRange();
    range.selectNodeContents(el);
    return range.getBoundingClientRect();
  });
  return rects.slice(1).map((r, i) => r.left - rects[i].right);
}"""


@pytest.mark.parametrize("width", [1280, 900, 640])
def test_the_snapshot_table_keeps_headers_and_download_buttons_apart(
    page, live_url, login, page_errors, project, manager, width
):
    """Issue #15: headers ran into each other and the download buttons overlapped them."""
    labels = {f"a-rather-long-label-name-{i}": 100 + i for i in range(8)}
    for version in (1, 2):
        Snapshot.objects.create(project=project, version=version, status=SnapshotStatus.READY,
                                row_count=1000, content_hash="ab" * 32, created_by=manager,
                                stats={"splits": {"train": 800, "validation": 100, "test": 100},
                                       "labels": labels})  # fmt: skip
    page.set_viewport_size({"width": width, "height": 900})
    login(page, manager.username)
    page.goto(f"{live_url}/projects/{project.pk}")
    page.wait_for_selector("table.snapshots")

    headers = [h.bounding_box() for h in page.locator("table.snapshots th").all()]
    assert len(headers) == 6 and overlapping(headers) == []
    # Header words stand apart: the space between one header's text and the next's.
    gaps = page.evaluate(TEXT_GAPS, "table.snapshots th")
    assert len(gaps) == 5 and min(gaps) >= 12, gaps
    for row in page.locator("table.snapshots tbody tr").all():
        buttons = [b.bounding_box() for b in row.locator("td:last-child a").all()]
        assert len(buttons) == 5 and overlapping(buttons) == []
        assert overlapping(buttons + headers) == []  # none sits on a header
    assert page_errors == []
