"""Job bodies: what a job is asked to do, and what any member who may follow it sees.

A job's params, result and error are written by handlers on the server, and some of them
name server files (an import's upload under var/uploads, an OSError's filename). No
client needs those, so the serializer drops ``path`` keys and replaces every path under
a server directory with ``SERVER_PATH``, whoever asks.
"""

import re
import sys
import sysconfig
import tempfile
from functools import lru_cache
from typing import Any

from django.conf import settings
from rest_framework import serializers

from annotation.models import Job, JobKind
from api.serializers.fields import StrictFloatField

SERVER_PATH = "<server path>"
STARTABLE_KINDS = [JobKind.ACTIVE_LEARNING, JobKind.LABEL_ISSUES, JobKind.AGREEMENT, JobKind.AUDIT,
                   JobKind.COMPRESSION, JobKind.DRIFT]  # fmt: skip
PRIVATE_KEYS = frozenset({"path"})


def _server_roots() -> re.Pattern[str]:
    """One pattern for a path that starts at a server directory, longest root first.

    Read from settings on each call (tests move the folders), compiled once per set of roots.
    """
    roots = {
        str(settings.BASE_DIR), str(settings.VAR_DIR), str(settings.MEDIA_ROOT),
        str(settings.QUORUM_UPLOAD_DIR), str(settings.QUORUM_EXPORT_DIR),
        tempfile.gettempdir(), sys.prefix, sys.base_prefix, sysconfig.get_paths()["stdlib"],
    }  # fmt: skip
    return _roots_pattern(tuple(sorted((r.rstrip("/") for r in roots if r and r != "/"),
                                       key=len, reverse=True)))  # fmt: skip


@lru_cache(maxsize=8)
def _roots_pattern(roots: tuple[str, ...]) -> re.Pattern[str]:
    alternatives = "|".join(re.escape(root) for root in roots)
    # The root must end at a path boundary (so /usr does not eat /username); the rest of
    # the path runs to whitespace or a quote.
    return re.compile(rf"(?:{alternatives})(?=[/\s'\"]|$)[^\s'\"]*")


def redact_server_paths(value: Any) -> Any:
    """``value`` with server paths replaced and ``path`` keys dropped, at any depth."""
    return _redact(value, _server_roots())


def _redact(value: Any, roots: re.Pattern[str]) -> Any:
    if isinstance(value, str):
        return roots.sub(SERVER_PATH, value)
    if isinstance(value, dict):
        return {k: _redact(v, roots) for k, v in value.items() if k not in PRIVATE_KEYS}
    if isinstance(value, list):
        return [_redact(v, roots) for v in value]
    return value


class RedactedJSONField(serializers.JSONField):
    def to_representation(self, value):
        return redact_server_paths(super().to_representation(value))


class JobSerializer(serializers.ModelSerializer):
    params = RedactedJSONField(read_only=True)
    result = RedactedJSONField(read_only=True, allow_null=True)
    error = serializers.SerializerMethodField()
    duration_seconds = serializers.FloatField(read_only=True, allow_null=True)

    class Meta:
        model = Job
        fields = [
            "id", "project", "kind", "status", "progress", "params", "result", "error",
            "attempts", "created_at", "started_at", "finished_at", "duration_seconds",
        ]  # fmt: skip
        read_only_fields = fields

    def get_error(self, job: Job) -> str:
        return redact_server_paths(job.error)


class JobAcceptedSerializer(JobSerializer):
    """A job just queued (202): the job, its id again as ``job``, and for a job start
    whether an equal job already waiting took the request (``coalesced``)."""

    job = serializers.IntegerField(source="pk", read_only=True)
    coalesced = serializers.BooleanField(read_only=True, required=False)

    class Meta(JobSerializer.Meta):
        fields = [*JobSerializer.Meta.fields, "job", "coalesced"]
        read_only_fields = fields


class JobCreateSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=STARTABLE_KINDS)
    batch = serializers.IntegerField(
        required=False, min_value=1, max_value=1000,
        help_text="active_learning only: how many diverse items to put first "
        "(default: the project's batch_size). A job already waiting keeps its own.",
    )  # fmt: skip
    profile = serializers.IntegerField(
        required=False, min_value=1, max_value=2**63 - 1,
        help_text="compression only (managers): the profile to sweep (default: `default`).",
    )  # fmt: skip
    tolerance = StrictFloatField(
        required=False, min_value=0, max_value=0.999,
        help_text="compression only: the macro-F1 loss allowed against the uncompressed "
        "baseline when proposing a level (default 0.01, one point).",
    )  # fmt: skip

    def validate(self, data):
        if "batch" in data and data["kind"] != "active_learning":
            raise serializers.ValidationError({"batch": "Only active_learning jobs take a batch."})
        for key in ("profile", "tolerance"):
            if key in data and data["kind"] != "compression":
                raise serializers.ValidationError({key: f"Only compression jobs take a {key}."})
        return data

    def job_params(self) -> dict:
        return {"batch": self.validated_data["batch"]} if "batch" in self.validated_data else {}
