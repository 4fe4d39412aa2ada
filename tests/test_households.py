"""Household rosters: the form, its checks on real files, the store, exits, reconciliation, synthesis."""

from __future__ import annotations

import copy
import hashlib
import math
import random
import sqlite3
import zipfile
from dataclasses import replace
from pathlib import Path

import openpyxl
import pytest
from household_cases import (
    CASES,
    CHECKLIST,
    LINE,
    OTHER_TOWNSHIP,
    PERIOD,
    TOWNSHIP,
    WORK_CHECKLIST,
    clean_inputs,
    crafted,
    households,
    id_number,
)

from hbreport.baseline import load_baseline
from hbreport.checks.rules import fn_idcheck
from hbreport.errors import HBError
from hbreport.households import (
    RosterData,
    RosterStore,
    assess_county_exit,
    assess_village_exits,
    build_roster_spec,
    consolidate_rosters,
    generate_rosters,
    read_export,
    read_roster,
    reconcile,
    write_export,
    write_roster,
)
from hbreport.households.exits import (
    RULE_COUNTY_EXIT,
    RULE_COUNTY_UNASSESSED,
    RULE_REMAINING,
    RULE_VILLAGE_EXIT,
)
from hbreport.households.plausibility import (
    RULE_IDENTICAL,
    RULE_JUMP,
    RULE_NEAR_LINE,
    identical_incomes,
    near_line_exits,
    robust_z,
)
from hbreport.households.spec import ROSTER_FAMILY, ROSTER_FORM, roster_config
from hbreport.households.summary import SUMMARY_COLUMNS, SUMMARY_SHEET
from hbreport.households.synth import Province
from hbreport.model.values import FormData
from hbreport.spec import build_workbook_spec
from hbreport.xlsx.writer import write_workbook


def write(tmp_path: Path, spec, values, name: str | None = None) -> Path:
    """The township's roster as its clerk saves it (over the previous save, as Excel does)."""
    return write_roster(spec, tmp_path / (name or spec.file_name()), values=values, force=True)


# ---------------------------------------------------------------- the form


def test_roster_spec_rows_are_households_and_identity_is_the_roster_family(registry, catalog):
    spec, _ = crafted(registry, catalog)
    sheet = spec.sheets[0]
    assert [r.code for r in sheet.rows] == [h.household_id for h in spec.households]
    assert [r.name for r in sheet.rows] == [h.head_name for h in spec.households]
    meta = spec.meta()
    assert meta["family"] == ROSTER_FAMILY and meta["households"] == str(len(spec.households))
    assert spec.file_name() == "421122100_城关镇_2017_台账.xlsx"
    roles = {c.key: c.role for c in sheet.columns}
    assert all(roles[k] == "prefill" for k in ("id_number", "household_size", "village_code", "village_name"))
    assert roles["meets_exit_standard"] == "derived"
    assert [k for k in CHECKLIST if roles.get(k) == "input"] == list(CHECKLIST)


def test_checklist_is_configuration_in_the_template(registry, catalog, tmp_path):
    """Dropping an item from the template's checklist drops its column, its part of the standard and rules."""
    from hbreport import paths

    text = (paths.FORMS / "household_roster.yaml.j2").read_text(encoding="utf-8")
    shorter = text.replace('"housing_secure", "pension_secure"]', '"housing_secure"]')
    assert shorter != text
    (tmp_path / "household_roster.yaml.j2").write_text(shorter, encoding="utf-8")
    hh = households(registry, TOWNSHIP)
    full = build_roster_spec(TOWNSHIP, PERIOD, hh, registry=registry, catalog=catalog)
    short = build_roster_spec(TOWNSHIP, PERIOD, hh, registry=registry, catalog=catalog, forms_dir=tmp_path)
    assert "pension_secure" in full.sheets[0].column_keys
    assert "pension_secure" not in short.sheets[0].column_keys
    assert "pension_secure" not in short.sheets[0].column("meets_exit_standard").formula
    assert short.config.checklist == CHECKLIST[:-1]
    assert short.layout_hash != full.layout_hash


def test_poverty_line_in_the_standard_comes_from_the_catalog(registry, catalog):
    spec, _ = crafted(registry, catalog)
    line = catalog.poverty_line(PERIOD)
    assert spec.config.poverty_line == line
    assert f"> {int(line)}" in spec.sheets[0].column("meets_exit_standard").formula
    # a year the office has not set a line for: refused with the year named, never guessed
    line_param = dict(catalog.parameters["poverty_line"])
    line_param["by_year"] = {y: v for y, v in line_param["by_year"].items() if y != PERIOD}
    without = replace(catalog, parameters={**catalog.parameters, "poverty_line": line_param})
    with pytest.raises(HBError, match=f"poverty_line.*{PERIOD}"):
        roster_config(PERIOD, catalog=without)


def test_exit_rules_fire_exactly_when_an_exited_household_misses_the_standard(registry, catalog):
    """HR10–HR13 and HR20–HR24 together are the derived 达到脱贫标准 column (the plan's exit standard:
    both routes): one fails iff an exited row shows 否."""
    spec, base = crafted(registry, catalog)
    sheet = spec.sheets[0]
    ids = ("HR10", "HR11", "HR12", "HR13", "HR20", "HR21", "HR22", "HR23", "HR24")
    exit_rules = [r for r in sheet.rules if r.id in ids]
    assert [r.id for r in exit_rules] == list(ids)
    rng = random.Random(7)
    template = next(iter(base.values()))
    seen = {True: 0, False: 0}
    labour = [*spec.config.with_labour, *spec.config.without_labour, None]
    for _ in range(600):
        row = dict(template)
        for key in (*CHECKLIST, "dilapidated_house", "safe_water"):
            row[key] = rng.choice(["是", "是", "是", "否", None])
        for key in WORK_CHECKLIST:
            row[key] = rng.choice(["是", "是", "否", None])
        row["labour_capacity"] = rng.choice(labour)
        row["welfare_status"] = rng.choice(["低保", "五保", "否", None])
        row["income_per_capita"] = rng.choice([None, 0, LINE - 1, LINE, LINE + 1, LINE * 3, "abc"])
        row["income_previous"] = rng.choice([None, 0, LINE, LINE * 2, "abc"])
        row["exit_status"] = rng.choice(["未脱贫", "已脱贫(享受政策)", "已脱贫(不再享受政策)", "返贫", None])
        data = RosterData.from_values(spec, {spec.households[0].household_id: row})
        computed = data.rows[spec.households[0].household_id]
        exited = computed["exit_status"] in spec.config.exited_statuses
        broken = any(r.check(computed) == "fail" for r in exit_rules)
        assert broken == (exited and computed["meets_exit_standard"] == "否"), row
        seen[broken] += 1
    assert seen[True] > 20 and seen[False] > 20


# ---------------------------------------------------------------- checks on real files


def test_clean_roster_reads_back_with_no_findings(registry, catalog, tmp_path):
    spec, values = crafted(registry, catalog)
    roster = read_roster(write(tmp_path, spec, values), registry=registry, catalog=catalog)
    assert roster.findings == []
    assert roster.sha256 == hashlib.sha256(roster.path.read_bytes()).hexdigest()
    for h in spec.households:
        row = roster.rows[h.household_id]
        assert row["id_number"] == h.id_number and row["household_size"] == h.household_size
        for key, value in values[h.household_id].items():
            assert row[key] == value, (h.household_id, key)


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_each_check_fires_on_its_mistake_and_nothing_else(registry, catalog, tmp_path, case):
    spec, values = crafted(registry, catalog, case)
    roster = read_roster(write(tmp_path, spec, values), registry=registry, catalog=catalog)
    assert {f.rule for f in roster.findings} == set(case.rules), [f.text() for f in roster.findings]
    target = spec.households[case.household].household_id
    cell = roster.cell(target, case.field)
    assert any(
        f.cell == cell or f"{cell}、" in f.message or f"{cell}）" in f.message for f in roster.findings
    ), (
        cell,
        [f.text() for f in roster.findings],
    )
    assert all(f.file == str(roster.path) and f.unit_code == TOWNSHIP for f in roster.findings)
    warnings_only = set(case.rules) <= {"HR15", "HR18", "HR19", "HR26"}
    assert all((f.importance == "warning") == warnings_only for f in roster.findings)


def test_duplicate_id_names_both_cells(registry, catalog, tmp_path):
    case = next(c for c in CASES if c.name == "duplicate id")
    spec, values = crafted(registry, catalog, case)
    roster = read_roster(write(tmp_path, spec, values), registry=registry, catalog=catalog)
    cells = {roster.cell(spec.households[i].household_id, "id_number") for i in (0, 6)}
    assert {f.cell for f in roster.findings} == cells
    for f in roster.findings:
        assert all(c in f.message for c in cells)


# ---------------------------------------------------------------- identity


def test_reader_refuses_what_is_not_this_roster(registry, catalog, tmp_path):
    spec, values = crafted(registry, catalog)
    path = write(tmp_path, spec, values)
    with pytest.raises(HBError, match="本次收取的是2018年"):
        read_roster(path, registry=registry, catalog=catalog, expect_period=2018)
    with pytest.raises(HBError, match="不是应报的"):
        read_roster(path, registry=registry, catalog=catalog, expect_unit=OTHER_TOWNSHIP)
    # a statistical form is not a roster
    form = write_workbook(build_workbook_spec(TOWNSHIP, PERIOD, registry=registry), tmp_path / "form.xlsx")
    with pytest.raises(HBError, match="不是建档立卡台账"):
        read_roster(form, registry=registry, catalog=catalog)
    # an export other than the one the roster was made from
    other = write_export(tmp_path / "other.csv", spec.households[:-1])
    with pytest.raises(HBError, match="不是由这份建档立卡导出文件生成的"):
        read_roster(path, registry=registry, catalog=catalog, export=read_export(other, registry=registry))


def _edit(path: Path, out: Path, edit) -> Path:
    book = openpyxl.load_workbook(path)
    edit(book)
    book.save(out)
    return out


def test_roster_read_by_column_is_read_by_row(registry, catalog, tmp_path):
    """The reader's column pass (read_columns) gives the row reader's values and findings, in the same
    order, on a roster whose input and prefilled cells hold every kind of awkward value."""
    from hbreport.households.readback import RosterSheetReader
    from hbreport.households.roster import _error_cells
    from hbreport.households.spec import prefill_columns
    from hbreport.xlsx.cells import open_calamine
    from hbreport.xlsx.layout import FIRST_DATA_ROW, SheetLayout

    spec0, values = crafted(registry, catalog)
    export = read_export(write_export(tmp_path / "export.csv", spec0.households), registry=registry)
    spec = build_roster_spec(
        TOWNSHIP,
        PERIOD,
        export.township(TOWNSHIP),
        registry=registry,
        catalog=catalog,
        roster_sha256=export.sha256,
    )
    path = write(tmp_path, spec, values)
    layout = SheetLayout(spec.sheets[0])
    ids = [h.household_id for h in spec.households]
    awkward = [
        ("household_size", 9),  # a prefilled value changed
        ("household_size", "三"),
        ("village_name", "别村"),
        ("id_number", None),
        ("income_per_capita", "三千"),
        ("income_per_capita", -5),
        ("income_per_capita", "=1000+2000"),
        ("income_per_capita", "#N/A"),
        ("sick_members", 2.5),
        ("sick_members", True),
        ("students", 10**20),
        ("poverty_cause", " 因病 "),
        ("poverty_cause", "生病"),
        ("food_secure", 1),
        ("helper_name", "  "),
        ("exit_year", "2017"),
        ("exit_status", None),
    ]

    def plant(book):
        sheet = book[spec.sheets[0].sheet]
        for i, (key, value) in enumerate(awkward):
            sheet[layout.cell(ids[i % len(ids)], key)] = value
        sheet[layout.cell(ids[-1], "income_per_capita")] = None
        sheet[layout.cell(ids[-1], "village_code")] = None

    hostile = _edit(path, tmp_path / "hostile.xlsx", plant)
    book = open_calamine(hostile, hostile.read_bytes())
    grid = book.get_sheet_by_name(spec.sheets[0].sheet).to_python(skip_empty_area=False)
    book.close()
    errors = _error_cells(hostile.read_bytes(), spec, {})
    held = {(FIRST_DATA_ROW + 1, layout.col_index["income_per_capita"]): "=1000+2000"}
    prefill = {h.household_id: h.prefill() for h in spec.households}
    by_key = prefill_columns(spec.households)  # the same, by column
    ragged = [row[:12] if i % 2 else row for i, row in enumerate(grid)]  # rows cut short, as openpyxl's
    for cells in (grid, ragged):
        by_row, by_column = RosterSheetReader(hostile, spec), RosterSheetReader(hostile, spec)
        rows = by_row.read_values(spec.sheets[0], cells, held, prefill, errors)
        columns = by_column.read_columns(spec.sheets[0], cells, by_key, held=held, errors=errors)
        assert by_row.findings and [f.to_dict() for f in by_column.findings] == [
            f.to_dict() for f in by_row.findings
        ]
        assert {"预填被改", "文本", "选项"} <= {f.rule for f in by_row.findings}
        for key, values_read in columns.items():
            expected = [rows[hid][key] for hid in ids]
            assert values_read == expected and list(map(type, values_read)) == list(map(type, expected)), key


@pytest.mark.parametrize(
    ("low", "high", "whole"),
    [
        (0, 100000, True),
        (0, 100000, False),
        (1, 12, True),
        (-math.inf, math.inf, False),
        (0, math.inf, True),
        (0, 10**17 + 3, False),
    ],
)
def test_a_number_column_read_by_array_is_read_value_by_value(low, high, whole):
    """The column pass reads a column of floats and blanks as arrays: the same values and types as
    the value-by-value reading (whole numbers as int, others as float, anything else left unread)."""
    from hbreport.households.readback import _UNREAD, _number, _numbers

    awkward = [0.0, -0.0, 1.0, 2.5, 12.0, 13.0, 99999.5, 100000.0, 100000.5, -3.0, 1e20, -1e20]
    awkward += [float(2**53), float(2**53 - 1), -float(2**53), 1e17, math.inf, -math.inf, math.nan, None]
    columns = [awkward, [3.0, 4.0, 5.0] * 5, [2.5, 0.25] * 5, [None] * 4, [7.0, None] * 3, []]
    for raw in columns:
        want = list(map(_number(low, high, whole), raw))
        got, unread = _numbers(raw, low, high, whole)
        assert got == want and list(map(type, got)) == list(map(type, want)), raw
        assert unread == (_UNREAD in want)


def test_a_text_column_read_at_once_is_read_value_by_value():
    """A column of texts is read at once when none is blank: the same texts as one by one."""
    from hbreport.households.readback import _UNREAD, _text, _texts

    columns = [
        ["张三", "李四", "王五"] * 4,
        [" 张三 ", "李四\t", "\u3000王五"] * 4,  # blanks around a name (a full-width space too)
        ["张三", "  ", "李四"],
        ["张三", "", "李四"],
        ["张三", None, 3.0, True],
        [],
    ]
    for raw in columns:
        want = list(map(_text, raw))
        assert _texts(raw) == (want, _UNREAD in want) and _texts(tuple(raw)) == (want, _UNREAD in want)


def test_the_commonest_income_of_each_village_is_counted_as_by_unique_rows():
    """identical_incomes counts, per village, the households sharing its commonest income: the same
    counts as numpy's unique rows of (village, income), ties, -0.0 and lone villages included."""
    import numpy as np

    from hbreport.households.plausibility import _most_alike

    rng = random.Random(20170101)
    for n in (1, 2, 7, 200, 1900):
        group = np.array([rng.randrange(5) for _ in range(n)], dtype=np.int64)
        income = np.array([rng.choice([0.0, -0.0, 2952.0, 3000.5, 1e9, rng.random()]) for _ in range(n)])
        pairs, counts = np.unique(np.stack([group, income], axis=1), axis=0, return_counts=True)
        want = np.zeros(6, dtype=np.int64)
        np.maximum.at(want, pairs[:, 0].astype(np.int64), counts)
        assert _most_alike(group, income, 6).tolist() == want.tolist(), n


def test_reader_refuses_a_changed_household_list(registry, catalog, tmp_path):
    spec, values = crafted(registry, catalog)
    path = write(tmp_path, spec, values)

    def drop_one_id(book):
        ws = book["_meta"]
        for row in ws.iter_rows():
            if row[0].value == "households.1":
                row[1].value = ",".join(row[1].value.split(",")[:-1])

    with pytest.raises(HBError, match="户编号清单"):
        read_roster(_edit(path, tmp_path / "a.xlsx", drop_one_id), registry=registry, catalog=catalog)

    def swap_rows(book):
        ws = book["建档立卡台账"]
        for col in range(1, 4):
            a, b = ws.cell(9, col), ws.cell(10, col)
            a.value, b.value = b.value, a.value

    with pytest.raises(HBError, match="插入、删除或调换了行") as err:
        read_roster(_edit(path, tmp_path / "b.xlsx", swap_rows), registry=registry, catalog=catalog)
    assert err.value.cell == "B9"


def test_changed_prefill_is_found_by_digest_and_by_cell_with_the_export(registry, catalog, tmp_path):
    spec0, values = crafted(registry, catalog)
    export_path = write_export(tmp_path / "export.csv", spec0.households)
    export = read_export(export_path, registry=registry)
    spec = build_roster_spec(
        TOWNSHIP,
        PERIOD,
        export.township(TOWNSHIP),
        registry=registry,
        catalog=catalog,
        roster_sha256=export.sha256,
    )
    path = write(tmp_path, spec, values)
    cell = spec.sheets[0]
    from hbreport.xlsx.layout import SheetLayout

    where = SheetLayout(cell).cell(spec.households[3].household_id, "household_size")
    changed = _edit(path, tmp_path / "changed.xlsx", lambda b: b["建档立卡台账"].__setitem__(where, 9))
    plain = read_roster(changed, registry=registry, catalog=catalog)
    assert [f.rule for f in plain.findings] == ["预填不符"] and plain.findings[0].cell is None
    held = read_roster(changed, registry=registry, catalog=catalog, export=export)
    assert [(f.rule, f.cell) for f in held.findings] == [("预填被改", where)]
    assert held.rows[spec.households[3].household_id]["household_size"] == spec.households[3].household_size


# ---------------------------------------------------------------- export and generation


def test_export_reading_names_the_line(registry, tmp_path):
    hh = households(registry, TOWNSHIP)
    good = write_export(tmp_path / "good.csv", hh)
    export = read_export(good, registry=registry)
    assert export.township(TOWNSHIP) == hh and export.households == len(hh)
    assert export.sha256 == hashlib.sha256(good.read_bytes()).hexdigest()
    lines = good.read_text(encoding="utf-8-sig").splitlines()
    (tmp_path / "dup.csv").write_text("\n".join([*lines, lines[1]]), encoding="utf-8")
    with pytest.raises(HBError, match=f"第 {len(lines) + 1} 行：户编号 .* 重复（第 2 行已有）"):
        read_export(tmp_path / "dup.csv", registry=registry)
    bad_village = lines[1].replace(hh[0].village_code, "421122100999")
    (tmp_path / "village.csv").write_text("\n".join([lines[0], bad_village]), encoding="utf-8")
    with pytest.raises(HBError, match="第 2 行：村代码「421122100999」不在单位名册中"):
        read_export(tmp_path / "village.csv", registry=registry)
    english = "household_id,head_name,id_number,household_size,village_code\n" + ",".join(
        [hh[0].household_id, hh[0].head_name, hh[0].id_number, str(hh[0].household_size), hh[0].village_code]
    )
    (tmp_path / "en.csv").write_bytes(english.encode("gb18030"))
    assert read_export(tmp_path / "en.csv", registry=registry).township(TOWNSHIP)[0] == hh[0]
    (tmp_path / "short.csv").write_text("户编号,户主姓名\n1,张三\n", encoding="utf-8")
    with pytest.raises(HBError, match="缺少列：证件号码、家庭人口、村代码"):
        read_export(tmp_path / "short.csv", registry=registry)


def test_generate_rosters_prefills_from_the_export(registry, catalog, tmp_path):
    hh = households(registry, TOWNSHIP) + households(registry, OTHER_TOWNSHIP, start=100)
    export_path = write_export(tmp_path / "export.csv", hh)
    paths = generate_rosters(
        PERIOD,
        under="421122",
        roster_csv=export_path,
        out_dir=tmp_path / "out",
        registry=registry,
        catalog=catalog,
    )
    assert [p.name for p in paths] == ["421122100_城关镇_2017_台账.xlsx", "421122101_梅塘镇_2017_台账.xlsx"]
    export = read_export(export_path, registry=registry)
    roster = read_roster(paths[1], registry=registry, catalog=catalog, export=export)
    assert roster.meta["roster_sha256"] == export.sha256
    assert [roster.rows[h.household_id]["id_number"] for h in hh[12:]] == [h.id_number for h in hh[12:]]
    # blank inputs: every household is asked for its required fields, no prefill is disputed
    rules = {f.rule for f in roster.findings}
    assert {"HR04", "HR05", "HR06", "HR07", "HR08"} <= rules and "预填被改" not in rules
    only = generate_rosters(
        PERIOD,
        under=OTHER_TOWNSHIP,
        roster_csv=export_path,
        out_dir=tmp_path / "one",
        registry=registry,
        catalog=catalog,
    )
    assert [p.name for p in only] == ["421122101_梅塘镇_2017_台账.xlsx"]
    with pytest.raises(HBError, match="没有「"):
        generate_rosters(
            PERIOD, under="420102", roster_csv=export_path, out_dir=tmp_path / "x", registry=registry
        )


# ---------------------------------------------------------------- consolidation and the store


def _two_townships(registry, catalog, tmp_path: Path, *, shared_id: bool):
    a = households(registry, TOWNSHIP)
    b = households(registry, OTHER_TOWNSHIP, start=100)
    if shared_id:
        b[2] = replace(b[2], id_number=a[5].id_number)
    folder = tmp_path / "in"
    paths = []
    for township, hh in ((TOWNSHIP, a), (OTHER_TOWNSHIP, b)):
        spec = build_roster_spec(township, PERIOD, hh, registry=registry, catalog=catalog)
        paths.append(write(folder, spec, clean_inputs(hh)))
    return folder, paths, a, b


def test_consolidation_finds_an_id_in_two_townships_and_loads_the_store(registry, catalog, tmp_path):
    folder, paths, a, b = _two_townships(registry, catalog, tmp_path, shared_id=True)
    store_path = tmp_path / "store.sqlite"
    summary = consolidate_rosters(folder, "421122", PERIOD, store_path, registry=registry, catalog=catalog)
    across = [f for f in summary.findings if f.rule == "跨乡镇重号"]
    assert len(across) == 2 and {Path(f.file).name for f in across} == {p.name for p in paths}
    for f in across:
        assert all(p.name in f.message for p in paths) and a[5].id_number in f.message
    assert {f.rule for f in summary.findings} == {"跨乡镇重号"}
    assert summary.households_loaded == summary.households_in_store == len(a) + len(b)
    with sqlite3.connect(store_path) as db:
        assert db.execute("SELECT COUNT(*) FROM households WHERE period = ?", (PERIOD,)).fetchone()[0] == 24
        shas = dict(db.execute("SELECT township_code, sha256 FROM sources"))
        per_row = dict(
            db.execute("SELECT township_code, COUNT(DISTINCT source_sha256) FROM households GROUP BY 1")
        )
        problems = db.execute("SELECT household_id, problems FROM households WHERE problems != ''").fetchall()
    assert shas == {
        TOWNSHIP: hashlib.sha256(paths[0].read_bytes()).hexdigest(),
        OTHER_TOWNSHIP: hashlib.sha256(paths[1].read_bytes()).hexdigest(),
    }
    assert per_row == {TOWNSHIP: 1, OTHER_TOWNSHIP: 1}
    assert sorted(problems) == sorted([(a[5].household_id, "跨乡镇重号"), (b[2].household_id, "跨乡镇重号")])
    assert summary.exit_code == 1 and "错误 2 项" in summary.render()


def test_the_store_file_alone_holds_the_run_once_it_returns(registry, catalog, tmp_path):
    """The log is copied into the store file between townships and, at the end, in a thread while the
    summary is counted; when consolidation returns, the file itself (its log ignored) holds every row,
    the marks of IDs in two townships included, and no log is left beside it."""
    folder, paths, a, b = _two_townships(registry, catalog, tmp_path, shared_id=True)
    store_path = tmp_path / "store.sqlite"
    summary = consolidate_rosters(
        folder, "421122", PERIOD, store_path, registry=registry, catalog=catalog, workers=2
    )
    assert summary.households_in_store == len(a) + len(b)
    assert not Path(f"{store_path}-wal").exists()
    db = sqlite3.connect(f"{store_path.as_uri()}?immutable=1", uri=True)  # the file as it is on disk
    try:
        assert db.execute("SELECT COUNT(*) FROM households").fetchone()[0] == len(a) + len(b)
        marked = db.execute("SELECT household_id FROM households WHERE problems = '跨乡镇重号'").fetchall()
        assert sorted(marked) == sorted([(a[5].household_id,), (b[2].household_id,)])
        assert db.execute("SELECT SUM(errors) FROM sources").fetchone()[0] == 2
    finally:
        db.close()


def test_reconsolidating_does_not_duplicate_and_a_new_version_replaces(registry, catalog, tmp_path):
    folder, paths, a, b = _two_townships(registry, catalog, tmp_path, shared_id=False)
    store_path = tmp_path / "store.sqlite"
    first = consolidate_rosters(folder, "421122", PERIOD, store_path, registry=registry, catalog=catalog)
    assert first.findings == [] and {f.stored for f in first.files} == {"inserted"}
    assert first.missing and first.exit_code == 1  # the county's other townships have not reported
    again = consolidate_rosters(folder, "421122", PERIOD, store_path, registry=registry, catalog=catalog)
    assert {f.stored for f in again.files} == {"unchanged"} and again.households_loaded == 0
    assert again.households_in_store == len(a) + len(b)
    # a corrected roster for one township replaces its rows
    values = clean_inputs(a)
    values[a[0].household_id]["income_per_capita"] = LINE * 5
    spec = build_roster_spec(TOWNSHIP, PERIOD, a, registry=registry, catalog=catalog)
    write(folder, spec, values)
    third = consolidate_rosters(folder, "421122", PERIOD, store_path, registry=registry, catalog=catalog)
    stored = {f.township_code: f.stored for f in third.files}
    assert stored == {TOWNSHIP: "replaced", OTHER_TOWNSHIP: "unchanged"}
    with RosterStore(store_path) as store:
        assert store.count(PERIOD) == len(a) + len(b)
        assert store.count(PERIOD, under="421122101") == len(b)
        rows = {r["household_id"]: r for r in store.households(PERIOD, under=TOWNSHIP)}
        assert rows[a[0].household_id]["income_per_capita"] == LINE * 5
        source = next(s for s in store.sources(PERIOD) if s["township_code"] == TOWNSHIP)
        assert source["sha256"] == hashlib.sha256(paths[0].read_bytes()).hexdigest()
        assert source["replaced_sha256"] == next(f.sha256 for f in first.files if f.township_code == TOWNSHIP)
    # the other township alone: its ID is still checked against what the store holds for the first
    b2 = [replace(h, id_number=a[3].id_number) if i == 0 else h for i, h in enumerate(b)]
    lone = tmp_path / "lone"
    write(
        lone,
        build_roster_spec(OTHER_TOWNSHIP, PERIOD, b2, registry=registry, catalog=catalog),
        clean_inputs(b2),
    )
    fourth = consolidate_rosters(lone, "421122", PERIOD, store_path, registry=registry, catalog=catalog)
    dup = [f for f in fourth.findings if f.rule == "跨乡镇重号"]
    assert len(dup) == 1 and "已入库" in dup[0].message and paths[0].name in dup[0].message


def test_two_different_rosters_of_one_township_are_refused_and_the_store_keeps_what_it_held(
    registry, catalog, tmp_path
):
    """Each roster is stored as it is read; a second, different file for its township takes the
    township back to what the store held before: the stored version (read before or after the other
    one), or nothing at all."""
    folder, paths, a, b = _two_townships(registry, catalog, tmp_path, shared_id=False)
    store_path = tmp_path / "store.sqlite"
    spec = build_roster_spec(TOWNSHIP, PERIOD, a, registry=registry, catalog=catalog)

    def version(income: float, name: str) -> Path:
        values = clean_inputs(a)
        values[a[0].household_id]["income_per_capita"] = income
        return write(folder, spec, values, name=name)

    def held(path: Path = store_path) -> tuple:
        with RosterStore(path) as store:
            incomes = {r["household_id"]: r["income_per_capita"] for r in store.households(PERIOD)}
            return incomes, {s["township_code"]: s["sha256"] for s in store.sources(PERIOD)}

    # nothing stored yet: neither version goes in, the other township does
    other = version(LINE * 4, "0_其他版本.xlsx")
    fresh = tmp_path / "fresh.sqlite"
    summary = consolidate_rosters(folder, "421122", PERIOD, fresh, registry=registry, catalog=catalog)
    statuses = {Path(f.file).name: (f.status, f.stored) for f in summary.files}
    assert statuses[other.name] == statuses[paths[0].name] == ("重复", None)
    assert summary.households_loaded == summary.households_in_store == len(b)
    incomes, sources = held(fresh)
    assert set(sources) == {OTHER_TOWNSHIP} and set(incomes) == {h.household_id for h in b}
    assert len([f for f in summary.findings if f.unit_code == TOWNSHIP]) == 2
    other.unlink()

    consolidate_rosters(folder, "421122", PERIOD, store_path, registry=registry, catalog=catalog)
    before = held()
    assert before[0][a[0].household_id] != LINE * 4
    # another version read before the stored one (stored on the way, then taken back), then after it
    for income, name in ((LINE * 4, "0_其他版本.xlsx"), (LINE * 6, "9_其他版本.xlsx")):
        other = version(income, name)
        three = [other, version(LINE * 7, "1_又一版本.xlsx")] if income == LINE * 4 else [other]
        summary = consolidate_rosters(
            folder, "421122", PERIOD, store_path, registry=registry, catalog=catalog
        )
        statuses = {Path(f.file).name: (f.status, f.stored) for f in summary.files}
        assert {statuses[p.name] for p in [*three, paths[0]]} == {("重复", None)}
        assert statuses[paths[1].name] == ("已入库", "unchanged")
        assert summary.households_loaded == 0 and summary.households_in_store == len(a) + len(b)
        assert held() == before
        for p in three:
            p.unlink()


def test_consolidation_refuses_files_and_lists_missing_townships(registry, catalog, tmp_path):
    folder, paths, a, b = _two_townships(registry, catalog, tmp_path, shared_id=False)
    (folder / "notes.xlsx").write_bytes(b"not a workbook")
    other = households(registry, "420102001000", start=300)  # 江岸区: not under 红安县
    write(
        folder,
        build_roster_spec("420102001000", PERIOD, other, registry=registry, catalog=catalog),
        clean_inputs(other),
    )
    summary = consolidate_rosters(
        folder, "421122", PERIOD, tmp_path / "s.sqlite", registry=registry, catalog=catalog
    )
    statuses = {Path(f.file).name: f.status for f in summary.files}
    assert statuses["notes.xlsx"] == "拒收"
    assert statuses["420102001_" + registry.get("420102001000").name + "_2017_台账.xlsx"] == "拒收"
    assert {statuses[p.name] for p in paths} == {"已入库"}
    missing = {code for code, _ in summary.missing}
    baseline = load_baseline()
    expected = {
        t.code
        for t in registry.descendants("421122", "township")
        if any(baseline.villages[v.code].poor_households for v in registry.children(t.code))
    }
    assert missing == expected - {TOWNSHIP, OTHER_TOWNSHIP}


def test_consolidation_holds_prefill_to_the_export_kept_in_the_store(registry, catalog, tmp_path):
    hh = households(registry, TOWNSHIP)
    export_path = write_export(tmp_path / "export.csv", hh)
    folder = tmp_path / "in"
    (path,) = generate_rosters(
        PERIOD, under=TOWNSHIP, roster_csv=export_path, out_dir=folder, registry=registry
    )
    from hbreport.xlsx.layout import SheetLayout

    spec = build_roster_spec(TOWNSHIP, PERIOD, hh, registry=registry, catalog=catalog)
    where = SheetLayout(spec.sheets[0]).cell(hh[4].household_id, "id_number")
    _edit(path, path, lambda b: b["建档立卡台账"].__setitem__(where, id_number("421122", 999)))
    store_path = tmp_path / "s.sqlite"
    for _ in range(2):  # the export is kept once, and used again
        summary = consolidate_rosters(
            folder, TOWNSHIP, PERIOD, store_path, roster_csv=export_path, registry=registry, catalog=catalog
        )
        changed = [f for f in summary.findings if f.rule == "预填被改"]
        assert [(f.cell, Path(f.file).name) for f in changed] == [(where, path.name)]
    with sqlite3.connect(store_path) as db:
        assert db.execute("SELECT COUNT(*) FROM exports").fetchone()[0] == 1
        assert db.execute("SELECT COUNT(*) FROM export_households").fetchone()[0] == len(hh)
        stored = db.execute(
            "SELECT id_number FROM households WHERE household_id = ?", (hh[4].household_id,)
        ).fetchone()[0]
    assert stored == hh[4].id_number  # the export's value is what is kept


def test_a_store_that_cannot_be_opened_while_the_readers_read_is_refused(registry, catalog, tmp_path):
    """The store is opened once the reading processes have started: when it cannot be used, the readers
    waiting for the export are let go and the run stops with the store's message, the file untouched."""
    hh = households(registry, TOWNSHIP)
    export_path = write_export(tmp_path / "export.csv", hh)
    folder = tmp_path / "in"
    generate_rosters(PERIOD, under=TOWNSHIP, roster_csv=export_path, out_dir=folder, registry=registry)
    write(
        folder, build_roster_spec(TOWNSHIP, PERIOD, hh, registry=registry, catalog=catalog), {}, name="b.xlsx"
    )
    store_path = tmp_path / "s.sqlite"
    store_path.write_bytes(b"PK\x03\x04 not a database")
    with pytest.raises(HBError, match="不是 hbreport 数据库"):
        consolidate_rosters(
            folder,
            TOWNSHIP,
            PERIOD,
            store_path,
            roster_csv=export_path,
            registry=registry,
            catalog=catalog,
            workers=2,
        )
    assert store_path.read_bytes() == b"PK\x03\x04 not a database"


# ---------------------------------------------------------------- plausibility


def _village_roster(registry, catalog, incomes: list[float], *, status="已脱贫(享受政策)", year=PERIOD):
    hh = households(registry, TOWNSHIP, per_village=len(incomes), villages=1)
    values = clean_inputs(hh)
    for h, income in zip(hh, incomes, strict=True):
        values[h.household_id].update(
            dict.fromkeys(CHECKLIST, "是"),
            income_per_capita=income,
            exit_status=status,
            exit_year=year,
            dilapidated_house="否",
            safe_water="是",
        )
    spec = build_roster_spec(TOWNSHIP, PERIOD, hh, registry=registry, catalog=catalog)
    return RosterData.from_values(spec, values)


def test_near_line_village_is_flagged_and_a_spread_one_is_not(registry, catalog):
    near = _village_roster(
        registry, catalog, [LINE * 1.02, LINE * 1.05, LINE * 1.08, LINE * 1.03, LINE * 1.09, LINE * 2]
    )
    found = near_line_exits(near)
    assert [f.rule for f in found] == [RULE_NEAR_LINE] and found[0].importance == "warning"
    assert found[0].sheet == SUMMARY_SHEET and "6 户全部" in found[0].message and "5 户" in found[0].message
    spread = _village_roster(
        registry, catalog, [LINE * 1.02, LINE * 1.05, LINE * 1.5, LINE * 1.7, LINE * 2, LINE * 2.2]
    )
    assert near_line_exits(spread) == []
    earlier = _village_roster(registry, catalog, [LINE * 1.02] * 6, year=PERIOD - 1)
    assert near_line_exits(earlier) == []


def test_identical_incomes_are_flagged(registry, catalog):
    same = _village_roster(registry, catalog, [5000, 5000, 5000, 5000, 5000, 6100, 7200, 8300])
    found = identical_incomes(same)
    assert [f.rule for f in found] == [RULE_IDENTICAL] and "5 户人均纯收入都是 5000 元" in found[0].message
    varied = _village_roster(registry, catalog, [5000, 5000, 5100, 5200, 5300, 6100, 7200, 8300])
    assert identical_incomes(varied) == []


def test_villages_by_column_take_each_household_as_row_by_row(registry, catalog):
    """The plausibility checks group a roster's households by village by column: a household without
    a village left out, an income that is not a number (text, blank, 是) none, the others as floats."""
    from hbreport.households.plausibility import _Villages
    from hbreport.model.values import number_or_none

    for awkward in (False, True):
        roster = _village_roster(registry, catalog, [5000, 5000.5, 6100, 7200, 8300, 9400])
        rows = roster.data.rows[ROSTER_FORM]
        if awkward:
            ids = list(rows)
            rows[ids[0]]["income_per_capita"] = "五千"
            rows[ids[1]]["income_per_capita"] = None
            rows[ids[2]]["income_per_capita"] = True
            rows[ids[3]]["village_code"] = None
            rows[ids[4]]["exit_year"] = PERIOD - 1
        v = _Villages(roster)
        kept = [row for row in rows.values() if row.get("village_code")]
        assert v.codes == list(dict.fromkeys(row["village_code"] for row in kept))
        assert v.group.tolist() == [v.codes.index(row["village_code"]) for row in kept]
        want = [number_or_none(row.get("income_per_capita")) for row in kept]
        assert [None if math.isnan(x) else x for x in v.income.tolist()] == want
        assert v.exited_now.tolist() == [row.get("exit_year") == PERIOD for row in kept]
        assert len(kept) == (5 if awkward else 6)


def test_robust_z_uses_median_and_mad():
    values = [10, 12, 11, 13, 12, 11, 40]
    z = robust_z(values)
    assert round(z[-1], 2) == round(0.6745 * (40 - 12) / 1, 2)  # median 12, MAD 1
    assert max(abs(x) for x in z[:-1]) < 3.5
    assert robust_z([5, 5, 5, 5]) == [0.0] * 4
    # MAD 0: the mean absolute deviation (here 0.4) stands in, scaled by 1.2533
    assert robust_z([5] * 9 + [9])[-1] == pytest.approx(4 / (1.253314 * 0.4))


def test_period_jump_against_the_store(registry, catalog, tmp_path):
    """Eight villages grow about 5% a year; one triples its income: only that one is flagged."""
    hh = households(registry, TOWNSHIP, per_village=3, villages=8)
    store_path = tmp_path / "store.sqlite"
    folder16, folder17 = tmp_path / "2016", tmp_path / "2017"
    rng = random.Random(3)
    base = {h.household_id: LINE * rng.uniform(1.5, 2.5) for h in hh}
    jumped = hh[-1].village_code
    for period, folder in ((2016, folder16), (2017, folder17)):
        values = clean_inputs(hh, period=period)
        for h in hh:
            growth = (
                (3.0 if h.village_code == jumped else 1.04 + 0.01 * rng.random()) if period == 2017 else 1.0
            )
            values[h.household_id]["income_per_capita"] = round(base[h.household_id] * growth)
        spec = build_roster_spec(TOWNSHIP, period, hh, registry=registry, catalog=catalog)
        write(folder, spec, values)
    first = consolidate_rosters(folder16, "421122", 2016, store_path, registry=registry, catalog=catalog)
    assert not [f for f in first.findings if f.rule == RULE_JUMP]  # nothing to compare with yet
    second = consolidate_rosters(folder17, "421122", 2017, store_path, registry=registry, catalog=catalog)
    jumps = [f for f in second.findings if f.rule == RULE_JUMP]
    name = registry.get(jumped).name
    assert len(jumps) == 1 and name in jumps[0].message and jumps[0].importance == "warning"


# ---------------------------------------------------------------- dynamic adjustment and exits


def _township_form(registry, roster, *, changes=None):
    """The township's 01 and 02 forms filled from the roster's 村汇总 (what an honest clerk types)."""
    spec = build_workbook_spec(
        TOWNSHIP, PERIOD, registry=registry, forms=("poverty_progress", "village_exit")
    )
    people, villages = {}, {}
    for village in spec.sheet("poverty_progress").rows:
        counts = roster.summary[village.code]
        people[village.code] = {
            c.form_field[1]: counts[c.key]
            for c in SUMMARY_COLUMNS
            if c.form_field and c.form_field[0] == "poverty_progress"
        }
    for village in spec.sheet("village_exit").rows:
        villages[village.code] = {
            "remaining_poor_households": roster.summary[village.code]["remaining_households"],
            "village_population": 1000,
            "village_income": 12000,
            "collective_income": 6,
            "infrastructure_ok": "是",
            "services_ok": "是",
            "exited_before": "否",
            "apply_exit": "否",
        }
    inputs = {"poverty_progress": people, "village_exit": villages}
    for form, code, key, value in changes or ():
        inputs[form][code][key] = value
    return FormData.from_inputs(spec, inputs, source="421122100_城关镇_2017.xlsx")


def _poor_village_roster(registry, catalog):
    baseline = load_baseline()
    poor = [v for v in registry.children(TOWNSHIP) if baseline.villages[v.code].poor_village]
    hh = []
    for i, village in enumerate(poor[:2]):
        for seq in range(1, 6):
            hh.append(
                replace(
                    households(registry, TOWNSHIP, per_village=1, villages=1, start=10 * i + seq)[0],
                    household_id=f"{village.code}{seq:04d}",
                    village_code=village.code,
                    village_name=village.name,
                )
            )
    values = clean_inputs(hh)
    spec = build_roster_spec(TOWNSHIP, PERIOD, hh, registry=registry, catalog=catalog)
    return RosterData.from_values(spec, values, path=Path("421122100_城关镇_2017_台账.xlsx")), poor


def test_reconcile_names_both_cells_where_counts_differ(registry, catalog):
    roster, poor = _poor_village_roster(registry, catalog)
    assert reconcile(roster, _township_form(registry, roster)) == []
    counts = roster.summary[poor[0].code]
    assert counts["returned_people"] > 0 and counts["new_people"] > 0 and counts["exited_people"] > 0
    form = _township_form(
        registry,
        roster,
        changes=[
            ("poverty_progress", poor[0].code, "returned_people", 0),
            ("poverty_progress", poor[1].code, "new_people", None),
        ],
    )
    found = reconcile(roster, form)
    assert len(found) == 2 and {f.rule for f in found} == {"HA_RECONCILE"}
    from hbreport.households.summary import summary_cell
    from hbreport.xlsx.layout import SheetLayout

    layout = SheetLayout(form.spec.sheet("poverty_progress"))
    first = found[0]
    assert first.cell == layout.cell(poor[0].code, "returned_people")
    assert (
        first.cell in first.message
        and summary_cell(roster.spec, poor[0].code, "returned_people") in first.message
    )
    assert f"台账统计为 {counts['returned_people']}人" in first.message
    assert "未填" in found[1].message
    other = build_roster_spec(OTHER_TOWNSHIP, PERIOD, households(registry, OTHER_TOWNSHIP), registry=registry)
    with pytest.raises(HBError, match="不是同一乡镇同一报告期"):
        reconcile(RosterData.from_values(other, {}), form)


def test_village_exit_cross_checks_the_roster(registry, catalog):
    roster, poor = _poor_village_roster(registry, catalog)
    honest = assess_village_exits(roster, _township_form(registry, roster), catalog)
    assert honest.findings == []
    by_code = {v.village_code: v for v in honest.villages}
    assert (
        by_code[poor[0].code].remaining_households == roster.summary[poor[0].code]["remaining_households"] > 0
    )
    assert not by_code[poor[0].code].meets
    form = _township_form(
        registry,
        roster,
        changes=[
            ("village_exit", poor[0].code, "apply_exit", "是"),  # applies with households not yet exited
            ("village_exit", poor[0].code, "remaining_poor_households", 0),  # and hides them on the form
        ],
    )
    found = assess_village_exits(roster, form, catalog).findings
    assert sorted(f.rule for f in found) == sorted([RULE_REMAINING, RULE_VILLAGE_EXIT])
    village_finding = next(f for f in found if f.rule == RULE_VILLAGE_EXIT)
    assert "户未脱贫" in village_finding.message and poor[0].name in village_finding.message


def test_village_exit_income_and_collective_thresholds_come_from_the_catalog(registry, catalog):
    roster, poor = _poor_village_roster(registry, catalog)
    hh = [h for h in roster.spec.households if h.village_code == poor[1].code]
    values = clean_inputs(roster.spec.households)
    for h in hh:
        values[h.household_id].update(
            exit_status="已脱贫(享受政策)",
            exit_year=PERIOD,
            income_per_capita=LINE * 2,
            food_secure="是",
            newly_identified="否",
        )
    roster = RosterData.from_values(roster.spec, values)
    provincial = catalog.parameter("provincial_rural_income", PERIOD)
    ratio = catalog.number("VILLAGE_EXIT_INCOME_RATIO", "ratio")
    minimum = catalog.number("VILLAGE_EXIT_COLLECTIVE_INCOME", "万元")
    ok = [
        ("village_exit", poor[1].code, "apply_exit", "是"),
        ("village_exit", poor[1].code, "village_income", provincial * ratio + 1),
        ("village_exit", poor[1].code, "collective_income", minimum),
    ]
    assert assess_village_exits(roster, _township_form(registry, roster, changes=ok), catalog).findings == []
    low = [
        *ok,
        ("village_exit", poor[1].code, "village_income", provincial * ratio - 1),
        ("village_exit", poor[1].code, "collective_income", minimum - 0.01),
    ]
    found = assess_village_exits(roster, _township_form(registry, roster, changes=low), catalog).findings
    assert [f.rule for f in found] == [RULE_VILLAGE_EXIT]
    assert "未达 70%" in found[0].message and "未达 5 万元" in found[0].message


def test_county_exit_uses_the_configured_threshold(registry, catalog):
    rows = [{"household_size": 4, "exit_status": "未脱贫"}] * 5 + [
        {"household_size": 3, "exit_status": "已脱贫(享受政策)"}
    ] * 10
    threshold = catalog.parameter("county_exit_poverty_incidence", PERIOD)
    remaining = 20
    high = assess_county_exit(
        "421122",
        PERIOD,
        rows,
        figures={"rural_population": remaining * 100 / (threshold + 1)},
        applying=True,
        registry=registry,
        catalog=catalog,
    )
    assert high.meets is False
    errors = [f for f in high.findings if f.importance == "error"]
    assert [f.rule for f in errors] == [RULE_COUNTY_EXIT] and "贫困发生率" in errors[0].message
    low = assess_county_exit(
        "421122",
        PERIOD,
        rows,
        figures={"rural_population": remaining * 100 / (threshold - 1)},
        applying=True,
        registry=registry,
        catalog=catalog,
    )
    incidence = next(c for c in low.criteria if c.id == "CX01")
    assert incidence.met is True and incidence.figure == pytest.approx(threshold - 1)
    # criteria with no configured standard are never counted as met
    assert low.meets is None and {f.rule for f in low.findings} == {RULE_COUNTY_UNASSESSED}
    quiet = assess_county_exit(
        "421122", PERIOD, rows, figures={}, applying=False, registry=registry, catalog=catalog
    )
    assert quiet.findings == [] and next(c for c in quiet.criteria if c.id == "CX01").met is None
    # by default a county applies in its 摘帽 year from the baseline (红安县: 2017)
    assert assess_county_exit("421122", 2017, rows, registry=registry, catalog=catalog).applying is True
    assert assess_county_exit("421122", 2016, rows, registry=registry, catalog=catalog).applying is False


# ---------------------------------------------------------------- the synthetic province


def test_synthetic_township_is_deterministic_valid_and_planted(registry, catalog):
    baseline = load_baseline()
    one = Province(registry, baseline, catalog, mistakes=0.05)
    two = Province(registry, baseline, catalog, mistakes=0.05)
    a, b = one.township(TOWNSHIP, PERIOD), two.township(TOWNSHIP, PERIOD)
    assert a.households == b.households and a.values == b.values and a.planted == b.planted
    poor = [v for v in registry.children(TOWNSHIP) if baseline.villages[v.code].poor_households]
    assert len(a.households) == sum(baseline.villages[v.code].poor_households for v in poor)
    assert sum(h.household_size for h in a.households) == sum(
        baseline.villages[v.code].poor_people for v in poor
    )
    planted = {p.household_id: p.kind for p in a.planted if p.household_id}
    assert set(planted.values()) >= {"id_check", "income_zero", "exited_below_line"}
    bad = [h.household_id for h in a.households if not fn_idcheck(h.id_number)]
    assert set(bad) == {hid for hid, kind in planted.items() if kind == "id_check"}
    honest = [h.id_number for h in a.households if h.household_id not in planted]
    assert len(honest) == len(set(honest))  # unique by construction
    # 贫困户属性 follows 低保五保 but where a mismatch is planted (HR26 fires there, and only there)
    type_rule = next(
        r
        for r in build_roster_spec(TOWNSHIP, PERIOD, a.households, registry=registry, catalog=catalog)
        .sheets[0]
        .rules
        if r.id == "HR26"
    )
    failing = {hid for hid, row in a.values.items() if type_rule.check(row) == "fail"}
    assert failing == {hid for hid, kind in planted.items() if kind == "type_welfare_mismatch"} != set()
    # 低保五保 is never left blank (HR27): no planted kind blanks it
    assert all(row["welfare_status"] in ("低保", "五保", "否") for row in a.values.values())


@pytest.mark.slow
def test_synthetic_ids_are_unique_across_the_province(registry, catalog):
    baseline = load_baseline()
    province = Province(registry, baseline, catalog, mistakes=0)
    villages = [v for v in baseline.villages.values() if v.poor_households]
    numbers = {province.id_number(v.code, seq) for v in villages for seq in range(1, v.poor_households + 1)}
    assert len(numbers) == sum(v.poor_households for v in villages) > 1_300_000
    assert all(fn_idcheck(n) for n in list(numbers)[::997])


@pytest.mark.slow
def test_synthetic_rosters_consolidate_with_their_planted_mistakes_found(registry, catalog, tmp_path):
    from hbreport.households.synth import write_synthetic

    result = write_synthetic(tmp_path, PERIOD, under=TOWNSHIP, mistakes=0.03, village_mistakes=0.3)
    assert len(result.rosters) == 1
    summary = consolidate_rosters(
        tmp_path / "rosters",
        TOWNSHIP,
        PERIOD,
        tmp_path / "s.sqlite",
        roster_csv=result.export,
        registry=registry,
        catalog=catalog,
    )
    assert summary.households_in_store == result.households
    expected_rule = {
        "id_check": "HR02",
        "income_zero": "HR09",
        "income_high": "HR09",
        "exited_below_line": "HR10",
        "exited_dilapidated": "HR11",
        "exited_no_water": "HR12",
        "missing_cause": "HR04",
        "sick_inconsistent": "HR18",
        "type_welfare_mismatch": "HR26",
        "id_dup_within": "证件重号",
    }
    roster = read_roster(result.rosters[0], registry=registry, catalog=catalog)
    rules_at = {}
    for f in summary.findings:
        rules_at.setdefault(f.cell, set()).add(f.rule)
    for p in result.planted:
        if p.kind in expected_rule:
            column = (
                "id_number"
                if p.kind.startswith("id_")
                else {
                    "income_zero": "income_per_capita",
                    "income_high": "income_per_capita",
                    "missing_cause": "poverty_cause",
                    "sick_inconsistent": "poverty_cause",
                    "type_welfare_mismatch": "household_type",
                }.get(p.kind, "exit_status")
            )
            assert expected_rule[p.kind] in rules_at.get(roster.cell(p.household_id, column), set()), p
        if p.kind == "near_line":
            assert any(
                f.rule == RULE_NEAR_LINE and registry.get(p.village_code).name in f.message
                for f in summary.findings
            )
    mismatched = {
        roster.cell(p.household_id, "household_type")
        for p in result.planted
        if p.kind == "type_welfare_mismatch"
    }
    assert {f.cell for f in summary.findings if f.rule == "HR26"} == mismatched != set()
    assert copy.deepcopy(summary.to_dict())["households_in_store"] == result.households


def test_idcheck_is_one_rule_language_primitive():
    from hbreport.checks.rules import Expr

    expr = Expr.parse("IDCHECK(id_number)", condition=True)
    assert expr.fields == {"id_number"}
    assert expr.evaluate({"id_number": id_number("421122", 5)}) is True
    assert expr.evaluate({"id_number": id_number("421122", 5)[:17] + "Z"}) is False
    assert "SUMPRODUCT" in expr.to_excel(lambda k: "C9") and "IDCHECK" not in expr.to_excel(lambda k: "C9")
    with pytest.raises(HBError, match="IDCHECK 需要 1 个参数"):
        Expr.parse("IDCHECK(a, b)")


def test_id_helper_makes_valid_ids():
    assert all(fn_idcheck(id_number("421122", s)) for s in range(200))


def test_household_table_exports_to_parquet(registry, catalog, tmp_path):
    pq = pytest.importorskip("pyarrow.parquet")
    from hbreport.households.parquet import export_households_parquet

    folder, _paths, a, b = _two_townships(registry, catalog, tmp_path, shared_id=True)
    store_path = tmp_path / "store.sqlite"
    consolidate_rosters(folder, "421122", PERIOD, store_path, registry=registry, catalog=catalog)
    out = tmp_path / "households.parquet"
    assert export_households_parquet(store_path, out, period=PERIOD) == len(a) + len(b)
    table = pq.read_table(out)
    with sqlite3.connect(store_path) as db:
        db.row_factory = sqlite3.Row
        stored = [
            dict(r) for r in db.execute("SELECT * FROM households ORDER BY period, township_code, row_number")
        ]
    assert table.to_pylist() == stored  # every column, every row, as stored
    assert str(table.schema.field("income_per_capita").type) in ("double", "int64")
    assert str(table.schema.field("id_number").type) == "string"
    assert {r["problems"] for r in stored} >= {"跨乡镇重号"}
    one = tmp_path / "one.parquet"
    assert export_households_parquet(store_path, one, under=OTHER_TOWNSHIP) == len(b)
    assert set(pq.read_table(one).column("township_code").to_pylist()) == {OTHER_TOWNSHIP}
    first = tmp_path / "first.parquet"  # 421122100: not a prefix of its neighbour 421122101's rows
    assert export_households_parquet(store_path, first, under=TOWNSHIP) == len(a)
    with pytest.raises(HBError, match="已存在|存在"):
        export_households_parquet(store_path, one, under=OTHER_TOWNSHIP)


def test_overwritten_and_changed_formulas_are_found_cell_by_cell(registry, catalog, tmp_path):
    spec, values = crafted(registry, catalog)
    path = write(tmp_path, spec, values)
    clean = read_roster(path, registry=registry, catalog=catalog)
    assert not [f for f in clean.findings if f.rule in ("公式被删", "公式被改")]
    first, second = spec.households[2].household_id, spec.households[5].household_id
    standard, check = clean.cell(first, "meets_exit_standard"), clean.layout.check_col

    def tamper(book):
        ws = book[spec.sheets[0].sheet]
        ws[standard] = "是"  # a formula overwritten by a typed value
        row = clean.layout.row_index[second]
        ws.cell(row, check).value = '=""'  # a formula changed

    roster = read_roster(_edit(path, tmp_path / "t.xlsx", tamper), registry=registry, catalog=catalog)
    found = {(f.rule, f.cell) for f in roster.findings if f.rule in ("公式被删", "公式被改")}
    letter = clean.layout.check_letter
    assert found == {
        ("公式被删", standard),
        ("公式被改", f"{letter}{clean.layout.row_index[second]}"),
    }


def test_roster_table_is_byte_for_byte_what_the_form_writer_writes(registry, catalog, tmp_path, monkeypatch):
    """The roster's own table loop (one plan per column, straight to XlsxWriter) writes exactly the
    cells of the form writer's loop, which it stands in for: every part of the package but its dates."""
    from hbreport.households.roster import _roster_sheet_class
    from hbreport.xlsx.writer import FormSheet

    spec, values = crafted(registry, catalog, CASES[0])
    first, second = (h.household_id for h in spec.households[:2])
    values[first]["income_per_capita"] = "三千"  # text in number cells: said first and alone
    values[second] |= {"sick_members": "1", "students": "x"}
    fast = write(tmp_path / "fast", spec, values)
    monkeypatch.setattr(_roster_sheet_class(), "write_table", FormSheet.write_table)
    slow = write(tmp_path / "slow", spec, values)
    with zipfile.ZipFile(fast) as a, zipfile.ZipFile(slow) as b:
        assert a.namelist() == b.namelist()
        differ = [n for n in a.namelist() if not n.startswith("docProps/") and a.read(n) != b.read(n)]
    assert differ == []
    texts = read_roster(fast, registry=registry, catalog=catalog)
    assert any("填的是文字" in f.message or f.rule == "文本" for f in texts.findings)


def _sheet_part(path: Path, sheet_name: str) -> str:
    """The zip part holding the worksheet ``sheet_name`` (found by the workbook's own relationships)."""
    from hbreport.xlsx.sheet_formulas import _sheet_parts

    with zipfile.ZipFile(path) as z:
        return _sheet_parts(z)[sheet_name]


def _rewrite_part(path: Path, out: Path, part: str, edit) -> Path:
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            data = src.read(info.filename)
            dst.writestr(info, edit(data) if info.filename == part else data)
    return out


def test_row_formulas_are_written_once_per_column_as_shared_formulas(registry, catalog, tmp_path):
    """The 达到脱贫标准, 校验结果 and hidden severity formulas of the household rows are one shared formula
    per column (the first row holds it, as Excel stores a formula filled down): a township's sheet is
    small, every row still holds its own formula for Excel and openpyxl, and the reader still holds
    each row to it — an edited shared formula is a changed formula on every row that uses it."""
    import re

    from hbreport.checks.engine import check_formula, derived_formula

    hh = households(registry, TOWNSHIP, per_village=40, villages=3)
    spec = build_roster_spec(TOWNSHIP, PERIOD, hh, registry=registry, catalog=catalog)
    path = write(tmp_path, spec, clean_inputs(hh))
    sheet = spec.sheets[0]
    part = _sheet_part(path, sheet.sheet)
    with zipfile.ZipFile(path) as z:
        xml = z.read(part)
    masters = re.findall(rb'<f t="shared" ref="([A-Z]+)(\d+):([A-Z]+)(\d+)" si="(\d+)">', xml)
    roster = read_roster(path, registry=registry, catalog=catalog)
    layout = roster.layout
    first, last = layout.row_index[hh[0].household_id], layout.row_index[hh[-1].household_id]
    letters = {layout.col_letter("meets_exit_standard"), layout.check_letter}
    assert {(a.decode(), int(r1), int(r2)) for a, r1, _, r2, _ in masters} >= {
        (x, first, last) for x in letters
    }
    assert xml.count(b'<f t="shared" si="') == len(masters) * (len(hh) - 1)
    # a row holding its own 校验结果 formula would take more than the formula's length (about 3,800
    # characters); shared, a household's row (its ~30 cells) takes well under half of it
    assert len(xml) / len(hh) < len(check_formula(layout, first)) / 2
    ws = openpyxl.load_workbook(path)[sheet.sheet]
    middle = layout.row_index[hh[len(hh) // 2].household_id]
    assert ws.cell(middle, layout.check_col).value == "=" + check_formula(layout, middle)
    derived = sheet.derived_columns[0]
    assert ws.cell(last, layout.col_index[derived.key]).value == "=" + derived_formula(layout, derived, last)
    assert not [f for f in roster.findings if f.rule in ("公式被删", "公式被改")]

    check_si = next(si for a, *_, si in masters if a.decode() == layout.check_letter)
    own = f'<c r="{layout.check_letter}{middle}" s='.encode()

    def one_row_own_formula(data: bytes) -> bytes:  # one row's cell given its own formula
        start = data.index(own)
        shared = data.index(b'<f t="shared" si="' + check_si + b'"/>', start)
        return data[:shared] + b'<f>""</f>' + data[shared + len(b'<f t="shared" si="' + check_si + b'"/>') :]

    def master_edited(data: bytes) -> bytes:  # the shared formula itself edited
        return data.replace("证件号码未填；".encode(), "号码未填；".encode(), 1)

    found = {}
    for name, edit in (("one", one_row_own_formula), ("master", master_edited)):
        edited = read_roster(
            _rewrite_part(path, tmp_path / f"{name}.xlsx", part, edit), registry=registry, catalog=catalog
        )
        found[name] = sorted(f.cell for f in edited.findings if f.rule == "公式被改")
    assert found["one"] == [f"{layout.check_letter}{middle}"]
    assert found["master"] == sorted(f"{layout.check_letter}{r}" for r in range(first, last + 1))


def test_pointing_cells_read_by_arrays_are_what_each_translated_gives(registry, catalog, tmp_path):
    """A roster's thousands of cells pointing at a shared formula are read by arrays: each is the
    formula as written exactly where translating its master gives the expected formula, and otherwise
    that translation — on the roster as written and with cells pointing at another column's formula, at
    a formula edited, twice the same cell, or at a formula that is not there."""
    import re

    from hbreport.households.roster import _formulas_as_written
    from hbreport.xlsx.layout import TOTAL_ROW, SheetLayout
    from hbreport.xlsx.sheet_formulas import formula_cells

    hh = households(registry, TOWNSHIP, per_village=20, villages=3)
    spec = build_roster_spec(TOWNSHIP, PERIOD, hh, registry=registry, catalog=catalog)
    path = write(tmp_path, spec, clean_inputs(hh))
    sheet = spec.sheets[0]
    layout = SheetLayout(sheet)
    part = _sheet_part(path, sheet.sheet)
    with zipfile.ZipFile(path) as z:
        xml = z.read(part)
    sis = dict(re.findall(rb'<c r="([A-Z]+)\d+"[^>]*><f t="shared" ref="[^"]*" si="(\d+)">', xml))
    check, derived = layout.check_letter.encode(), layout.col_letter(sheet.derived_columns[0].key).encode()
    middle = layout.row_index[hh[len(hh) // 2].household_id]

    def pointing(letter: bytes, row: int) -> bytes:
        return re.search(rb'<c r="' + letter + str(row).encode() + rb'"[^>]*><f t="shared" si="\d+"/>', xml)[
            0
        ]

    cell = pointing(check, middle)
    edits = {
        "as written": lambda x: x,
        "another column's": lambda x: x.replace(
            cell, cell.replace(b'si="' + sis[check], b'si="' + sis[derived])
        ),
        "edited": lambda x: x.replace("证件号码未填；".encode(), "号码未填；".encode(), 1),
        "twice": lambda x: x.replace(cell, cell + b"<v></v></c>" + cell),
        "missing": lambda x: x.replace(cell, cell.replace(b'si="' + sis[check], b'si="99')),
    }
    area = (TOTAL_ROW, layout.last_data_row, 1, layout.check_col)
    for name, edit in edits.items():
        data = _rewrite_part(path, tmp_path / f"{name}.xlsx", part, edit).read_bytes()
        written = _formulas_as_written(layout)
        got = formula_cells(data, {sheet.sheet: area}, {sheet.sheet: written})
        each = formula_cells(data, {sheet.sheet: area})  # every cell's formula translated
        if name == "missing":
            assert got is None and each is None  # the caller reads the sheet with openpyxl then
            continue
        got, each = got[sheet.sheet], each[sheet.sheet]
        assert got.keys() == each.keys(), name
        for key, held in got.items():
            assert (written.text(key) if held is written.as_written else held) == each[key], (name, key)
        as_written = sum(held is written.as_written for held in got.values())
        assert as_written == {"as written": 2, "another column's": 2, "edited": 1, "twice": 2}[name] * (
            len(hh) - 1
        ) - (name == "another column's"), name


def test_reading_processes_give_what_one_process_gives(registry, catalog, tmp_path):
    """Six townships' rosters read by two processes (at most two files each in flight, results let go
    as they are stored) load the same rows and find the same problems as one process reading them."""
    townships = [t.code for t in registry.children("421122000000")][:6]
    folder = tmp_path / "in"
    everyone = []
    for i, township in enumerate(townships):
        hh = households(registry, township, per_village=2, villages=2, start=100 * i)
        if i == 4:  # one person registered in two townships
            hh[1] = replace(hh[1], id_number=everyone[0].id_number)
        everyone += hh
        values = clean_inputs(hh)
        values[hh[0].household_id]["income_per_capita"] = -5  # HR09 in every township
        write(folder, build_roster_spec(township, PERIOD, hh, registry=registry, catalog=catalog), values)
    found = {}
    for workers in (1, 2):
        store_path = tmp_path / f"store{workers}.sqlite"
        summary = consolidate_rosters(
            folder, "421122", PERIOD, store_path, registry=registry, catalog=catalog, workers=workers
        )
        with sqlite3.connect(store_path) as db:
            rows = db.execute(
                "SELECT township_code, household_id, row_number, problems, income_per_capita FROM households "
                "ORDER BY 1, 2"
            ).fetchall()
        findings = sorted((f.rule, Path(f.file).name, f.cell) for f in summary.findings if f.rule != "未报")
        found[workers] = (rows, findings, [(Path(f.file).name, f.status) for f in summary.files])
    assert found[1] == found[2]
    rows, findings, files = found[2]
    assert len(rows) == len(everyone) and len(files) == 6
    assert [rule for rule, *_ in findings].count("HR09") == 6
    assert [rule for rule, *_ in findings].count("跨乡镇重号") == 2


def test_a_household_of_a_village_outside_the_township_is_a_finding_naming_its_cell(
    registry, catalog, tmp_path
):
    """A village code the registry does not give the township (an export from another registry, a
    household moved between townships) is the 村代码 finding on that household's cell, not a crash."""
    hh = households(registry, TOWNSHIP)
    stranger = registry.children(OTHER_TOWNSHIP)[0]
    hh[1] = replace(hh[1], village_code=stranger.code, village_name=stranger.name)
    values = clean_inputs(hh)
    spec = build_roster_spec(TOWNSHIP, PERIOD, hh, registry=registry, catalog=catalog)
    roster = read_roster(write(tmp_path, spec, values), registry=registry, catalog=catalog)
    found = [f for f in roster.findings if f.rule == "村代码"]
    assert len(found) == 1, roster.findings
    assert stranger.code in found[0].message and registry.get(TOWNSHIP).name in found[0].message
    assert found[0].cell and found[0].sheet
