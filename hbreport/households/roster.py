"""Write a township's roster workbook and read it back.

The roster sheet is written by the project's form writer (``hbreport.xlsx.writer``: the same heading,
validation, rule colouring, protection and 校验结果 column as every form), next to a 村汇总 sheet of
COUNTIFS/SUMIFS formulas and a ``_meta`` sheet carrying the roster's own identity: family
``hbreport.roster``, the export's sha256, the household ids (in cells of at most
``IDS_PER_META_CELL`` ids) and digests of the ids and of the prefilled values.

Reading never trusts what the workbook shows: the identity is checked against the spec rebuilt from
it (and against the export when given), only input and prefilled cells are read, derived values and
checks are recomputed in Python with the same engine.
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache, cached_property
from pathlib import Path
from typing import Any

import xlsxwriter.worksheet
from openpyxl.utils import get_column_letter

from hbreport.checks import quote
from hbreport.checks.households import PREFILL_DIGEST, VILLAGE
from hbreport.coerce import cell_text
from hbreport.errors import HBError
from hbreport.households.columns import InputColumns, column_of, form_data
from hbreport.households.readback import RosterSheetReader
from hbreport.households.spec import (
    ROSTER_FAMILY,
    ROSTER_FORM,
    Household,
    RosterSpec,
    build_roster_spec,
    ids_digest,
    prefill_columns,
    prefill_digest,
    registry_and_catalog,
)
from hbreport.households.summary import (
    CODE_COL,
    FIRST_COL,
    FIRST_ROW,
    HEADER_ROW,
    INFO_ROW,
    SUMMARY_COLUMNS,
    SUMMARY_SHEET,
    TITLE_ROW,
    TOTAL_ROW,
    summary_formula,
    summary_total,
    village_summary,
)
from hbreport.model.findings import Finding, Findings
from hbreport.model.values import FormData, OfWorkbook
from hbreport.spec import FORM_FAMILY, TOTAL
from hbreport.xlsx import safety
from hbreport.xlsx.atomic import atomic_output, check_target
from hbreport.xlsx.cells import at, calamine_sheet, open_calamine, open_openpyxl
from hbreport.xlsx.layout import FIRST_DATA_ROW, NAME_COL, SheetLayout
from hbreport.xlsx.layout import TOTAL_ROW as FORM_TOTAL_ROW
from hbreport.xlsx.sheet_formulas import RowFormulas

HouseholdValues = Mapping[str, Mapping[str, Any]]
"""{household id: {field: value}}: what the input cells hold."""


# ---------------------------------------------------------------- the data of one roster


@dataclass
class RosterData(OfWorkbook, Findings):
    """A roster's households as values (derived recomputed), what is wrong in it, and its identity."""

    spec: RosterSpec
    data: FormData
    findings: list[Finding] = field(default_factory=list)
    sha256: str = ""
    path: Path | None = None
    meta: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_values(cls, spec: RosterSpec, values: HouseholdValues | None = None, **kw) -> RosterData:
        """In-memory roster: prefill from the spec's households, inputs from ``values``."""
        return cls(
            spec=spec, data=FormData.from_inputs(spec, {ROSTER_FORM: merged_values(spec, values)}), **kw
        )

    @property
    def rows(self) -> dict[str, dict[str, Any]]:
        """{household id: every column of its row}."""
        return self.data.rows[ROSTER_FORM]

    @cached_property
    def layout(self) -> SheetLayout:
        return SheetLayout(self.spec.sheets[0])

    @cached_property
    def summary(self) -> dict[str, dict[str, int]]:
        """The 村汇总 counts per village code (what the formulas show)."""
        return village_summary(self.spec, self.rows)

    def cell(self, household_id: str, key: str) -> str:
        return self.layout.cell(household_id, key)

    @property
    def file_label(self) -> str:
        return str(self.path) if self.path else self.spec.file_name()


def merged_values(spec: RosterSpec, values: HouseholdValues | None) -> dict[str, dict[str, Any]]:
    """Prefilled values from the spec's households plus the given inputs, checked against the spec."""
    values = values or {}
    sheet = spec.sheets[0]
    known = {h.household_id: h for h in spec.households}
    inputs = {c.key for c in sheet.columns if c.role == "input"}
    unknown = set(values) - set(known)
    if unknown:
        raise HBError(
            f"要写入的数据中有台账没有的户编号：{'、'.join(sorted(unknown)[:5])}", hint="检查户编号"
        )
    out: dict[str, dict[str, Any]] = {}
    for hid, household in known.items():
        row = dict(household.prefill())
        given = values.get(hid, {})
        extra = set(given) - inputs
        if extra:
            raise HBError(
                f"户 {hid} 的数据中有不能填写的栏目：{'、'.join(sorted(extra))}",
                hint="预填栏目来自建档立卡导出文件，派生栏目由公式计算",
            )
        row.update(given)
        out[hid] = row
    return out


# ---------------------------------------------------------------- writing


def write_roster(
    spec: RosterSpec,
    path: str | Path,
    *,
    values: HouseholdValues | None = None,
    force: bool = False,
    inputs: Iterable[str | Path] = (),
) -> Path:
    """Write the roster workbook for ``spec`` (inputs from ``values``) atomically; return the path.
    ``force``, ``inputs``: see :func:`..atomic.atomic_output`."""
    path = Path(path)
    check_target(path, suffix=".xlsx", force=force, inputs=inputs)
    rows = merged_values(spec, values)
    with atomic_output(path, force=force, inputs=inputs, suffix=".xlsx") as tmp:
        _write(spec, rows, tmp)
    return path


def _write(spec: RosterSpec, rows: dict[str, dict[str, Any]], target: Path) -> None:
    from hbreport.xlsx.writer import (
        INSTRUCTIONS_SHEET,
        META_SHEET,
        InstructionsSheet,
        MetaRefs,
        new_book,
        write_meta_sheet,
    )

    title = f"{spec.unit_name}{spec.period}年建档立卡贫困户台账"
    book, styles = new_book(target, spec, title, book_class=_book_class())
    sheet = spec.sheets[0]
    instructions = book.add_worksheet(INSTRUCTIONS_SHEET)
    form_ws = book.add_worksheet(sheet.sheet)
    summary_ws = book.add_worksheet(SUMMARY_SHEET)
    meta_ws = book.add_worksheet(META_SHEET)
    write_meta_sheet(book, meta_ws, spec, [("key", "value"), *meta_rows(spec)])
    InstructionsSheet(spec, instructions, styles).write()
    _roster_sheet_class()(spec, sheet, form_ws, styles, rows, False, MetaRefs({})).write()
    _write_summary(spec, rows, summary_ws, styles)
    form_ws.activate()
    book.close()


_FUNCTION = re.compile(r"([A-Z][A-Z0-9._]*)\(")
# Functions the roster's formulas use (rules, IDCHECK, 合计, 村汇总): all in Excel 2010, none prefixed.
_PLAIN_FUNCTIONS = frozenset(
    "IF IFERROR AND OR NOT ISBLANK ISNUMBER ISTEXT LEN MID FIND RIGHT EXACT MOD INT ABS ROUND MIN MAX SUM "
    "COUNT COUNTA COUNTIF COUNTIFS SUMIFS SUMPRODUCT N".split()
)


_BLANK_CELL = xlsxwriter.worksheet.CellBlankTuple  # XlsxWriter's blank cell (format only)
_STRING_CELL = xlsxwriter.worksheet.CellStringTuple  # and its shared string cell (index, format)
_FORMULA_CELL = xlsxwriter.worksheet.CellFormulaTuple  # and its formula cell (formula, format, result)
SHARED = "\x02"  # starts a shared formula's cell text as stored in the sheet (no formula holds it)


@cache
def _book_class():
    """The form writer's workbook class, whose sheets pass formulas naming only :data:`_PLAIN_FUNCTIONS`
    straight through: XlsxWriter's ~150 regex passes per formula (which the form writer skips unless a
    formula holds braces, as IDCHECK's array constants do) cost more than the rest of a roster.

    Its sheets also write a column's per-row formulas as one shared formula (``share_rows``): the first
    row holds the formula, every other row ``<f t="shared" si="…"/>``, as Excel itself stores a formula
    filled down. The 校验结果 formula is about 2,400 characters; written on every row it made a
    township's roster sheet 14 MB of XML, which every reader (and the safety gate) had to go through."""
    from xlsxwriter.utility import xl_rowcol_to_cell_fast

    from hbreport.xlsx.writer import _TESTED, ROW_TOKEN, Book, Sheet

    class RosterSheet(Sheet):
        def _prepare_formula(self, formula, expand_future_functions=False):
            if formula[:1] == SHARED:
                return formula
            body = formula[1:] if formula.startswith("=") else formula
            plain = not (expand_future_functions or body.startswith("{") or body.endswith("}"))
            if plain and _PLAIN_FUNCTIONS.issuperset(_FUNCTION.findall(body)):
                return body
            return super()._prepare_formula(formula, expand_future_functions)

        def share_rows(self, col: int, first: int, last: int, template: str) -> None:
            """Rows ``first``..``last`` (0-based) of column ``col`` hold ``template`` with
            :data:`~hbreport.xlsx.writer.ROW_TOKEN` replaced by the row's number: write it once,
            shared. A row given another formula is written as given (and, if it is the first, the
            column is not shared at all). Left alone with an XlsxWriter release not tested."""
            if _TESTED and first < last:
                shares = self.__dict__.setdefault("_shares", {})
                shares[col] = [template, first, last, str(len(shares)), False]

        def shared_row(self, col: int, row: int) -> str | None:
            """What stands for row ``row`` (0-based) of column ``col`` once the column's shared
            formula is written on its first row (the formula text a sheet may write there instead of
            the row's own, which is the template's by construction); None when the row is not shared."""
            share = self.__dict__.get("_shares", {}).get(col)
            if share is not None and share[4] and share[1] < row <= share[2]:
                return SHARED + share[3]
            return None

        def _write_formula(self, row, col, formula, cell_format=None, value=0):
            share = self.__dict__.get("_shares", {}).get(col)
            if formula[1:2] == SHARED:  # from shared_row: it must be this very row's
                if formula[1:] != self.shared_row(col, row):
                    raise ValueError(f"shared formula {formula[1:]!r} given for row {row}, column {col}")
                return super()._write_formula(row, col, formula[1:], cell_format, value)
            if share is not None and share[1] <= row <= share[2]:
                template, first, last, index, started = share
                if formula[1:] == template.replace(ROW_TOKEN, str(row + 1)):
                    if row == first:
                        letter = get_column_letter(col + 1)
                        body = self._prepare_formula(formula)
                        formula = (
                            f"{SHARED}{index}{SHARED}{letter}{first + 1}:{letter}{last + 1}{SHARED}{body}"
                        )
                        share[4] = True
                    elif started:
                        formula = SHARED + index
                elif row == first:
                    share[1] = last + 1  # the first row differs: nothing is shared in this column
            return super()._write_formula(row, col, formula, cell_format, value)

        if _TESTED:

            def _write_cell(self, row, col, cell):
                # formatted blanks and shared strings (nearly all of a roster's cells that are not
                # formulas) as XlsxWriter writes them, without its generic path's attribute lists
                kind = cell.__class__
                if kind is _BLANK_CELL and cell.format is not None:
                    ref = xl_rowcol_to_cell_fast(row, col)
                    self.fh.write(f'<c r="{ref}" s="{cell.format._get_xf_index()}"/>')
                elif kind is _STRING_CELL and cell.format is not None and not self.constant_memory:
                    ref = xl_rowcol_to_cell_fast(row, col)
                    xf = cell.format._get_xf_index()
                    self.fh.write(f'<c r="{ref}" s="{xf}" t="s"><v>{cell.string}</v></c>')
                elif (
                    kind is _FORMULA_CELL
                    and cell.format is not None
                    and cell.formula[:1] == SHARED
                    and cell.formula[1:].isdigit()
                ):
                    # a row of a shared formula (SHARED + its index) whose result is a number or text
                    # that is not an error code: XlsxWriter's attributes for it, our <f> element
                    value, kind = cell.value, cell.value.__class__
                    if kind is str and value[:1] != "#" or kind is int or kind is float:
                        ref = xl_rowcol_to_cell_fast(row, col)
                        xf = cell.format._get_xf_index()
                        typed = ' t="str"' if kind is str and value else ""
                        self.fh.write(
                            f'<c r="{ref}" s="{xf}"{typed}><f t="shared" si="{cell.formula[1:]}"/>'
                            f"<v>{self._escape_data(value)}</v></c>"
                        )
                    else:
                        super()._write_cell(row, col, cell)
                else:
                    super()._write_cell(row, col, cell)

            def _calculate_spans(self):
                # XlsxWriter's spans (the columns used in each block of 16 rows) from each row's cells
                # rather than by trying every column of every row; a sheet with comments keeps its own
                if self.comments:
                    return super()._calculate_spans()
                spans, low, high = {}, None, None
                table, last = self.table, self.dim_rowmax
                for row_num in range(self.dim_rowmin, last + 1):
                    cells = table[row_num] if row_num in table else None
                    if cells:
                        used = [c for c in cells if self.dim_colmin <= c <= self.dim_colmax]
                        if used and low is None:
                            low, high = min(used), max(used)
                        elif used:
                            low, high = min(low, *used), max(high, *used)
                    if (row_num + 1) % 16 == 0 or row_num == last:
                        if low is not None:
                            spans[row_num // 16] = f"{low + 1}:{high + 1}"
                            low = None
                self.row_spans = spans

        def _xml_formula_element(self, formula, result, attributes=()):
            if formula[:1] != SHARED:
                return super()._xml_formula_element(formula, result, list(attributes))
            index, *master = formula[1:].split(SHARED, 2)
            attr = "".join(f' {key}="{self._escape_attributes(value)}"' for key, value in attributes)
            if master:
                ref, body = master
                element = f'<f t="shared" ref="{ref}" si="{index}">{self._escape_data(body)}</f>'
            else:
                element = f'<f t="shared" si="{index}"/>'
            self.fh.write(f"<c{attr}>{element}<v>{self._escape_data(result)}</v></c>")

    class RosterBook(Book):
        worksheet_class = RosterSheet

    return RosterBook


# What the form writer's generic headings and formats become on a roster.
_HEADINGS = {"单位名称": "户主姓名", "单位代码": "户编号"}
_WIDTHS = {"id_number": 21, "village_code": 15, "village_name": 12, "helper_name": 10}
_PLAIN_NUMBER = {"exit_year": "0"}  # a year, not 2,017


@cache
def _roster_sheet_class():
    """The form writer's sheet, with household headings (户主姓名, 户编号), an ID column wide enough for
    18 digits, and the year written without a thousands separator."""
    from hbreport.xlsx.layout import CODE_COL, HEADER_ROW
    from hbreport.xlsx.writer import FormSheet

    class RosterFormSheet(FormSheet):
        def put(self, row: int, col: int, value: Any, fmt) -> None:
            if row == HEADER_ROW and col <= CODE_COL and value in _HEADINGS:
                value = _HEADINGS[value]
            elif row >= FIRST_DATA_ROW and col in self._plain_formats:
                fmt = self._plain_formats[col]
            super().put(row, col, value, fmt)

        def set_widths(self) -> None:
            index = self.layout.col_index
            self._plain_formats = {
                index[key]: self.st(
                    border=1, valign="vcenter", align="center", num_format=number, locked=False
                )
                for key, number in _PLAIN_NUMBER.items()
                if key in index
            }
            super().set_widths()
            for key, width in _WIDTHS.items():
                if key in index:
                    self.widths[index[key]] = width
                    self.ws.set_column(index[key] - 1, index[key] - 1, width)
            self.widths[CODE_COL] = 18
            self.ws.set_column(CODE_COL - 1, CODE_COL - 1, 18)
            self.share_row_formulas()

        def share_row_formulas(self) -> None:
            """The derived, 校验结果 and hidden severity formulas of the household rows, each column
            written as one shared formula (see :func:`_book_class`)."""
            from hbreport.xlsx.writer import CHECK_KEY, SEVERITY_KEY, severity_formula

            L = self.layout
            first, last = FIRST_DATA_ROW, L.last_data_row
            if self.xlwings or last <= first:
                return
            columns = []
            for col in self.sheet.derived_columns:
                self.derived(col, first)
                columns.append((L.col_index[col.key], col.key))
            self.check(first)
            columns.append((L.check_col, CHECK_KEY))
            if self.sheet.rules:
                stems = self.severity_rules
                self.per_row(SEVERITY_KEY, lambda n: severity_formula(stems, f"{L.check_letter}{n}"), first)
                columns.append((L.severity_col, SEVERITY_KEY))
            for c, key in columns:
                self.per_row(key, None, last)  # refused if its longest row is too long for Excel
                self.ws.share_rows(c - 1, first - 1, last - 1, self.templates[key])
            # the other rows of these columns are not made from the template, only pointed at it
            self._shared_columns = {key: c - 1 for c, key in columns}

        _shared_columns: Mapping[str, int] = {}

        def per_row(self, key: str, make, row: int) -> str:
            col = self._shared_columns.get(key)
            shared = None if col is None else self.ws.shared_row(col, row - 1)
            return super().per_row(key, make, row) if shared is None else shared

        def computed_rows(self) -> tuple[dict[str, dict[str, Any]], dict[str, dict[str, Any]]]:
            """The form writer's computed rows and 校验结果 texts, worked out by column."""
            from hbreport.households.columns import check_texts, compute_rows, total_of_columns

            keys = [c.key for c in self.sheet.columns if c.role != "derived"]
            empty: dict[str, Any] = {}
            given = {}
            for r in self.sheet.rows:
                row = self.values.get(r.code, empty)
                given[r.code] = {key: row.get(key) for key in keys}
            tables: dict = {}
            computed = compute_rows(self.sheet, given, tables)
            table = tables[self.sheet.form]
            computed[TOTAL] = total_of_columns(self.sheet, table)
            self.check_texts = check_texts(self.sheet, computed, table)
            return given, computed

        def write_table(self, given: dict[str, dict[str, Any]], computed: dict[str, dict[str, Any]]) -> None:
            """The form writer's table, households written cell by cell straight to XlsxWriter: one plan
            per column (format, blank cell); a row's formulas point at their column's shared formula."""
            from hbreport.xlsx.writer import _TESTED, _cached

            self.write_total_row(computed[TOTAL])
            st, L, ws = self.st, self.layout, self.ws
            label, code_fmt, check_fmt = (
                st.cell("label", "text"),
                st.cell("code", "text"),
                st.cell("check", "text"),
            )
            plan = []
            for col in self.sheet.columns:
                c = L.col_index[col.key]
                plain = self._plain_formats.get(c)
                locked = plain or st.cell("locked", col.field.type)
                given_fmt = plain or st.cell("input", col.field.type)
                blank = _BLANK_CELL(given_fmt) if _TESTED else None
                plan.append((col, c - 1, col.key, col.role, locked, given_fmt, blank))
            check_col = L.check_col - 1
            texts = self.check_texts
            for i, unit in enumerate(self.sheet.rows):
                r = FIRST_DATA_ROW + i
                r0 = r - 1
                ws.write_string(r0, NAME_COL - 1, unit.name, label)
                ws.write_string(r0, CODE_COL - 1, unit.code, code_fmt)
                # the row's blanks go straight into XlsxWriter's table: columns A and 校验结果, written
                # through its API on every row, already hold the sheet's dimensions
                cells = ws.table[r0]
                row_given, row_computed = given[unit.code], computed[unit.code]
                for col, c0, key, role, locked, given_fmt, blank in plan:
                    if role == "derived":
                        ws.write_formula(
                            r0, c0, "=" + self.derived(col, r), locked, _cached(row_computed[key])
                        )
                        continue
                    value = row_given[key]
                    kind = type(value)
                    if value is None:
                        if blank is None:
                            ws.write_blank(r0, c0, None, given_fmt)
                        else:
                            cells[c0] = blank
                        continue
                    fmt = locked if role == "prefill" else given_fmt
                    if kind is str:
                        ws.write_string(r0, c0, value, fmt)
                    elif kind is bool:
                        ws.write_boolean(r0, c0, value, fmt)
                    elif (kind is int or kind is float) and math.isfinite(value):
                        ws.write_number(r0, c0, value, fmt)
                    else:
                        ws.write_string(r0, c0, str(value), fmt)
                ws.write_formula(r0, check_col, "=" + self.check(r), check_fmt, texts[unit.code])
                self.write_row_end(r, unit.code)

    return RosterFormSheet


def meta_rows(spec: RosterSpec) -> list[tuple[str, str]]:
    """The key → value pairs of a roster's ``_meta`` sheet, in order."""
    sheet = spec.sheets[0]
    rows = list(spec.meta().items())
    rows += [
        (f"sheet.{sheet.form}", sheet.sheet),
        (f"version.{sheet.form}", sheet.version),
        (f"columns.{sheet.form}", ",".join(sheet.column_keys)),
        ("summary_sheet", SUMMARY_SHEET),
    ]
    return rows + spec.meta_id_chunks()


def _write_summary(spec: RosterSpec, rows: dict[str, dict[str, Any]], ws, st) -> None:
    """村汇总: one row per village of the township, every count a COUNTIFS/SUMIFS over the roster."""
    from hbreport.xlsx.writer import protect_sheet

    counts = village_summary(spec, rows)
    total = summary_total(counts)
    last_col = FIRST_COL + len(SUMMARY_COLUMNS) - 1
    ws.merge_range(
        TITLE_ROW - 1,
        0,
        TITLE_ROW - 1,
        last_col - 1,
        "建档立卡贫困户村汇总",
        st(bold=True, font_size=16, align="center", valign="vcenter"),
    )
    ws.set_row(TITLE_ROW - 1, 28)
    ws.merge_range(
        INFO_ROW - 1,
        0,
        INFO_ROW - 1,
        last_col - 1,
        f"填报单位：{spec.unit_name}（{spec.unit_code[:9]}）　报告期：{spec.period}年　"
        "本表由“建档立卡台账”按村自动统计，与鄂扶贫01表、02表对应栏目一致，不需填写",
        st(align="left", valign="vcenter"),
    )
    head = st(bold=True, border=1, align="center", valign="vcenter", text_wrap=True, bg_color="#E7E6E6")
    ws.write_string(HEADER_ROW - 1, 0, "村名称", head)
    ws.write_string(HEADER_ROW - 1, CODE_COL - 1, "村代码", head)
    for i, col in enumerate(SUMMARY_COLUMNS):
        ws.write_string(HEADER_ROW - 1, FIRST_COL - 1 + i, f"{col.label}({col.unit})", head)
    ws.set_row(HEADER_ROW - 1, 36)
    locked = st(border=1, num_format="#,##0", bg_color="#F2F2F2")
    bold = st(border=1, num_format="#,##0", bg_color="#F2F2F2", bold=True)
    label = st(border=1, valign="vcenter")
    code = st(border=1, num_format="@", align="center")
    ws.write_string(TOTAL_ROW - 1, 0, "合计", st(border=1, bold=True, align="center", bg_color="#F2F2F2"))
    ws.write_string(TOTAL_ROW - 1, CODE_COL - 1, "—", st(border=1, align="center", bg_color="#F2F2F2"))
    last_row = FIRST_ROW + len(spec.villages) - 1
    for i, col in enumerate(SUMMARY_COLUMNS):
        letter = get_column_letter(FIRST_COL + i)
        formula = f"=SUM({letter}{FIRST_ROW}:{letter}{last_row})" if spec.villages else "=0"
        ws.write_formula(TOTAL_ROW - 1, FIRST_COL - 1 + i, formula, bold, total[col.key])
    for r, village in enumerate(spec.villages, start=FIRST_ROW):
        ws.write_string(r - 1, 0, village.name, label)
        ws.write_string(r - 1, CODE_COL - 1, village.code, code)
        for i, col in enumerate(SUMMARY_COLUMNS):
            ws.write_formula(
                r - 1,
                FIRST_COL - 1 + i,
                "=" + summary_formula(spec, col, r),
                locked,
                counts[village.code][col.key],
            )
    ws.set_column(0, 0, 16)
    ws.set_column(CODE_COL - 1, CODE_COL - 1, 15)
    ws.set_column(FIRST_COL - 1, last_col - 1, 11)
    ws.freeze_panes(TOTAL_ROW - 1, CODE_COL)
    ws.set_landscape()
    ws.set_paper(9)
    ws.fit_to_pages(1, 0)
    protect_sheet(ws)


# ---------------------------------------------------------------- reading


def read_roster(
    path: str | Path,
    *,
    export=None,
    expect_unit: str | None = None,
    expect_period: int | None = None,
    check_formulas: bool = True,
    registry=None,
    catalog=None,
) -> RosterData:
    """Read, recompute and check one roster; HBError when it is not a usable roster at all.

    ``export`` (a :class:`~hbreport.households.export.RosterExport`) makes the reader hold the
    prefilled cells to the export, cell by cell; without it they are held to the digest in ``_meta``.
    ``check_formulas`` also verifies that derived and check cells still hold their formulas (slower:
    it parses the sheet's formulas a second time)."""

    path = Path(path)
    checked = safety.inspect_and_read(path)  # the bytes checked are the bytes parsed: read once
    inspection, data = checked.inspection, checked.data
    registry, catalog = registry_and_catalog(registry, catalog)
    book = open_calamine(path, data)
    try:
        meta, ids = _read_meta(path, book)
        unit, period = _identity(path, meta, registry, expect_unit, expect_period)
        sheet_name = meta.get(f"sheet.{ROSTER_FORM}", "")
        values = _sheet_values(path, book, sheet_name, len(ids))
    finally:
        book.close()

    spec = _spec_for(path, meta, ids, values, unit, period, export, registry, catalog)
    _same_layout(path, meta, spec)
    sheet = spec.sheets[0]
    reader = RosterSheetReader(path, spec)
    reader.check_structure(sheet, values)
    if check_formulas:
        written = _formulas_as_written(SheetLayout(sheet))
        cells = _formula_cells(path, data, spec, values, checked.parts, written)
        reader.check_formulas(sheet, cells, written)
    errors = _error_cells(data, spec, checked.parts)
    if export is not None:
        prefill = prefill_columns(spec.households)
        inputs = InputColumns(reader.read_columns(sheet, values, prefill, errors=errors))
        reader.check_names(sheet, values, {h.household_id: h.head_name for h in spec.households})
    else:
        inputs = reader.read_values(sheet, values, {}, {}, errors)
        spec = dataclasses.replace(spec, households=tuple(_as_read(spec.households, inputs)))
        if prefill_digest(spec.households) != meta.get("prefill_sha256"):
            reader.report(sheet, None, PREFILL_DIGEST)
    tables: dict = {}  # the households by column, made once for the 合计, the standard and the rules
    form = form_data(
        spec, {ROSTER_FORM: inputs}, tables, by_column=True, source=str(path), sha256=inspection.sha256
    )
    _check_villages(reader, spec, form.rows[ROSTER_FORM])
    reader.check_rules(sheet, form.rows[ROSTER_FORM], tables[ROSTER_FORM])
    roster = RosterData(spec, form, reader.findings, inspection.sha256, path, meta)
    from hbreport.households.checks import screen_roster

    roster.findings.extend(screen_roster(roster))
    return roster


def _error_cells(data: bytes, spec: RosterSpec, parts: Mapping[str, bytes]) -> dict[tuple[int, int], str]:
    """(row, col) → the error value (#N/A) of every household cell holding one (calamine reads them as empty)."""
    from hbreport.xlsx.sheet_formulas import error_cells

    sheet = spec.sheets[0]
    layout = SheetLayout(sheet)
    area = (FIRST_DATA_ROW, layout.last_data_row, 1, layout.check_col)
    return (error_cells(data, {sheet.sheet: area}, parts) or {}).get(sheet.sheet, {})


def _formula_cells(
    path: Path,
    data: bytes,
    spec: RosterSpec,
    values: list[list[Any]],
    parts: Mapping[str, bytes],
    written: Mapping[tuple[int, int], tuple[bytes, str]],
) -> Mapping[tuple[int, int], Any]:
    """(row, col) → what the formula cells of the roster sheet hold as written: formula text ('=…') from
    the sheet XML (``hbreport.xlsx.sheet_formulas``; ``written``: the formulas as written, see
    :func:`_formulas_as_written`), else the value; openpyxl for packages written otherwise."""
    from hbreport.xlsx.sheet_formulas import formula_cells

    sheet = spec.sheets[0]
    layout = SheetLayout(sheet)
    wanted = sorted({layout.col_index[c.key] for c in sheet.derived_columns} | {layout.check_col})
    first_col = min(layout.col_index.values())
    area = (FORM_TOTAL_ROW, layout.last_data_row, first_col, layout.check_col)
    fast = formula_cells(data, {sheet.sheet: area}, {sheet.sheet: written}, parts)
    if fast is not None:
        return _Held(fast[sheet.sheet], values)
    book = open_openpyxl(path, data)
    cells: dict[tuple[int, int], Any] = {}
    try:
        if sheet.sheet not in book.sheetnames:
            return cells
        ws = book[sheet.sheet]
        first, last = min(layout.col_index.values()), layout.check_col
        for r, row in enumerate(
            ws.iter_rows(
                min_row=FORM_TOTAL_ROW,
                max_row=layout.last_data_row,
                min_col=first,
                max_col=last,
                values_only=True,
            ),
            start=FORM_TOTAL_ROW,
        ):
            if r == FORM_TOTAL_ROW:
                for c, value in enumerate(row, start=first):
                    cells[(r, c)] = value
            else:
                for c in wanted:
                    cells[(r, c)] = row[c - first] if c - first < len(row) else None
    finally:
        book.close()
    return cells


class _Held(Mapping):
    """Formula cells found in the sheet XML; any other cell: its value in the calamine grid."""

    def __init__(self, found: dict[tuple[int, int], str], values: list[list[Any]]) -> None:
        self.found, self.values = found, values

    def __getitem__(self, key: tuple[int, int]) -> Any:
        held = self.found.get(key)
        return at(self.values, *key) if held is None else held

    def __iter__(self):
        return iter(self.found)

    def __len__(self) -> int:
        return len(self.found)


def _formulas_as_written(layout: SheetLayout) -> RowFormulas:
    """(row, col) → (the formula as the sheet XML holds it, '=' + the formula) for every data row's
    derived and 校验结果 cells, made when asked: a cell holding exactly those bytes, or pointing at a
    shared formula that does, is taken without decoding it."""
    from hbreport.checks.engine import ROW_MARK, check_template, derived_template

    templates = {layout.col_index[c.key]: derived_template(layout, c) for c in layout.spec.derived_columns}
    templates[layout.check_col] = check_template(layout)
    return RowFormulas(templates, range(FIRST_DATA_ROW, layout.last_data_row + 1), ROW_MARK)


def _read_meta(path: Path, book) -> tuple[dict[str, str], tuple[str, ...]]:
    """The roster identity in ``_meta`` (found by name) and its household ids; HBError if not a roster."""
    names = {n.strip().casefold(): n for n in book.sheet_names}
    name = names.get("_meta")
    not_ours = HBError(
        "不是 hbreport 生成的建档立卡台账（没有标识台账身份的 _meta 工作表）",
        file=path,
        hint="请使用上级下发的台账填报；不要把数据复制到新建的工作簿里报送",
    )
    if name is None:
        raise not_ours
    meta: dict[str, str] = {}
    for row in book.get_sheet_by_name(name).to_python(skip_empty_area=False):
        if len(row) >= 2:
            key, value = cell_text(row[0]), cell_text(row[1])
            if key and key not in meta:
                meta[key] = value
    family = meta.get("family")
    if family == FORM_FAMILY:
        raise HBError(
            "这是统计报表（鄂扶贫01—04表），不是建档立卡台账",
            file=path,
            hint="台账与统计报表分开报送：台账放进台账文件夹汇总，报表按报表汇总",
        )
    if family != ROSTER_FAMILY:
        raise not_ours
    missing = [k for k in ("unit_code", "period", "version", "layout_hash", "households") if not meta.get(k)]
    if missing:
        raise HBError(
            f"_meta 工作表缺少 {'、'.join(missing)}，台账身份不完整（可能被改动过）",
            file=path,
            hint="请使用上级下发的原台账重新填报",
        )
    chunks = []
    i = 1
    while f"households.{i}" in meta:
        chunks.append(meta[f"households.{i}"])
        i += 1
    ids = tuple(x for chunk in chunks for x in chunk.split(",") if x)
    if str(len(ids)) != meta["households"] or ids_digest(ids) != meta.get("households_sha256"):
        raise HBError(
            f"_meta 中的户编号清单与其户数（{meta['households']}）或指纹不符：台账身份被改动过",
            file=path,
            hint="请使用上级下发的原台账重新填报",
        )
    return meta, ids


def _identity(path: Path, meta, registry, expect_unit, expect_period):
    from hbreport.period import parse_period, period_label
    from hbreport.registry import normalize_code

    try:
        unit = registry.get(normalize_code(meta["unit_code"]))
    except HBError:
        raise HBError(
            f"台账标识的乡镇「{meta.get('unit_name', '')}」（代码 {meta['unit_code']}）不在单位名册中",
            file=path,
            hint="请确认单位名册是最新的",
        ) from None
    if unit.level != "township":
        raise HBError(f"台账标识的单位「{unit.name}」不是乡镇", file=path, hint="请使用上级下发的原台账")
    if expect_unit is not None and registry.get(expect_unit).code != unit.code:
        expected = registry.get(expect_unit)
        raise HBError(
            f"台账标识的乡镇是「{unit.name}」，不是应报的「{expected.name}」",
            file=path,
            hint="文件名可能与内容不符，请确认报送的是本乡镇的台账",
        )
    try:
        period = parse_period(meta["period"])
    except HBError:
        raise HBError(f"台账标识的报告期「{meta['period']}」无法识别", file=path) from None
    if expect_period is not None and period != expect_period:
        raise HBError(
            f"这是「{unit.name}」{period_label(period)}的台账，本次收取的是{period_label(expect_period)}的台账",
            file=path,
            hint=f"请报送{period_label(expect_period)}的台账",
        )
    return unit, period


def _sheet_values(path: Path, book, sheet_name: str, n_households: int) -> list[list[Any]]:
    if sheet_name not in book.sheet_names:
        raise HBError(
            f"找不到台账工作表「{sheet_name}」，可能被改名或删除",
            file=path,
            hint=f"请把工作表名改回「{sheet_name}」，或使用下发的原台账重新填报",
        )
    ws = calamine_sheet(path, book, sheet_name, "请删除表格下方多余的行后重新保存")
    return ws.to_python(skip_empty_area=False, nrows=FIRST_DATA_ROW + n_households + 1)


def _spec_for(path: Path, meta, ids, values, unit, period, export, registry, catalog) -> RosterSpec:
    """The spec of the roster the file claims to be: households from the export when given (which must
    be the one it was made from), else from _meta's ids and the names in column A (the prefilled values
    are filled in once read)."""
    if export is not None:
        if export.sha256 != meta.get("roster_sha256"):
            raise HBError(
                "台账不是由这份建档立卡导出文件生成的（导出文件的指纹与台账中记录的不同）",
                file=path,
                hint="请用生成该台账时的导出文件核对，或按新的导出文件重新下发台账",
            )
        households = export.township(unit.code)
        if tuple(h.household_id for h in households) != ids:
            raise HBError(
                "台账的户编号清单与建档立卡导出文件中本乡镇的户不一致",
                file=path,
                hint="请按导出文件重新下发台账",
            )
    else:
        households = [
            Household(
                household_id=hid,
                head_name=cell_text(at(values, FIRST_DATA_ROW + i, NAME_COL)),
                village_code="",
                village_name="",
            )
            for i, hid in enumerate(ids)
        ]
    return build_roster_spec(
        unit.code,
        period,
        households,
        registry=registry,
        catalog=catalog,
        roster_sha256=meta.get("roster_sha256", ""),
    )


def _as_read(households: list[Household], inputs: Mapping[str, Mapping[str, Any]]) -> list[Household]:
    """Households with their prefilled values as the reader took them from the sheet."""
    out = []
    for h in households:
        row = inputs.get(h.household_id, {})
        size = row.get("household_size")
        out.append(
            Household(
                household_id=h.household_id,
                head_name=h.head_name,
                village_code=row.get("village_code") or "",
                village_name=row.get("village_name") or "",
                id_number=row.get("id_number"),
                household_size=size if isinstance(size, int) else None,
            )
        )
    return out


def _same_layout(path: Path, meta, spec: RosterSpec) -> None:
    if meta.get("version") != spec.version:
        raise HBError(
            f"台账是旧版表式（文件版本 {meta.get('version')}，当前版本 {spec.version}）",
            file=path,
            hint="请向上级索取新版台账，把数据转填后重新报送",
        )
    if meta.get("layout_hash") != spec.layout_hash:
        raise HBError(
            f"台账结构与当前表式不一致（布局指纹 {meta.get('layout_hash')}，当前应为 {spec.layout_hash}）："
            "可能是检查项目或扶贫标准调整前生成的旧台账",
            file=path,
            hint="请向上级索取新版台账，把数据转填后重新报送",
        )


def _check_villages(
    reader: RosterSheetReader, spec: RosterSpec, rows: Mapping[str, Mapping[str, Any]]
) -> None:
    villages = {v.code for v in spec.villages}
    layout = reader.layout
    for hid, code in zip(rows, column_of(rows, "village_code"), strict=True):
        if code and code not in villages:
            reader.report(
                reader.sheet,
                layout.cell(hid, "village_code"),
                VILLAGE,
                who=reader.row_label(reader.sheet, hid),
                code=quote(code),
                township=spec.unit_name,
            )
