"""Python evaluation and the Excel formulas agree: LibreOffice computes the formulas on the same inputs.

A workbook is written with openpyxl (which stores no cached results), LibreOffice opens it,
recalculates and saves it, and every formula cell is compared with ``evaluate`` /
``python_status`` / ``row_check_python`` for the inputs of its row.
"""

from __future__ import annotations

import math
import random
import shutil
import subprocess
import tempfile
import uuid
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from openpyxl.utils import get_column_letter

from hbreport.checks.rules import Expr, Rule, XLError, row_check_formula, row_check_python

pytestmark = pytest.mark.libreoffice

try:
    from hbreport.office import recalculate
except ImportError:  # the shared LibreOffice bridge is not there: convert here

    def recalculate(src: Path, out_dir: Path) -> Path:
        """Open ``src`` in a private headless LibreOffice, recalculate, save as ``out_dir/<name>.xlsx``."""
        soffice = shutil.which("soffice") or shutil.which("libreoffice")
        if soffice is None:
            pytest.skip("LibreOffice (soffice) is not installed")
        with tempfile.TemporaryDirectory(prefix="lo-") as profile:
            subprocess.run(
                [
                    soffice,
                    f"-env:UserInstallation={Path(profile).as_uri()}/{uuid.uuid4().hex}",
                    "--headless",
                    "--norestore",
                    "--convert-to",
                    "xlsx",
                    "--outdir",
                    str(out_dir),
                    str(src),
                ],
                check=True,
                capture_output=True,
                timeout=300,
            )
        return out_dir / (src.stem + ".xlsx")


FIELDS = ["poor_people", "exited_people", "income", "answer", "id_number"]
ROWS: list[dict[str, Any]] = [
    {
        "poor_people": 120,
        "exited_people": 30,
        "income": 3500.5,
        "answer": "是",
        "id_number": "420102199001011234",
    },
    {"poor_people": 10, "exited_people": 25, "income": 0, "answer": "否", "id_number": "4201021990"},
    {"poor_people": None, "exited_people": 5, "income": None, "answer": None, "id_number": None},
    {"poor_people": 0, "exited_people": 0, "income": 0.125, "answer": "是", "id_number": "１２"},
    {
        "poor_people": "12",
        "exited_people": "12a",
        "income": "  ",
        "answer": "不详",
        "id_number": "42010219900101123X",
    },
    {
        "poor_people": "１２",
        "exited_people": " 12 ",
        "income": "1,000",
        "answer": "是 ",
        "id_number": 420102199001011234,
    },
    {"poor_people": -3, "exited_people": 2.5, "income": -2.5, "answer": "否", "id_number": "4201"},
    {
        "poor_people": 7,
        "exited_people": 7,
        "income": 2.675,
        "answer": "是",
        "id_number": "420102199001011234",
    },
    {"poor_people": 1.005, "exited_people": 0.1, "income": 0.2, "answer": "ABC", "id_number": "abc"},
]
COLUMNS = {"col_poor_people": "poor_people", "col_answer": "answer"}

EXPRESSIONS = [
    "exited_people / poor_people",
    "IF(poor_people > 0, exited_people / poor_people, '')",
    "IFERROR(exited_people / poor_people, 0)",
    "poor_people - exited_people",
    "poor_people + exited_people * 2 - income",
    "-poor_people + income",
    "ROUND(income, 0)",
    "ROUND(income, 2)",
    "ROUND(exited_people / 3, 2)",
    "INT(income)",
    "MOD(poor_people, 7)",
    "ABS(income)",
    "MIN(poor_people, exited_people)",
    "MAX(poor_people, exited_people, income)",
    "0 <= exited_people <= poor_people",
    "answer in ('是', '否')",
    "answer == '是' and exited_people > 0",
    "not (poor_people > 100) or ISBLANK(income)",
    "ISNUMBER(poor_people)",
    "LEN(id_number) == 18",
    "LEN(id_number)",
    "poor_people / SUM(col_poor_people)",
    "COUNT(col_poor_people)",
    "COUNTIF(col_answer, '是')",
    "exited_people + income == 0.3",
    "answer < '否'",
]
RULES = [
    Rule("exited_le_poor", "exited_people <= poor_people", "已脱贫人数不能大于贫困人口"),
    Rule("answer_yes_no", "answer in ('是', '否')", "是否脱贫只能填“是”或“否”", missing="never_skip"),
    Rule("poor_not_negative", "poor_people >= 0", "贫困人口不能为负数", "warning"),
    Rule("id_length", "LEN(id_number) == 18", "身份证号码应为18位", missing="skip_if_all"),
    Rule("rate", "exited_people / poor_people <= 1", "脱贫率不能超过100%", missing="skip_if_all"),
    Rule("income_share", "income <= SUM(col_poor_people) * 1000", "人均收入异常", "warning"),
]


def _put(cell, value: Any) -> None:
    if value is None:
        return
    cell.value = value
    if isinstance(value, str):
        cell.data_type = "s"  # text as typed, never a formula


def _column_env(rows: list[dict[str, Any]]) -> dict[str, list[Any]]:
    return {name: [row.get(field) for row in rows] for name, field in COLUMNS.items()}


def _same(computed: Any, expected: Any) -> bool:
    if isinstance(expected, XLError):
        return computed == expected.code
    if expected == "" and computed is None:
        return True
    if isinstance(expected, bool) or isinstance(computed, bool):
        return computed == expected
    if isinstance(expected, int | float) and isinstance(computed, int | float):
        return math.isclose(computed, expected, rel_tol=1e-12, abs_tol=1e-300)
    return computed == expected


def _recalculated(tmp_path: Path, rows, formulas_by_row) -> openpyxl.worksheet.worksheet.Worksheet:
    """Write inputs (A…) and formulas (after the inputs) for each row; return LibreOffice's results."""
    wb = openpyxl.Workbook()
    ws = wb.active
    for r, (row, formulas) in enumerate(zip(rows, formulas_by_row, strict=True), start=2):
        for c, field in enumerate(FIELDS, start=1):
            _put(ws.cell(r, c), row.get(field))
        for c, formula in enumerate(formulas, start=len(FIELDS) + 1):
            ws.cell(r, c, "=" + formula)
    src = tmp_path / "agreement.xlsx"
    wb.save(src)
    out = tmp_path / "out"
    out.mkdir()
    return openpyxl.load_workbook(recalculate(src, out), data_only=True).active


def _ref_for(row_number: int, n_rows: int):
    def ref(name: str) -> str:
        if name in COLUMNS:
            letter = get_column_letter(FIELDS.index(COLUMNS[name]) + 1)
            return f"${letter}$2:${letter}${n_rows + 1}"
        return f"{get_column_letter(FIELDS.index(name) + 1)}{row_number}"

    return ref


def test_formulas_statuses_and_row_check_agree_with_libreoffice(tmp_path: Path) -> None:
    exprs = [Expr.parse(text) for text in EXPRESSIONS]
    columns = _column_env(ROWS)
    formulas_by_row = []
    for r in range(len(ROWS)):
        ref = _ref_for(r + 2, len(ROWS))
        formulas_by_row.append(
            [e.to_excel(ref) for e in exprs]
            + [rule.excel_status(ref) for rule in RULES]
            + [row_check_formula(RULES, ref)]
        )
    ws = _recalculated(tmp_path, ROWS, formulas_by_row)

    mismatches = []
    for r, row in enumerate(ROWS):
        env = row | columns
        expected = (
            [e.evaluate(env) for e in exprs]
            + [rule.python_status(env) for rule in RULES]
            + [row_check_python(RULES, env)]
        )
        labels = EXPRESSIONS + [rule.id for rule in RULES] + ["row check"]
        for c, (label, want) in enumerate(zip(labels, expected, strict=True), start=len(FIELDS) + 1):
            got = ws.cell(r + 2, c).value
            if not _same(got, want):
                mismatches.append(f"row {r + 2} {label}: LibreOffice {got!r}, Python {want!r}")
    assert not mismatches, "\n".join(mismatches)
    # the checks really fired: the row check text of row 3 (exited 25 > poor 10) names the rule
    assert "已脱贫人数不能大于贫困人口；" in ws.cell(3, len(FIELDS) + len(EXPRESSIONS) + len(RULES) + 1).value


# Random expressions over random inputs: values, texts and booleans must agree exactly; when both
# sides give an error the code may differ where two different errors meet (see xlsemantics).
POOL = [0, 1, -1, 2.5, -2.5, 0.125, 7, 12, 100, 0.1, 0.2, 0.3, 1e-05, 123456.789, None, None,
        "12", "12a", "  ", "１２", "abc", "ABC", "是", "否", " 12 ", "1,000", "50%", "TRUE", "2016-01-01"]  # fmt: skip
LITERALS = [
    "0",
    "1",
    "2",
    "0.1",
    "0.3",
    "2.5",
    "0.125",
    "1e-05",
    "'是'",
    "'否'",
    "'abc'",
    "'12'",
    "''",
    "TRUE",
]


def _random_expression(rng: random.Random, depth: int) -> str:
    if depth <= 0 or rng.random() < 0.25:
        return rng.choice(FIELDS[:3]) if rng.random() < 0.6 else rng.choice(LITERALS)

    def sub() -> str:
        return _random_expression(rng, depth - 1)

    kind = rng.randrange(13)
    if kind < 3:
        return f"({sub()} {rng.choice('+-*/')} {sub()})"
    if kind < 5:
        return f"({sub()} {rng.choice(['<', '<=', '>', '>=', '==', '!='])} {sub()})"
    if kind == 5:
        return f"({sub()} <= {sub()} < {sub()})"
    if kind == 6:
        return f"({sub()} {rng.choice(['and', 'or'])} {sub()})"
    if kind == 7:
        return f"{rng.choice(['(not ', '(-'])}{sub()})"
    if kind == 8:
        return f"IF({sub()}, {sub()}, {sub()})"
    if kind == 9:
        return f"IFERROR({sub()}, {sub()})"
    if kind == 10:
        return f"{rng.choice(['MIN', 'MAX', 'SUM', 'AND', 'OR', 'COUNT'])}({sub()}, {sub()})"
    if kind == 11:
        return f"{rng.choice(['ABS', 'INT', 'LEN', 'ISBLANK', 'ISNUMBER'])}({sub()})"
    return f"{rng.choice(['ROUND', 'MOD'])}({sub()}, {rng.choice(['0', '1', '2', '-1', sub()])})"


def test_random_expressions_agree_with_libreoffice(tmp_path: Path) -> None:
    rng = random.Random(20160101)
    exprs = [Expr.parse(_random_expression(rng, rng.randint(1, 4))) for _ in range(250)]
    rows = [dict(zip(FIELDS, (rng.choice(POOL) for _ in FIELDS), strict=True)) for _ in range(30)]
    formulas_by_row = [[e.to_excel(_ref_for(r + 2, len(rows))) for e in exprs] for r in range(len(rows))]
    ws = _recalculated(tmp_path, rows, formulas_by_row)

    mismatches = []
    for r, row in enumerate(rows):
        for c, expr in enumerate(exprs, start=len(FIELDS) + 1):
            got, want = ws.cell(r + 2, c).value, expr.evaluate(row)
            both_errors = isinstance(want, XLError) and isinstance(got, str) and got.startswith("#")
            if not (both_errors or _same(got, want)):
                mismatches.append(f"{expr.text} with {row}: LibreOffice {got!r}, Python {want!r}")
    assert not mismatches, f"{len(mismatches)} disagreements:\n" + "\n".join(mismatches[:20])
