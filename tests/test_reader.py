"""Reading filled workbooks back: real generated forms, filled and spoiled with openpyxl.

Every read checks that the input file's bytes did not change."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from types import SimpleNamespace

import openpyxl
import pytest
import readback as rb

from hbreport.baseline import load_baseline
from hbreport.errors import HBError
from hbreport.registry import load_registry
from hbreport.spec import TOTAL
from hbreport.xlsx import safety
from hbreport.xlsx.layout import CODE_ROW, TOTAL_ROW, SheetLayout
from hbreport.xlsx.reader import read_workbook

PP, VE, KP = "poverty_progress", "village_exit", "key_projects"


@pytest.fixture(scope="module")
def township(tmp_path_factory):
    folder = tmp_path_factory.mktemp("township")
    blank = rb.generate(rb.TOWNSHIP, folder)
    spec = rb.spec_of(rb.TOWNSHIP)
    inputs = rb.valid_inputs(spec)
    filled = rb.fill(blank, folder / "filled.xlsx", spec, inputs)
    layouts = {s.form: SheetLayout(s) for s in spec.sheets}
    baseline = load_baseline()
    # the first village with poor people: the row most cases spoil
    row = next(r.code for r in spec.sheet(PP).rows if baseline.villages[r.code].poor_people > 0)
    return SimpleNamespace(blank=blank, spec=spec, inputs=inputs, filled=filled, layouts=layouts, row=row)


def read(path: Path, **kwargs):
    """read_workbook, asserting the file is byte-for-byte unchanged afterwards."""
    before = rb.sha256(path)
    result = read_workbook(path, **kwargs)
    assert rb.sha256(path) == before == result.sha256
    return result


def read_fails(path: Path, **kwargs) -> HBError:
    before = rb.sha256(path)
    with pytest.raises(HBError) as caught:
        read_workbook(path, **kwargs)
    assert rb.sha256(path) == before
    assert caught.value.file == str(path)
    return caught.value


def spoiled(township, tmp_path: Path, change) -> Path:
    return rb.spoil(township.filled, tmp_path / "spoiled.xlsx", change)


def set_cell(township, form: str, row: str, key: str, value):
    sheet = township.spec.sheet(form).sheet
    ref = township.layouts[form].cell(row, key)

    def change(book):
        book[sheet][ref] = value

    return change, ref


def only(findings, rule: str):
    found = [f for f in findings if f.rule == rule]
    assert len(found) == 1, [f.text() for f in findings]
    return found[0]


# ---------------------------------------------------------------- clean files


def test_clean_fill_reads_back_what_was_typed_with_derived_values_recomputed(township):
    result = read(township.filled)
    assert result.findings == []
    data = result.data
    assert data.source == str(township.filled) and data.sha256 == rb.sha256(township.filled)
    assert result.meta["unit_code"] == township.spec.unit_code and result.meta["period"] == "2017"
    for form, rows in township.inputs.items():
        for code, row in rows.items():
            for key, value in row.items():
                assert data.rows[form][code][key] == value, (form, code, key)

    baseline = load_baseline()
    pp = data.rows[PP]
    for code, row in pp.items():
        typed = township.inputs[PP][code]
        people = baseline.villages[code].poor_people
        assert row["base_people"] == people
        assert row["cum_exited_people"] == typed["prior_exited_people"] + typed["exited_people"]
        assert row["remaining_people"] == (
            people + typed["new_people"] + typed["returned_people"] - row["cum_exited_people"]
        )
        assert row["cum_exit_rate"] == (pytest.approx(row["cum_exited_people"] / people) if people else "")
    totals = load_baseline().totals(load_registry(), rb.TOWNSHIP)
    assert data.totals[PP]["base_people"] == totals["poor_people"]
    assert data.totals[PP]["base_households"] == totals["poor_households"]
    assert data.totals[PP]["exited_people"] == sum(r["exited_people"] for r in township.inputs[PP].values())

    kp = township.inputs[KP]
    for code, row in data.rows[KP].items():
        assert row["reloc_area_per_person"] == round(kp[code]["reloc_area"] / kp[code]["reloc_people"], 2)
    # valid_inputs makes rows 0, 3, 6 apply and rows 1, 4 exited before: both meet the exit standard
    meets = [row["meets_exit_standard"] for row in data.rows[VE].values()]
    assert meets == ["否" if i % 3 == 2 else "是" for i in range(len(meets))]
    assert data.totals[VE]["apply_exit"] == sum(1 for i in range(len(meets)) if i % 3 == 0)
    assert len(data.rows[VE]) == baseline.totals(load_registry(), rb.TOWNSHIP)["poor_villages"]


def test_blank_form_reads_with_no_findings(township):
    result = read(township.blank)
    assert result.findings == []
    row = result.data.rows[PP][township.row]
    assert row["exited_people"] is None and row["base_people"] > 0


def test_the_xlwings_variant_reads_the_same(township, tmp_path):
    """Check and status cells there are IFERROR(HB_…(…), <native formula>): still the form's formulas."""
    blank = rb.generate(rb.TOWNSHIP, tmp_path, xlwings=True)
    result = read(rb.fill(blank, tmp_path / "filled.xlsx", township.spec, township.inputs))
    assert result.findings == []
    assert result.data.rows == read(township.filled).data.rows


# ---------------------------------------------------------------- content findings

CELL_CASES = [
    ("约300", "文本", "文本「约300」", None),
    ("１２", "全角数字", "全角数字", None),
    ("12", "文本型数字", "以文本形式存储", None),
    (-5, "负数", "负数", -5),
    (12.5, "小数", "小数 12.5", 12.5),
    (dt.date(2017, 3, 12), "日期", "2017-03-12", None),
]


@pytest.mark.parametrize(
    ("typed", "rule", "phrase", "used"), CELL_CASES, ids=[c[1] + repr(c[0]) for c in CELL_CASES]
)
def test_wrong_content_in_a_number_cell_is_a_finding_naming_file_sheet_and_cell(
    township, tmp_path, typed, rule, phrase, used
):
    change, ref = set_cell(township, PP, township.row, "exited_people", typed)
    path = spoiled(township, tmp_path, change)
    result = read(path)
    finding = only(result.findings, rule)
    assert (finding.file, finding.sheet, finding.cell) == (str(path), "01脱贫进展", ref)
    assert finding.importance == "error" and finding.hint
    assert phrase in finding.message and "本年脱贫人口" in finding.message
    assert result.data.rows[PP][township.row]["exited_people"] == used
    assert f"{ref}：" in finding.text() and path.name in finding.text()


def test_choice_outside_the_list_range_and_spaces(township, tmp_path):
    row = township.spec.sheet(VE).rows[0].code
    choice, choice_ref = set_cell(township, VE, row, "apply_exit", "有")
    income, income_ref = set_cell(township, VE, row, "village_income", 200_000)
    spaces, spaces_ref = set_cell(township, KP, row, "training_person_times", "  ")
    path = spoiled(township, tmp_path, lambda book: (choice(book), income(book), spaces(book)))
    findings = read(path).findings
    bad_choice = only(findings, "选项")
    assert bad_choice.cell == choice_ref and "「有」" in bad_choice.message and "是、否" in bad_choice.message
    out_of_range = only(findings, "超出范围")
    assert out_of_range.cell == income_ref and "200000" in out_of_range.message
    blank = only(findings, "空格")
    assert blank.cell == spaces_ref and blank.importance == "warning"


def test_merged_cells_in_the_table(township, tmp_path):
    layout = township.layouts[KP]
    row = township.spec.sheet(KP).rows[2].code
    first, second = layout.cell(row, "yulu_students"), layout.cell(row, "yulu_subsidy")
    path = spoiled(township, tmp_path, lambda book: book["03重点工程"].merge_cells(f"{first}:{second}"))
    finding = only(read(path).findings, "合并单元格")
    assert finding.cell == first and f"{first}:{second}" in finding.message


def test_a_changed_prefilled_baseline_is_reported_and_the_baseline_used(township, tmp_path):
    people = load_baseline().villages[township.row].poor_people
    change, ref = set_cell(township, PP, township.row, "base_people", people + 100)
    result = read(spoiled(township, tmp_path, change))
    finding = only(result.findings, "预填被改")
    assert finding.cell == ref and str(people) in finding.message and str(people + 100) in finding.message
    assert result.data.rows[PP][township.row]["base_people"] == people


def test_a_value_typed_over_a_formula_is_reported_and_recomputed(township, tmp_path):
    layout = township.layouts[PP]
    derived = layout.cell(township.row, "cum_exited_people")
    total = layout.cell(TOTAL, "exited_people")
    check = f"{layout.check_letter}{layout.row_index[township.row]}"

    def change(book):
        ws = book["01脱贫进展"]
        ws[derived] = 99_999
        ws[total] = 1
        ws[check] = None  # "make the check pass" by clearing it

    result = read(spoiled(township, tmp_path, change))
    overwritten = {f.cell: f for f in result.findings if f.rule == "公式被删"}
    assert set(overwritten) == {derived, total, check}
    assert "99999" in overwritten[derived].message and "删除" in overwritten[check].message
    typed = township.inputs[PP][township.row]
    assert result.data.rows[PP][township.row]["cum_exited_people"] == (
        typed["prior_exited_people"] + typed["exited_people"]
    )
    assert result.data.totals[PP]["exited_people"] == sum(
        r["exited_people"] for r in township.inputs[PP].values()
    )


def test_a_formula_replaced_by_another_formula(township, tmp_path):
    change, ref = set_cell(township, PP, township.row, "progress_status", '="正常"')
    finding = only(read(spoiled(township, tmp_path, change)).findings, "公式被改")
    assert finding.cell == ref and '="正常"' in finding.message


def test_rule_failures_name_the_rule_its_importance_and_every_cell(township, tmp_path):
    layout = township.layouts[PP]
    typed = township.inputs[PP][township.row]
    households, _ = set_cell(township, PP, township.row, "exited_households", typed["exited_people"] + 5)
    second = next(
        r.code
        for r in township.spec.sheet(PP).rows
        if r.code != township.row and load_baseline().villages[r.code].poor_people > 0
    )
    laggard = [
        set_cell(township, PP, second, key, 0)[0]
        for key in ("prior_exited_people", "exited_people", "exited_households", "returned_people")
    ]

    def change(book):
        households(book)
        for c in laggard:
            c(book)

    findings = read(spoiled(township, tmp_path, change)).findings
    error = only(findings, "PP02")
    assert error.importance == "error" and error.cell == layout.cell(township.row, "exited_households")
    assert (
        layout.cell(township.row, "exited_people") in error.message
        and "本年脱贫户数大于脱贫人口" in error.message
    )
    warning = only(findings, "PP06")
    assert warning.importance == "warning" and warning.cell == layout.cell(second, "base_people")
    for key in ("cum_exit_rate", "expected_rate"):
        assert layout.cell(second, key) in warning.message


# ---------------------------------------------------------------- unusable files


def set_meta(key: str, value: str):
    def change(book):
        ws = book["_meta"]
        for row in ws.iter_rows(min_col=1, max_col=2):
            if row[0].value == key:
                row[1].value = value
                return
        raise AssertionError(key)

    return change


def test_rows_inserted_deleted_or_appended(township, tmp_path):
    def insert(book):
        ws = book["01脱贫进展"]
        ws.insert_rows(11)
        ws["A11"], ws["B11"] = "新村", "421122101999"

    error = read_fails(spoiled(township, tmp_path, insert))
    assert (error.sheet, error.cell) == ("01脱贫进展", "B11") and "插入" in error.message

    deleted = rb.spoil(
        township.filled, tmp_path / "deleted.xlsx", lambda book: book["03重点工程"].delete_rows(12)
    )
    error = read_fails(deleted)
    assert (error.sheet, error.cell) == ("03重点工程", "B12")

    after = township.layouts[PP].last_data_row + 1

    def append(book):
        book["01脱贫进展"][f"B{after}"] = "421122101999"

    error = read_fails(rb.spoil(township.filled, tmp_path / "appended.xlsx", append))
    assert error.cell == f"B{after}" and "多出一行" in error.message


def test_a_column_inserted(township, tmp_path):
    error = read_fails(spoiled(township, tmp_path, lambda book: book["03重点工程"].insert_cols(5)))
    assert error.sheet == "03重点工程" and error.cell == f"E{CODE_ROW}"


def test_a_renamed_sheet(township, tmp_path):
    def rename(book):
        book["03重点工程"].title = "重点工程"

    error = read_fails(spoiled(township, tmp_path, rename))
    assert error.sheet == "03重点工程" and "改名或删除" in error.message and "「重点工程」" in error.message
    assert "改回「03重点工程」" in error.hint


def test_meta_missing_or_not_ours(township, tmp_path):
    def drop(book):
        del book["_meta"]

    error = read_fails(spoiled(township, tmp_path, drop))
    assert "不是 hbreport 生成的报表" in error.message and error.hint
    plain = tmp_path / "plain.xlsx"
    book = openpyxl.Workbook()
    book.active["A1"] = "乡镇汇总"
    book.create_sheet("_meta")["A1"] = "something else"
    book.save(plain)
    assert "不是 hbreport 生成的报表" in read_fails(plain).message


def test_a_workbook_of_another_unit_than_expected(township, tmp_path):
    error = read_fails(township.filled, expect_unit="421122102")
    assert "梅塘镇" in error.message and "石坪镇" in error.message
    # _meta edited to claim another unit: with the unit expected, it says so …
    claimed = spoiled(township, tmp_path, set_meta("unit_code", "421122102000"))
    error = read_fails(claimed, expect_unit=rb.TOWNSHIP)
    assert "石坪镇" in error.message and "梅塘镇" in error.message
    # … and without, its rows are not the other unit's villages, which is said with examples
    error = read_fails(claimed)
    assert "名册中「石坪镇」的下级" in error.message and "不一致" in error.message
    assert "--units" in error.hint
    unknown = rb.spoil(township.filled, tmp_path / "unknown.xlsx", set_meta("unit_code", "421122199000"))
    assert "不在单位名册中" in read_fails(unknown).message


def test_a_workbook_made_from_another_registry_says_which_rows_differ(township, tmp_path):
    """Read with a registry that lacks one of the township's villages (another registry, or one changed
    since the forms were made): the finding names the village and suggests --units."""
    sample = load_registry()
    gone = township.spec.sheet(PP).rows[0]
    units = tmp_path / "units.csv"
    lines = Path(sample.source).read_text(encoding="utf-8").splitlines(keepends=True)
    units.write_text("".join(line for line in lines if not line.startswith(gone.code)), encoding="utf-8")
    other = load_registry(units)
    error = read_fails(township.filled, registry=other)
    assert "表中有 1 个单位不是名册中" in error.message and gone.code in error.message
    assert error.sheet == township.spec.sheet(PP).sheet and "--units" in error.hint
    # a registry that has gained a village since the forms were made
    township_code = township.spec.unit_code
    grown = tmp_path / "grown.csv"
    new_village = f"{township_code[:9]}998,{township_code},新建村,village,f,f\n"
    grown.write_text("".join(lines) + new_village, encoding="utf-8")
    error = read_fails(township.filled, registry=load_registry(grown))
    assert "名册中有 1 个下级不在表中（如 新建村" in error.message and "--units" in error.hint
    assert read(township.filled, registry=sample).findings == []


def test_wrong_period(township):
    error = read_fails(township.filled, expect_period=2018)
    assert "2017年" in error.message and "2018年" in error.message and "2018 年新表" in error.hint
    assert read(township.filled, expect_period=2017).findings == []


def test_old_version_and_changed_layout(township, tmp_path):
    old = spoiled(
        township, tmp_path, set_meta("version", "poverty_progress@0.9+village_exit@1.0+key_projects@1.0")
    )
    error = read_fails(old)
    assert "旧版表式" in error.message and "0.9" in error.message and "2017 年新表" in error.hint
    moved = rb.spoil(township.filled, tmp_path / "moved.xlsx", set_meta("layout_hash", "0123456789abcdef"))
    error = read_fails(moved)
    assert "布局指纹" in error.message and "0123456789abcdef" in error.message


def test_not_a_workbook(tmp_path):
    fake = tmp_path / "报表.xlsx"
    fake.write_text("乡镇,人口\n梅塘镇,100\n", encoding="utf-8")
    assert read_fails(fake).file == str(fake)


def test_sheets_longer_than_the_row_limit_are_refused(township, monkeypatch):
    monkeypatch.setattr(safety, "MAX_ROWS", 20)
    error = read_fails(township.filled)
    assert "上限 20 行" in error.message


def test_total_row_label_checked(township, tmp_path):
    def relabel(book):
        book["01脱贫进展"][f"A{TOTAL_ROW}"] = "小计"

    error = read_fails(spoiled(township, tmp_path, relabel))
    assert error.cell == f"A{TOTAL_ROW}"


def test_a_formula_typed_into_an_input_cell_without_a_saved_result(township, tmp_path):
    change, ref = set_cell(township, PP, township.row, "new_people", "=100+20")
    result = read(spoiled(township, tmp_path, change))
    finding = only(result.findings, "公式无结果")
    assert finding.cell == ref and "=100+20" in finding.message
    assert result.data.rows[PP][township.row]["new_people"] is None
