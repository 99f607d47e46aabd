"""PII detection: each type found with its exact span; look-alikes that fail the check are not."""

import pytest

from annotation.redaction import redact_spans
from learning.audit.pii import find_pii


@pytest.mark.parametrize(
    ("text", "kind", "found"),
    [
        ("write to jane.doe+news@example.co.uk today", "email", "jane.doe+news@example.co.uk"),
        ("call +44 20 7946 0958 now", "phone", "+44 20 7946 0958"),
        ("card 4111 1111 1111 1111 exp 12/29", "credit_card", "4111 1111 1111 1111"),
        ("pay to DE89 3704 0044 0532 0130 00 please", "iban", "DE89 3704 0044 0532 0130 00"),
        ("from 192.168.10.20.", "ip_address", "192.168.10.20"),
        ("host 2001:db8::8a2e:370:7334 down", "ip_address", "2001:db8::8a2e:370:7334"),
        ("ssn 536-22-8726 on file", "national_id", "536-22-8726"),
        ("NINO AB123456C", "national_id", "AB123456C"),
        ("DNI 12345678Z", "national_id", "12345678Z"),
    ],
)
def test_each_type_is_found_with_its_span(text, kind, found):
    (entity,) = find_pii(text)
    assert (entity.type, entity.text, text[entity.start : entity.end]) == (kind, found, found)


@pytest.mark.parametrize(
    "text",
    [
        "order #4111111111111111 shipped",  # a reference, not a card
        "card 4111 1111 1111 1112",  # fails Luhn
        "IBAN GB82 WEST 1234 5698 7654 33",  # fails mod 97
        "version v1.2.3.4 and 999.1.1.1",  # not addresses
        "total 1,234.56 EUR on 2024-05-01 at 10:30",
        "ISBN 978-0-306-40615-7",
        "ssn 000-12-3456",  # area 000 is never issued
    ],
)
def test_look_alikes_that_fail_the_check_are_not_pii(text):
    assert find_pii(text) == []


def test_redaction_replaces_exactly_the_spans():
    text = "mail a@b.io or 4111-1111-1111-1111."
    spans = [{"type": e.type, "start": e.start, "end": e.end} for e in find_pii(text)]
    assert redact_spans(text, spans) == "mail [EMAIL] or [CREDIT_CARD]."
    assert redact_spans("short", spans) == "short"  # spans past a changed text are skipped


def test_overlapping_finds_keep_the_longer_span():
    entities = find_pii("IBAN GB82 WEST 1234 5698 7654 32 end")
    assert [e.type for e in entities] == ["iban"]


@pytest.mark.parametrize(
    "text, found",
    [
        ("call (591)341-7776 tonight", "(591)341-7776"),  # unassigned area code, phone-shaped
        ("or 881.428.6570x704 at work", "881.428.6570x704"),
        ("from abroad +44 29 2018360", "+44 29 2018360"),
    ],
)
def test_phone_shaped_numbers_count_even_when_not_assigned(text, found):
    assert [(e.type, e.text) for e in find_pii(text)] == [("phone", found)]


@pytest.mark.parametrize(
    "text",
    ["order 2023-05-01 shipped", "ISBN 978-3-16-148410-0", "ref 5913417776123", "v 591.341.77"],
)
def test_dates_isbns_and_order_numbers_are_not_phones(text):
    assert [e for e in find_pii(text) if e.type == "phone"] == []
