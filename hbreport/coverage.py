"""Which form and column collects each catalog entry, or why none does (``hbreport catalog --coverage``).

The answer comes from the forms themselves: every form of every level is rendered on the sample
registry, and a column collects the entries its field names (``indicator:`` in fields.yaml). An entry
no column names gets its ``not_collected`` reason from the catalog, or one from the levels it applies to.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from hbreport.catalog import Catalog, Indicator

# the levels whose offices fill forms: an entry that applies there should be on a form
FORM_FILLING = ("county", "township")

PROVINCE_ONLY = "省（市州）一级的总量、基数或目标：由汇总或省直部门统计得出，县乡表式不收集"
HOUSEHOLD_ONLY = "户级标准：逐户适用，县乡汇总表不设此栏，建档立卡台账（鄂扶贫05表）也未设此栏"
VILLAGE_ONLY = "村级标准：逐村适用，县乡汇总表未设此栏"
GAP = "尚无表式收集"


@dataclass(frozen=True)
class Where:
    """A column of a form that collects an entry."""

    table_no: str
    form: str
    sheet: str
    number: int  # the column's number on the form (栏次)
    letter: str  # its Excel column letter
    field: str
    label: str
    levels: tuple[str, ...]

    def text(self) -> str:
        return f"{self.table_no}「{self.sheet}」第{self.number}栏（{self.letter}列）{self.label}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "table_no": self.table_no,
            "form": self.form,
            "sheet": self.sheet,
            "column": self.number,
            "letter": self.letter,
            "field": self.field,
            "label": self.label,
            "levels": list(self.levels),
        }


@dataclass
class Entry:
    """One catalog entry and where it is collected."""

    indicator: Indicator
    where: list[Where] = field(default_factory=list)

    @property
    def collected(self) -> bool:
        return bool(self.where)

    @property
    def counted(self) -> bool:
        """Whether the entry applies at a level that fills forms (the coverage figure's base)."""
        return bool(set(FORM_FILLING) & set(self.indicator.levels))

    @property
    def reason(self) -> str | None:
        if self.collected:
            return None
        if self.indicator.not_collected:
            return self.indicator.not_collected
        levels = set(self.indicator.levels)
        if levels <= {"province", "prefecture"}:
            return PROVINCE_ONLY
        if levels == {"household"}:
            return HOUSEHOLD_ONLY
        if levels <= {"village", "household"}:
            return VILLAGE_ONLY
        return GAP

    def to_dict(self) -> dict[str, Any]:
        i = self.indicator
        return {
            "code": i.code,
            "name": i.name,
            "section": i.section,
            "levels": list(i.levels),
            "collected": self.collected,
            "where": [w.to_dict() for w in self.where],
            "reason": self.reason,
        }


@dataclass
class Coverage:
    entries: list[Entry]

    @property
    def counted(self) -> list[Entry]:
        return [e for e in self.entries if e.counted]

    @property
    def share(self) -> float:
        """Of the entries that apply at county or township, the share some form collects."""
        base = self.counted
        return sum(e.collected for e in base) / len(base) if base else 1.0

    def summary(self) -> dict[str, Any]:
        base = self.counted
        return {
            "entries": len(self.entries),
            "collected": sum(e.collected for e in self.entries),
            "county_township_entries": len(base),
            "county_township_collected": sum(e.collected for e in base),
            "county_township_share": round(self.share, 4),
        }

    def to_dict(self) -> dict[str, Any]:
        return {"summary": self.summary(), "entries": [e.to_dict() for e in self.entries]}


def collection_points(catalog: Catalog, registry=None, period: int | None = None) -> dict[str, list[Where]]:
    """code → the form columns that collect it, found by rendering every level's forms (and the roster)."""
    from hbreport.households.spec import ROSTER_FORM, household_fields
    from hbreport.registry import load_registry
    from hbreport.spec import LEVEL_FORMS, RowUnit, build_workbook_spec, render_form
    from hbreport.xlsx.layout import SheetLayout

    registry = registry or load_registry()
    period = period or catalog.start
    # one Where per position: a column can sit elsewhere on a township's form than above it
    found: dict[tuple[str, str, str, int], tuple[Where, set[str]]] = {}

    def note(sheet, level: str) -> None:
        layout = SheetLayout(sheet)
        for col in sheet.columns:
            for code in col.field.indicators:
                key = (code, sheet.form, col.key, col.number)
                if key not in found:
                    where = Where(
                        sheet.table_no,
                        sheet.form,
                        sheet.sheet,
                        col.number,
                        layout.col_letter(col.key),
                        col.key,
                        col.field.label,
                        (),
                    )
                    found[key] = (where, set())
                found[key][1].add(level)

    for level in LEVEL_FORMS:
        units = registry.at_level(level)
        if not units:
            continue
        spec = build_workbook_spec(units[0].code, period, registry=registry, catalog=catalog)
        for sheet in spec.sheets:
            note(sheet, level)
    towns = registry.at_level("township")
    if towns:
        rows = [RowUnit("1", "样例户")]
        roster = render_form(
            ROSTER_FORM,
            unit=towns[0],
            level="township",
            period=period,
            rows=rows,
            poor_rows=rows,
            catalog=catalog,
            fields=household_fields(),
        )
        note(roster, "household")
    order = {lv: i for i, lv in enumerate(("province", "prefecture", "county", "township", "household"))}
    out: dict[str, list[Where]] = {}
    for (code, *_), (where, levels) in found.items():
        done = Where(**{**where.__dict__, "levels": tuple(sorted(levels, key=order.get))})
        out.setdefault(code, []).append(done)
    return out


def coverage(catalog: Catalog | None = None, registry=None) -> Coverage:
    """Every catalog entry with the columns that collect it (or none), in catalog order."""
    from hbreport.catalog import load_catalog
    from hbreport.errors import HBError

    catalog = catalog or load_catalog()
    points = collection_points(catalog, registry)
    unknown = sorted(set(points) - set(catalog.indicators))
    if unknown:
        where = points[unknown[0]][0]
        raise HBError(
            f"字段「{where.field}」（{where.table_no}）的 indicator 引用了指标目录中没有的代码「{unknown[0]}」",
            hint="在 templates/fields.yaml 中改正该代码，或先在 indicators.yaml 中加上这条指标",
        )
    return Coverage([Entry(i, points.get(i.code, [])) for i in catalog])
