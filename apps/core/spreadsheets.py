"""Cells for files people open in Excel or WPS: text somebody typed never runs as a formula.

Names, reasons and needs come from the public booking page and other forms; a value such as
``=HYPERLINK("http://…")`` must reach the spreadsheet as text (CSV/formula injection, OWASP).
"""

from decimal import Decimal

from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
MONEY_FORMAT = '"¥"#,##0.00'  # Excel's spelling of apps.core.money.format_money: ¥1,234.00


class Money(Decimal):
    """An amount of yuan in an export: a number in the cell (sums still work), shown as ¥1,234.00 in
    Excel; plain ``1234.00`` in CSV."""


def csv_cell(value):
    """A CSV value: text a spreadsheet would read as a formula gets a leading apostrophe."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def csv_row(values) -> list:
    return [csv_cell(value) for value in values]


def xlsx_row(sheet, values) -> list:
    """A row for a write-only sheet: text stays text (never a formula), characters XML cannot hold dropped."""
    row = []
    for value in values:
        if isinstance(value, Money):
            cell = WriteOnlyCell(sheet, value=Decimal(value))
            cell.number_format = MONEY_FORMAT
            value = cell
        elif isinstance(value, str):
            value = ILLEGAL_CHARACTERS_RE.sub("", value)
            if value.startswith("="):
                cell = WriteOnlyCell(sheet, value=value)
                cell.data_type = "s"  # openpyxl would store it as a formula
                value = cell
        row.append(value)
    return row
