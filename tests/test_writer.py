"""The Excel writer and form generation, asserted on the real .xlsx files with openpyxl."""

from __future__ import annotations

import csv
from pathlib import Path

import openpyxl
import pytest
from openpyxl.utils import get_column_letter, range_boundaries
from openpyxl.utils.cell import absolute_coordinate

from hbreport.checks import engine
from hbreport.errors import HBError
from hbreport.forms import generate_forms, prefill_values
from hbreport.registry import load_registry
from hbreport.spec import LEVEL_FORMS, TOTAL, RowUnit, build_workbook_spec
from hbreport.xlsx.layout import CODE_ROW, FIRST_DATA_ROW, HEADER_ROW, TITLE_ROW, TOTAL_ROW, SheetLayout
from hbreport.xlsx.writer import (
    FORM_ID_NAME,
    INSTRUCTIONS_SHEET,
    META_SHEET,
    UDF_MODULE,
    XLWINGS_SHEET,
    write_workbook,
)

PERIOD = 2017
# a township, a county, a prefecture and the province of the embedded sample
SAMPLE_UNITS = {
    "township": "421122100000",
    "county": "421122000000",
    "prefecture": "421100000000",
    "province": "420000000000",
}
REPO_ROOT = Path(__file__).resolve().parent.parent
DIVISIONS = REPO_ROOT.parent / "shared" / "data" / "hubei-divisions-2016.csv"


@pytest.fixture(scope="module")
def written(sample, tmp_path_factory):
    """level → (spec, path, prefill values) for the four sample units."""
    registry, catalog, baseline = sample
    out = tmp_path_factory.mktemp("forms")
    result = {}
    for level, code in SAMPLE_UNITS.items():
        spec = build_workbook_spec(code, PERIOD, registry=registry, catalog=catalog, baseline=baseline)
        values = prefill_values(spec, registry, baseline)
        path = write_workbook(spec, out / spec.file_name(), values=values)
        result[level] = (spec, path, values)
    return result


@pytest.fixture(scope="module")
def books(written):
    return {level: openpyxl.load_workbook(path) for level, (_spec, path, _v) in written.items()}


LEVELS = list(SAMPLE_UNITS)


def meta_of(wb) -> dict[str, list]:
    return {row[0]: list(row[1:]) for row in wb[META_SHEET].iter_rows(values_only=True) if row[0]}


def sqref_cells(sqref) -> set[str]:
    cells = set()
    for rng in str(sqref).split():
        min_col, min_row, max_col, max_row = range_boundaries(rng)
        for c in range(min_col, max_col + 1):
            for r in range(min_row, max_row + 1):
                cells.add(f"{get_column_letter(c)}{r}")
    return cells


@pytest.mark.slow
@pytest.mark.parametrize("level", LEVELS)
def test_sheets_and_identity(level, written, books):
    spec, _path, _ = written[level]
    wb = books[level]
    assert spec.level == level
    assert wb.sheetnames == [INSTRUCTIONS_SHEET, *(s.sheet for s in spec.sheets), META_SHEET]
    assert [s.form for s in spec.sheets] == list(LEVEL_FORMS[level])
    assert wb[META_SHEET].sheet_state == "veryHidden"
    assert all(wb[s.sheet].sheet_state == "visible" for s in spec.sheets)
    meta = meta_of(wb)
    assert meta["family"][0] == "hbreport.fupin"
    assert meta["unit_code"][0] == SAMPLE_UNITS[level]
    assert meta["period"][0] == str(PERIOD)
    assert meta["layout_hash"][0] == spec.layout_hash
    assert meta["level"][0] == level
    for sheet in spec.sheets:
        assert meta[f"sheet.{sheet.form}"][0] == sheet.sheet
        assert meta[f"rows.{sheet.form}"][0].split(",") == [r.code for r in sheet.rows]
        header = [v for v in meta[f"header.{sheet.form}"] if v is not None]
        assert header == [c.key for c in sheet.columns]
    assert wb.defined_names[FORM_ID_NAME].attr_text == f'"{spec.layout_hash}"'
    assert wb.active.title == spec.sheets[0].sheet


@pytest.mark.parametrize("level", LEVELS)
def test_headings_codes_and_rows_sit_where_the_layout_says(level, written, books):
    spec, _path, _ = written[level]
    for sheet in spec.sheets:
        ws = books[level][sheet.sheet]
        L = SheetLayout(sheet)
        assert ws.cell(TITLE_ROW, 1).value == sheet.title
        assert f"A1:{get_column_letter(L.last_col)}1" in {str(m) for m in ws.merged_cells.ranges}
        assert ws.cell(CODE_ROW, 1).value == "甲" and ws.cell(CODE_ROW, 2).value == "乙"
        for col in sheet.columns:
            c = L.col_index[col.key]
            assert ws.cell(HEADER_ROW, c).value.replace("\n", "") == col.field.header()
            assert ws.cell(CODE_ROW, c).value == col.number
        assert ws.cell(HEADER_ROW, L.check_col).value == "校验结果"
        assert ws.cell(TOTAL_ROW, 1).value == "合计"
        for unit in sheet.rows:
            r = L.row_index[unit.code]
            assert (ws.cell(r, 1).value, ws.cell(r, 2).value) == (unit.name, unit.code)
            assert ws.cell(r, 2).data_type == "s"  # a 12-digit code stays text
        assert ws.cell(L.last_data_row + 1, 1).value is None
        texts = {str(c.value) for row in ws.iter_rows(min_row=2, max_row=5) for c in row if c.value}
        assert any(t.startswith("填报单位") and spec.unit_name in t for t in texts)
        assert any(sheet.table_no in t for t in texts) and any("有效期至" in t for t in texts)
        footer = " ".join(str(c.value) for c in ws[L.footer_row] if c.value)
        for word in ("单位负责人", "统计负责人", "填表人", "联系电话", "报出日期"):
            assert word in footer
        assert ws.cell(L.notes_row, 1).value == "说明："
        assert ws.cell(L.summary_row, 1).value == "校验汇总"


@pytest.mark.parametrize("level", LEVELS)
def test_prefilled_baseline_equals_baseline_totals_and_is_locked(level, sample, written, books):
    registry, _catalog, baseline = sample
    spec, _path, _ = written[level]
    seen = 0
    for sheet in spec.sheets:
        ws = books[level][sheet.sheet]
        L = SheetLayout(sheet)
        for col in (c for c in sheet.columns if c.role == "prefill"):
            for unit in sheet.rows:
                cell = ws[L.cell(unit.code, col.key)]
                if col.prefill.startswith("task:"):  # the unit's own task due by the period's end
                    due = baseline.tasks(registry).cumulative(unit.code, col.prefill[5:], spec.period)
                    assert cell.value == due
                else:
                    assert cell.value == baseline.totals(registry, unit.code)[col.prefill]
                assert cell.protection.locked
                seen += 1
    assert seen > 0


@pytest.mark.parametrize("level", LEVELS)
def test_input_cells_unlocked_formula_cells_locked_and_protected(level, written, books):
    spec, _path, _ = written[level]
    wb = books[level]
    assert wb.security.lockStructure
    for sheet in spec.sheets:
        ws = wb[sheet.sheet]
        L = SheetLayout(sheet)
        prot = ws.protection
        assert prot.sheet
        assert prot.formatColumns is False and prot.formatRows is False  # allowed
        assert prot.selectLockedCells is False and prot.selectUnlockedCells is False  # allowed
        for unit in sheet.rows:
            r = L.row_index[unit.code]
            for col in sheet.columns:
                cell = ws.cell(r, L.col_index[col.key])
                if col.role == "input":
                    assert not cell.protection.locked and cell.data_type != "f"
                elif col.role == "derived":
                    assert cell.protection.locked and cell.data_type == "f"
            check = ws.cell(r, L.check_col)
            assert check.protection.locked and check.value == "=" + engine.check_formula(L, r)
        for col in sheet.columns:
            total = ws.cell(TOTAL_ROW, L.col_index[col.key])
            assert total.data_type == "f" and total.protection.locked
        assert ws.cell(HEADER_ROW, 3).protection.locked
    for name in wb.sheetnames:
        assert wb[name].protection.sheet


@pytest.mark.parametrize("level", LEVELS)
def test_every_input_cell_has_its_validation(level, written, books):
    spec, _path, _ = written[level]
    for sheet in spec.sheets:
        ws = books[level][sheet.sheet]
        L = SheetLayout(sheet)
        dvs = ws.data_validations.dataValidation
        for col in sheet.columns:
            if col.role == "derived":
                continue
            cells = {L.cell(u.code, col.key) for u in sheet.rows}
            found = [dv for dv in dvs if cells and cells <= sqref_cells(dv.sqref)]
            assert len(found) == (1 if cells else 0), (sheet.form, col.key)
            if not found:
                continue
            dv = found[0]
            assert dv.errorStyle in (None, "stop") and dv.showErrorMessage and dv.error and dv.prompt
            field = col.field
            if field.type == "choice":
                assert dv.type == "list"
                assert dv.formula1 == '"' + ",".join(field.choices) + '"'
            else:
                assert dv.type == {"integer": "whole", "decimal": "decimal", "percent": "decimal"}[field.type]
                assert float(dv.formula1) == (field.min if field.min is not None else 0)
                assert float(dv.formula2) == (field.max if field.max is not None else 99_999_999)
            assert field.label in dv.error


@pytest.mark.parametrize("level", LEVELS)
def test_each_rule_colours_its_cells(level, written, books):
    spec, _path, _ = written[level]
    for sheet in spec.sheets:
        ws = books[level][sheet.sheet]
        L = SheetLayout(sheet)
        cf = [(rng, rule) for rng, rules in ws.conditional_formatting._cf_rules.items() for rule in rules]
        for rule in sheet.rules:
            mine = [(rng, r) for rng, r in cf if r.formula and rule.fail_text in r.formula[0]]
            if not sheet.rows:
                assert not mine
                continue
            assert len(mine) == 1, rule.id
            rng, cf_rule = mine[0]
            cells = sqref_cells(rng.sqref)
            for key in rule.compiled().fields:
                assert {L.cell(u.code, key) for u in sheet.rows} <= cells
            fill = cf_rule.dxf.fill.bgColor.rgb
            assert fill.endswith("FFC7CE" if rule.importance == "error" else "FFEB9C")


@pytest.mark.parametrize("level", LEVELS)
def test_print_setup(level, written, books):
    spec, _path, _ = written[level]
    for sheet in spec.sheets:
        ws = books[level][sheet.sheet]
        L = SheetLayout(sheet)
        assert ws.page_setup.orientation == "landscape"
        assert str(ws.page_setup.paperSize) == "9"
        assert ws.sheet_properties.pageSetUpPr.fitToPage
        assert ws.page_setup.fitToWidth in (None, 1) and ws.page_setup.fitToHeight == 0
        assert ws.print_title_rows == "$1:$7"
        first, last = L.print_area.split(":")
        assert ws.print_area == f"'{sheet.sheet}'!{absolute_coordinate(first)}:{absolute_coordinate(last)}"
        assert ws.freeze_panes == "C8"


def test_cached_values_are_the_engine_results(written):
    spec, path, values = written["county"]
    wb = openpyxl.load_workbook(path, data_only=True)
    sheet = spec.sheet("poverty_progress")
    ws = wb[sheet.sheet]
    L = SheetLayout(sheet)
    rows = [values[sheet.form][u.code] for u in sheet.rows]
    total = engine.total_row(sheet, rows)
    assert total["base_people"] > 0
    for col in sheet.columns:
        got, want = ws[L.cell(TOTAL, col.key)].value, total[col.key]
        if isinstance(want, str):
            assert (got or "") == want
        else:
            assert got == pytest.approx(want)


def test_text_that_looks_like_a_formula_stays_text(sample, tmp_path):
    registry, catalog, baseline = sample
    spec = build_workbook_spec(
        SAMPLE_UNITS["township"], PERIOD, registry=registry, catalog=catalog, baseline=baseline
    )
    sheet = spec.sheet("village_exit")
    code = sheet.rows[0].code
    values = {
        "village_exit": {
            code: {
                "infrastructure_ok": "=1+1",
                "services_ok": "@SUM(A1)",
                "exited_before": "+1",
                "apply_exit": "-1",
            }
        }
    }
    path = write_workbook(spec, tmp_path / "x.xlsx", values=values)
    ws = openpyxl.load_workbook(path)[sheet.sheet]
    L = SheetLayout(sheet)
    for key, text in values["village_exit"][code].items():
        cell = ws[L.cell(code, key)]
        assert cell.value == text and cell.data_type == "s"


def test_written_atomically_and_old_file_kept_on_failure(sample, tmp_path):
    registry, catalog, baseline = sample
    spec = build_workbook_spec(
        SAMPLE_UNITS["township"], PERIOD, registry=registry, catalog=catalog, baseline=baseline
    )
    target = tmp_path / "form.xlsx"
    target.write_bytes(b"old")
    write_workbook(spec, target, force=True)
    assert target.read_bytes()[:2] == b"PK"
    before = target.read_bytes()
    with pytest.raises(HBError, match="没有这张表"):
        write_workbook(spec, target, values={"infrastructure": {}}, force=True)
    with pytest.raises(HBError, match="没有这一行"):
        write_workbook(spec, target, values={"poverty_progress": {"999999999999": {}}}, force=True)
    with pytest.raises(HBError, match=r"\.xlsx"):
        write_workbook(spec, tmp_path / "form.xls")
    assert target.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["form.xlsx"]


@pytest.mark.slow
def test_consolidated_values_fill_inputs_and_extra_sheets(sample, tmp_path):
    registry, catalog, baseline = sample
    spec = build_workbook_spec(
        SAMPLE_UNITS["county"], PERIOD, registry=registry, catalog=catalog, baseline=baseline
    )
    sheet = spec.sheet("poverty_progress")
    first = sheet.rows[0].code
    values = {
        "poverty_progress": {first: {"exited_people": 120, "exited_households": 40, "prior_exited_people": 7}}
    }
    extra = [("下级明细", [["单位代码", "说明"], ["421122100", '=HYPERLINK("x")'], [], ["合计", 3]])]
    path = write_workbook(spec, tmp_path / "c.xlsx", values=values, extra_sheets=extra)
    wb = openpyxl.load_workbook(path)
    assert wb.sheetnames[-2:] == ["下级明细", META_SHEET]
    ws = wb[sheet.sheet]
    L = SheetLayout(sheet)
    assert ws[L.cell(first, "exited_people")].value == 120
    assert not ws[L.cell(first, "exited_people")].protection.locked
    assert ws[L.cell(first, "cum_exited_people")].data_type == "f"
    extra_ws = wb["下级明细"]
    assert extra_ws["A1"].value == "单位代码" and extra_ws["A1"].font.b
    assert extra_ws["B2"].value == '=HYPERLINK("x")' and extra_ws["B2"].data_type == "s"
    assert extra_ws["B4"].value == 3
    assert extra_ws.protection.sheet
    cached = openpyxl.load_workbook(path, data_only=True)[sheet.sheet]
    assert cached[L.cell(first, "cum_exited_people")].value == 127


def test_xlwings_variant_wraps_udfs_around_native_formulas(sample, tmp_path):
    registry, catalog, baseline = sample
    spec = build_workbook_spec(
        SAMPLE_UNITS["county"], PERIOD, registry=registry, catalog=catalog, baseline=baseline
    )
    path = write_workbook(spec, tmp_path / "x.xlsx", xlwings=True)
    wb = openpyxl.load_workbook(path)
    conf = wb[XLWINGS_SHEET]
    settings = {r[0]: r[1] for r in conf.iter_rows(values_only=True)}
    assert settings["UDF Modules"] == UDF_MODULE
    assert meta_of(wb)["xlwings"][0] == "1"
    sheet = spec.sheet("poverty_progress")
    ws = wb[sheet.sheet]
    L = SheetLayout(sheet)
    r = FIRST_DATA_ROW
    check = ws.cell(r, L.check_col).value
    native = engine.check_formula(L, r)
    assert check.startswith('=IFERROR(HB_CHECK("poverty_progress",') and check.endswith("," + native + ")")
    status = ws[L.cell(sheet.rows[0].code, "progress_status")].value
    assert status.startswith('=IFERROR(HB_STATUS("SCHED_PEOPLE_EXIT",')
    assert status.endswith(engine.derived_formula(L, sheet.column("progress_status"), r) + ")")
    plain = ws[L.cell(sheet.rows[0].code, "cum_exited_people")].value
    assert plain == "=" + engine.derived_formula(L, sheet.column("cum_exited_people"), r)


def test_prefill_left_open_where_the_baseline_does_not_cover(sample, tmp_path):
    _registry, catalog, baseline = sample
    if not DIVISIONS.is_file():
        pytest.skip(f"real division tree not found at ../shared/data ({DIVISIONS.name})")
    real = load_registry(DIVISIONS)
    spec = build_workbook_spec("421122100000", PERIOD, registry=real, catalog=catalog, baseline=baseline)
    values = prefill_values(spec, real, baseline)["poverty_progress"]
    covered = [code for code in values if code in baseline.villages]
    assert covered and len(covered) < len(values)  # the sample's synthetic villages cover only some codes
    for code, row in values.items():
        want = baseline.totals(real, code) if code in baseline.villages else None
        assert row == {
            "base_households": want and want["poor_households"],
            "base_people": want and want["poor_people"],
            "task_people": None,  # the sample's tasks are not this registry's
        }
    path = write_workbook(spec, tmp_path / "real.xlsx", values={"poverty_progress": values})
    ws = openpyxl.load_workbook(path)["01脱贫进展"]
    L = SheetLayout(spec.sheet("poverty_progress"))
    for code, row in values.items():
        cell = ws[L.cell(code, "base_people")]
        assert cell.protection.locked == (row["base_people"] is not None)
        assert cell.value == row["base_people"]


@pytest.mark.slow
def test_generate_forms_for_hongan_county_from_the_real_division_tree(sample, tmp_path):
    _registry, catalog, baseline = sample
    if not DIVISIONS.is_file():
        pytest.skip(f"real division tree not found at ../shared/data ({DIVISIONS.name})")
    with DIVISIONS.open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    townships = [r for r in rows if r["parent"] == "421122000000" and r["level"] == "town"]
    villages = {
        t["code"]: [(r["name"], r["code"]) for r in rows if r["parent"] == t["code"]] for t in townships
    }
    assert len(townships) == 14

    calls = []
    paths = generate_forms(
        "township",
        PERIOD,
        under="421122",
        out_dir=tmp_path,
        registry=load_registry(DIVISIONS),
        catalog=catalog,
        baseline=baseline,
        progress=lambda d, t: calls.append((d, t)),
    )
    assert len(paths) == 14 and calls[-1] == (14, 14) and calls[0] == (0, 14)
    by_code = {}
    for path in paths:
        wb = openpyxl.load_workbook(path)
        by_code[meta_of(wb)["unit_code"][0]] = (path, wb)
    assert set(by_code) == {t["code"] for t in townships}
    for t in townships:
        path, wb = by_code[t["code"]]
        assert path.name == f"{t['code'][:9]}_{t['name']}_{PERIOD}.xlsx"
        ws = wb["01脱贫进展"]
        got = [
            (ws.cell(r, 1).value, ws.cell(r, 2).value)
            for r in range(FIRST_DATA_ROW, FIRST_DATA_ROW + len(villages[t["code"]]))
        ]
        assert got == villages[t["code"]]
        assert ws.cell(FIRST_DATA_ROW + len(got), 1).value is None
        # where the sample baseline does not know a real village, its prefill cells stay open for the clerk
        for i, (_name, code) in enumerate(villages[t["code"]]):
            cell = ws.cell(FIRST_DATA_ROW + i, 4)
            assert cell.protection.locked == (code in baseline.villages) == (cell.value is not None)


def test_generate_forms_refuses_a_level_that_does_not_fit(sample, tmp_path):
    registry, catalog, baseline = sample
    with pytest.raises(HBError):
        generate_forms(
            "county",
            PERIOD,
            under="421122100000",
            out_dir=tmp_path,
            registry=registry,
            catalog=catalog,
            baseline=baseline,
        )
    with pytest.raises(HBError):
        generate_forms(
            "village", PERIOD, out_dir=tmp_path, registry=registry, catalog=catalog, baseline=baseline
        )
    one = generate_forms(
        "county",
        PERIOD,
        under="421122",
        out_dir=tmp_path,
        registry=registry,
        catalog=catalog,
        baseline=baseline,
    )
    assert [p.name for p in one] == ["421122_红安县_2017.xlsx"]


def test_formula_fast_path_knows_every_function_xlsxwriter_would_prefix():
    """The writer skips XlsxWriter's ~150 regex passes per formula when none of their functions occur:
    every function name those passes prefix with _xlfn. must make the fast path step aside."""
    import inspect
    import re

    import xlsxwriter.worksheet

    from hbreport.xlsx.writer import _needs_prefix

    source = inspect.getsource(xlsxwriter.worksheet.Worksheet._prepare_formula)
    names = [n.replace("\\", "") for n in re.findall(r're\.sub\(r"\\[bS]?([A-Z0-9.\\]+)\\\(', source)]
    assert len(names) > 100
    # "\SINGLE" in XlsxWriter's source is read as "INGLE" here; SINGLE itself is listed by name
    missed = [n for n in names if n != "INGLE" and not _needs_prefix(f"=1+{n}(A1)")]
    assert missed == []
    assert _needs_prefix("=SINGLE(A1)")
    # the dynamic-array functions XlsxWriter hands to its array path before any prefixing
    dynamic = re.findall(r"\\b([A-Z]+)\\\(", xlsxwriter.worksheet.re_dynamic_function.pattern)
    assert len(dynamic) > 20
    assert [n for n in dynamic if not _needs_prefix(f"=1+{n}(A1)")] == []
    assert not _needs_prefix('=IF(ISBLANK($D9),"",SUMPRODUCT($D9:$D20,$E9:$E20))')
    # a name counts whole, dotted names and braces step aside, text in quotes is looked at too
    assert _needs_prefix("=STDEV.S(A1:A9)") and _needs_prefix("={1,2}") and _needs_prefix('="x"&SORT(A1)')
    assert not _needs_prefix("=XSORT(A1)+SORTX(A2)+sort(A3)") and not _needs_prefix('="规划(二)"&N(A1)')
    # a row template is checked once for all its rows: a row number may not end up inside a called name
    from hbreport.xlsx.writer import ROW_TOKEN as R
    from hbreport.xlsx.writer import plain_template

    assert plain_template(f'IF(ISBLANK($D{R}),"",D{R}*2)') and plain_template('""')
    assert not plain_template(f"SORT(D{R})") and not plain_template(f"DAYS{R}(A1)+1")


def test_a_form_template_using_the_unit_renders_per_unit_others_once(sample, tmp_path):
    """Forms render once per level and period and are shared by every unit — unless the template
    names the unit or its rows, which an office may do; then each unit gets its own rendering, and an
    edited template file is picked up at once."""
    import os
    import shutil

    from hbreport import paths
    from hbreport.spec import render_form

    registry, catalog, _ = sample
    shutil.copy(paths.FORMS / "poverty_progress.yaml.j2", tmp_path / "poverty_progress.yaml.j2")
    a, b = registry.children(SAMPLE_UNITS["county"])[:2]

    def title(unit) -> str:
        rows = [RowUnit(c.code, c.name) for c in registry.children(unit.code)]
        sheet = render_form(
            "poverty_progress",
            unit=unit,
            level=unit.level,
            period=2017,
            rows=rows,
            poor_rows=rows,
            catalog=catalog,
            forms_dir=tmp_path,
        )
        assert [r.code for r in sheet.rows] == [r.code for r in rows]
        return sheet.title

    assert title(a) == title(b)
    template = tmp_path / "poverty_progress.yaml.j2"
    text = template.read_text(encoding="utf-8")
    assert "\ntitle: " in text
    template.write_text(text.replace("\ntitle: ", "\ntitle: {{ unit.name }}", 1), encoding="utf-8")
    os.utime(template, (template.stat().st_atime, template.stat().st_mtime + 5))
    assert title(a).startswith(a.name) and title(b).startswith(b.name)


def test_compiled_form_templates_are_cached_and_a_damaged_cache_is_ignored(sample, tmp_path):
    """The form templates' compiled code is kept between runs (keyed by each template's source); a
    damaged cache file is compiled again, never an error, and the rendering is the same."""
    import jinja2

    from hbreport.spec import _QuietBytecodeCache

    cache = _QuietBytecodeCache(str(tmp_path))
    env = jinja2.Environment(loader=jinja2.DictLoader({"t.j2": "a: {{ 1 + 1 }}"}), bytecode_cache=cache)
    assert env.get_template("t.j2").render() == "a: 2"
    stored = list(tmp_path.glob("__jinja2_*.cache"))
    assert len(stored) == 1
    for damage in (b"", b"\x00" * 40, stored[0].read_bytes()[:20] + b"garbage"):
        stored[0].write_bytes(damage)
        fresh = jinja2.Environment(loader=env.loader, bytecode_cache=cache)
        assert fresh.get_template("t.j2").render() == "a: 2"


def test_parsed_yaml_is_kept_between_runs_only_when_json_gives_it_back(tmp_path, monkeypatch):
    """fields.yaml and the rendered forms are parsed once per text and kept as JSON beside the
    compiled templates; what JSON would change (an integer key) is not kept; a damaged copy is parsed
    again from the YAML."""
    import yaml

    from hbreport import kept, paths, spec

    monkeypatch.setattr(kept, "cache_dir", lambda: str(tmp_path))
    text = paths.FIELDS.read_text(encoding="utf-8")
    expected = yaml.safe_load(text)
    assert spec._load_yaml(text) == expected
    (stored,) = tmp_path.glob("hbreport-yaml-*.json")
    assert spec._load_yaml(text) == expected  # now from the JSON copy
    stored.write_bytes(b'{"broken": ')
    assert spec._load_yaml(text) == expected
    assert spec._load_yaml("1: one\n") == {1: "one"}
    assert len(list(tmp_path.glob("hbreport-yaml-*.json"))) == 1


def test_rows_computed_by_the_caller_give_the_same_workbook(sample, tmp_path):
    """write_workbook(data=FormData.from_inputs(spec, values)) takes the rows and 合计 from ``data``
    instead of computing them again: the file is byte for byte the one written without it."""
    from datetime import UTC, datetime

    from hbreport.model.values import FormData
    from hbreport.synthetic import Story

    registry, catalog, baseline = sample
    spec = build_workbook_spec(
        SAMPLE_UNITS["county"], PERIOD, registry=registry, catalog=catalog, baseline=baseline
    )
    values = Story(registry, baseline, catalog).county_own_values(spec)
    for sheet in spec.sheets:  # every child row filled the way a consolidation fills them
        rows = values.setdefault(sheet.form, {})
        for i, unit in enumerate(sheet.rows):
            rows.setdefault(
                unit.code, {c.key: i + 1 for c in sheet.input_columns if c.field.type == "integer"}
            )
    when = datetime(PERIOD, 12, 31, tzinfo=UTC)
    plain = write_workbook(spec, tmp_path / "a.xlsx", values=values, created=when)
    given = write_workbook(
        spec, tmp_path / "b.xlsx", values=values, created=when, data=FormData.from_inputs(spec, values)
    )
    assert plain.read_bytes() == given.read_bytes()
    # and the cached results do come from ``data``: other data, other cached values
    other = {form: {code: dict(row) for code, row in rows.items()} for form, rows in values.items()}
    first = spec.sheets[0]
    number = next(c.key for c in first.input_columns if c.field.type == "integer")
    other[first.form][first.rows[0].code][number] = 99999
    changed = write_workbook(
        spec, tmp_path / "c.xlsx", values=values, created=when, data=FormData.from_inputs(spec, other)
    )
    assert changed.read_bytes() != plain.read_bytes()


@pytest.mark.slow
def test_formula_shortcut_writes_the_bytes_xlsxwriter_writes(sample, tmp_path, monkeypatch):
    """Sheet._prepare_formula (no prefix passes for formulas that need none) against XlsxWriter's own:
    every level, filled, with the xlwings variant and extra tables holding text that needs escaping,
    booleans and awkward numbers."""
    from datetime import UTC, datetime

    import xlsxwriter.worksheet

    from hbreport.synthetic import Story
    from hbreport.xlsx.writer import Sheet

    registry, catalog, baseline = sample
    story = Story(registry, baseline, catalog)
    when = datetime(PERIOD, 12, 31, tzinfo=UTC)
    extra = [
        (
            "下级明细",
            [
                ["说明", "数值", "是否"],
                ['a<b & "c" > d', 1e-7, True],
                ["_x0041_\t", 12345678901234567, False],
            ],
        )
    ]
    jobs = []
    for level, code in SAMPLE_UNITS.items():
        spec = build_workbook_spec(code, PERIOD, registry=registry, catalog=catalog, baseline=baseline)
        values = prefill_values(spec, registry, baseline)
        if level == "township":
            values = story.township_values(spec, values)
        for sheet in spec.sheets:  # rows filled, some beyond the rules, so statuses and checks vary
            rows = values.setdefault(sheet.form, {})
            for i, unit in enumerate(sheet.rows):
                row = rows.setdefault(unit.code, {})
                for c in sheet.input_columns:
                    if c.field.type == "integer" and row.get(c.key) is None:
                        row[c.key] = (i * 37) % 11
        jobs.append((level, spec, values, {"extra_sheets": extra}))
        if level == "township":
            jobs.append(("township-xlwings", spec, values, {"xlwings": True}))

    def write_all(folder):
        return [
            write_workbook(spec, tmp_path / folder / f"{name}.xlsx", values=values, created=when, **kw)
            for name, spec, values, kw in jobs
        ]

    fast = write_all("fast")
    assert "_prepare_formula" in Sheet.__dict__  # the installed XlsxWriter is one it was written for
    monkeypatch.setattr(Sheet, "_prepare_formula", xlsxwriter.worksheet.Worksheet._prepare_formula)
    plain = write_all("plain")
    for a, b in zip(fast, plain, strict=True):
        assert a.read_bytes() == b.read_bytes(), a.name
    import zipfile

    with zipfile.ZipFile(fast[0]) as z:  # the comparison covered formulas with text and number results
        sheets = b"".join(z.read(n) for n in z.namelist() if n.startswith("xl/worksheets/sheet"))
    for kind in (b' t="str"><f>', b' t="s"><v>', b"</f><v>0.", b'"/><c r='):  # text, shared, number, blank
        assert kind in sheets, kind
