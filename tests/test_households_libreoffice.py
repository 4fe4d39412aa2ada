"""Rosters computed by a real spreadsheet engine: LibreOffice must agree with the Python side.

- IDCHECK's native formula (MID/SUMPRODUCT with the ISO 7064 weights) against ``rules.fn_idcheck``;
- a roster with a deterministic mix of good, wrong, blank and text values: every 达到脱贫标准 cell,
  every 校验结果 cell and every 村汇总 count (COUNTIFS/SUMIFS) as LibreOffice recalculates them,
  against the engine and ``summary.village_summary``;
- the LibreOffice-saved roster still reads back, with the same findings.
"""

from __future__ import annotations

import random
import re
import zipfile
from pathlib import Path

import openpyxl
import pytest
from household_cases import CHECKLIST, LINE, PERIOD, TOWNSHIP, clean_inputs, households, id_number

from hbreport import office
from hbreport.catalog import load_catalog
from hbreport.checks import engine
from hbreport.checks.idcard import check_char
from hbreport.checks.rules import Expr, fn_idcheck
from hbreport.households import RosterData, build_roster_spec, read_roster, write_roster
from hbreport.households.summary import FIRST_COL, FIRST_ROW, SUMMARY_COLUMNS, SUMMARY_SHEET, TOTAL_ROW
from hbreport.registry import load_registry
from hbreport.xlsx.layout import SheetLayout

pytestmark = pytest.mark.libreoffice


def _id_samples() -> list:
    rng = random.Random(11643)
    good = [id_number("421122", s) for s in range(40)]
    with_x = []
    serial = 0
    while len(with_x) < 5:  # IDs whose check character is X
        body = f"42112219800101{serial:03d}"
        serial += 1
        if check_char(body) == "X":
            with_x.append(body + "X")
    wrong = [n[:17] + str((int(n[17]) + 1) % 10) if n[17] != "X" else n[:17] + "0" for n in good[:10]]
    odd = [
        with_x[0][:17] + "x",  # lower-case x
        good[0][:17],  # 17 characters
        good[0] + "1",  # 19 characters
        good[1][:5] + "A" + good[1][6:],  # a letter inside
        "４２１１２２" + good[2][6:],  # full-width digits
        " " + good[3][1:],
        good[4][:10] + "." + good[4][11:],
        good[5][:10] + "-" + good[5][11:],
        "",
        "身份证号码未登记",
        float(good[6]),  # stored as a number: precision already lost
        421122198001010011,
        True,
        None,
    ]
    shuffled = good + with_x + wrong + odd
    for _ in range(30):  # random 18-character strings of digits, some valid by chance
        body = "".join(rng.choice("0123456789") for _ in range(17))
        shuffled.append(body + rng.choice("0123456789X"))
    return shuffled


def test_idcheck_formula_agrees_with_python(tmp_path: Path) -> None:
    samples = _id_samples()
    book = openpyxl.Workbook()
    ws = book.active
    formula = Expr.parse("IDCHECK(x)", condition=True)
    for r, value in enumerate(samples, start=1):
        cell = ws.cell(r, 1)
        if isinstance(value, str):
            cell.value = value
            cell.data_type = "s"  # keep "=…", digits and the like as text
        elif value is not None:
            cell.value = value
        ws.cell(r, 2).value = "=" + formula.to_excel(lambda _k, r=r: f"A{r}")
    src = tmp_path / "ids.xlsx"
    book.save(src)
    out = office.recalculate(src, tmp_path / "lo")
    got = openpyxl.load_workbook(out, data_only=True).active
    mismatches = []
    for r, value in enumerate(samples, start=1):
        python = formula.evaluate({"x": value})
        assert python == fn_idcheck(value)
        if got.cell(r, 2).value is not python:
            mismatches.append((value, got.cell(r, 2).value, python))
    assert not mismatches, mismatches
    valid = sum(1 for v in samples if fn_idcheck(v))
    assert 45 <= valid < len(samples) - 20  # both outcomes well represented


def _messy_values(spec, rng: random.Random) -> dict:
    values = clean_inputs(list(spec.households))
    choices = {c.key: c.field.choices for c in spec.sheets[0].columns if c.field.type == "choice"}
    for h in spec.households:
        row = values[h.household_id]
        for key in list(row):
            roll = rng.random()
            if roll < 0.06:
                row[key] = None
            elif roll < 0.16 and key in choices:
                row[key] = rng.choice(choices[key])
        if rng.random() < 0.3:
            row["income_per_capita"] = rng.choice(
                [0, LINE - 1, LINE, LINE + 0.5, 99_999, 150_000, "三千", None]
            )
        if rng.random() < 0.2:
            row["exit_year"] = rng.choice([PERIOD - 2, PERIOD, PERIOD + 1, None])
        if rng.random() < 0.15:
            row["sick_members"] = rng.choice([0, 2, 12])
    return values


def _value(cell):
    return "" if cell is None else cell


def _stale_shared_results(path: Path, out: Path) -> Path:
    """A copy whose cells written as shared formulas (every household row but the first) show 0 as
    their last result: what LibreOffice shows after recalculating is what the shared formula computes."""
    shared = re.compile(rb'(<f t="shared" si="[0-9]+"/>)<v>[^<]*</v>')
    stale = 0
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            data = src.read(info.filename)
            if info.filename.startswith("xl/worksheets/"):
                data, n = shared.subn(rb"\1<v>0</v>", data)
                stale += n
            dst.writestr(info, data)
    assert stale > 100
    return out


def test_roster_formulas_agree_with_python_in_libreoffice(tmp_path: Path) -> None:
    registry, catalog = load_registry(), load_catalog()
    hh = households(registry, TOWNSHIP, per_village=12, villages=5)
    rng = random.Random(2017)
    hh[3] = hh[3].__class__(**{**hh[3].__dict__, "id_number": hh[3].id_number[:17] + "Y"})
    hh[7] = hh[7].__class__(**{**hh[7].__dict__, "id_number": None})
    spec = build_roster_spec(TOWNSHIP, PERIOD, hh, registry=registry, catalog=catalog)
    values = _messy_values(spec, rng)
    path = write_roster(spec, tmp_path / spec.file_name(), values=values)
    stale = _stale_shared_results(path, tmp_path / "stale.xlsx")
    out = office.recalculate(stale, tmp_path / "lo")
    book = openpyxl.load_workbook(out, data_only=True)
    ws = book[spec.sheets[0].sheet]
    layout = SheetLayout(spec.sheets[0])
    data = RosterData.from_values(spec, values)
    derived_col = layout.col_index["meets_exit_standard"]
    problems = []
    seen_texts = set()
    for household in spec.households:
        r = layout.row_index[household.household_id]
        row = data.rows[household.household_id]
        if ws.cell(r, derived_col).value != row["meets_exit_standard"]:
            problems.append((household.household_id, "derived", ws.cell(r, derived_col).value, row))
        text = engine.check_text(spec.sheets[0], row)
        seen_texts.add(text)
        if _value(ws.cell(r, layout.check_col).value) != text:
            problems.append((household.household_id, "check", ws.cell(r, layout.check_col).value, text))
    assert not problems, problems[:5]
    fired = {rule.id for rule in spec.sheets[0].rules if any(rule.fail_text in t for t in seen_texts)}
    assert {"HR01", "HR02", "HR09", "HR10", "HR13", "HR14", "HR16", "HR26"} <= fired, fired
    assert {"是", "否"} == {data.rows[h.household_id]["meets_exit_standard"] for h in spec.households}

    summary = book[SUMMARY_SHEET]
    counts = data.summary
    for i, village in enumerate(spec.villages):
        for j, col in enumerate(SUMMARY_COLUMNS):
            got = summary.cell(FIRST_ROW + i, FIRST_COL + j).value
            assert got == counts[village.code][col.key], (village.name, col.label, got)
    for j, col in enumerate(SUMMARY_COLUMNS):
        assert summary.cell(TOTAL_ROW, FIRST_COL + j).value == sum(c[col.key] for c in counts.values())
    assert sum(c["households"] for c in counts.values()) == len(hh)
    assert all(
        sum(c[k] for c in counts.values()) > 0 for k in ("exited_people", "returned_people", "new_people")
    )


def test_libreoffice_saved_roster_reads_back_the_same(tmp_path: Path) -> None:
    registry, catalog = load_registry(), load_catalog()
    hh = households(registry, TOWNSHIP, per_village=4, villages=3)
    values = clean_inputs(hh)
    values[hh[0].household_id]["income_per_capita"] = LINE - 10  # exited below the line
    values[hh[2].household_id]["poverty_cause"] = None
    for key in CHECKLIST:
        values[hh[5].household_id][key] = "是"
    spec = build_roster_spec(TOWNSHIP, PERIOD, hh, registry=registry, catalog=catalog)
    path = write_roster(spec, tmp_path / spec.file_name(), values=values)
    saved = office.recalculate(path, tmp_path / "lo")
    before = read_roster(path, registry=registry, catalog=catalog)
    after = read_roster(saved, registry=registry, catalog=catalog)
    assert [(f.rule, f.cell) for f in after.findings] == [(f.rule, f.cell) for f in before.findings]
    assert {f.rule for f in before.findings} == {"HR10", "HR04"}
    assert after.rows == before.rows and after.sha256 != before.sha256


def test_household_type_against_welfare_status_in_libreoffice_and_the_reader(tmp_path: Path) -> None:
    """HR26 (贫困户属性 ↔ 低保五保, a warning): LibreOffice's 校验结果 and severity cells flag the rows whose
    attribute does not follow the status and no other; the recalculated file read back gives the
    finding at the row's 贫困户属性 cell, naming both cells."""
    registry, catalog = load_registry(), load_catalog()
    hh = households(registry, TOWNSHIP, per_village=4, villages=2)
    values = clean_inputs(hh)
    pairs = {  # households 2, 3, 4, 7 have not exited (clean_inputs): no other rule looks at these cells
        2: ("一般贫困户", "低保"),  # mismatch
        3: ("低保贫困户", "低保"),
        4: ("特困供养(五保)贫困户", "否"),  # mismatch
        7: ("特困供养(五保)贫困户", "五保"),
    }
    for i, (kind, status) in pairs.items():
        values[hh[i].household_id].update(household_type=kind, welfare_status=status)
    values[hh[5].household_id]["welfare_status"] = None  # blank: HR27 (未填), not HR26
    values[hh[6].household_id]["household_type"] = None  # blank: HR05 (未填), not HR26
    spec = build_roster_spec(TOWNSHIP, PERIOD, hh, registry=registry, catalog=catalog)
    sheet = spec.sheets[0]
    rule = next(r for r in sheet.rules if r.id == "HR26")
    assert rule.importance == "warning"
    path = write_roster(spec, tmp_path / spec.file_name(), values=values)
    saved = office.recalculate(path, tmp_path / "lo")
    ws = openpyxl.load_workbook(saved, data_only=True)[sheet.sheet]
    layout = SheetLayout(sheet)
    mismatched = {hh[2].household_id, hh[4].household_id}
    for h in hh:
        r = layout.row_index[h.household_id]
        check = ws.cell(r, layout.check_col).value or ""
        severity = ws.cell(r, layout.severity_col).value
        if h.household_id in mismatched:
            assert check == rule.fail_text and severity == 1, (h.household_id, check, severity)
        else:
            assert rule.fail_text not in check, (h.household_id, check)
    assert ws.cell(layout.row_index[hh[6].household_id], layout.check_col).value == "贫困户属性未填；"
    blank = next(r for r in sheet.rules if r.id == "HR27")
    assert blank.importance == "error"
    assert ws.cell(layout.row_index[hh[5].household_id], layout.check_col).value == blank.fail_text
    assert ws.cell(layout.row_index[hh[5].household_id], layout.severity_col).value == 2
    assert all(ws.cell(layout.row_index[hh[i].household_id], layout.severity_col).value == 0 for i in (3, 7))

    for source in (path, saved):
        roster = read_roster(source, registry=registry, catalog=catalog)
        found = [f for f in roster.findings if f.rule == "HR26"]
        cells = {roster.cell(hid, "household_type"): roster.cell(hid, "welfare_status") for hid in mismatched}
        assert {f.cell for f in found} == set(cells)
        assert {f.rule for f in roster.findings} == {"HR26", "HR05", "HR27"}
        assert [f.cell for f in roster.findings if f.rule == "HR27"] == [
            roster.cell(hh[5].household_id, "welfare_status")
        ]
        for f in found:
            assert f.sheet == sheet.sheet == "建档立卡台账" and f.importance == "warning"
            assert f.file == str(source) and f.unit_code == TOWNSHIP
            assert "贫困户属性与低保五保不一致" in f.message and "低保贫困户对应“低保”" in f.message
            assert f"涉及 {f.cell}、{cells[f.cell]}" in f.message
            assert "说明" in f.hint
