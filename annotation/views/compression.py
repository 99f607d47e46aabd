"""The compression preview (managers): what a profile removes from sample items, struck
through, with token counts before and after, and the latest sweep's curve to pick a level from.

Everything shown comes from the sweep's cache (``CompressedText``): the kept segments say
which characters of the original survive, so the removed spans are the rest. The texts are
hostile: the template escapes every part, and the page's script (static/js/compression.js)
only adds keys that follow its links and press its button.
"""

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from annotation.compression_selectors import (
    compression_latest_sweep,
    compression_levels,
    compression_profile_get,
    compression_profiles,
    compression_sample,
    compression_sweep_result,
)
from annotation.selectors import CAN_MANAGE
from annotation.services.compression import compression_job_start, compression_profile_default
from annotation.views.pages import member_project_or_404
from annotation.views.params import form_id

SAMPLES = 8
SHOWN_CHARS = 4000  # longer originals are cut in the preview (the export never is)
CHART_W, CHART_H, PAD = 420, 180, 30


def _manager_project(request, project_id: int):
    project, role = member_project_or_404(request, project_id)
    if role not in CAN_MANAGE:
        raise PermissionDenied("Only managers preview compression.")
    return project


def diff_parts(original: str, segments: list[list[int]]) -> list[dict[str, Any]]:
    """The original as ``[{"text", "removed"}]``: kept runs, and the runs no kept segment
    covers (removed). Characters a filter inserted (a decoded entity) are not shown."""
    kept = sorted((start, start + length) for _, start, length in segments if length > 0)
    parts, pos = [], 0
    for start, end in kept:
        if start > pos:
            parts.append({"text": original[pos:start], "removed": True})
        if end > pos:
            parts.append({"text": original[max(pos, start) : end], "removed": False})
        pos = max(pos, end)
    if pos < len(original):
        parts.append({"text": original[pos:], "removed": True})
    return parts


def _cut(parts: list[dict[str, Any]], limit: int) -> tuple[list[dict[str, Any]], bool]:
    shown, total = [], 0
    for part in parts:
        if total + len(part["text"]) > limit:
            shown.append({**part, "text": part["text"][: limit - total]})
            return shown, True
        shown.append(part)
        total += len(part["text"])
    return shown, False


def _chart(result: dict[str, Any]) -> dict[str, Any]:
    """SVG coordinates of the curve: macro-F1 and token ratio against the level."""
    points = [{"level": 0.0, "macro_f1": result["baseline"]["macro_f1"], "token_ratio": 1.0},
              *result["settings"]]  # fmt: skip

    def xy(level: float, value: float) -> tuple[float, float]:
        x = PAD + level * (CHART_W - 2 * PAD)
        y = CHART_H - PAD - max(0.0, min(1.0, value)) * (CHART_H - 2 * PAD)
        return round(x, 1), round(y, 1)

    def line(key: str) -> str:
        return " ".join("{},{}".format(*xy(p["level"], p[key] or 0.0)) for p in points)

    return {"width": CHART_W, "height": CHART_H, "f1": line("macro_f1"),
            "tokens": line("token_ratio"), "x0": PAD, "x1": CHART_W - PAD,
            "y0": CHART_H - PAD, "y1": PAD}  # fmt: skip


@login_required
def compression_page(request, project_id: int):
    """``?profile=<id>`` (default: ``default``), ``?level=`` (default: the sweep's proposal)."""
    project = _manager_project(request, project_id)
    default = compression_profile_default(project=project)
    wanted = form_id(request.GET.get("profile"))
    profile = (compression_profile_get(project=project, profile_id=wanted)
               if wanted is not None else None) or default  # fmt: skip
    job = compression_latest_sweep(profile=profile)
    context: dict[str, Any] = {"project": project, "profile": profile, "job": job,
                               "profiles": list(compression_profiles(project=project))}  # fmt: skip
    if job is not None:
        levels = compression_levels(job=job)
        result = compression_sweep_result(job=job)
        try:
            level = float(request.GET.get("level", result["proposed"]))
        except ValueError:
            level = float(result["proposed"])
        if level not in levels:
            level = float(result["proposed"])
        samples = []
        for row, original in compression_sample(profile=profile, level=max(level, levels[-1])
                                                if level == 0 else level, limit=SAMPLES):  # fmt: skip
            parts = [{"text": original, "removed": False}] if level == 0 else (
                diff_parts(original, row.segments))  # fmt: skip
            shown, cut = _cut(parts, SHOWN_CHARS)
            samples.append({"item": row.item_id, "parts": shown, "cut": cut,
                            "before": row.tokens_original,
                            "after": row.tokens_original if level == 0 else row.tokens})  # fmt: skip
        context.update(levels=levels, level=level, proposed=float(result["proposed"]),
                       result=result, samples=samples, chart=_chart(result))  # fmt: skip
    return render(request, "annotation/compression.html", context)


@login_required
@require_POST
def compression_run(request, project_id: int):
    """Start a sweep of the profile (the same service as ``POST /api/projects/{id}/jobs``)."""
    project = _manager_project(request, project_id)
    profile_id = form_id(request.POST.get("profile")) or -1
    url = reverse("compression", args=[project.pk])
    try:
        job, created = compression_job_start(project=project, profile_id=profile_id,
                                             user=request.user)  # fmt: skip
    except ValidationError as exc:
        messages.error(request, "; ".join(exc.messages))
        return redirect(url)
    messages.success(request, f"Compression sweep {job.pk} {'queued' if created else 'waiting'}; "
                     "reload this page when it has finished.")  # fmt: skip
    return redirect(f"{url}?profile={job.params['profile']}")
