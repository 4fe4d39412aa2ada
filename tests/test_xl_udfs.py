"""The xlwings worksheet functions, called the way Excel calls them: 2-D lists of rows, None for an empty
cell, floats for numbers, text. On Linux the xlwings decorators return the functions unchanged, so these
tests prove what the functions compute, not that Excel registers them.

Every row of real rendered specs is filled deterministically (valid values, rule-breaking values, blanks,
text where a number belongs) and HB_CHECK must say exactly what hbreport.checks.engine says.
"""

from __future__ import annotations

import datetime as dt
import random
from typing import Any

import pytest

from hbreport.catalog import load_catalog
from hbreport.checks import engine
from hbreport.checks.idcard import check_char, validate_id
from hbreport.spec import build_workbook_spec
from hbreport.xl import core, udfs
from hbreport.xl.snapshot import build_snapshot

PERIOD = 2017
UNITS = {"township": "421122101", "county": "421122", "prefecture": "421100"}
SEED = 20171231
TEXT = "12a"

# GB 11643-1999: weights of the 17 digits and the check characters for remainders 0..10
ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
ID_CHECKS = "10X98765432"


def id_with_check(first17: str) -> str:
    total = sum(int(d) * w for d, w in zip(first17, ID_WEIGHTS, strict=True))
    return first17 + ID_CHECKS[total % 11]


@pytest.fixture(scope="module")
def specs():
    return {level: build_workbook_spec(code, PERIOD) for level, code in UNITS.items()}


def excel_value(value: Any) -> Any:
    """What xlwings hands Python for a cell: numbers as floats, text as text, None for empty."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    return float(value)


def random_value(field, rng: random.Random) -> Any:
    roll = rng.random()
    if roll < 0.1:
        return None
    if field.type == "choice":
        return rng.choice(field.choices)
    if roll < 0.15 and field.numeric:
        return TEXT
    if roll < 0.25:
        return 0
    if field.type == "integer":
        return rng.randint(1, 40) if roll < 0.6 else rng.randint(1, 5000)
    high = field.max * 0.6 if field.max is not None else 5000.0
    return round(rng.uniform(0, high), rng.choice((0, 1, 2)))


def filled_rows(sheet, rng: random.Random) -> list[dict[str, Any]]:
    """One input row per unit of the sheet (at least 12), searching greedily for rows that break rules
    not broken yet, so that every rule fires somewhere."""
    unfired = {r.id for r in sheet.rules}
    rows = []
    for i in range(max(len(sheet.rows), 12)):
        best, best_fired = None, set()
        for _ in range(200):
            candidate = {c.key: random_value(c.field, rng) for c in sheet.columns if c.role != "derived"}
            fired = {r.id for r, _ in engine.check_row(sheet, engine.compute_row(sheet, candidate))}
            if best is None or len(fired & unfired) > len(best_fired & unfired):
                best, best_fired = candidate, fired
            if not unfired or best_fired & unfired or i % 4 == 3:
                break
        unfired -= best_fired
        rows.append(best)
    assert not unfired, f"{sheet.form}: rules never broken by the generated rows: {sorted(unfired)}"
    return rows


def as_excel_row(sheet, inputs: dict[str, Any], derived: Any = "stale") -> list[list[Any]]:
    """The row range HB_CHECK receives: every column in order; derived cells hold whatever they show
    (here something wrong on purpose: HB_CHECK must recompute them)."""
    return [[excel_value(inputs.get(c.key)) if c.role != "derived" else derived for c in sheet.columns]]


def keys_of(sheet) -> list[list[str]]:
    return [list(sheet.column_keys)]


def test_hb_check_is_engine_check_text_on_every_row_of_real_specs(specs):
    rng = random.Random(SEED)
    compared = failing = 0
    for spec in specs.values():
        for sheet in spec.sheets:
            for inputs in filled_rows(sheet, rng):
                want = engine.check_text(sheet, engine.compute_row(sheet, inputs))
                got = udfs.HB_CHECK(sheet.form, as_excel_row(sheet, inputs), keys_of(sheet), float(PERIOD))
                assert got == want, f"{sheet.form} {inputs}"
                compared += 1
                failing += bool(want)
    assert compared > 100 and 0 < failing < compared


def test_hb_check_accepts_the_column_headings_as_header(specs):
    sheet = specs["township"].sheet("key_projects")
    inputs = {
        "reloc_households": 5,
        "reloc_people": 4,
        "reloc_type_50": 1,
        "loan_households": 2,
        "loan_amount": 0,
    }
    headings = [[c.field.header() for c in sheet.columns]]
    want = engine.check_text(sheet, engine.compute_row(sheet, inputs))
    assert "搬迁户数大于搬迁人口" in want
    assert udfs.HB_CHECK("key_projects", as_excel_row(sheet, inputs), headings, "2017年") == want
    # a wider range (name, code, the fields, 校验结果) is fine as long as both ranges match
    wide_header = [["单位名称", "单位代码", *headings[0], "校验结果"]]
    wide_row = [["某村", "421122101201", *as_excel_row(sheet, inputs)[0], "old text"]]
    assert udfs.HB_CHECK("key_projects", wide_row, wide_header, 2017.0) == want


def test_village_exit_rows_are_resolved_by_the_header_not_the_form_id(specs):
    township = specs["township"].sheet("village_exit")
    county = specs["county"].sheet("village_exit")
    assert township.column_keys != county.column_keys  # one form id, two layouts
    applying_without_standard = {"remaining_poor_households": 3, "apply_exit": "是", "exited_before": "否"}
    got = udfs.HB_CHECK(
        "village_exit", as_excel_row(township, applying_without_standard), keys_of(township), 2017.0
    )
    assert got == engine.check_text(township, engine.compute_row(township, applying_without_standard))
    assert "申请出列但未达到出列标准" in got
    counts = {"poor_villages": 10, "villages_exited_prior": 2, "villages_applying": 5, "villages_meeting": 3}
    got = udfs.HB_CHECK("village_exit", as_excel_row(county, counts), keys_of(county), 2017.0)
    assert got == engine.check_text(county, engine.compute_row(county, counts))
    assert "申请出列村多于达到出列标准的村" in got


def test_hb_check_rows_checks_a_whole_table_in_one_call(specs):
    rng = random.Random(SEED + 1)
    sheet = specs["county"].sheet("poverty_progress")
    rows = filled_rows(sheet, rng)
    table = [as_excel_row(sheet, r)[0] for r in rows]
    got = udfs.HB_CHECK_ROWS("poverty_progress", table, keys_of(sheet), 2017.0)
    assert got == [[engine.check_text(sheet, engine.compute_row(sheet, r))] for r in rows]
    assert len({text for (text,) in got}) > 2
    one = udfs.HB_CHECK_ROWS("poverty_progress", table[:1], keys_of(sheet), 2017.0)
    assert one == got[:1]


def test_period_matters_only_where_the_form_depends_on_it(specs):
    progress = specs["county"].sheet("poverty_progress")
    # 30% exited by 2017 is more than 20 points behind the plan's 70% (a warning); in 2016 (35%) it is not
    inputs = {
        "base_households": 100,
        "base_people": 1000,
        "prior_exited_people": 200,
        "exited_households": 30,
        "exited_people": 100,
        "returned_people": 0,
        "new_people": 0,
    }
    row, header = as_excel_row(progress, inputs), keys_of(progress)
    in_2017 = udfs.HB_CHECK("poverty_progress", row, header, 2017.0)
    in_2016 = udfs.HB_CHECK("poverty_progress", row, header, 2016.0)
    assert "落后规划进度" in in_2017 and in_2016 == ""
    assert "报告期" in udfs.HB_CHECK("poverty_progress", row, header)  # not given: it would matter
    projects = specs["county"].sheet("key_projects")
    broken = {"reloc_households": 5, "reloc_people": 4}
    text = udfs.HB_CHECK("key_projects", as_excel_row(projects, broken), keys_of(projects))
    assert text == engine.check_text(projects, engine.compute_row(projects, broken)) != ""


@pytest.mark.parametrize(
    ("args", "expect"),
    [
        (("no_such_form", [[1.0]], [["x"]], 2017.0), "没有表式「no_such_form」"),
        (("poverty_progress", [[1.0, 2.0]], [["base_people"]], 2017.0), "应一样多"),
        (("poverty_progress", [[1.0, 2.0]], [["foo", "bar"]], 2017.0), "对不上"),
        (("poverty_progress", [[1.0]], [["base_people"]], "明年"), "报告期「明年」无法识别"),
        (("poverty_progress", [[1.0]], [["base_people"]], 2031.0), "不在规划期"),
        ((None, [[1.0]], [["base_people"]], 2017.0), "表式代码应是一段文字"),
        ((3.0, None, None, None), "表式代码应是一段文字"),
    ],
)
def test_bad_arguments_give_a_chinese_message_in_the_cell(args, expect):
    got = udfs.HB_CHECK(*args)
    assert isinstance(got, str) and expect in got


def test_hb_completion_is_actual_over_the_cumulative_schedule():
    catalog = load_catalog()
    for code in ("SCHED_PEOPLE_EXIT", "SCHED_VILLAGE_EXIT", "SCHED_COUNTY_EXIT"):
        for year in range(catalog.start, catalog.end + 1):
            share = catalog.cumulative_share(code, year)
            got = udfs.HB_COMPLETION(code, 0.6, float(year))
            if share > 0:
                assert got == pytest.approx(0.6 / share)
            else:
                assert got == ""  # nothing scheduled yet (贫困县退出 starts in 2017)
    assert udfs.HB_COMPLETION("SCHED_PEOPLE_EXIT", None, 2017.0) == ""
    assert udfs.HB_COMPLETION("SCHED_PEOPLE_EXIT", "", 2017.0) == ""
    assert udfs.HB_COMPLETION("SCHED_PEOPLE_EXIT", [[0.35]], [[2016.0]]) == pytest.approx(1.0)
    assert "应为数字" in udfs.HB_COMPLETION("SCHED_PEOPLE_EXIT", "70%", 2017.0)
    assert "应为数字" in udfs.HB_COMPLETION("SCHED_PEOPLE_EXIT", True, 2017.0)
    assert "不是规划的年度进度指标" in udfs.HB_COMPLETION("BASE_POOR_PEOPLE", 0.5, 2017.0)
    assert "SCHED_PEOPLE_EXIT" in udfs.HB_COMPLETION("SCHED_PEOPL_EXIT", 0.5, 2017.0)  # lists the valid codes


def status_by_the_form(
    sheet, rate_key: str, status_key: str, base_key: str, done_key: str, rate: float
) -> str:
    """The status the form's own column computes for a row whose rate is ``rate`` (base 1000)."""
    row = engine.compute_row(sheet, {base_key: 1000, done_key: round(rate * 1000)})
    assert row[rate_key] == pytest.approx(rate)
    return row[status_key]


@pytest.mark.parametrize("year", [2016, 2017, 2018, 2019, 2020])
def test_hb_status_uses_the_forms_own_thresholds(year):
    catalog = load_catalog()
    spec = build_workbook_spec(UNITS["county"], year)
    cases = (
        (
            "SCHED_PEOPLE_EXIT",
            spec.sheet("poverty_progress"),
            "cum_exit_rate",
            "progress_status",
            "base_people",
            "prior_exited_people",
        ),
        (
            "SCHED_VILLAGE_EXIT",
            spec.sheet("village_exit"),
            "village_exit_rate",
            "village_status",
            "poor_villages",
            "villages_exited_prior",
        ),
    )
    for code, sheet, rate_key, status_key, base_key, done_key in cases:
        expected = catalog.cumulative_share(code, year)
        seen = set()
        for offset in (-0.3, -0.05, -0.001, 0.0, 0.02, 0.049, 0.05, 0.051, 0.2):
            rate = round(min(max(expected + offset, 0.0), 1.0), 3)
            want = status_by_the_form(sheet, rate_key, status_key, base_key, done_key, rate)
            assert udfs.HB_STATUS(code, rate, float(year)) == want, (code, year, rate)
            seen.add(want)
        assert "滞后" in seen and "正常" in seen
        assert udfs.HB_STATUS(code, "", float(year)) == ""
        assert udfs.HB_STATUS(code, None, float(year)) == ""
    assert "应为数字" in udfs.HB_STATUS("SCHED_PEOPLE_EXIT", "abc", 2017.0)
    # an error in the rate cell (xlwings passes it as text with err_to_str) shows as the native formula does
    assert udfs.HB_STATUS("SCHED_PEOPLE_EXIT", "#VALUE!", 2017.0) == "#VALUE!"
    assert udfs.HB_COMPLETION("SCHED_PEOPLE_EXIT", "#DIV/0!", 2017.0) == ""
    assert "没有按指标" in udfs.HB_STATUS("SCHED_COUNTY_EXIT", 0.5, 2017.0)


def test_hb_exit_ok_needs_income_above_the_line_and_every_guarantee():
    catalog = load_catalog()
    line = catalog.poverty_line(PERIOD)
    assert udfs.HB_EXIT_OK(line + 1, 2017.0, "是", "是", "是") == ""
    assert udfs.HB_EXIT_OK(line + 1, 2017.0, [["是", True, 1.0, "是"]]) == ""  # a range of checks
    at_line = udfs.HB_EXIT_OK(float(line), 2017.0, "是")
    assert "未超过" in at_line and str(int(line)) in at_line
    got = udfs.HB_EXIT_OK(line - 500, 2017.0, "是", "否", None, "可能")
    assert got.split("；")[0].startswith("人均纯收入") and "第2项保障未达到" in got
    assert "第3项保障未填写" in got and "第4项保障的值「可能」" in got
    assert "人均纯收入未填写" in udfs.HB_EXIT_OK(None, 2017.0, "是")
    assert "应为数字" in udfs.HB_EXIT_OK("三千", 2017.0, "是")
    missing = [y for y in range(catalog.start, catalog.end + 1) if y not in build_snapshot()["poverty_line"]]
    if missing:
        assert "扶贫标准" in udfs.HB_EXIT_OK(10_000.0, float(missing[0]), "是")


def valid_ids() -> list[str]:
    rng = random.Random(SEED)
    out = []
    for region in ("420102", "421122", "422801", "110105"):
        for _ in range(30):
            born = dt.date(1930, 1, 1) + dt.timedelta(days=rng.randrange(30_000))
            out.append(id_with_check(f"{region}{born:%Y%m%d}{rng.randrange(1000):03d}"))
    return out


def test_hb_id_ok_accepts_ids_with_the_right_check_character():
    ids = valid_ids()
    assert any(i.endswith("X") for i in ids)  # the check character 10 occurs among them
    for number in ids:
        assert check_char(number[:17]) == number[17]
        assert udfs.HB_ID_OK(number) == "" and validate_id(number) is None
    assert udfs.HB_ID_OK([[number] for number in ids[:5]]) == [[""]] * 5


def test_hb_id_ok_catches_every_single_digit_error_and_adjacent_swap():
    for number in valid_ids()[:40]:
        for position in range(17):
            wrong = str((int(number[position]) + 3) % 10)
            corrupted = number[:position] + wrong + number[position + 1 :]
            assert udfs.HB_ID_OK(corrupted) != "", corrupted
        for position in range(16):
            a, b = number[position], number[position + 1]
            if a != b:
                swapped = number[:position] + b + a + number[position + 2 :]
                assert udfs.HB_ID_OK(swapped) != "", swapped
        check = number[17]
        other = "0" if check != "0" else "1"
        assert "校验码不符" in udfs.HB_ID_OK(number[:17] + other)


@pytest.mark.parametrize(
    ("value", "expect"),
    [
        (None, "为空"),
        ("", "为空"),
        (4.2112219800101e17, "存成了数字"),
        ("42112219800101123", "应为18位"),
        ("421122800101123", "15位的旧身份证"),
        (" 421122198001011234", "空格"),
        ("４２１１２２１９８００１０１１２３４", "全角"),
        ("42112219800101123x", "大写"),
        ("42112219800101123A", "末位应为数字或 X"),
        ("4211221980010112a4", "前17位应全是数字"),
        ("991122198001011234", "省级行政区划代码"),
        ("421122198002301234", "出生日期"),
        ("421122219901011234", "不合理"),
    ],
)
def test_hb_id_ok_says_why_an_id_is_wrong(value, expect):
    assert expect in udfs.HB_ID_OK(value)


GARBAGE = [
    None,
    "",
    "abc",
    0.0,
    -1.5,
    1e308,
    float("nan"),
    True,
    dt.datetime(2017, 1, 1),
    [],
    [[None]],
    [[1.0, "x"], [None]],
    [["是"]],
]


@pytest.mark.parametrize("value", GARBAGE)
def test_no_function_raises_into_a_cell(value):
    results = [
        udfs.HB_CHECK(value, value, value, value),
        udfs.HB_CHECK("poverty_progress", value, [["base_people"]], value),
        udfs.HB_CHECK_ROWS(value, value, value, value),
        udfs.HB_COMPLETION(value, value, value),
        udfs.HB_COMPLETION("SCHED_PEOPLE_EXIT", value, 2017.0),
        udfs.HB_STATUS("SCHED_PEOPLE_EXIT", value, 2017.0),
        udfs.HB_STATUS(value, 0.5, value),
        udfs.HB_EXIT_OK(value, 2017.0, value, value),
        udfs.HB_EXIT_OK(3000.0, value),
        udfs.HB_ID_OK(value),
    ]
    for result in results:
        assert isinstance(result, str | float | list)


def test_an_internal_error_is_reported_not_raised():
    def broken(_forms):
        raise ZeroDivisionError("division by zero")

    assert core.run(broken).startswith("计算出错（ZeroDivisionError")


def test_the_snapshot_holds_every_form_for_every_year_of_the_plan(specs):
    catalog = load_catalog()
    forms = core.Forms(build_snapshot())
    assert forms.years == tuple(range(catalog.start, catalog.end + 1))
    for spec in specs.values():
        for sheet in spec.sheets:
            variant, offset = forms.resolve(sheet.form, list(sheet.column_keys), PERIOD)
            assert offset == 0 and variant.keys == sheet.column_keys
            assert [r.expr for r in variant.rules] == [r.expr for r in sheet.rules]
            assert [c.formula for c in variant.columns] == [c.formula for c in sheet.columns]
            assert spec.level in variant.levels
