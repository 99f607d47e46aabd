"""A small labeled project whose texts carry planted boilerplate, for the compression tests.

Each item is one sentence whose words say its label, wrapped in what e-mail and web text
carry: HTML markup, a cookie banner, a quoted reply and a signature.
"""

import random

from annotation.models import Annotation, Item, Project
from annotation.services.projects import label_set_replace

WORDS = {
    "positive": ["great", "lovely", "excellent", "happy", "superb", "delighted"],
    "negative": ["awful", "broken", "terrible", "angry", "refund", "disappointed"],
    "neutral": ["schedule", "meeting", "tuesday", "invoice", "address", "update"],
}
BANNER = "<div class='cookie'>We use cookies to improve your experience. Accept all cookies.</div>"
SIGNATURE = "\n-- \nJane Doe\nCustomer Success | ACME Corp\n+1 555 0100"


def planted_text(rng: random.Random, label: str, index: int) -> str:
    words = " ".join(rng.choice(WORDS[label]) for _ in range(6))
    quoted = f"\n\nOn Mon, Bob wrote:\n> ticket {index} was opened\n> please advise"
    return f"<p>{BANNER}</p><p>Order {index}: {words}.</p>{quoted}{SIGNATURE}"


def compression_project(project: Project, annotator, *, n: int = 60, labeled: int | None = None,
                        seed: int = 0) -> list[Item]:  # fmt: skip
    """Fill ``project`` with ``n`` planted items, the first ``labeled`` of them labeled."""
    rng = random.Random(seed)
    project.labels.all().delete()
    label_set_replace(project=project, labels=list(WORDS))
    items = []
    for i in range(n):
        label = list(WORDS)[i % 3]
        item = Item.objects.create(project=project, external_id=f"m{i}",
                                   text=planted_text(rng, label, i))  # fmt: skip
        if labeled is None or i < labeled:
            Annotation.objects.create(item=item, project=project, annotator=annotator,
                                      labels=[label])  # fmt: skip
        items.append(item)
    return items
