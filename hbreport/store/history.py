"""A unit's history in the store: every version received for a period, and what changed between two.

``history(store, unit, period)`` lists the versions (when, from which file, with what status) and,
between any two of them (default: the last two), every cell whose value changed, old → new, named
as a clerk finds it: sheet, cell, row unit and column heading.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from hbreport.errors import HBError
from hbreport.store.forms import STATUS_ZH, FormStore


@dataclass(frozen=True)
class Change:
    """One cell whose value differs between two versions (None: blank)."""

    form: str
    sheet: str
    cell: str | None
    row: str
    row_name: str
    field: str
    label: str
    old: Any
    new: Any


@dataclass
class History:
    unit_code: str
    unit_name: str
    period: int
    versions: list[dict[str, Any]]
    compared: tuple[int, int] | None = None
    changes: list[Change] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "unit": {"code": self.unit_code, "name": self.unit_name},
            "period": self.period,
            "versions": [
                {k: v for k, v in row.items() if k not in ("id", "unit_code", "unit_name", "period")}
                for row in self.versions
            ],
            "compared": list(self.compared) if self.compared else None,
            "changes": [asdict(c) for c in self.changes],
        }

    def render(self) -> str:
        lines = [
            f"{self.unit_name}（{self.unit_code}）{self.period}年收到的报表：{len(self.versions)} 个版本"
        ]
        for v in self.versions:
            mark = "（当前采用）" if v["current"] else ""
            lines.append(
                f"  第{v['version']}版  {v['received_at']}  {v['file']}  {STATUS_ZH.get(v['status'], v['status'])}"
                f"  错误 {v['errors']} 个，警告 {v['warnings']} 个  SHA-256 {v['sha256'][:12]}…{mark}"
            )
        if not self.versions:
            lines[0] = (
                f"{self.unit_name}（{self.unit_code}）{self.period}年收到的报表：数据库中没有（未在此汇总过）"
            )
            return "\n".join(lines)
        if self.compared is None:
            lines.append("只有一个版本，没有可比较的修改。")
            return "\n".join(lines)
        old, new = self.compared
        if not self.changes:
            lines.append(f"第{old}版 → 第{new}版：数据没有变化。")
            return "\n".join(lines)
        lines.append(f"第{old}版 → 第{new}版：修改了 {len(self.changes)} 个单元格：")
        for c in self.changes:
            where = f"「{c.sheet}」{c.cell or ''}"
            lines.append(f"  {where} {c.row_name}·{c.label}：{_shown(c.old)} → {_shown(c.new)}")
        return "\n".join(lines)


def _shown(value: Any) -> str:
    if value is None:
        return "（空）"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def history(
    store: str | Path,
    unit: str,
    period: int,
    *,
    old: int | None = None,
    new: int | None = None,
    registry=None,
    catalog=None,
    baseline=None,
    missing_ok: bool = False,
) -> History:
    """The versions of ``unit``'s workbook for ``period`` in ``store``, and the cells changed between
    versions ``old`` and ``new`` (default: the last two). ``missing_ok``: no version is an empty
    History (a store ``approve`` made holds approvals only), not an HBError."""
    from hbreport.context import Context

    registry, catalog, baseline = Context.of(registry, catalog, baseline).parts
    found = registry.get(unit)
    with FormStore(store, write=False) as db:
        kept = db.db.execute("SELECT 1 FROM sqlite_master WHERE name = 'submissions'").fetchone()
        versions = db.versions(found.code, period) if kept else []
        if not versions and missing_ok:
            return History(found.code, found.name, period, [])
        if not versions:
            raise HBError(
                f"数据库中没有「{found.name}」{period}年的报表",
                file=store,
                hint="检查单位代码和报告期；报表在汇总（hbreport consolidate --store）时入库",
            )
        out = History(found.code, found.name, period, versions)
        numbers = [v["version"] for v in versions]
        if old is None and new is None and len(versions) < 2:
            return out
        new = new if new is not None else numbers[-1]
        old = old if old is not None else max((n for n in numbers if n < new), default=None)
        for n in (old, new):
            if n not in numbers:
                raise HBError(
                    f"「{found.name}」{period}年没有第{n}版",
                    hint=f"已有的版本：{'、'.join(str(x) for x in numbers)}",
                )
        by_number = {v["version"]: v for v in versions}
        before = db.submission_values(by_number[old]["id"])
        after = db.submission_values(by_number[new]["id"])
    out.compared = (old, new)
    out.changes = _changes(before, after, found.code, period, registry, catalog, baseline)
    return out


def _changes(before, after, unit, period, registry, catalog, baseline) -> list[Change]:
    from hbreport.spec import build_workbook_spec
    from hbreport.xlsx.layout import SheetLayout

    try:
        spec = build_workbook_spec(unit, period, registry=registry, catalog=catalog, baseline=baseline)
        sheets = {s.form: s for s in spec.sheets}
    except HBError:
        sheets = {}
    order = {}
    for s in sheets.values():
        for i, r in enumerate(s.rows):
            for j, c in enumerate(s.columns):
                order[(s.form, r.code, c.key)] = (list(sheets).index(s.form), i, j)
    changed = [k for k in before.keys() | after.keys() if not _same(before.get(k), after.get(k))]
    changed.sort(key=lambda k: order.get(k, (len(sheets), 0, 0)) + k)
    out = []
    for form, row, key in changed:
        sheet = sheets.get(form)
        if sheet is not None:
            names = {r.code: r.name for r in sheet.rows}
            try:
                label, cell = sheet.column(key).field.label, SheetLayout(sheet).cell(row, key)
            except KeyError:
                label, cell = key, None
            out.append(
                Change(
                    form,
                    sheet.sheet,
                    cell,
                    row,
                    names.get(row, row),
                    key,
                    label,
                    before.get((form, row, key)),
                    after.get((form, row, key)),
                )
            )
        else:
            out.append(
                Change(
                    form,
                    form,
                    None,
                    row,
                    row,
                    key,
                    key,
                    before.get((form, row, key)),
                    after.get((form, row, key)),
                )
            )
    return out


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, int | float) and isinstance(b, int | float) and not isinstance(a, bool):
        return float(a) == float(b)
    return a == b
