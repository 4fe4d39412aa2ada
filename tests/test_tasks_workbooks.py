"""Task workbooks: issued per parent unit with the same writer and identity as every form, adjusted,
loaded back into a task table; children that do not add up to the parent are refused, units named."""

from __future__ import annotations

from pathlib import Path

import openpyxl
import pytest

from hbreport.cli import run
from hbreport.errors import HBError
from hbreport.tasks import load_tasks
from hbreport.tasks.workbook import TASK_FORM, build_task_spec, load_task_workbooks
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


def _edit(src: Path, dst: Path, changes: dict[str, int]) -> Path:
    spec = build_task_spec(PREFECTURE, YEAR)
    sheet = spec.sheet(TASK_FORM)
    layout = SheetLayout(sheet)
    wb = openpyxl.load_workbook(src)
    ws = wb[sheet.sheet]
    for code, delta in changes.items():
        cell = ws[layout.cell(code, "year_task_people")]
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
