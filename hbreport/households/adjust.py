"""Dynamic adjustment (动态调整): the roster's exits, 返贫 and 新识别 must be the people form's counts.

How the counts flow: each household row of the roster carries 脱贫标志, 脱贫年度, 新识别 and 家庭人口.
The roster's 村汇总 sheet counts them per village with COUNTIFS/SUMIFS (:mod:`.summary`); those per
village counts are what the township enters on 鄂扶贫01表 (poverty_progress), village by village:

- 本年脱贫户数 exited_households = households 已脱贫(…) with 脱贫年度 = the period;
- 本年脱贫人口 exited_people = their 家庭人口;
- 返贫人口 returned_people = 家庭人口 of households marked 返贫;
- 新识别贫困人口 new_people = 家庭人口 of households marked 新识别 = 是.

From there the form's own formulas carry them on (累计脱贫人口, 年末剩余贫困人口 = 基数 + 新识别 + 返贫 −
累计脱贫) and consolidation adds villages up to the township, county, prefecture and province. The
村汇总's 未脱贫户数 goes to 鄂扶贫02表 and is checked by :mod:`.exits`.

:func:`reconcile` compares the two and names both cells wherever they disagree.
"""

from __future__ import annotations

from pathlib import Path

from hbreport.households.exits import same_township
from hbreport.households.summary import SUMMARY_COLUMNS, SUMMARY_SHEET, summary_cell
from hbreport.model.findings import Finding
from hbreport.xlsx.layout import SheetLayout

RULE_RECONCILE = "HA_RECONCILE"
PEOPLE_FORM = "poverty_progress"


def reconcile(roster_data, township_form_data) -> list[Finding]:
    """Findings (错误) where 鄂扶贫01表's village counts differ from the roster's 村汇总.

    ``roster_data`` is a RosterData, ``township_form_data`` the FormData of the same township and
    period (``hbreport.xlsx.reader.read_workbook(...).data``). A blank form cell counts as a difference
    unless the roster's count is 0."""
    roster, form = roster_data, township_form_data
    same_township(roster, form)
    sheet = form.spec.sheet(PEOPLE_FORM)
    layout = SheetLayout(sheet)
    form_file = Path(form.source).name if form.source else form.spec.file_name()
    roster_file = Path(roster.file_label).name
    summary = roster.summary
    columns = [c for c in SUMMARY_COLUMNS if c.form_field and c.form_field[0] == PEOPLE_FORM]
    findings: list[Finding] = []
    for village in sheet.rows:
        counts = summary.get(village.code)
        row = form.rows[PEOPLE_FORM].get(village.code, {})
        for col in columns:
            field = col.form_field[1]
            counted = counts[col.key] if counts is not None else 0
            reported = row.get(field)
            if reported is None and counted == 0:
                continue
            if isinstance(reported, int | float) and not isinstance(reported, bool) and reported == counted:
                continue
            form_cell = layout.cell(village.code, field)
            roster_cell = (
                f"{roster_file}「{SUMMARY_SHEET}」{summary_cell(roster.spec, village.code, col.key)}"
                if counts is not None
                else f"{roster_file}（该村在台账中没有户）"
            )
            shown = "未填" if reported is None else f"填 {reported}"
            label = sheet.column(field).field.label
            findings.append(
                Finding(
                    message=f"「{village.name}」{label}：{form_file}「{sheet.sheet}」{form_cell} {shown}{col.unit}，"
                    f"台账统计为 {counted}{col.unit}（{roster_cell}）",
                    importance="error",
                    rule=RULE_RECONCILE,
                    file=form.source or form_file,
                    unit_code=form.spec.unit_code,
                    unit_name=form.spec.unit_name,
                    sheet=sheet.sheet,
                    cell=form_cell,
                    hint="报表的脱贫、返贫、新识别人数应与台账一致：按台账“村汇总”改正报表，或改正台账中有关户的脱贫标志、脱贫年度、新识别",
                )
            )
    return findings
