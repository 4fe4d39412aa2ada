"""Task workbooks: issued per parent unit with the same writer and identity as every form, adjusted,
loaded back into a task table; children that do not add up to the parent are refused, units named."""

from __future__ import annotations

from pathlib import Path

import openpyxl
import pytest

from hbreport.cli import run
from hbreport.errors import HBError
from hbreport.tasks import load_tasks
from hbreport.tasks.workbook import SCHEDULE_FORM, TASK_FORM, build_task_spec, load_task_workbooks
from hbreport.xlsx.layout import SheetLayout
from hbreport.xlsx.reader import read_workbook

YEAR = 2018
PREFECTURE = "421100"  # 黄冈市
A, B = "421181000000", "421182000000"  # 麻城市, 武穴市
PEOPLE = "SCHED_PEOPLE_EXIT"


@pytest.fixture(scope="module")
def issued(tmp_path_factory):
    out = tmp_path_factory.mktemp("issued")
    assert (
        run(
            [
                "tasks",
                "forms",
                "--level",
                "prefecture",
                "--under",
                PREFECTURE,
                "--period",
                str(YEAR),
                "--out",
                str(out),
            ]
        )
        == 0
    )
    (path,) = out.glob("*.xlsx")
    return path


def _edit(
    src: Path, dst: Path, changes: dict[str, int], column: str = "year_task_people", form: str = TASK_FORM
) -> Path:
    spec = build_task_spec(PREFECTURE, YEAR)
    sheet = spec.sheet(form)
    layout = SheetLayout(sheet)
    wb = openpyxl.load_workbook(src)
    ws = wb[sheet.sheet]
    for code, delta in changes.items():
        cell = ws[layout.cell(code, column)]
        cell.value = cell.value + delta
    dst.parent.mkdir(parents=True, exist_ok=True)
    wb.save(dst)
    return dst


def test_a_task_workbook_lists_the_children_with_their_tasks_and_the_parents(issued, tmp_path):
    from hbreport.baseline import load_baseline
    from hbreport.registry import load_registry

    registry, baseline = load_registry(), load_baseline()
    tasks = baseline.tasks(registry)
    spec = build_task_spec(PREFECTURE, YEAR)
    sheet = spec.sheet(TASK_FORM)
    layout = SheetLayout(sheet)
    ws = openpyxl.load_workbook(issued)[sheet.sheet]
    for child in registry.children(PREFECTURE):
        assert ws[layout.cell(child.code, "year_task_people")].value == tasks.series(child.code, PEOPLE)[YEAR]
        assert ws[layout.cell(child.code, "base_people")].protection.locked
        assert not ws[layout.cell(child.code, "year_task_people")].protection.locked
    own = int(tasks.series("421100000000", PEOPLE)[YEAR])
    notes = [str(c.value) for row in ws.iter_rows() for c in row if c.value and "上级下达" in str(c.value)]
    assert any(f"{YEAR}年" in n and str(own) in n for n in notes)
    # a task workbook is not a report form: the form reader refuses it
    with pytest.raises(HBError, match="不是 hbreport 生成的报表"):
        read_workbook(issued)


def test_adjusted_tasks_load_back_into_a_balanced_table(issued, tmp_path):
    back = _edit(issued, tmp_path / "back" / issued.name, {A: -100, B: 100})
    out = tmp_path / "tasks_2018.csv"
    assert run(["tasks", "load", str(back.parent), "--out", str(out)]) == 0
    assert run(["tasks", "check", str(out)]) == 0
    before, after = (
        load_tasks(Path(__file__).parent.parent / "samples" / "hubei" / "tasks.csv"),
        load_tasks(out),
    )
    assert after.series(A, PEOPLE)[YEAR] == before.series(A, PEOPLE)[YEAR] - 100
    assert after.series(B, PEOPLE)[YEAR] == before.series(B, PEOPLE)[YEAR] + 100
    assert after.series(A, PEOPLE)[YEAR - 1] == before.series(A, PEOPLE)[YEAR - 1]


def test_tasks_that_do_not_add_up_are_refused_naming_the_units(issued, tmp_path):
    back = _edit(issued, tmp_path / "back" / issued.name, {A: -100})
    with pytest.raises(HBError) as caught:
        load_task_workbooks([back])
    message = str(caught.value)
    assert f"黄冈市（421100）{YEAR}年「贫困人口年度脱贫进度（占2016年初贫困人口）」任务" in message
    assert "麻城市" in message and "相差 -100" in message
    out = tmp_path / "never.csv"
    assert run(["tasks", "load", str(back), "--out", str(out)]) == 2
    assert not out.exists()


SAMPLE_TASKS = Path(__file__).parent.parent / "samples" / "hubei" / "tasks.csv"
EXIT = "SCHED_COUNTY_EXIT"
LUOTIAN, QICHUN = "421123000000", "421126000000"  # 罗田县 (摘帽 2018), 蕲春县 (2019)


def test_the_schedule_sheet_carries_each_countys_exit_year_and_its_key_project_tasks(issued):
    """摘帽与重点工程任务: per child county a 1 in its planned 摘帽 year (counties.csv exit_year), 0 else; the
    key-project tasks as in tasks.csv; the notes give the prefecture's own, which the 合计 must equal."""
    from hbreport.baseline import load_baseline
    from hbreport.catalog import load_catalog
    from hbreport.registry import load_registry
    from hbreport.tasks.units import project_indicators, project_total

    registry, baseline, catalog = load_registry(), load_baseline(), load_catalog()
    table = load_tasks(SAMPLE_TASKS)
    sheet = build_task_spec(PREFECTURE, YEAR).sheet(SCHEDULE_FORM)
    layout = SheetLayout(sheet)
    ws = openpyxl.load_workbook(issued)[sheet.sheet]
    years = sorted(catalog[EXIT].schedule)
    projects = {f"task_{project_total(catalog, c)[2]}": c for c in project_indicators(catalog)}
    assert len(projects) == 5
    poor = 0
    for child in registry.children(PREFECTURE):
        exits = {y: ws[layout.cell(child.code, f"exit_task_{y}")].value for y in years}
        county = baseline.county(child.code)
        if county.exit_year:
            poor += 1
            assert exits == {y: int(y == county.exit_year) for y in years}, child.name
        else:
            assert set(exits.values()) == {0}, child.name
        assert not ws[layout.cell(child.code, f"exit_task_{years[0]}")].protection.locked
        for key, code in projects.items():
            assert ws[layout.cell(child.code, key)].value == sum(table.series(child.code, code).values())
    assert poor == 6  # 团风、红安、罗田、英山、蕲春、麻城, as in counties.csv
    own = table.series("421100000000", EXIT)
    notes = [str(c.value) for row in ws.iter_rows() for c in row if c.value and "上级下达" in str(c.value)]
    assert any("、".join(f"{y}年{int(own.get(y, 0))}个" for y in years) in n for n in notes), notes
    reloc = int(table.series("421100000000", "RELOC_HOUSEHOLDS")[2019])
    assert any(f"易地搬迁户数任务{reloc}户（到2019年）" in n for n in notes), notes


def test_task_workbooks_loaded_back_unchanged_give_the_same_tasks_csv(tmp_path):
    """Round trip: the province's and every prefecture's task workbook, loaded back as issued, give back
    tasks.csv byte for byte — people, villages, the 摘帽 schedule and the key projects."""
    out = tmp_path / "issued"
    for level in ("province", "prefecture"):
        assert run(["tasks", "forms", "--level", level, "--period", str(YEAR), "--out", str(out)]) == 0
    assert len(list(out.glob("*.xlsx"))) == 14
    back = tmp_path / "tasks.csv"
    assert run(["tasks", "load", str(out), "--out", str(back)]) == 0
    assert back.read_bytes() == SAMPLE_TASKS.read_bytes()


def test_a_moved_exit_year_loads_when_balanced_and_is_refused_naming_the_units_when_not(issued, tmp_path):
    one = _edit(issued, tmp_path / "one" / issued.name, {LUOTIAN: -1}, "exit_task_2018", SCHEDULE_FORM)
    one = _edit(one, one, {LUOTIAN: +1}, "exit_task_2019", SCHEDULE_FORM)
    with pytest.raises(HBError) as caught:
        load_task_workbooks([one])
    message = str(caught.value)
    assert "黄冈市（421100）2018年「" in message and "下级合计 2" in message and "相差 -1" in message
    assert "黄冈市（421100）2019年「" in message and "罗田县 1" in message and "相差 1" in message
    swapped = _edit(one, tmp_path / "two" / issued.name, {QICHUN: +1}, "exit_task_2018", SCHEDULE_FORM)
    swapped = _edit(swapped, swapped, {QICHUN: -1}, "exit_task_2019", SCHEDULE_FORM)
    table = load_task_workbooks([swapped])
    assert table.series(LUOTIAN, EXIT)[2019] == 1 and table.series(LUOTIAN, EXIT)[2018] == 0
    assert table.series(QICHUN, EXIT)[2018] == 1 and table.series(QICHUN, EXIT)[2019] == 0
    twice = _edit(issued, tmp_path / "twice" / issued.name, {LUOTIAN: +1}, "exit_task_2019", SCHEDULE_FORM)
    with pytest.raises(HBError, match="罗田县（421123）的摘帽任务填在 2018年、2019年：一个县只能在一年摘帽"):
        load_task_workbooks([twice])


def test_key_project_tasks_load_back_and_must_add_up(issued, tmp_path):
    key = "task_reloc_households"
    moved = _edit(issued, tmp_path / "moved" / issued.name, {A: -100, B: 100}, key, SCHEDULE_FORM)
    before = load_tasks(SAMPLE_TASKS)
    table = load_task_workbooks([moved])
    assert table.series(A, "RELOC_HOUSEHOLDS") == {2019: before.series(A, "RELOC_HOUSEHOLDS")[2019] - 100}
    assert table.series(B, "RELOC_HOUSEHOLDS") == {2019: before.series(B, "RELOC_HOUSEHOLDS")[2019] + 100}
    short = _edit(issued, tmp_path / "short" / issued.name, {A: -100}, key, SCHEDULE_FORM)
    with pytest.raises(HBError) as caught:
        load_task_workbooks([short])
    message = str(caught.value)
    assert "黄冈市（421100）2019年「易地扶贫搬迁户数（四(二)）」任务" in message
    assert "麻城市" in message and "相差 -100" in message
