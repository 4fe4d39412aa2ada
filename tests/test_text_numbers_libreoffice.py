"""Text that stands for a number past what a spreadsheet holds: Python and LibreOffice agree.

Cells hold texts such as "1e999", "-1e999", "1e-310" and "1e3%"; formulas use them in arithmetic,
MOD, INT and ROUND. LibreOffice recalculates the workbook and every formula's result is compared with
``Expr.evaluate`` on the same texts (evaluation must not raise on any of them).
"""

from __future__ import annotations

import math

import openpyxl
import pytest

from hbreport.checks.rules import Expr, XLError

pytestmark = pytest.mark.libreoffice

TEXTS = {
    "huge": "1e999",
    "minus_huge": "-1e999",
    "large": "1e308",
    "minus_large": " -5e308 ",
    "tiny": "1e-310",
    "minus_tiny": "-1e-320",
    "vanishing": "1e-400",
    "exp_percent": "1e3%",
    "big_percent": "1e999%",
    "percent": "5%",
}
EXPRESSIONS = [
    "{x} + 0",
    "{x} * 1",
    "-{x}",
    "0 - {x}",
    "{x} / 2",
    "{x} * 1e300",
    "MOD(3, {x})",
    "MOD({x}, 3)",
    "INT({x})",
    "ROUND({x}, 2)",
    "ABS({x})",
    "{x} > 1",
    "ISNUMBER({x} + 0)",
]


def _same(python, office) -> bool:
    if isinstance(python, XLError):
        return str(python) == office
    if isinstance(python, bool) or isinstance(office, bool):
        return python is office
    if isinstance(office, int | float) and isinstance(python, int | float):
        return math.isclose(python, office, rel_tol=1e-14, abs_tol=0.0)
    return False


def test_text_past_the_number_range_evaluates_as_libreoffice(tmp_path) -> None:
    from hbreport.office import recalculate

    book = openpyxl.Workbook()
    sheet = book.active
    fields = list(TEXTS)
    for col, name in enumerate(fields, start=1):
        cell = sheet.cell(1, col, TEXTS[name])
        cell.data_type = "s"
    letters = {name: openpyxl.utils.get_column_letter(i) + "1" for i, name in enumerate(fields, 1)}
    cases = []
    for name in fields:
        for template in EXPRESSIONS:
            expr = Expr.parse(template.format(x=name))
            row = len(cases) + 3
            sheet.cell(row, 1).value = "=" + expr.to_excel(letters.__getitem__)
            cases.append((row, expr, expr.evaluate(TEXTS)))
    source = tmp_path / "texts.xlsx"
    book.save(source)
    recalculated = openpyxl.load_workbook(recalculate(source, tmp_path / "out"), data_only=True).active
    differ = [
        (expr.text, python, recalculated.cell(row, 1).value)
        for row, expr, python in cases
        if not _same(python, recalculated.cell(row, 1).value)
    ]
    assert not differ, differ
