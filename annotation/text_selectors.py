"""Which text of an item a reader sees: the one rule every path that serves item text calls.

A reviewer's ``redact`` decision (``annotation.services.audit``) writes ``Item.redacted_text``.
From then on the redacted copy is what everyone sees: the labeling queue, the items, history
and review APIs, the audit page, exports and snapshots. The original is served only when a
manager asked for it explicitly (``?originals=true``, a snapshot spec's ``originals``, the
audit page's "show originals"), and ``annotation.services.text_access`` decides that and
writes the view to the access log.
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from django.db.models import F
from django.db.models.functions import Coalesce

from annotation.models import Item
from annotation.redaction import redact_spans


def shown_text(
    text: str, redacted_text: str | None, *, originals: bool = False,
    spans: Iterable[Mapping] = (),
) -> str:  # fmt: skip
    """The text a reader sees.

    ``originals``: the reader is a manager who asked for the original. Otherwise a reviewer's
    redacted copy wins; an item nobody redacted yet shows ``text`` with ``spans`` (personal
    data an audit found, for the audit page and a snapshot's ``redact_pii``) replaced.
    """
    if originals:
        return text
    if redacted_text is not None:
        return redacted_text
    spans = list(spans)
    return redact_spans(text, spans) if spans else text


@dataclass(frozen=True)
class TextView:
    """How one request reads item texts; ``originals`` only for a manager who asked."""

    originals: bool = False

    def text(self, item: Item) -> str:
        return shown_text(item.text, item.redacted_text, originals=self.originals)


REDACTED_VIEW = TextView()


#: ``shown_text`` without originals or spans, as a query expression: for derived data that
#: anyone may later read (the compression cache and its preview), computed from the text
#: everyone sees, so a redacted original never leaks through a derived copy.
SHOWN_TEXT = Coalesce(F("redacted_text"), F("text"))
