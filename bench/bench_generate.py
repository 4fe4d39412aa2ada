"""Benchmark: the township forms of a whole county, with hbreport and with the raw writer libraries.

    python bench/bench_generate.py [--quick]

Times, for the township-level units of 红安县 (421122, from the real division tree in
../shared/data when it is there, else the sample's county with the most townships):

- ``generate``: :func:`hbreport.forms.generate_forms` end to end (spec rendering, baseline prefill,
  writing);
- ``ours``: :func:`hbreport.xlsx.writer.write_workbook` alone, specs built beforehand;
- ``raw_xlsxwriter``: the same cells (values, formulas with cached results, formats, merges,
  validations, conditional formats, protection, print setup) written with XlsxWriter calls alone,
  everything prepared beforehand: the limit for this job;
- ``raw_openpyxl``: the same prepared cells written with openpyxl (the library we did not choose).

Prints the ratio ours / raw (our overhead over the library) and openpyxl / XlsxWriter. A ratio, not
a pass/fail time: the machine changes, the ratio much less.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:  # run from a checkout without `pip install -e .`
    sys.path.insert(0, str(REPO_ROOT))

from hbreport.baseline import load_baseline  # noqa: E402
from hbreport.catalog import load_catalog  # noqa: E402
from hbreport.checks import engine  # noqa: E402
from hbreport.forms import generate_forms, prefill_values, units_to_generate  # noqa: E402
from hbreport.registry import load_registry  # noqa: E402
from hbreport.spec import WorkbookSpec, build_workbook_spec  # noqa: E402
from hbreport.xlsx.layout import CODE_ROW, HEADER_ROW, TITLE_ROW, TOTAL_ROW, SheetLayout  # noqa: E402
from hbreport.xlsx.writer import NUMBER_FORMATS, validation_options, write_workbook  # noqa: E402

PERIOD = 2017
COUNTY = "421122"  # 红安县
DIVISIONS = REPO_ROOT.parent / "shared" / "data" / "hubei-divisions-2016.csv"


# ---------------------------------------------------------------- the prepared job


@dataclass
class SheetPlan:
    """Everything one worksheet holds, prepared so that writing it is only library calls."""

    name: str
    widths: dict[int, float] = field(default_factory=dict)
    merges: list[tuple[int, int, int, int, str, str]] = field(default_factory=list)  # r1 c1 r2 c2 text style
    cells: list[tuple[int, int, str, Any, Any, str]] = field(
        default_factory=list
    )  # r c kind value cached style
    validations: list[tuple[int, int, int, dict]] = field(
        default_factory=list
    )  # first_row last_row col options
    conditional: list[tuple[str, str, str]] = field(default_factory=list)  # ranges, formula, importance
    print_area: str = ""
    hidden: bool = False


STYLES = {
    "title": {"bold": True, "font_size": 18, "align": "center"},
    "plain": {},
    "head": {"bold": True, "border": 1, "align": "center", "text_wrap": True, "bg_color": "#E7E6E6"},
    "label": {"border": 1},
    "check": {"border": 1, "font_size": 9, "font_color": "#C00000"},
    **{f"input:{t}": {"border": 1, "num_format": f, "locked": False} for t, f in NUMBER_FORMATS.items()},
    **{
        f"locked:{t}": {"border": 1, "num_format": f, "bg_color": "#F2F2F2"}
        for t, f in NUMBER_FORMATS.items()
    },
}


def plan_workbook(spec: WorkbookSpec, values: dict) -> list[SheetPlan]:
    """The cells our writer produces for ``spec``, computed up front (not timed)."""
    plans = []
    for sheet in spec.sheets:
        L = SheetLayout(sheet)
        p = SheetPlan(sheet.sheet, print_area=L.print_area)
        p.widths = {1: 14, 2: 14, **{L.col_index[c.key]: 10 for c in sheet.columns}, L.check_col: 44}
        p.merges.append((TITLE_ROW, 1, TITLE_ROW, L.last_col, sheet.title, "title"))
        for i, text in enumerate(
            (
                f"填报单位：{spec.unit_name}",
                f"报 告 期：{spec.period}年",
                f"计量单位：{sheet.measure_unit}",
                f"单位代码：{spec.unit_code}",
            )
        ):
            p.merges.append((2 + i, 1, 2 + i, 6, text, "plain"))
        for i, text in enumerate((sheet.table_no, sheet.authority, sheet.approval, sheet.valid_until)):
            p.merges.append((2 + i, L.last_col - 3, 2 + i, L.last_col, text, "plain"))
        p.cells += [
            (HEADER_ROW, 1, "s", "单位名称", None, "head"),
            (HEADER_ROW, 2, "s", "单位代码", None, "head"),
            (CODE_ROW, 1, "s", "甲", None, "head"),
            (CODE_ROW, 2, "s", "乙", None, "head"),
            (TOTAL_ROW, 1, "s", "合计", None, "label"),
            (HEADER_ROW, L.check_col, "s", "校验结果", None, "head"),
        ]
        given = {
            u.code: {
                c.key: values.get(sheet.form, {}).get(u.code, {}).get(c.key)
                for c in sheet.columns
                if c.role != "derived"
            }
            for u in sheet.rows
        }
        computed = {code: engine.compute_row(sheet, row) for code, row in given.items()}
        total = engine.total_row(sheet, list(given.values()))
        for col in sheet.columns:
            c = L.col_index[col.key]
            p.cells.append((HEADER_ROW, c, "s", col.field.header(), None, "head"))
            p.cells.append((CODE_ROW, c, "n", col.number, None, "head"))
            formula = (
                engine.derived_formula(L, col, TOTAL_ROW)
                if col.role == "derived"
                else engine.total_formula(L, col)
            )
            p.cells.append((TOTAL_ROW, c, "f", formula, total.get(col.key), f"locked:{col.field.type}"))
        for unit in sheet.rows:
            r = L.row_index[unit.code]
            p.cells.append((r, 1, "s", unit.name, None, "label"))
            p.cells.append((r, 2, "s", unit.code, None, "label"))
            for col in sheet.columns:
                c = L.col_index[col.key]
                if col.role == "derived":
                    p.cells.append(
                        (
                            r,
                            c,
                            "f",
                            engine.derived_formula(L, col, r),
                            computed[unit.code][col.key],
                            f"locked:{col.field.type}",
                        )
                    )
                else:
                    v = given[unit.code][col.key]
                    kind = "b" if v is None else "n" if isinstance(v, int | float) else "s"
                    style = "locked" if col.role == "prefill" and v is not None else "input"
                    p.cells.append((r, c, kind, v, None, f"{style}:{col.field.type}"))
            p.cells.append(
                (
                    r,
                    L.check_col,
                    "f",
                    engine.check_formula(L, r),
                    engine.check_text(sheet, computed[unit.code]),
                    "check",
                )
            )
        if sheet.rows:
            for col in sheet.columns:
                if col.role != "derived":
                    p.validations.append(
                        (
                            L.row_index[sheet.rows[0].code],
                            L.last_data_row,
                            L.col_index[col.key],
                            validation_options(col),
                        )
                    )

            def ref(key: str, L: SheetLayout = L) -> str:
                return f"${L.col_letter(key)}9"

            for rule in sheet.rules:
                ranges = " ".join(
                    L.data_range(k) for k in sorted(rule.compiled().fields, key=L.col_index.get)
                )
                p.conditional.append((ranges, f'({rule.excel_status(ref)})<>""', rule.importance))
        plans.append(p)
    meta = SheetPlan("_meta", hidden=True)
    meta.cells = [(i + 1, 1, "s", k, None, "plain") for i, k in enumerate(spec.meta())]
    meta.cells += [(i + 1, 2, "s", v, None, "plain") for i, v in enumerate(spec.meta().values())]
    plans.append(meta)
    return plans


# ---------------------------------------------------------------- the raw writers


def write_raw_xlsxwriter(plans: list[SheetPlan], path: Path) -> None:
    import xlsxwriter

    book = xlsxwriter.Workbook(
        str(path),
        {
            "in_memory": True,
            "strings_to_formulas": False,
            "strings_to_numbers": False,
            "strings_to_urls": False,
        },
    )
    fmt = {
        name: book.add_format({"font_name": "宋体", "font_size": 10, **props})
        for name, props in STYLES.items()
    }
    cf_fmt = {
        "error": book.add_format({"bg_color": "#FFC7CE"}),
        "warning": book.add_format({"bg_color": "#FFEB9C"}),
    }
    for p in plans:
        ws = book.add_worksheet(p.name)
        for c, w in p.widths.items():
            ws.set_column(c - 1, c - 1, w)
        for r1, c1, r2, c2, text, style in p.merges:
            ws.merge_range(r1 - 1, c1 - 1, r2 - 1, c2 - 1, text, fmt[style])
        for r, c, kind, value, cached, style in p.cells:
            if kind == "f":
                ws.write_formula(r - 1, c - 1, "=" + value, fmt[style], "" if cached is None else cached)
            elif kind == "n":
                ws.write_number(r - 1, c - 1, value, fmt[style])
            elif kind == "s":
                ws.write_string(r - 1, c - 1, value, fmt[style])
            else:
                ws.write_blank(r - 1, c - 1, None, fmt[style])
        for first, last, c, options in p.validations:
            ws.data_validation(first - 1, c - 1, last - 1, c - 1, options)
        for ranges, formula, importance in p.conditional:
            ws.conditional_format(
                ranges.split()[0].split(":")[0],
                {
                    "type": "formula",
                    "criteria": "=" + formula,
                    "format": cf_fmt[importance],
                    "multi_range": ranges,
                },
            )
        if p.hidden:
            ws.very_hidden()
        else:
            ws.freeze_panes(7, 2)
            ws.set_landscape()
            ws.set_paper(9)
            ws.repeat_rows(0, 6)
            ws.fit_to_pages(1, 0)
            ws.print_area(p.print_area)
        ws.protect("", {"format_columns": True, "format_rows": True})
    book.close()


def write_raw_openpyxl(plans: list[SheetPlan], path: Path) -> None:
    from openpyxl import Workbook
    from openpyxl.formatting.rule import FormulaRule
    from openpyxl.styles import Alignment, Border, Font, PatternFill, Protection, Side
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.datavalidation import DataValidation

    thin = Side(style="thin")
    box = Border(left=thin, right=thin, top=thin, bottom=thin)

    def style(props: dict) -> dict:
        out = {
            "font": Font(
                name="宋体",
                size=props.get("font_size", 10),
                bold=props.get("bold", False),
                color=(props.get("font_color") or "#000000").lstrip("#"),
            )
        }
        if props.get("border"):
            out["border"] = box
        if props.get("bg_color"):
            colour = props["bg_color"].lstrip("#")
            out["fill"] = PatternFill("solid", fgColor=colour, bgColor=colour)
        out["alignment"] = Alignment(horizontal=props.get("align"), wrap_text=props.get("text_wrap"))
        out["number_format"] = props.get("num_format", "General")
        out["protection"] = Protection(locked=props.get("locked", True))
        return out

    styles = {name: style(props) for name, props in STYLES.items()}
    cf_fill = {imp: PatternFill(bgColor=c) for imp, c in (("error", "FFC7CE"), ("warning", "FFEB9C"))}
    book = Workbook()
    book.remove(book.active)
    for p in plans:
        ws = book.create_sheet(p.name)
        for c, w in p.widths.items():
            ws.column_dimensions[get_column_letter(c)].width = w
        for r1, c1, r2, c2, text, name in p.merges:
            cell = ws.cell(r1, c1, text)
            for attr, value in styles[name].items():
                setattr(cell, attr, value)
            ws.merge_cells(start_row=r1, start_column=c1, end_row=r2, end_column=c2)
        for r, c, kind, value, _cached, name in p.cells:
            cell = ws.cell(r, c)
            if kind == "f":
                cell.value = "=" + value
            elif kind in ("n", "s"):
                cell.value = value
                if kind == "s":
                    cell.data_type = "s"
            for attr, v in styles[name].items():
                setattr(cell, attr, v)
        for first, last, c, options in p.validations:
            letter = get_column_letter(c)
            kind = {"integer": "whole"}.get(options["validate"], options["validate"])
            if kind == "list":
                dv = DataValidation(type="list", formula1='"' + ",".join(options["source"]) + '"')
            elif kind == "length":
                dv = DataValidation(
                    type="textLength", operator="lessThanOrEqual", formula1=str(options["value"])
                )
            else:
                dv = DataValidation(
                    type=kind,
                    operator="between",
                    formula1=str(options["minimum"]),
                    formula2=str(options["maximum"]),
                )
            dv.error, dv.errorTitle, dv.prompt = (
                options["error_message"],
                options["error_title"],
                options["input_message"],
            )
            dv.add(f"{letter}{first}:{letter}{last}")
            ws.add_data_validation(dv)
        for ranges, formula, importance in p.conditional:
            ws.conditional_formatting.add(ranges, FormulaRule(formula=[formula], fill=cf_fill[importance]))
        if p.hidden:
            ws.sheet_state = "veryHidden"
        else:
            ws.freeze_panes = "C8"
            ws.page_setup.orientation = "landscape"
            ws.page_setup.paperSize = 9
            ws.print_title_rows = "1:7"
            ws.sheet_properties.pageSetUpPr.fitToPage = True
            ws.page_setup.fitToHeight = 0
            ws.print_area = p.print_area
        ws.protection.sheet = True
        ws.protection.formatColumns = False
        ws.protection.formatRows = False
    book.save(path)


# ---------------------------------------------------------------- timing


def _best(fn: Callable[[], Any], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def _county(quick: bool):
    """(registry, county code, where the registry came from)."""
    if DIVISIONS.is_file():
        return load_registry(DIVISIONS), COUNTY, "real division tree (hubei-divisions-2016.csv)"
    registry = load_registry()
    largest = max(registry.at_level("county"), key=lambda u: len(registry.children(u.code)))
    return registry, largest.code, "embedded sample (county with the most townships)"


def run(quick: bool = False) -> dict:
    """Time the four ways of writing the county's township forms; return seconds and ratios."""
    registry, county, source = _county(quick)
    catalog, baseline = load_catalog(), load_baseline()
    units = units_to_generate(registry, "township", county)
    if quick:
        units = units[:3]
    repeats = 1 if quick else 5
    specs = [
        build_workbook_spec(u.code, PERIOD, registry=registry, catalog=catalog, baseline=baseline)
        for u in units
    ]
    values = [prefill_values(s, registry, baseline) for s in specs]
    plans = [plan_workbook(s, v) for s, v in zip(specs, values, strict=True)]
    cells = sum(len(p.cells) + len(p.merges) for plan in plans for p in plan)

    with tempfile.TemporaryDirectory(prefix="hb-bench-") as tmp:
        out = Path(tmp)
        for name in ("gen", "ours", "xw", "opx"):
            (out / name).mkdir()
        under = units[0].code if quick and len(units) == 1 else county

        def generate() -> None:
            if quick:
                for u in units:
                    generate_forms(
                        "township",
                        PERIOD,
                        under=u.code,
                        out_dir=out / "gen",
                        registry=registry,
                        catalog=catalog,
                        baseline=baseline,
                    )
            else:
                generate_forms(
                    "township",
                    PERIOD,
                    under=under,
                    out_dir=out / "gen",
                    registry=registry,
                    catalog=catalog,
                    baseline=baseline,
                )

        seconds = {
            "generate": _best(generate, repeats),
            "ours": _best(
                lambda: [
                    write_workbook(s, out / "ours" / s.file_name(), values=v)
                    for s, v in zip(specs, values, strict=True)
                ],
                repeats,
            ),
            "raw_xlsxwriter": _best(
                lambda: [
                    write_raw_xlsxwriter(p, out / "xw" / s.file_name())
                    for s, p in zip(specs, plans, strict=True)
                ],
                repeats,
            ),
            "raw_openpyxl": _best(
                lambda: [
                    write_raw_openpyxl(p, out / "opx" / s.file_name())
                    for s, p in zip(specs, plans, strict=True)
                ],
                repeats,
            ),
        }
        sizes = {
            name: sum(f.stat().st_size for f in (out / name).iterdir()) for name in ("ours", "xw", "opx")
        }
    n = len(units)
    return {
        "county": f"{registry.get(county).name} ({county})",
        "registry": source,
        "workbooks": n,
        "cells_per_workbook": round(cells / n),
        "repeats": repeats,
        "seconds": {k: round(v, 4) for k, v in seconds.items()},
        "ms_per_workbook": {k: round(v / n * 1000, 1) for k, v in seconds.items()},
        "bytes_per_workbook": {k: round(v / n) for k, v in sizes.items()},
        "ratio_ours_raw": round(seconds["ours"] / seconds["raw_xlsxwriter"], 2),
        "ratio_generate_raw": round(seconds["generate"] / seconds["raw_xlsxwriter"], 2),
        "ratio_openpyxl_xlsxwriter": round(seconds["raw_openpyxl"] / seconds["raw_xlsxwriter"], 2),
    }


if __name__ == "__main__":
    result = run(quick="--quick" in sys.argv[1:])
    print(json.dumps(result, ensure_ascii=False, indent=2))
    print(
        f"\n{result['county']}: {result['workbooks']} workbooks, "
        f"ours/raw XlsxWriter = {result['ratio_ours_raw']}x, "
        f"generate/raw = {result['ratio_generate_raw']}x, "
        f"openpyxl/XlsxWriter = {result['ratio_openpyxl_xlsxwriter']}x"
    )
