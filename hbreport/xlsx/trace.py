"""From a failing rule to the cells a clerk typed: a rule names fields, some of them derived (locked
formulas); each derived field is followed through its formula to the input cells that feed it, so a
return copy colours what the clerk can change (本年脱贫人口), not only the locked 累计脱贫人口."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from openpyxl.utils.cell import coordinate_from_string

from hbreport.checks.rules import Expr
from hbreport.model.findings import Finding
from hbreport.spec import SheetSpec, WorkbookSpec
from hbreport.xlsx.layout import SheetLayout


def feeding_inputs(sheet: SheetSpec, keys: Iterable[str]) -> list[str]:
    """The input columns that ``keys`` are or are computed from, in column order (prefilled baselines,
    which the clerk cannot change, are left out)."""
    found: set[str] = set()
    seen: set[str] = set()
    todo = list(keys)
    while todo:
        key = todo.pop()
        if key in seen or key not in sheet.column_keys:
            continue
        seen.add(key)
        col = sheet.column(key)
        if col.role == "input":
            found.add(key)
        elif col.role == "derived" and col.formula:
            todo.extend(Expr.parse(col.formula).fields)
    return [k for k in sheet.column_keys if k in found]


def typed_cells(spec: WorkbookSpec, finding: Finding) -> list[str]:
    """The input cells of the finding's row that feed the rule it reports (empty when the finding is not
    a rule of a data row, or names an input cell only)."""
    sheet = next((s for s in spec.sheets if s.sheet == finding.sheet), None)
    if sheet is None or not finding.cell:
        return []
    rule = next((r for r in sheet.rules if r.id == finding.rule), None)
    if rule is None:
        return []
    layout = SheetLayout(sheet)
    try:
        _, row = coordinate_from_string(finding.cell.split(":")[0])
    except ValueError:
        return []
    code = next((c for c, r in layout.row_index.items() if r == row), None)
    if code is None:
        return []
    return [layout.cell(code, key) for key in feeding_inputs(sheet, rule.compiled().fields)]


def traced_cells(spec: WorkbookSpec, findings: Sequence[Finding]) -> dict[tuple[str, str], list[Finding]]:
    """(sheet, cell) → the findings whose rule that typed cell feeds, for the return copy."""
    out: dict[tuple[str, str], list[Finding]] = {}
    for f in findings:
        for cell in typed_cells(spec, f):
            out.setdefault((f.sheet or "", cell), []).append(f)
    return out
