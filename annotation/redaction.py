"""Replacing spans of a text (personal data the audit found) with the span's type. Pure Python.

The audit job (``learning.services.audit``) finds the spans and stores them with its findings;
a reviewer's ``redact`` decision and a snapshot's ``redact_pii`` apply them here, so the app
never detects personal data outside the audit, and what is redacted is what the audit showed.
"""

from collections.abc import Iterable, Mapping


def redact_spans(text: str, spans: Iterable[Mapping]) -> str:
    """``text`` with each ``{"type", "start", "end"}`` span replaced by ``[TYPE]``.

    Spans are applied in order of their start; one overlapping an earlier span, or reaching
    outside the text, is skipped (the text changed since the audit: redact what still fits).
    """
    out, last = [], 0
    for span in sorted(spans, key=lambda s: int(s["start"])):
        start, end = int(span["start"]), int(span["end"])
        if start < last or end > len(text) or start >= end:
            continue
        out += [text[last:start], f"[{str(span['type']).upper()}]"]
        last = end
    return "".join(out) + text[last:]
