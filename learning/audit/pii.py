"""Personal data in text: validated patterns, offline, no language model.

Each detector finds candidates with a pattern and keeps only those that pass the identifier's
own check, which is what separates a card number from an order number:

========================  ==============================================================
type                      check
========================  ==============================================================
``email``                 address syntax (local part, a dot in the domain, a 2+ letter TLD)
``phone``                 libphonenumber (``phonenumbers``): a valid number for its region,
                          international (``+..``) or national for ``regions``
``credit_card``           12-19 digits, a card network's leading digits, and the Luhn checksum
``iban``                  the country's length and the ISO 13616 mod-97 checksum (python-stdnum)
``ip_address``            IPv4 and IPv6 addresses (``ipaddress``)
``national_id``           US SSN or ITIN (dashed, valid area/group/serial), UK NINO, Spanish DNI/NIE,
                          Italian codice fiscale, French NIR (check digits via python-stdnum)
========================  ==============================================================

Spans are character offsets into the text, so a redaction (``annotation.redaction``) replaces
exactly what was found.
Overlapping finds keep the longer span (an IBAN's digits are not also a phone number).
"""

from __future__ import annotations

import ipaddress
import itertools
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import phonenumbers
from stdnum import iban, luhn
from stdnum.es import dni, nie
from stdnum.fr import nir
from stdnum.it import codicefiscale
from stdnum.us import itin, ssn

DEFAULT_REGIONS = ("US", "GB", "DE", "FR", "ES", "IT")
PII_TYPES = ("email", "phone", "credit_card", "iban", "ip_address", "national_id")


@dataclass(frozen=True)
class Entity:
    """One piece of personal data: its type and the span ``text[start:end]``."""

    type: str
    start: int
    end: int
    text: str


_EMAIL = re.compile(r"(?<![\w.+-])[A-Za-z0-9._%+-]{1,64}@(?:[A-Za-z0-9-]{1,63}\.)+[A-Za-z]{2,24}\b")
_CARD = re.compile(r"(?<![\w#-])(?:\d[ -]?){11,18}\d(?![\w-])")  # "#1234..." is a reference
_IBAN = re.compile(r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]){11,30}\b")
_IPV4 = re.compile(r"(?<![\w.])(?:\d{1,3}\.){3}\d{1,3}(?!\.?\d)")
_IPV6 = re.compile(r"(?<![\w:])(?:[0-9A-Fa-f]{0,4}:){2,7}[0-9A-Fa-f]{0,4}(?![\w:])")
_SSN = re.compile(r"\b\d{3}-\d{2}-\d{4}\b")
_NINO = re.compile(
    r"\b(?!BG|GB|NK|KN|TN|NT|ZZ)[A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z] ?\d{2} ?\d{2} ?\d{2} ?[A-D]\b"
)
_DNI = re.compile(r"\b[XYZ]?\d{7,8}-?[A-Z]\b")
_CODICE = re.compile(r"\b[A-Z]{6}\d{2}[A-EHLMPR-T]\d{2}[A-Z]\d{3}[A-Z]\b")
_NIR = re.compile(r"\b[12] ?\d{2} ?\d{2} ?(?:\d{2}|2[AB]) ?\d{3} ?\d{3} ?\d{2}\b")
# Visa, Mastercard, Maestro, Amex, Diners, JCB, Discover, UnionPay
_CARD_PREFIX = re.compile(r"^(?:4|5[0-9]|2[2-7]|3[0-9]|6|2131|1800)")
_DIGITS = re.compile(r"\d")
# VALID (the number is assigned in its region's plan), not POSSIBLE (the length fits): POSSIBLE
# took dates and ISBNs for phone numbers (precision 0.12 on bench/audit.py's distractors).
_PHONE_LENIENCY = phonenumbers.Leniency.VALID
# A number libphonenumber only finds POSSIBLE (unassigned area code, fictional range) still
# counts when it is written the way only phone numbers are: with its country code (+44, 0049)
# and separators, or grouped 3-3-4 with an optional extension. That took phone recall on
# Faker's numbers from 0.88 to >= 0.9 at the same precision (bench/audit.py).
_PHONE_SHAPE = re.compile(
    r"(?:\+|00)\d{1,3}[\s().-]*\d[\d\s().-]{5,}\d"
    r"|\(?\d{3}\)?[\s.-]?\d{3}[.-]\d{4}"
    r"(?:\s*(?:x|ext\.?)\s*\d{1,6})?"
)


def find_pii(text: str, *, regions: Sequence[str] = DEFAULT_REGIONS) -> list[Entity]:
    """Every piece of personal data in ``text``, by start offset, overlaps resolved."""
    found = [entity for detector in _DETECTORS for entity in detector(text)]
    if len(_DIGITS.findall(text)) >= 7:
        found.extend(_phones(text, regions))
    return _without_overlaps(found)


def _matches(pattern: re.Pattern, kind: str, valid: Callable[[str], bool]):
    def detect(text: str) -> Iterator[Entity]:
        for match in pattern.finditer(text):
            if valid(match.group()):
                yield Entity(kind, match.start(), match.end(), match.group())

    return detect


def _card(candidate: str) -> bool:
    digits = re.sub(r"[ -]", "", candidate)
    return 12 <= len(digits) <= 19 and bool(_CARD_PREFIX.match(digits)) and luhn.is_valid(digits)


def _ipv4(candidate: str) -> bool:
    try:
        address = ipaddress.IPv4Address(candidate)
    except ValueError:
        return False
    return not address.is_unspecified


def _ipv6(candidate: str) -> bool:
    if candidate.count(":") < 2 or not re.search(r"[0-9A-Fa-f]", candidate):
        return False
    try:
        ipaddress.IPv6Address(candidate)
    except ValueError:
        return False
    return True


def _national_id(candidate: str) -> bool:
    compact = candidate.replace(" ", "").replace("-", "")
    return any(module.is_valid(compact) for module in (dni, nie, codicefiscale, nir)) or bool(
        _NINO.fullmatch(candidate)
    )


_DETECTORS = (
    _matches(_EMAIL, "email", lambda s: True),
    _matches(_CARD, "credit_card", _card),
    _matches(_IBAN, "iban", iban.is_valid),
    _matches(_IPV4, "ip_address", _ipv4),
    _matches(_IPV6, "ip_address", _ipv6),
    _matches(_SSN, "national_id", lambda s: ssn.is_valid(s) or itin.is_valid(s)),
    _matches(_NINO, "national_id", _national_id),
    _matches(_DNI, "national_id", _national_id),
    _matches(_CODICE, "national_id", _national_id),
    _matches(_NIR, "national_id", _national_id),
)


def _phones(text: str, regions: Sequence[str]) -> Iterator[Entity]:
    seen: set[tuple[int, int]] = set()
    passes: list[tuple[int, re.Pattern[str] | None]] = [(_PHONE_LENIENCY, None)]
    if _PHONE_SHAPE.search(text):  # the looser pass only where a phone-shaped string is
        passes.append((phonenumbers.Leniency.POSSIBLE, _PHONE_SHAPE))
    for (leniency, shape), region in itertools.product(passes, regions):
        for match in phonenumbers.PhoneNumberMatcher(text, region, leniency=leniency):
            span = (match.start, match.end)
            digits = len(_DIGITS.findall(match.raw_string))
            shaped = shape is None or shape.fullmatch(match.raw_string)
            # E.164 numbers have at most 15 digits, and no numbering plan is written 3-2-4 (SSN).
            if (span not in seen and shaped and 7 <= digits <= 15
                    and not _SSN.fullmatch(match.raw_string)):  # fmt: skip
                seen.add(span)
                yield Entity("phone", match.start, match.end, match.raw_string)


def _without_overlaps(entities: list[Entity]) -> list[Entity]:
    """Longest first, then the stricter check (a phone number's is the loosest), then earliest:
    a span overlapping a kept one is dropped."""
    kept: list[Entity] = []
    strictness = {
        kind: rank
        for rank, kind in enumerate(
            ("iban", "national_id", "credit_card", "ip_address", "email", "phone")
        )
    }
    for entity in sorted(entities, key=lambda e: (-(e.end - e.start), strictness[e.type], e.start)):
        if all(entity.end <= k.start or entity.start >= k.end for k in kept):
            kept.append(entity)
    return sorted(kept, key=lambda e: e.start)
