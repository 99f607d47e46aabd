"""Every CSV Quorum writes goes through here, so a spreadsheet never runs a formula from it.

Item text, ids, label names, usernames and meta come from users. A spreadsheet that opens
a CSV treats a cell as a formula when it starts with ``=``, ``+``, ``-`` or ``@``, and
also with tab, CR or LF (OWASP "CSV Injection", 2025). Calc and Excel skip leading
spaces before the check and read the fullwidth forms ``＝ ＋ － ＠`` as the ASCII ones, so
those count too. Such a cell gets a leading single quote, which spreadsheets take as
"this is text" and do not show. OWASP also warns that a cell may be split on another
separator (``;`` in many locales) so that a trigger starts a new cell: every text cell is
therefore quoted, and a quoted field is one cell whatever the separator.

Machine consumers that want the bytes back unchanged ask for ``raw`` (``?csv_formulas=raw``
on the export and the snapshot download): no prefix, minimal quoting, exactly what
``csv.writer`` writes.
"""

import csv
from typing import IO, Any

ESCAPE, RAW = "escape", "raw"
CSV_FORMULA_MODES = (ESCAPE, RAW)
TRIGGERS = frozenset("=+-@\t\r\n\uff1d\uff0b\uff0d\uff20")


def csv_cell(value: str) -> str:
    """``value`` made inert for spreadsheets: a leading ``'`` when it could start a formula."""
    if not value:
        return value
    first = value[0]
    if first in TRIGGERS or (first.isspace() and value.lstrip()[:1] in TRIGGERS):
        return "'" + value
    return value


class CsvRows:
    """``csv.writer`` over ``file`` that neutralises every text cell unless ``mode`` is raw.

    Numbers (counts, agreement) pass untouched: Python writes them as plain digits, which
    can never be a formula.
    """

    def __init__(self, file: IO[str], *, mode: str = ESCAPE):
        if mode not in CSV_FORMULA_MODES:
            raise ValueError(f"csv_formulas must be one of {CSV_FORMULA_MODES}, not {mode!r}.")
        self.raw = mode == RAW
        self.file = file
        self.writer = csv.writer(
            file, quoting=csv.QUOTE_MINIMAL if self.raw else csv.QUOTE_NONNUMERIC
        )

    def header(self, columns: list[str] | tuple[str, ...]) -> None:
        """The column names, our own constants, as plain ``a,b,c`` in either mode."""
        csv.writer(self.file).writerow(columns)

    def row(self, cells: list[Any]) -> None:
        if self.raw:
            self.writer.writerow(cells)
        else:
            self.writer.writerow([csv_cell(c) if isinstance(c, str) else c for c in cells])

    def many(self, columns: list[list[Any]]) -> None:
        """Rows given column by column (equal lengths): what ``row`` writes for each, with
        the check done per column, where a cell that cannot start a formula costs no call."""
        if not self.raw:
            columns = [[csv_cell(c) if isinstance(c, str) and c and (c[0] in TRIGGERS
                                                                      or c[0].isspace()) else c
                        for c in column] for column in columns]  # fmt: skip
        self.writer.writerows(zip(*columns, strict=True))
