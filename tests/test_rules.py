"""The rule language: parsing, refusals, spreadsheet semantics in Python, Excel formula text, rules.

Expected values below are what LibreOffice 7.4 computes for the same formulas (checked against a
real LibreOffice in test_rules_libreoffice.py, which runs the formulas this module writes).
"""

from __future__ import annotations

import datetime as dt
import math
import pickle
import re
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from hbreport.checks.rules import (
    IMPORTANCE,
    MISSING,
    Expr,
    Rule,
    XLError,
    row_check_formula,
    row_check_python,
)
from hbreport.checks.xlsemantics import (
    ARITHMETIC,
    COMPARISONS,
    Ref,
    approx_floor,
    approx_value,
    compare,
    fn_isblank,
    fn_isnumber,
    from_python,
    to_python,
)
from hbreport.errors import HBError

COLUMNS = {"poor_people": "B", "exited_people": "C", "income": "D", "answer": "E", "id_number": "F"}


def ref(name: str) -> str:
    """Row 5 of a small sheet; fields starting with col_ are whole columns."""
    if name.startswith("col_"):
        letter = COLUMNS[name[4:]]
        return f"${letter}$5:${letter}$9"
    return f"{COLUMNS[name]}5"


def value(text: str, **env):
    return Expr.parse(text).evaluate(env)


VALUE, DIV0, NA = XLError("#VALUE!"), XLError("#DIV/0!"), XLError("#N/A")


# --- Excel formula text ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "formula"),
    [
        ("exited_people <= poor_people", "C5<=B5"),
        ("exited_people == poor_people", "C5=B5"),
        ("exited_people != poor_people", "C5<>B5"),
        ("0 <= exited_people <= poor_people", "AND(0<=C5,C5<=B5)"),
        ("answer in ('是', '否')", 'OR(E5="是",E5="否")'),
        ('answer not in ("是",)', 'NOT(OR(E5="是"))'),
        ("poor_people > 0 and exited_people > 0 or not income", "OR(AND(B5>0,C5>0),NOT(D5))"),
        ("IF(poor_people > 0, exited_people / poor_people, '')", 'IF(B5>0,C5/B5,"")'),
        ("poor_people - (exited_people - income)", "B5-(C5-D5)"),
        ("poor_people - exited_people - income", "B5-C5-D5"),
        ("(poor_people + exited_people) * income", "(B5+C5)*D5"),
        ("poor_people / (exited_people * income)", "B5/(C5*D5)"),
        ("poor_people - -exited_people", "B5-(-C5)"),
        ("-(poor_people + 1)", "-(B5+1)"),
        ("(poor_people > 1) == (income > 2)", "(B5>1)=(D5>2)"),
        ("(poor_people > 1) + 1", "(B5>1)+1"),
        ("income * 1e-05 + 1e20 + 0.1 + 2.50", "D5*0.00001+100000000000000000000+0.1+2.5"),
        ("answer == 'say \"yes\"'", 'E5="say ""yes"""'),
        ("TRUE and True or FALSE", "OR(AND(TRUE,TRUE),FALSE)"),
        ("SUM(col_poor_people) >= COUNTIF(col_answer, '是')", 'SUM($B$5:$B$9)>=COUNTIF($E$5:$E$9,"是")'),
        ("ROUND(exited_people / poor_people * 100, 2)", "ROUND(C5/B5*100,2)"),
        ("IFERROR(exited_people / poor_people, 0)", "IFERROR(C5/B5,0)"),
        ("+income", "D5"),
    ],
)
def test_excel_formula_text(text: str, formula: str) -> None:
    assert Expr.parse(text).to_excel(ref) == formula


@given(st.floats(min_value=0, max_value=1e300, allow_nan=False))
def test_numbers_are_written_plainly_and_exactly(number: float) -> None:
    formula = Expr.parse(repr(number)).to_excel(ref)
    assert re.fullmatch(r"[0-9]+(\.[0-9]+)?", formula), formula
    assert float(formula) == number


def test_fields_and_cell_fields() -> None:
    expr = Expr.parse("poor_people > SUM(col_poor_people) / COUNT(income) + MIN(exited_people, 1)")
    assert expr.fields == {"poor_people", "col_poor_people", "income", "exited_people"}
    assert expr.cell_fields == {"poor_people", "exited_people"}
    assert expr.text == "poor_people > SUM(col_poor_people) / COUNT(income) + MIN(exited_people, 1)"


# --- refusals ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("poor_people.real", ["「poor_people.real」", "属性访问"]),
        ("poor_people[0]", ["「poor_people[0]」", "下标"]),
        ("(lambda: 1)()", ["lambda"]),
        ("__import__('os').system('true')", ["__import__"]),
        ("__builtins__", ["双下划线"]),
        ("[x for x in poor_people]", ["推导式"]),
        ("{x: 1 for x in poor_people}", ["推导式"]),
        ("poor_people if income else 0", ["IF(条件, 是, 否)"]),
        ("(y := 1)", ["赋值"]),
        ("f'{poor_people}'", ["f 字符串"]),
        ("VLOOKUP(poor_people, income, 2)", ["函数「VLOOKUP」不可用"]),
        ("TEXTJOIN(',', TRUE, answer)", ["函数「TEXTJOIN」不可用"]),
        ("poor_people % 2", ["MOD(a, b)"]),
        ("poor_people ** 2", ["**"]),
        ("poor_people // 2", ["INT(a / b)"]),
        ("poor_people is None", ["is"]),
        ("None", ["「None」"]),
        ("b'x'", ["常量"]),
        ("1j", ["常量"]),
        ("poor_people in income", ["in 的右边"]),
        ("poor_people in (income, 1)", ["只能是常量"]),
        ("(1, 2)", ["in 的右边"]),
        ("IF(poor_people)", ["IF 需要 2 至 3 个参数", "给了 1 个"]),
        ("ROUND(income)", ["ROUND 需要 2 个参数"]),
        ("MIN()", ["MIN 至少需要 1 个参数"]),
        ("ROUND(income, digits=2)", ["按位置"]),
        ("SUM(*income)", ["按位置"]),
        ("COUNTIF(col_answer, '是*')", ["COUNTIF 的条件"]),
        ("COUNTIF(col_answer, '>5')", ["COUNTIF 的条件"]),
        ("COUNTIF(col_answer, '12')", ["COUNTIF 的条件"]),
        ("COUNTIF(col_answer, answer)", ["COUNTIF 的条件"]),
        ("COUNTIF(income + 1, 1)", ["COUNTIF 的第一个参数"]),
        ("1e999 > income", ["超出"]),
        ("'" + "长" * 256 + "'", ["最长 255"]),
        ("poor_people" + " + poor_people" * 120, ["太复杂"]),
    ],
)
def test_forbidden_constructs_are_refused_with_the_expression_named(text: str, says: list[str]) -> None:
    with pytest.raises(HBError) as caught:
        Expr.parse(text)
    message = str(caught.value)
    assert f"表达式「{text.strip()}」" in message or text[:20] in message
    for part in says:
        assert part in message


@pytest.mark.parametrize(
    ("text", "hint"),
    [
        ("poor_people = exited_people", "=="),
        ("poor_people <> exited_people", "!="),
        ("poor_people >= 0，", "半角"),
        ("", "写出"),
        ("   ", "写出"),
    ],
)
def test_syntax_errors_say_how_to_write_it(text: str, hint: str) -> None:
    with pytest.raises(HBError) as caught:
        Expr.parse(text)
    assert hint in caught.value.hint


def test_lower_case_function_gets_a_hint() -> None:
    with pytest.raises(HBError) as caught:
        Expr.parse("sum(income) > 0")
    assert "请写 SUM" in caught.value.hint


def test_unknown_field_is_refused_when_fields_are_given() -> None:
    Expr.parse("exited_people <= poor_people", allowed=["exited_people", "poor_people"])
    with pytest.raises(HBError) as caught:
        Expr.parse("exited_poeple <= poor_people", allowed=["exited_people", "poor_people"])
    assert "不存在的字段「exited_poeple」" in caught.value.message
    assert "exited_people" in caught.value.hint


def test_overlong_expression_is_refused() -> None:
    with pytest.raises(HBError, match="太长"):
        Expr.parse("1 + " * 600 + "1")


# --- values: what the spreadsheet computes -----------------------------------------------


@pytest.mark.parametrize(
    ("text", "env", "expected"),
    [
        # a blank counts as 0 in arithmetic and comparisons with numbers, as "" with text
        ("a + b", {"a": None, "b": 5}, 5),
        ("a * 2", {}, 0),
        ("a == 0", {"a": None}, True),
        ("a == ''", {"a": None}, True),
        ("a < 'x'", {"a": None}, True),
        ("a", {"a": None}, 0),
        # division by zero
        ("a / b", {"a": 1, "b": 0}, DIV0),
        ("a / b", {"a": 0, "b": None}, DIV0),
        ("IF(b == 0, 0, a / b)", {"a": 1, "b": 0}, 0),
        ("IFERROR(a / b, -1)", {"a": 1, "b": 0}, -1),
        ("IFERROR(a / b, -1)", {"a": 1, "b": 4}, 0.25),
        # text where a number is needed
        ("a + 1", {"a": "12"}, 13),
        ("a + 1", {"a": " 12 "}, 13),
        ("a + 1", {"a": "1,000"}, 1001),
        ("a + 1", {"a": "50%"}, 1.5),
        ("a + 1", {"a": "1e3"}, 1001),
        ("a + 1", {"a": "12a"}, VALUE),
        ("a + 1", {"a": "  "}, VALUE),
        ("a + 1", {"a": "１２"}, VALUE),
        ("a + 1", {"a": ""}, VALUE),
        ("-a", {"a": "abc"}, VALUE),
        ("a + b", {"a": "abc", "b": 1e308 * 10}, VALUE),
        # comparisons never convert: numbers are below any text
        ("a > 100", {"a": "12"}, True),
        ("a == 12", {"a": "12"}, False),
        ("a == 'ABC'", {"a": "abc"}, True),
        ("a != 'abc'", {"a": "ABC"}, False),
        ("a == '12'", {"a": "１２"}, False),
        ("a < 'b'", {"a": "A"}, True),
        ("a < 'a'", {"a": "１"}, True),
        ("a < '中'", {"a": "z"}, True),
        # numbers compare and subtract with the spreadsheet's tolerance
        ("a + b == 0.3", {"a": 0.1, "b": 0.2}, True),
        ("a + b - 0.3", {"a": 0.1, "b": 0.2}, 0),
        # chained comparisons and membership
        ("0 <= a <= 100", {"a": 50}, True),
        ("0 <= a <= 100", {"a": 101}, False),
        ("0 <= a <= 100", {"a": -1}, False),
        ("a in ('是', '否')", {"a": "是"}, True),
        ("a in ('是', '否')", {"a": "不详"}, False),
        ("a in ('是', '否')", {"a": None}, False),
        ("a not in (1, 2)", {"a": 3}, True),
        ("a in ('是', '否')", {"a": DIV0}, DIV0),
        # and / or / not with blanks and text in cells
        ("a > 0 and b", {"a": 1, "b": None}, True),
        ("a and b", {"a": None, "b": None}, VALUE),
        ("a or b", {"a": "是", "b": 0}, False),
        ("AND(a, 'TRUE')", {"a": 1}, VALUE),
        ("not a", {"a": None}, True),
        ("not a", {"a": "abc"}, VALUE),
        ("NOT(a)", {"a": "TRUE"}, False),
        # IF
        ("IF(a, 'yes', 'no')", {"a": None}, "no"),
        ("IF(a, 'yes', 'no')", {"a": "abc"}, VALUE),
        ("IF(a > 1, 'yes')", {"a": 0}, False),
        ("IF(a > 1, b, 0) == ''", {"a": 2, "b": None}, True),
        ("ISBLANK(IF(a > 1, b, 0))", {"a": 2, "b": None}, True),
        # booleans are numbers (LibreOffice)
        ("(a > 0) + (b > 0)", {"a": 1, "b": 1}, 2),
        ("(a > 0) == 1", {"a": 1}, True),
        ("ISNUMBER(a > 0)", {"a": 1}, True),
        # ROUND is half away from zero, on the 15-digit value
        ("ROUND(a, 0)", {"a": 2.5}, 3),
        ("ROUND(a, 0)", {"a": -2.5}, -3),
        ("ROUND(a, 0)", {"a": 0.5}, 1),
        ("ROUND(a, 2)", {"a": 0.125}, 0.13),
        ("ROUND(a, 2)", {"a": -0.125}, -0.13),
        ("ROUND(a, 2)", {"a": 1.005}, 1.01),
        ("ROUND(a, 2)", {"a": 2.675}, 2.68),
        ("ROUND(a, -2)", {"a": 1234.5}, 1200),
        ("ROUND(a, 1.9)", {"a": 1.25}, 1.3),
        ("ROUND(a, 40000)", {"a": 1.25}, VALUE),
        ("ROUND(a, 0)", {"a": "abc"}, VALUE),
        # INT, MOD, ABS
        ("INT(a)", {"a": -2.5}, -3),
        ("INT(a * 3 * 10)", {"a": 0.1}, 3),
        ("MOD(a, 3)", {"a": -7}, 2),
        ("MOD(a, -3)", {"a": 7}, -2),
        ("MOD(a, 1.1)", {"a": 5.5}, 0),
        ("MOD(a, 0)", {"a": 7}, DIV0),
        ("MOD(a, 0)", {"a": "abc"}, DIV0),
        ("MOD(a, b)", {"a": "abc", "b": NA}, NA),
        ("ABS(a)", {"a": "-3"}, 3),
        # MIN / MAX / SUM skip text and blanks in cells, refuse text given directly
        ("MIN(a, b, c)", {"a": "12", "b": None, "c": 5}, 5),
        ("MAX(a, b)", {"a": None, "b": None}, 0),
        ("MIN(a, '12')", {"a": 5}, VALUE),
        ("SUM(a, b)", {"a": "abc", "b": 2}, 2),
        # LEN counts characters, a blank is empty, a number by its text
        ("LEN(a)", {"a": "420102199001011234"}, 18),
        ("LEN(a)", {"a": "１２"}, 2),
        ("LEN(a)", {"a": "𠀀"}, 2),
        ("LEN(a)", {"a": None}, 0),
        ("LEN(a)", {"a": 12.5}, 4),
        ("LEN(a)", {"a": 1 / 3}, 17),
        ("LEN(a)", {"a": 420102199001011234}, 21),
        ("LEN(a)", {"a": 0.00001}, 7),
        # ISBLANK / ISNUMBER
        ("ISBLANK(a)", {}, True),
        ("ISBLANK(a)", {"a": ""}, False),
        ("ISBLANK(a + 0)", {"a": None}, False),
        ("ISNUMBER(a)", {"a": "12"}, False),
        ("ISNUMBER(a / 0)", {"a": 1}, False),
        # errors in cells propagate; IFERROR catches them
        ("a + 1", {"a": NA}, NA),
        ("IFERROR(a, 7)", {"a": NA}, 7),
        ("a + b", {"a": "abc", "b": NA}, VALUE),
        ("a + b", {"a": NA, "b": "abc"}, NA),
        ("'x' + b", {"b": DIV0}, DIV0),
        ("a + 1 / 0", {"a": "abc"}, DIV0),
        ("(a + 1) + 1 / 0", {"a": "abc"}, VALUE),
        ("a * 1e300 * 1e300", {"a": 1}, XLError("#NUM!")),
        # dates count as day serials
        ("a + 1", {"a": dt.date(2016, 1, 1)}, 42371),
        ("a + 1", {"a": "2016-01-01"}, 42371),
        ("a * 2", {"a": Decimal("1.5")}, 3),
        # NaN (pandas' missing value) is a blank
        ("ISBLANK(a)", {"a": float("nan")}, True),
        ("a + 1", {"a": float("nan")}, 1),
        ("a + 1", {"a": float("inf")}, XLError("#NUM!")),
    ],
)
def test_values_follow_spreadsheet_semantics(text: str, env: dict, expected) -> None:
    result = Expr.parse(text).evaluate(env)
    if isinstance(expected, float) and isinstance(result, float):
        assert math.isclose(result, expected, rel_tol=1e-12)
    else:
        assert result == expected
        assert type(result) is type(expected)


def test_column_aggregates_take_lists() -> None:
    env = {"col": [3, None, "12", 2.5, True, "是", "是", "否", XLError("#N/A")], "x": 1}
    assert value("SUM(col)", col=env["col"][:-1]) == 3 + 2.5 + 1  # TRUE counts as 1
    assert value("SUM(col)", col=env["col"]) == NA
    assert value("COUNT(col)", col=env["col"]) == 3
    assert value("COUNTIF(col, '是')", col=env["col"]) == 2
    assert value("COUNTIF(col, 'SHI')", col=["shi", "Shi", " shi"]) == 2
    assert value("COUNTIF(col, 12)", col=env["col"]) == 0
    assert value("COUNTIF(col, 3)", col=env["col"]) == 1
    assert value("x / SUM(col)", x=2, col=[1, 3]) == 0.5
    assert value("col + 1", col=[1, 2]) == VALUE


def test_xlerror_is_equal_by_code_and_refuses_unknown_codes() -> None:
    assert XLError("#DIV/0!") == XLError("#DIV/0!")
    assert XLError("#DIV/0!") != XLError("#VALUE!")
    assert str(XLError("#N/A")) == "#N/A"
    with pytest.raises(ValueError):
        XLError("#BOGUS")


def test_unsupported_env_value_is_refused_in_chinese() -> None:
    with pytest.raises(HBError, match="字段「a」"):
        value("a + 1", a=object())


# --- rules ---------------------------------------------------------------------------------

EXITED = Rule("exited_le_poor", "exited_people <= poor_people", "已脱贫人数不能大于贫困人口。")
ANSWER = Rule("answer_yes_no", "answer in ('是', '否')", "是否脱贫只能填“是”或“否”", missing="never_skip")
BOTH = Rule(
    "rate", "exited_people / poor_people <= 1", "脱贫率不能超过100%", "warning", missing="skip_if_all"
)


@pytest.mark.parametrize(
    ("rule", "env", "status"),
    [
        (EXITED, {"exited_people": 3, "poor_people": 5}, "pass"),
        (EXITED, {"exited_people": 6, "poor_people": 5}, "fail"),
        (EXITED, {"exited_people": 6}, "skip"),
        (EXITED, {"exited_people": 6, "poor_people": float("nan")}, "skip"),
        (EXITED, {"exited_people": "6a", "poor_people": 5}, "fail"),  # text is above any number
        (EXITED, {"exited_people": XLError("#N/A"), "poor_people": 5}, "invalid"),
        (ANSWER, {"answer": "是"}, "pass"),
        (ANSWER, {}, "fail"),
        (BOTH, {}, "skip"),
        (BOTH, {"exited_people": 3}, "invalid"),  # 3 / blank
        (BOTH, {"poor_people": 3}, "pass"),  # blank / 3 = 0
        (BOTH, {"exited_people": 4, "poor_people": 3}, "fail"),
        (BOTH, {"exited_people": "x", "poor_people": 3}, "invalid"),
    ],
)
def test_rule_check(rule: Rule, env: dict, status: str) -> None:
    assert rule.check(env) == status
    expected_text = {"fail": rule.fail_text, "invalid": rule.invalid_text}.get(status, "")
    assert rule.python_status(env) == expected_text


def test_status_texts_end_with_one_separator() -> None:
    assert EXITED.fail_text == "已脱贫人数不能大于贫困人口；"
    assert EXITED.invalid_text == "已脱贫人数不能大于贫困人口（数据无效）；"
    assert ANSWER.fail_text == "是否脱贫只能填“是”或“否”；"


def test_excel_status_formula() -> None:
    assert EXITED.excel_status(ref) == (
        'IF(OR(ISBLANK(C5),ISBLANK(B5)),"",IFERROR(IF(C5<=B5,"","已脱贫人数不能大于贫困人口；"),'
        '"已脱贫人数不能大于贫困人口（数据无效）；"))'
    )
    assert ANSWER.excel_status(ref).startswith('IFERROR(IF(OR(E5="是",E5="否"),"",')
    assert BOTH.excel_status(ref).startswith('IF(AND(ISBLANK(C5),ISBLANK(B5)),"",')
    one = Rule("r", "income >= SUM(col_income) / 10", "收入过低", missing="skip_if_all")
    assert one.excel_status(ref).startswith('IF(ISBLANK(D5),"",')  # columns are not guarded


def test_row_check_joins_without_stray_separators() -> None:
    rules = [EXITED, ANSWER, BOTH]
    assert row_check_python(rules, {"exited_people": 1, "poor_people": 2, "answer": "是"}) == ""
    assert row_check_python(rules, {"exited_people": 3, "poor_people": 2, "answer": "是"}) == (
        "已脱贫人数不能大于贫困人口；脱贫率不能超过100%；"
    )
    assert row_check_python(rules, {"exited_people": 1, "poor_people": 2}) == "是否脱贫只能填“是”或“否”；"
    assert row_check_formula(rules, ref) == "&".join(rule.excel_status(ref) for rule in rules)
    assert row_check_formula([], ref) == '""'


def test_row_check_formula_too_long_is_refused() -> None:
    rules = [Rule(f"r{i}", "exited_people <= poor_people", "很长的提示" * 40) for i in range(20)]
    with pytest.raises(HBError, match="公式长度上限"):
        row_check_formula(rules, ref)


@pytest.mark.parametrize(
    ("kwargs", "says"),
    [
        ({"expr": "exited_people + 1"}, "不是一个条件"),
        ({"expr": "IFERROR(a > b, TRUE)"}, "IFERROR"),
        ({"expr": "a >"}, "写法有误"),
        ({"importance": "fatal"}, "importance"),
        ({"missing": "skip"}, "missing"),
        ({"message": " "}, "没有 message"),
        ({"message": "长" * 250}, "太长"),
        ({"id": ""}, "没有 id"),
    ],
)
def test_bad_rules_are_refused(kwargs: dict, says: str) -> None:
    fields = {"id": "r1", "expr": "a <= b", "message": "a 不能大于 b"} | kwargs
    with pytest.raises(HBError) as caught:
        Rule(**fields)
    assert says in str(caught.value)
    if fields["id"]:
        assert "r1" in str(caught.value)


def test_rule_from_mapping_and_field_check() -> None:
    rule = Rule.from_mapping(
        {"id": "r1", "expr": "a <= b", "message": "a 不能大于 b", "importance": "warning"}
    )
    assert rule == Rule("r1", "a <= b", "a 不能大于 b", "warning")
    assert set(IMPORTANCE) == {"error", "warning"} and rule.importance in IMPORTANCE
    assert rule.missing in MISSING
    with pytest.raises(HBError, match="未知的键「level」"):
        Rule.from_mapping({"id": "r1", "expr": "a <= b", "message": "m", "level": "x"})
    with pytest.raises(HBError, match="缺少「message」"):
        Rule.from_mapping({"id": "r1", "expr": "a <= b"})
    rule.check_fields(["a", "b"])
    with pytest.raises(HBError, match="规则「r1」.*「b」"):
        rule.check_fields(["a"])


# --- properties ------------------------------------------------------------------------------

CELL_VALUES = st.one_of(
    st.none(),
    st.integers(min_value=-(10**400), max_value=10**400),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
    st.sampled_from(
        ["12", " 12 ", "12a", "  ", "１２", "1,000", "50%", "TRUE", "是", "否", "", "1e999", "-0"]
    ),
    st.booleans(),
)
FIELDS = ("a", "b", "c")
SAMPLE_EXPRESSIONS = [
    "a + b * c - a / b",
    "-a",
    "0 <= a <= b < c",
    "a in ('是', '否', 1)",
    "a and b or not c",
    "IF(a > b, a / b, IFERROR(c / a, 'x'))",
    "AND(a, b, c) == OR(a, b)",
    "MIN(a, b, c) + MAX(a, b) + SUM(a, b, c) + COUNT(a, b, c)",
    "ABS(a) + INT(b) + ROUND(c, a) + MOD(a, b)",
    "LEN(a) + LEN(b) > ISNUMBER(c)",
    "ISBLANK(a) or ISBLANK(b)",
    "COUNTIF(a, '是') + COUNTIF(b, 0)",
    "a == 'ABC' and b != c",
]
ENVS = st.fixed_dictionaries({}, optional={name: CELL_VALUES for name in FIELDS})
ALLOWED_RESULTS = (bool, int, float, str, XLError)


@pytest.mark.slow
@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(env=ENVS, text=st.sampled_from(SAMPLE_EXPRESSIONS))
def test_evaluate_never_raises(env: dict, text: str) -> None:
    result = Expr.parse(text).evaluate(env)
    assert isinstance(result, ALLOWED_RESULTS)
    assert not (isinstance(result, float) and not math.isfinite(result))


LEAVES = st.one_of(
    st.sampled_from(FIELDS),
    st.sampled_from(["0", "1", "2.5", "0.125", "1e-05", "'是'", "'abc'", "''", "TRUE"]),
)


def _combine(children: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    two = st.tuples(children, children)
    return st.one_of(
        st.builds(lambda p, op: f"({p[0]} {op} {p[1]})", two, st.sampled_from("+-*/")),
        st.builds(
            lambda p, op: f"({p[0]} {op} {p[1]})", two, st.sampled_from(["<", "<=", "==", "!=", "and", "or"])
        ),
        st.builds(lambda x: f"(not {x})", children),
        st.builds(lambda x: f"(-{x})", children),
        st.builds(lambda p, c: f"IF({c}, {p[0]}, {p[1]})", two, children),
        st.builds(lambda p: f"IFERROR({p[0]}, {p[1]})", two),
        st.builds(
            lambda p, f: f"{f}({p[0]}, {p[1]})", two, st.sampled_from(["MIN", "MAX", "SUM", "MOD", "ROUND"])
        ),
        st.builds(
            lambda x, f: f"{f}({x})", children, st.sampled_from(["ABS", "INT", "LEN", "ISBLANK", "NOT"])
        ),
        st.builds(lambda x: f"({x} in ('是', 1))", children),
    )


EXPRESSIONS = st.recursive(LEAVES, _combine, max_leaves=12)


@pytest.mark.slow
@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(text=EXPRESSIONS, env=ENVS)
def test_random_expressions_parse_evaluate_and_compile(text: str, env: dict) -> None:
    expr = Expr.parse(text)
    assert isinstance(expr.evaluate(env), ALLOWED_RESULTS)
    formula = expr.to_excel(lambda name: name.upper() + "7")
    assert formula.count("(") == formula.count(")")
    assert expr.fields <= set(FIELDS)


@settings(max_examples=200)
@given(env=ENVS)
def test_rule_status_is_always_one_of_three_texts(env: dict) -> None:
    rule = Rule("r", "a <= b and c in ('是', '否')", "不对", missing="skip_if_all")
    assert rule.python_status(env) in ("", rule.fail_text, rule.invalid_text)
    assert rule.check(env) in ("pass", "fail", "skip", "invalid")


# --- the compiled fast paths against the xlsemantics functions they write out ------------------

NUMBERS = st.one_of(
    st.floats(allow_nan=False, allow_infinity=False),
    st.integers(min_value=-(10**20), max_value=10**20),
    st.sampled_from([0.0, -0.0, 0.1, 0.2, 0.3, 0.1 + 0.2, 1e-300, 5e-324, 2.0**53, 1e308, -1e308, 7, -3]),
)
OPERATORS = {
    "+": "+",
    "-": "-",
    "*": "*",
    "/": "/",
    "<": "<",
    "<=": "<=",
    ">": ">",
    ">=": ">=",
    "==": "=",
    "!=": "<>",
}


def _literal(number: float) -> str:
    return ("-" if math.copysign(1, number) < 0 else "") + repr(abs(float(number)))


@pytest.mark.slow
@settings(max_examples=500, suppress_health_check=[HealthCheck.too_slow])
@given(
    a=NUMBERS,
    other=NUMBERS,
    units=st.integers(min_value=-300, max_value=300),
    near=st.sampled_from([None, 1, -1]),
)
def test_operators_on_numbers_agree_with_xlsemantics(a, other, units: int, near: int | None) -> None:
    """Cells, constants and computed operands on both sides, numbers close to each other (or to the
    other's negative) included: where approx_equal decides."""
    fa = float(a)
    fb = float(other) if near is None else near * (fa + units * math.ulp(fa))
    assume(math.isfinite(fb))
    for op, xl_op in OPERATORS.items():
        if xl_op in ARITHMETIC:
            expected = to_python(ARITHMETIC[xl_op](fa, fb))
        else:
            expected = COMPARISONS[xl_op](compare(fa, fb))
        for text in (
            f"a {op} b",
            f"a {op} {_literal(fb)}",
            f"{_literal(fa)} {op} b",
            f"(a * 1) {op} (b * 1)",
        ):
            assert value(text, a=a, b=fb) == expected, text
            assert type(value(text, a=a, b=fb)) is type(expected), text
        if xl_op not in ARITHMETIC:
            assert Rule("r", f"a {op} b", "m").check({"a": a, "b": fb}) == ("pass" if expected else "fail")


@settings(max_examples=500)
@given(
    st.one_of(
        st.floats(min_value=-1e15, max_value=1e15),
        st.builds(
            lambda whole, half, units: whole + half + units * math.ulp(whole + half + 1.0),
            st.integers(min_value=0, max_value=2**41),
            st.sampled_from([0.0, 0.5]),
            st.integers(min_value=-(2**12), max_value=2**12),
        ),
    )
)
def test_approx_floor_is_the_floor_of_approx_value(x: float) -> None:
    assert approx_floor(x) == float(math.floor(approx_value(x)))


@settings(max_examples=300)
@given(
    cell=st.one_of(CELL_VALUES, st.sampled_from(["是", "否", "ABC", "abc", " 是"])),
    text=st.sampled_from(["", "是", "abc", "ABC", "12", "TRUE"]),
    op=st.sampled_from(["==", "!="]),
    text_first=st.booleans(),
)
def test_text_equality_agrees_with_compare(cell, text: str, op: str, text_first: bool) -> None:
    quoted = repr(text)
    formula = f"{quoted} {op} a" if text_first else f"a {op} {quoted}"
    stored = from_python(cell)
    order = compare(text, stored, equality=True) if text_first else compare(stored, text, equality=True)
    expected = order if isinstance(order, XLError) else COMPARISONS[OPERATORS[op]](order)
    assert value(formula, a=cell) == expected


@settings(max_examples=300)
@given(cell=CELL_VALUES)
def test_isblank_and_isnumber_of_a_field_read_its_cell(cell) -> None:
    stored = Ref((from_python(cell),))
    assert value("ISBLANK(a)", a=cell) is fn_isblank(stored)
    assert value("ISNUMBER(a)", a=cell) is fn_isnumber(stored)


def test_rule_pickles_without_its_compiled_check() -> None:
    env = {"exited_people": 6, "poor_people": 5}
    assert EXITED.check(env) == "fail"
    copy = pickle.loads(pickle.dumps(EXITED))
    assert copy == EXITED
    assert copy.check(env) == "fail"
    assert pickle.loads(pickle.dumps(Expr.parse("a + 1"))).evaluate({"a": 2}) == 3
