"""Corpora for bench/compression.py: SMS spam with planted e-mail furniture, real Python
source files (real licence headers, import blocks, docstring templates), and Django's real
gettext catalogs (a recurring header block; English msgids repeated in every language).

The planted templates are chosen at random *independently of the label*, so a model can
only lose by keeping them (they are noise) and a filter that removes them should cost
no macro-F1; the SMS body itself is never edited.
"""

from __future__ import annotations

import html
import random
import sysconfig
from collections import Counter
from pathlib import Path

DATA = Path(__file__).resolve().parent.parent.parent / "shared" / "data"
SMS = DATA / "uci-sms-spam" / "SMSSpamCollection"
PACKAGES = ("django", "sklearn", "scipy", "pandas", "celery", "hypothesis")

_FIRST = ("Ann", "Bob", "Chen", "Dana", "Emeka", "Fatima", "Greg", "Hana", "Ivan", "Jo")
_LAST = ("Smith", "Okafor", "Li", "Garcia", "Novak", "Haddad", "Brown", "Sato", "Kowalski")
_COMPANY = (
    "Acme Corp",
    "Globex Ltd",
    "Initech",
    "Umbrella plc",
    "Hooli Inc",
    "Vandelay Industries",
)
_TITLE = ("Account Manager", "Senior Engineer", "Operations Lead", "Sales Director")
_SUBJECT = ("Re: quick question", "Re: tonight", "Fwd: update", "Re: your message", "Re: plans")
_BANNERS = (
    "We use cookies to improve your experience on our site. By continuing to browse you agree "
    "to our use of cookies. Accept all | Manage preferences | Cookie Policy",
    "This website uses cookies to personalise content and ads, to provide social media "
    "features and to analyse our traffic. [Accept] [Reject] [Settings]",
    "Cookie notice: we and our partners store and access information on your device. "
    "Click Accept to consent or Manage to choose. Privacy Policy",
)
_DISCLAIMER = (
    "CONFIDENTIALITY NOTICE: This e-mail and any attachments are confidential and may be "
    "privileged. If you are not the intended recipient, please notify the sender and delete it."
)


def _person(rng: random.Random) -> tuple[str, str, str]:
    first, last = rng.choice(_FIRST), rng.choice(_LAST)
    company = rng.choice(_COMPANY)
    domain = company.split()[0].lower() + ".example.com"
    return f"{first} {last}", f"{first.lower()}.{last.lower()}@{domain}", company


def _date(rng: random.Random) -> str:
    day = rng.randint(1, 28)
    return f"{rng.choice(('Mon', 'Tue', 'Wed', 'Thu', 'Fri'))}, {day} Jun 2024 {rng.randint(8, 19):02d}:{rng.randint(0, 59):02d}"


def plant(body: str, quote_from: str, rng: random.Random) -> str:
    """One message around ``body``: headers, banner, HTML, sign-off, signature, quote."""
    sender, address, company = _person(rng)
    other, other_address, _ = _person(rng)
    parts = []
    if rng.random() < 0.8:
        parts.append(
            f"From: {sender} <{address}>\nTo: {other} <{other_address}>\nDate: {_date(rng)}\n"
            f"Message-ID: <{rng.getrandbits(48):x}@{address.split('@')[1]}>\n"
            f"Subject: {rng.choice(_SUBJECT)}\n"
        )
    if rng.random() < 0.5:
        parts.append(rng.choice(_BANNERS))
    text = body
    if rng.random() < 0.5:
        domain = address.split("@")[1]
        text = (
            "<html><head><style>body{font-family:Arial;font-size:12px}</style></head><body>"
            f'<div class="message"><p>{html.escape(body)}</p></div><footer><p>&copy; 2024 '
            f'{company}. All rights reserved. <a href="https://{domain}/privacy">Privacy</a> | '
            f'<a href="https://{domain}/terms">Terms</a></p></footer></body></html>'
        )
    parts.append(text)
    if rng.random() < 0.5:
        parts.append(
            f"{rng.choice(('Best regards,', 'Kind regards,', 'Thanks,', 'Cheers,'))}\n{sender.split()[0]}"
        )
    if rng.random() < 0.6:
        parts.append(
            f"-- \n{sender}\n{rng.choice(_TITLE)} | {company}\nPhone: +1 555 {rng.randint(1000, 9999)}\n{_DISCLAIMER}"
        )
    elif rng.random() < 0.5:
        parts.append("Sent from my iPhone")
    if rng.random() < 0.4:
        quoted = "\n".join("> " + line for line in quote_from.splitlines())
        parts.append(f"On {_date(rng)}, {other} wrote:\n{quoted}")
    return "\n\n".join(parts)


def sms() -> tuple[list[str], list[int]] | None:
    """The SMS Spam Collection as (texts, labels with 1 = spam), or None if absent."""
    if not SMS.exists():
        return None
    texts, labels = [], []
    for line in SMS.read_text(encoding="utf-8").splitlines():
        label, _, text = line.partition("\t")
        texts.append(text)
        labels.append(int(label == "spam"))
    return texts, labels


def planted_sms(seed: int = 0, copies: int = 1) -> tuple[list[str], list[int]] | None:
    """SMS spam, each message planted into e-mail furniture (``copies`` times, re-drawn)."""
    data = sms()
    if data is None:
        return None
    texts, labels = data
    rng = random.Random(seed)
    out, out_labels = [], []
    for _ in range(copies):
        for text, label in zip(texts, labels, strict=True):
            out.append(plant(text, rng.choice(texts), rng))
            out_labels.append(label)
    return out, out_labels


def python_sources(
    per_package: int = 250, max_chars: int = 4000, seed: int = 0
) -> tuple[list[str], list[int], list[str]]:
    """Source files of installed packages, labelled by package (the first ``max_chars``,
    cut at a line end). Real boilerplate: licence headers, import blocks, docstring templates."""
    site = Path(sysconfig.get_paths()["purelib"])
    rng = random.Random(seed)
    texts, labels, names = [], [], []
    for package in PACKAGES:
        files = sorted(p for p in (site / package).rglob("*.py") if p.stat().st_size > 500)
        if len(files) < 50:
            continue
        for path in rng.sample(files, min(per_package, len(files))):
            source = path.read_text(encoding="utf-8", errors="replace")[:max_chars]
            texts.append(source[: source.rfind("\n") + 1] or source)
            labels.append(len(names))
        names.append(package)
    return texts, labels, names


def gettext_catalogs(
    min_files: int = 10, max_chars: int = 0
) -> tuple[list[str], list[int], list[str], list[str]]:
    """Django's ``locale/<lang>/LC_MESSAGES/django.po`` files, labelled by language.

    The label is the base language code (``es_AR``, ``es_MX`` -> ``es``; ``zh_Hans``,
    ``zh_Hant`` -> ``zh``): regional variants share most of their translations, so telling
    them apart from a handful of files is mostly reading the header's ``Language:`` line.
    Languages with fewer than ``min_files`` catalogs are left out. Real boilerplate: every
    file opens with the same licence comment and header fields, and each app's English
    ``msgid`` lines recur, identical, in every language; only the ``msgstr`` lines carry the
    label. ``max_chars`` > 0 cuts each file at the last blank line before it.

    Returns texts, labels, class names, and each text's path under ``django/``.
    """
    django = Path(sysconfig.get_paths()["purelib"]) / "django"
    files = sorted(django.rglob("locale/*/LC_MESSAGES/django.po"))
    language = {path: path.parent.parent.name.split("_")[0] for path in files}
    counts = Counter(language.values())
    names = sorted(lang for lang, n in counts.items() if n >= min_files)
    index = {lang: i for i, lang in enumerate(names)}
    texts, labels, paths = [], [], []
    for path in files:
        if language[path] not in index:
            continue
        text = path.read_text(encoding="utf-8", errors="replace")
        if max_chars and len(text) > max_chars:
            cut = text.rfind("\n\n", 0, max_chars)
            text = text[: cut + 1] if cut > 0 else text[:max_chars]
        texts.append(text)
        labels.append(index[language[path]])
        paths.append(str(path.relative_to(django)))
    return texts, labels, names, paths
