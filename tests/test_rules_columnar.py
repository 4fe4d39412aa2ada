"""The columnar backend gives exactly what the Python backend (and so the Excel formulas) give.

The expressions and inputs are those of the LibreOffice agreement test (tests/test_rules_libreoffice.py):
the fixed expressions and rules, and the seeded random expressions over the pool of awkward values
(text in number cells, full-width digits, blanks, percentages, dates as text). The LibreOffice test
holds Python = LibreOffice on them; here columnar = Python on every row, and (marked libreoffice)
columnar = LibreOffice directly. Then the roster's own rules and derived column, on clean and on
hostile households.
"""

from __future__ import annotations

import dataclasses
import math
import random
from pathlib import Path
from typing import Any

import pytest
from household_cases import PERIOD, TOWNSHIP, clean_inputs, households
from test_rules_libreoffice import (
    EXPRESSIONS,
    FIELDS,
    POOL,
    ROWS,
    RULES,
    _random_expression,
    _recalculated,
    _ref_for,
    _same,
)

from hbreport.checks.rules import Expr, Rule, XLError
from hbreport.checks.rules_columnar import STATUS_NAMES, evaluate_columns, rule_statuses
from hbreport.households.spec import build_roster_spec

SEED = 20160101


def _identical(a: Any, b: Any) -> bool:
    if type(a) is not type(b):
        return False
    if isinstance(a, float) and math.isnan(a):
        return math.isnan(b)
    return a == b


def _columns(rows: list[dict[str, Any]]) -> dict[str, list[Any]]:
    keys = {k for row in rows for k in row}
    return {k: [row.get(k) for row in rows] for k in keys}


def _disagreements(exprs: list[Expr], rows: list[dict[str, Any]]) -> list[str]:
    columns = _columns(rows)
    out = []
    for expr in exprs:
        by_column = evaluate_columns(expr, columns, len(rows))
        for row, got in zip(rows, by_column, strict=True):
            want = expr.evaluate(row)
            if not _identical(got, want):
                out.append(f"{expr.text} with {row}: columns {got!r}, rows {want!r}")
    return out


def _random_case(rows: int) -> tuple[list[Expr], list[dict[str, Any]]]:
    """The LibreOffice test's seeded expressions and rows (same generator, same order), more rows."""
    rng = random.Random(SEED)
    exprs = [Expr.parse(_random_expression(rng, rng.randint(1, 4))) for _ in range(250)]
    table = [dict(zip(FIELDS, (rng.choice(POOL) for _ in FIELDS), strict=True)) for _ in range(rows)]
    return exprs, table


@pytest.mark.slow
def test_random_expressions_columns_equal_rows() -> None:
    exprs, rows = _random_case(30)  # exactly the LibreOffice test's rows
    more = random.Random(SEED + 1)
    rows += [dict(zip(FIELDS, (more.choice(POOL) for _ in FIELDS), strict=True)) for _ in range(400)]
    bad = _disagreements(exprs, rows)
    assert not bad, f"{len(bad)} disagreements:\n" + "\n".join(bad[:20])
    # the case is not trivial: errors, text, booleans and numbers all come out
    kinds = {type(v) for e in exprs for v in evaluate_columns(e, _columns(rows), len(rows))}
    assert {int, float, bool, str, XLError} <= kinds


def test_fixed_expressions_and_rule_statuses_equal_rows() -> None:
    single = [Expr.parse(t) for t in EXPRESSIONS if "col_" not in t]
    assert not _disagreements(single, ROWS)
    for rule in RULES:
        if "col_" in rule.expr:
            continue
        got = [STATUS_NAMES[s] for s in rule_statuses(rule, _columns(ROWS), len(ROWS))]
        assert got == [rule.check(row) for row in ROWS], rule.id


def test_columns_of_one_type_equal_rows() -> None:
    """A column holding one type only (texts — a few with capitals, a few without, many —, errors,
    numbers, booleans) is loaded whole and its texts lower-cased once each; texts and blanks alone are
    compared as texts, booleans alone combined as booleans: the same answers as row by row."""
    n = 30
    columns = {
        "few_plain": ["是", "否", "是"] * 10,
        "few_capitals": ["Yes", "yes", "NO"] * 10,
        "many": [f"Name{i % 25}" for i in range(n)],
        "errors": [XLError("#N/A"), XLError("#DIV/0!"), XLError("#N/A")] * 10,
        "numbers": [1.0, 2.5, 3.0] * 10,
        "flags": [True, False, False] * 10,
        "mixed": ["yes", None, 2.0] * 10,
        "ints_floats": [1, 2.5, 3] * 10,
        "huge": [1, 2.5, 10**400] * 10,
        "some_blank": ["是", None, "否"] * 10,
        "all_blank": [None] * n,
    }
    rows = [{k: v[i] for k, v in columns.items()} for i in range(n)]
    exprs = [
        Expr.parse(t)
        for t in (
            "few_plain == '是'",
            "few_plain != '否' and numbers > 1",
            "few_capitals == 'yes'",
            "few_capitals == mixed",
            "few_capitals in ('no', 'maybe')",
            "many == 'name3'",
            "many == few_capitals",
            "IFERROR(errors, 1) == 1",
            "IFERROR(errors, 0) + numbers",
            "flags == (numbers > 2)",
            "few_plain == mixed",
            "ints_floats + numbers > 3",
            "ints_floats == 3",
            "huge > 2",
            # the comparisons of texts and blanks alone, AND / OR / IF over booleans alone
            "some_blank == '是'",
            "some_blank != few_plain",
            "some_blank == all_blank",
            "all_blank != ''",
            "IF(few_plain == '是', few_capitals == 'yes', many == 'name1')",
            "IF(some_blank == '否', TRUE)",
            "AND(few_plain == '是', few_capitals in ('yes', 'no')) or many == 'name3'",
            "not (some_blank == '是' and few_plain == '是')",
            # a result of texts alone, of errors alone
            "IF(few_plain == '是', 'a', 'B')",
            "few_capitals",
            "errors",
            # the same over what is not a plain boolean: a cell's boolean, a number, an error
            "IF(flags, numbers > 1, FALSE)",
            "IF(few_plain == '是', flags, FALSE)",
            "MAX(IF(few_plain == '是', flags, FALSE), -1)",  # a cell's boolean chosen by IF, then a function
            "AND(flags, few_plain == '是')",
            "OR(few_plain == '否', IFERROR(errors, 0))",
            "IF(few_plain == '是', numbers, 0)",
            "IF(few_capitals == 'no', errors, few_plain == '否')",
        )
    ]
    assert not _disagreements(exprs, rows)
    truths = [evaluate_columns(e, _columns(rows), n) for e in exprs]
    assert truths[2][:3] == [True, True, False] and truths[5][3] is True and truths[4][2] is True


def test_column_arguments_fall_back_to_rows() -> None:
    """SUM / COUNT / COUNTIF over a whole column: the same answer, by the Python backend."""
    expr = Expr.parse("poor_people / SUM(col_poor_people) + COUNTIF(col_answer, '是')")
    column = [r["poor_people"] for r in ROWS]
    answers = [r["answer"] for r in ROWS]
    columns = _columns(ROWS) | {"col_poor_people": [column] * len(ROWS), "col_answer": [answers] * len(ROWS)}
    got = evaluate_columns(expr, columns, len(ROWS))
    want = [expr.evaluate(r | {"col_poor_people": column, "col_answer": answers}) for r in ROWS]
    assert all(_identical(g, w) for g, w in zip(got, want, strict=True))


@pytest.mark.parametrize(
    ("text", "row", "expected"),
    [
        ("ROUND(x, 0)", {"x": 2.5}, 3),
        ("ROUND(x, 0)", {"x": -2.5}, -3),
        ("ROUND(x, 2)", {"x": 1.005}, 1.01),
        ("x + 1", {"x": "12"}, 13),
        ("x + 1", {"x": "１２"}, XLError("#VALUE!")),
        ("x == 'ABC'", {"x": "abc"}, True),
        ("x < 'b'", {"x": "A"}, True),
        ("IF(x, 1, 2)", {"x": None}, 2),
        ("IF(x, 1, 2)", {"x": XLError("#N/A")}, XLError("#N/A")),
        ("0.1 + 0.2 == x", {"x": 0.3}, True),
        ("x - 0.3", {"x": 0.1 + 0.2}, 0),
        ("IDCHECK(x)", {"x": "11010519491231002X"}, True),
        ("IDCHECK(x)", {"x": "11010519491231002x"}, False),
        ("ISNUMBER(x)", {"x": True}, True),
        ("x / 0", {"x": 1}, XLError("#DIV/0!")),
    ],
)
def test_semantics_one_by_one(text: str, row: dict[str, Any], expected: Any) -> None:
    expr = Expr.parse(text)
    got = evaluate_columns(expr, {k: [v] for k, v in row.items()}, 1)[0]
    assert _identical(got, expected) and _identical(expr.evaluate(row), expected)


# --- the roster's rules ------------------------------------------------------------------


def _roster_rows(registry, catalog) -> tuple[Any, list[dict[str, Any]]]:
    hh = households(registry, TOWNSHIP, per_village=8, villages=4)
    spec = build_roster_spec(TOWNSHIP, PERIOD, hh, registry=registry, catalog=catalog)
    values = clean_inputs(hh)
    rows = [dict(h.prefill()) | values.get(h.household_id, {}) for h in hh]
    rng = random.Random(SEED)
    hostile = [
        None,
        "",
        " ",
        "abc",
        "12",
        "１２",
        0,
        -1,
        2.5,
        1e9,
        True,
        XLError("#N/A"),
        "是",
        "否",
        "因病",
        "x",
    ]
    sheet = spec.sheets[0]
    keys = [c.key for c in sheet.columns if c.role != "derived"]
    for row in rows[len(rows) // 2 :]:  # half the households get awkward cells
        for key in rng.sample(keys, 4):
            row[key] = rng.choice(hostile)
    rows[-1]["income_per_capita"] = XLError("#N/A")  # an error value read from a cell
    rows[-2]["students"] = None  # a rule skipped where its cell is not filled in (HR17)
    rows[0].update(household_type="一般贫困户", welfare_status="五保")  # 贫困户属性 ≠ 低保五保 (HR26)
    rows[1].update(household_type="特困供养(五保)贫困户", welfare_status="五保")  # … and the same (HR26)
    rows[2]["welfare_status"] = None  # HR26 skipped, HR27 (未填) fails
    rows[3]["household_type"] = XLError("#N/A")  # HR26 cannot judge
    return sheet, rows


def test_roster_rules_and_standard_by_column_equal_rows(registry, catalog) -> None:
    sheet, rows = _roster_rows(registry, catalog)
    columns = _columns(rows)
    for col in sheet.derived_columns:
        expr = Expr.parse(col.formula)
        got = evaluate_columns(expr, columns, len(rows))
        assert all(_identical(g, expr.evaluate(r)) for g, r in zip(got, rows, strict=True)), col.key
    outcomes = set()
    for rule in sheet.rules:
        got = [STATUS_NAMES[s] for s in rule_statuses(rule, columns, len(rows))]
        want = [rule.check(r) for r in rows]
        assert got == want, rule.id
        outcomes.update(got)
    assert outcomes == {"pass", "fail", "skip", "invalid"}  # every outcome met
    type_welfare = next(r for r in sheet.rules if r.id == "HR26")
    assert [type_welfare.check(r) for r in rows[:4]] == ["fail", "pass", "skip", "invalid"]
    welfare_blank = next(r for r in sheet.rules if r.id == "HR27")
    assert [welfare_blank.check(r) for r in rows[:3]] == ["pass", "pass", "fail"]
    # the 校验结果 texts the writer caches, as the engine gives them row by row
    from hbreport.checks.engine import TEXT_IN_NUMBER, check_text
    from hbreport.households.columns import check_texts

    by_code = {r.code: row for r, row in zip(sheet.rows, rows, strict=True)}
    texts = check_texts(sheet, by_code)
    assert texts == {code: check_text(sheet, row) for code, row in by_code.items()}
    assert any(TEXT_IN_NUMBER in t for t in texts.values()) and any(t == "" for t in texts.values())


def test_roster_total_by_column_equals_the_total_row(registry, catalog) -> None:
    """The 合计 of a roster's households by column (weighted means of numbers taken at once when a
    column holds numbers alone) is the engine's 合计 row, on clean households and on awkward ones."""
    from hbreport.checks.engine import compute_row, total_row
    from hbreport.households.columns import compute_rows, total_of_columns

    sheet, rows = _roster_rows(registry, catalog)
    clean = len(rows) // 2
    for part in (rows[:clean], rows):  # numbers alone, then text, blanks and errors among them
        subset = dataclasses.replace(sheet, rows=sheet.rows[: len(part)])
        inputs = {r.code: row for r, row in zip(subset.rows, part, strict=True)}
        tables: dict = {}
        compute_rows(subset, inputs, tables)
        got = total_of_columns(subset, tables[subset.form])
        want = total_row(subset, [compute_row(subset, row) for row in part], computed=True)
        assert got.keys() == want.keys() and all(_identical(got[k], want[k]) for k in want), (got, want)
    assert isinstance(got["income_per_capita"], float)


@pytest.mark.libreoffice
def test_random_expressions_columns_agree_with_libreoffice(tmp_path: Path) -> None:
    exprs, rows = _random_case(30)
    formulas_by_row = [[e.to_excel(_ref_for(r + 2, len(rows))) for e in exprs] for r in range(len(rows))]
    ws = _recalculated(tmp_path, rows, formulas_by_row)
    columns = _columns(rows)
    mismatches = []
    for c, expr in enumerate(exprs, start=len(FIELDS) + 1):
        for r, want in enumerate(evaluate_columns(expr, columns, len(rows))):
            got = ws.cell(r + 2, c).value
            both_errors = isinstance(want, XLError) and isinstance(got, str) and got.startswith("#")
            if not (both_errors or _same(got, want)):
                mismatches.append(f"{expr.text} with {rows[r]}: LibreOffice {got!r}, columns {want!r}")
    assert not mismatches, f"{len(mismatches)} disagreements:\n" + "\n".join(mismatches[:20])


@pytest.fixture(scope="module")
def registry():
    from hbreport.registry import load_registry

    return load_registry()


@pytest.fixture(scope="module")
def catalog():
    from hbreport.catalog import load_catalog

    return load_catalog()


def test_rule_guard_skips_blank_fields() -> None:
    rule = Rule("r", "a <= b", "a 不能大于 b")
    statuses = rule_statuses(rule, {"a": [None, 1, 3, "x", XLError("#N/A")], "b": [1, None, 2, 1, 1]}, 5)
    # text is greater than any number (LibreOffice), an error read from a cell makes the rule invalid
    assert [STATUS_NAMES[s] for s in statuses] == ["skip", "skip", "fail", "fail", "invalid"]


def test_idcheck_by_column_equals_the_python_check() -> None:
    from hbreport.checks.idcard import check_char
    from hbreport.checks.rules import fn_idcheck
    from hbreport.checks.rules_columnar import idcheck

    body = "11010519491231002"
    good = body + check_char(body)
    texts = [good, good.lower(), good[:-1] + "0", good[:-1], good + "1", "１" + good[1:], "𠀀" + good[2:],
             "4201021990010112 X", "abcdefghijklmnopqr", "", "11010519491231002" + "x", "1101051949123100" + "2X"]  # fmt: skip
    texts += [f"4201{i:013d}" + check_char(f"4201{i:013d}") for i in range(0, 10**6, 997)]
    assert idcheck(texts).tolist() == [fn_idcheck(t) for t in texts]
    assert sum(idcheck(texts).tolist()) > 1000
