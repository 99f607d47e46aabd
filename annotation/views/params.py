"""Ids in forms and query strings, parsed once for every page view."""

MAX_ID = 2**63 - 1  # a bigint primary key


def form_id(value: str | None) -> int | None:
    """``value`` as a database id, or None when it is not one.

    ASCII digits only: ``str.isdigit`` also accepts characters such as "²" that ``int``
    refuses (a 500), and non-ASCII digits that PostgreSQL would reject in a raw statement.
    """
    text = (value or "").strip()
    if not (text.isascii() and text.isdigit()):
        return None
    number = int(text)
    return number if 0 < number <= MAX_ID else None
