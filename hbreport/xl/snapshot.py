"""A plain-data snapshot of what the HB_ worksheet functions need: every form variant for every year of
the plan (columns, derived formulas, rules, status columns), the plan's yearly schedules and the poverty
lines, all read from templates/ through the spec renderer and the catalog.

The classic add-in builds it live from the templates (:func:`build_snapshot`); the xlwings Lite bundle
(``macros/lite/main.py``) carries the same dictionary as a literal, written by :mod:`hbreport.xl.lite_build`.
Either way :class:`hbreport.xl.core.Forms` reads it, so both run the same code on the same data.
"""

from __future__ import annotations

import json
from typing import Any

from hbreport.xl.core import SNAPSHOT_FORMAT as SNAPSHOT_VERSION


def _variant(sheet) -> dict[str, Any]:
    """One rendered SheetSpec as plain data (the rows are left out: a function sees one row at a time).

    Columns and rules are lists in the order of core.COLUMN_FIELDS and core.RULE_FIELDS."""
    from hbreport.xlsx.writer import status_columns

    return {
        "form": sheet.form,
        "version": sheet.version,
        "sheet": sheet.sheet,
        "table_no": sheet.table_no,
        "columns": [
            [
                c.key,
                c.role,
                c.formula,
                c.field.header(),
                c.field.label,
                c.field.type,
                c.field.indicator,
                c.field.unit,
                c.field.min,
                c.field.max,
                list(c.field.choices),
            ]
            for c in sheet.columns
        ],
        "rules": [
            [r.id, r.expr, r.message, r.importance, r.missing, None if r.guard is None else list(r.guard)]
            for r in sheet.rules
        ],
        "status": [[status.key, rate.key, expected.key] for status, rate, expected in status_columns(sheet)],
    }


def build_snapshot(catalog=None, forms_dir=None) -> dict[str, Any]:
    """Render every form at every level for every year of the plan and collect the catalog data.

    Identical variants (the same form at several levels or years) are stored once; ``forms[form][year]``
    lists the indexes of the variants a workbook of that year may hold."""
    from hbreport.catalog import load_catalog
    from hbreport.errors import HBError
    from hbreport.spec import FORM_LEVELS, FORM_ORDER, LEVEL_FORMS, RowUnit, render_form
    from hbreport.xlsx.layout import FIRST_DATA_ROW, FIRST_FIELD_COL

    catalog = catalog or load_catalog()
    years = range(catalog.start, catalog.end + 1)
    stand_in = RowUnit("000000000000", "本单位")
    variants: list[dict[str, Any]] = []
    seen: dict[str, int] = {}
    forms: dict[str, dict[int, list[int]]] = {}
    for form in FORM_ORDER:
        for year in years:
            for level in FORM_LEVELS:
                if form not in LEVEL_FORMS[level]:
                    continue
                sheet = render_form(
                    form,
                    unit=stand_in,
                    level=level,
                    period=year,
                    rows=[],
                    poor_rows=[],
                    catalog=catalog,
                    forms_dir=forms_dir,
                )
                variant = _variant(sheet)
                key = json.dumps(variant, ensure_ascii=False, sort_keys=True)
                if key not in seen:
                    seen[key] = len(variants)
                    variants.append({**variant, "levels": []})
                index = seen[key]
                if level not in variants[index]["levels"]:
                    variants[index]["levels"].append(level)
                listed = forms.setdefault(form, {}).setdefault(year, [])
                if index not in listed:
                    listed.append(index)
    schedules = {
        i.code: {
            "name": i.name,
            "cumulative": {year: catalog.cumulative_share(i.code, year) for year in years},
        }
        for i in catalog
        if i.schedule is not None
    }
    poverty_line: dict[int, float] = {}
    for year in years:
        try:
            poverty_line[year] = catalog.poverty_line(year)
        except HBError:
            continue  # a year the office has not set: HB_EXIT_OK says so in the cell
    return {
        "version": SNAPSHOT_VERSION,
        "plan": {"title": catalog.title, "start": catalog.start, "end": catalog.end},
        "layout": {"first_data_row": FIRST_DATA_ROW, "first_field_col": FIRST_FIELD_COL},
        "variants": variants,
        "forms": forms,
        "schedules": schedules,
        "poverty_line": poverty_line,
    }
