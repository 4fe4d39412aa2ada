"""Write a WorkbookSpec as the .xlsx fill-in form a clerk opens in Excel, WPS or LibreOffice.

Layout comes from :class:`~hbreport.xlsx.layout.SheetLayout` (the reader relies on it); derived cells, the
合计 row and the 校验结果 column are formulas from :mod:`hbreport.checks.engine`, written with Python-computed
cached results so viewers that do not calculate still show the right numbers. Input cells get data
validation, rule-breaking cells a red (错误) or yellow (警告) conditional fill; everything but input
cells is locked and every sheet protected. A very hidden ``_meta`` sheet and the defined name
``HB_FORM_ID`` carry the workbook's identity.

XlsxWriter does the writing (see docs/forms.md for the measurement against openpyxl).
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import xlsxwriter
import xlsxwriter.worksheet
from xlsxwriter.utility import xl_col_to_name

from hbreport.checks import engine
from hbreport.checks.rules import MAX_FORMULA, excel_text
from hbreport.coerce import COUNT_MAX
from hbreport.errors import HBError
from hbreport.spec import TOTAL, Column, SheetSpec, WorkbookSpec
from hbreport.xlsx.atomic import atomic_output, check_target
from hbreport.xlsx.layout import (
    CODE_COL,
    CODE_ROW,
    FIRST_DATA_ROW,
    FIRST_FIELD_COL,
    HEADER_ROW,
    INFO_ROWS,
    LETTER_CODES,
    NAME_COL,
    SUMMARY_PIECE,
    SUMMARY_SHEET,
    TITLE_ROW,
    TOTAL_ROW,
    SheetLayout,
)
from hbreport.xlsx.names import shown as shown_text

if TYPE_CHECKING:
    from hbreport.model.values import FormData

Values = Mapping[str, Mapping[str, Mapping[str, Any]]]
"""{form: {row_code: {field: value}}}: what input and prefill cells hold."""
ExtraSheets = Sequence[tuple[str, Sequence[Sequence[Any]]]] | Mapping[str, Sequence[Sequence[Any]]]
"""Additional read-only tables: (sheet name, rows), the first row being the headings."""

INSTRUCTIONS_SHEET = "填表说明"
META_SHEET = "_meta"
XLWINGS_SHEET = "xlwings.conf"
FORM_ID_NAME = "HB_FORM_ID"
UNIT_NAME = "HB_UNIT"
PERIOD_NAME = "HB_PERIOD"
UDF_MODULE = "hbreport.xl.udfs"
XLWINGS_SETTINGS = (
    ("UDF Modules", UDF_MODULE),
    ("Use UDF Server", "TRUE"),  # keep Python running between calls: one start, not one per cell
    ("Show Console", "FALSE"),
    ("Debug UDFs", "FALSE"),
)
# _meta keys beyond spec.meta(): one of each per form; ``header.<form>`` spreads the field keys over
# the cells from column B on (the header range HB_CHECK is given).
META_SHEET_KEYS = ("sheet", "version", "rows", "columns", "header")

DEFAULT_MIN = 0
DEFAULT_MAX = COUNT_MAX  # what a count cell takes where its field sets no max (the reader too)
NUMBER_FORMATS = {"integer": "#,##0", "decimal": "#,##0.00", "percent": "0.0%", "choice": "@", "text": "@"}
BODY_FONT = "宋体"
FONT_SIZE = 10
GB2312_CHARSET = 134
FILLS = {"locked": "#F2F2F2", "header": "#E7E6E6", "error": "#FFC7CE", "warning": "#FFEB9C"}
FONT_COLOURS = {"error": "#9C0006", "warning": "#7F6000"}
FORBIDDEN_SHEET_CHARS = set("[]:*?/\\")
MAX_SHEET_NAME = 31
ROW_HEIGHT = 13.5  # points per line of 10-point text
CJK_WIDTH = 1.55  # column-width units one 10-point CJK character takes (LibreOffice, Excel alike)
STATUS_HEADING, REPORTED_WORD = "填报状态", "已报"
NOTE_HEADING = "说明\n（对“警告”的解释）"
NOTE_WIDTH = 28
SIGNATURE_ITEMS = ("单位负责人：", "统计负责人：", "填表人：", "联系电话：", "报出日期：　　年　　月　　日")
"""The signature line under each form: unlocked, so the clerk types after each label."""
CHECK_KEY = "\0check"  # the 校验结果 column's key among the row templates
SEVERITY_KEY = "\0severity"  # the hidden severity column's key among the row templates
ROW_TOKEN = "\x01"  # stands for the row number while a row's formula is compiled once per sheet
COLUMN_WIDTHS = {"integer": 10, "decimal": 11, "percent": 8, "choice": 8, "text": 8}
CHECK_WIDTH = 44  # one line of a typical rule message at 9 points


def write_workbook(
    spec: WorkbookSpec,
    path: str | Path,
    *,
    values: Values | None = None,
    xlwings: bool = False,
    extra_sheets: ExtraSheets | None = None,
    created: datetime | None = None,
    data: FormData | None = None,
    summary_part: str | None = None,
    row_status: Mapping[str, str] | None = None,
    notes: Mapping[str, Mapping[str, str]] | None = None,
    force: bool = False,
    inputs: Iterable[str | Path] = (),
    own_rows_only: bool = False,
) -> Path:
    """Write the fill-in workbook for ``spec`` to ``path`` (atomically) and return the path.

    ``values[form][row_code][field]`` fills input and prefill cells (text is always written as text,
    never as a formula); derived cells and the 合计 row stay formulas. ``xlwings=True`` adds an
    ``xlwings.conf`` sheet and wraps check and status cells as ``IFERROR(HB_…(…), <native>)``.
    ``extra_sheets`` are (name, rows) tables written after the forms, read-only. ``created`` fixes the
    document's creation time (default: now), so that the same inputs give byte-identical files.
    ``data``: ``FormData.from_inputs(spec, values)`` when the caller has it already (the rows and 合计
    are then not computed a second time). ``row_status`` (a consolidated workbook): child code → 已报 /
    未报 / 退回 / 拒收 / 空表, shown in a 填报状态 column after 校验结果 on the forms whose rows are the
    children, with 已报 X/Y on the 合计 row; a row not 已报 holds no formula in the cells derived from
    its data and in 校验结果 (they stay blank; 规划进度, from the baseline and tasks, stays). ``notes[form][row_code]``: text for the 说明 column (a
    row's explanation). ``summary_part``: a consolidation's Summary as JSON text
    (``Summary.to_part()``), kept on the very hidden ``_summary`` sheet for programs to read back.
    ``force`` and ``inputs``: see :func:`atomic.atomic_output` (an existing file is replaced only with
    ``force``, one of ``inputs`` never). ``own_rows_only``: the
    unit's own fill-in workbook above the township, where the forms whose rows are its children are
    made by consolidation, not typed: their cells are locked and the 填表说明 says so (only forms
    holding the unit's own row, such as the county's 04 form, are for typing)."""
    path = Path(path)
    if own_rows_only and any(not _own_sheet(spec, s) for s in spec.sheets):
        spec = replace(spec, instructions=(*spec.instructions, OWN_ROWS_NOTE))
    check_target(path, suffix=".xlsx", force=force, inputs=inputs)
    values = values or {}
    _check_values(spec, values, path)
    extras = list(extra_sheets.items() if isinstance(extra_sheets, Mapping) else extra_sheets or ())
    hidden = [SUMMARY_SHEET] if summary_part is not None else []
    _check_sheet_names(spec, [name for name, _ in extras] + hidden, xlwings, path)
    with atomic_output(path, force=force, inputs=inputs, suffix=".xlsx") as tmp:
        _Writer(
            spec, values, xlwings, extras, created, data, summary_part, row_status, notes, own_rows_only
        ).write(tmp)
    return path


OWN_ROWS_NOTE = (
    "本工作簿中，各行为下级单位的表（如鄂扶贫01—03表）由汇总下级报表生成（hbreport consolidate），"
    "本级不需填写，单元格已锁定；本级只填写本单位自己的表（如鄂扶贫04表中的本级一行）。"
)


def _own_sheet(spec: WorkbookSpec, sheet: SheetSpec) -> bool:
    """Whether ``sheet`` holds the unit's own row (typed by the unit), not its children's rows."""
    return len(sheet.rows) == 1 and sheet.rows[0].code == spec.unit_code


# ---------------------------------------------------------------- checks on the arguments


def _check_values(spec: WorkbookSpec, values: Values, path: Path) -> None:
    forms = {s.form: s for s in spec.sheets}
    for form, rows in values.items():
        sheet = forms.get(form)
        if sheet is None:
            raise HBError(
                f"要写入的数据属于表「{form}」，但本工作簿没有这张表",
                file=path,
                hint=f"本工作簿的表：{'、'.join(forms)}",
            )
        codes = {r.code for r in sheet.rows}
        keys = set(sheet.column_keys)
        for code, row in rows.items():
            if code != TOTAL and code not in codes:
                raise HBError(
                    f"要写入的数据中有单位代码「{code}」，但表「{sheet.sheet}」没有这一行",
                    file=path,
                    sheet=sheet.sheet,
                    hint="检查单位名册与表式是否为同一版本",
                )
            unknown = sorted(set(row) - keys)
            if unknown:
                raise HBError(
                    f"要写入的数据中有本表没有的字段：{'、'.join(unknown)}",
                    file=path,
                    sheet=sheet.sheet,
                    hint="检查字段名与表式是否为同一版本",
                )


def _check_sheet_names(spec: WorkbookSpec, extra: list[str], xlwings: bool, path: Path) -> None:
    names = [INSTRUCTIONS_SHEET, *(s.sheet for s in spec.sheets), *extra, META_SHEET]
    if xlwings:
        names.append(XLWINGS_SHEET)
    seen: set[str] = set()
    for name in names:
        bad = FORBIDDEN_SHEET_CHARS & set(name)
        if not name or len(name) > MAX_SHEET_NAME or bad or name.startswith("'") or name.endswith("'"):
            raise HBError(
                f"工作表名「{name}」不能用于 Excel",
                file=path,
                hint=f"工作表名 1—{MAX_SHEET_NAME} 个字符，不能含 [ ] : * ? / \\，不能以单引号开头或结尾",
            )
        if name.casefold() in seen:
            raise HBError(f"工作表名「{name}」重复", file=path, hint="每张工作表须有不同的名字")
        seen.add(name.casefold())


# ---------------------------------------------------------------- building blocks


def display_width(text: str) -> int:
    """Width of ``text`` in character cells: CJK and full-width characters count 2."""
    text = str(text)
    if text.isascii():
        return len(text)
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _cached(value: Any) -> Any:
    """A Python result as a formula's cached value (XlsxWriter: number, text, bool or error code)."""
    if value is None:
        return ""
    if isinstance(value, bool | int | float | str):
        return value
    return str(value)  # XLError → "#DIV/0!" and the like


def field_bounds(col: Column) -> tuple[float, float]:
    """The (min, max) an input cell of this column accepts."""
    field = col.field
    low = DEFAULT_MIN if field.min is None else field.min
    high = DEFAULT_MAX if field.max is None else field.max
    return low, high


def heading_width(label: str, least: float, most: float = 15) -> float:
    """A column width that wraps ``label`` onto at most two even lines (never one character alone)."""
    chars = display_width(label) / 2  # in CJK characters
    width = max(least, math.ceil(chars / 2) * CJK_WIDTH + 0.5)

    def orphaned(w: float) -> bool:
        fits = max(math.floor(w / CJK_WIDTH), 1)
        return chars > fits and chars - fits * (math.ceil(chars / fits) - 1) < 2

    while orphaned(width) and width < most:
        width += 0.5
    return width


def heading_text(field) -> str:
    """A column heading: the label, and the unit in brackets on a line of its own (field.header() in two lines)."""
    header = field.header()
    return header if header == field.label else f"{field.label}\n{header[len(field.label) :]}"


def _number_text(value: float) -> str:
    return f"{int(value):,}" if float(value).is_integer() else f"{value:,}"


def status_columns(sheet: SheetSpec) -> list[tuple[Column, Column, Column]]:
    """(status, rate, expected) columns: a derived text column judging a rate that measures a plan
    indicator against the plan's expected rate (进度状态 from 累计脱贫率 and 规划进度)."""
    from hbreport.checks.rules import Expr

    out = []
    by_key = {c.key: c for c in sheet.columns}
    for col in sheet.derived_columns:
        if col.field.type != "text":
            continue
        used = [by_key[k] for k in Expr.parse(col.formula).fields if k in by_key]
        rates = [c for c in used if c.field.type == "percent" and c.field.indicator]
        expected = [
            c for c in used if c.field.type == "percent" and not c.field.indicator and c.role == "derived"
        ]
        if len(rates) == 1 and len(expected) == 1:
            out.append((col, rates[0], expected[0]))
    return out


@dataclass(frozen=True)
class _Stem:
    fail_text: str
    importance: str = "error"


TEXT_STEM = _Stem(engine.TEXT_IN_NUMBER + "；")  # counted with the error rules in the 校验汇总


def rule_stem(rule) -> str:
    """The part of a rule's status text that both its failure and its invalid-data text contain."""
    return rule.fail_text.removesuffix("；")


def rows_with(check_texts: Iterable[str], rules: Iterable) -> int:
    """How many 校验结果 texts name at least one of ``rules`` (the Python side of the 校验汇总 counts)."""
    stems = [rule_stem(r) for r in rules]
    return sum(1 for text in check_texts if text and any(s in text for s in stems))


SEVERITY = {"error": 2, "warning": 1}  # a row's hidden severity cell: the sum over the kinds it names


def severity_formula(rules: Sequence, check_cell: str) -> str:
    """The hidden severity cell of a row: 2 when its 校验结果 names an error rule, plus 1 when it names a
    warning rule (plain per-cell FIND, which every engine computes alike)."""
    terms = []
    for importance, weight in SEVERITY.items():
        stems = [rule_stem(r) for r in rules if (r.importance == "error") == (importance == "error")]
        if stems:
            test = ",".join(f"ISNUMBER(FIND({excel_text(s)},{check_cell}))" for s in stems)
            terms.append(f"IF(OR({test}),{weight},0)")
    return "+".join(terms) or "0"


def severity_value(check_text: str, rules: Sequence) -> int:
    """The Python side of :func:`severity_formula`."""
    if not check_text:
        return 0  # a row every rule passes (most of them)
    value = 0
    for importance, weight in SEVERITY.items():
        chosen = [r for r in rules if (r.importance == "error") == (importance == "error")]
        value += weight if rows_with([check_text], chosen) else 0
    return value


XLSXWRITER_TESTED = ((3, 2), (3, 3))
"""The XlsxWriter releases (major, minor) whose private methods are extended: ``_prepare_formula`` and
``_write_book_views`` here (:class:`Sheet`, :class:`Book`); ``_write_cell``, ``_calculate_spans`` and the
shared row formulas (``_write_formula``, ``_xml_formula_element``) in :mod:`hbreport.households.roster`.
With another release every one is left alone and XlsxWriter's own paths write the same cells
(tests/test_writer.py and tests/test_roster_writer_fallback.py hold the two paths equal)."""

_TESTED = tuple(int(p) for p in xlsxwriter.__version__.split(".")[:2]) in XLSXWRITER_TESTED


class Sheet(xlsxwriter.worksheet.Worksheet):
    """XlsxWriter's Worksheet without the ~30 regex passes per formula that add ``_xlfn.`` prefixes.

    Our formulas use only functions Excel 2010 already has (the rule compiler's list, SUMPRODUCT,
    COUNTA, FIND, N and the HB_ functions), which need no prefix; anything else takes XlsxWriter's
    own path. This extends a private method, and fails safe: with an XlsxWriter release it was not
    written for (:data:`XLSXWRITER_TESTED`) it is not used, and every formula takes the slow path."""

    checked_formula: str | None = None  # the formula write_checked_formula is writing

    def write_checked_formula(self, row: int, col: int, formula: str, cell_format, value) -> int:
        """:meth:`write_formula` for a formula known to need no prefix (made from a row template that
        :func:`plain_template` passed, once for all its rows): not searched for names again."""
        self.checked_formula = formula
        try:
            return self.write_formula(row, col, formula, cell_format, value)
        finally:
            self.checked_formula = None

    if _TESTED:

        def _prepare_formula(self, formula, expand_future_functions=False):
            # _PREFIXED_NAMES lists the functions of both of XlsxWriter's passes (the dynamic-array ones
            # and, for conditional formats, the future ones): a formula that calls none of them comes back
            # as it is, without its leading "="
            if formula is not self.checked_formula and _needs_prefix(formula):
                return super()._prepare_formula(formula, expand_future_functions)
            return formula[1:] if formula.startswith("=") else formula


# Functions XlsxWriter would prefix with _xlfn. (dynamic-array and post-2010 functions).
_PREFIXED_NAMES = frozenset(
    """ANCHORARRAY BYCOL BYROW CHOOSECOLS CHOOSEROWS DROP EXPAND FILTER HSTACK LAMBDA MAKEARRAY MAP
    RANDARRAY REDUCE SCAN SINGLE SEQUENCE SORT SORTBY SWITCH TAKE TEXTSPLIT TOCOL TOROW UNIQUE VSTACK
    WRAPCOLS WRAPROWS XLOOKUP IMAGE ISOMITTED ACOT ACOTH AGGREGATE ARABIC ARRAYTOTEXT BASE BITAND
    BITLSHIFT BITOR BITRSHIFT BITXOR CEILING COMBINA CONCAT COT COTH CSC CSCH DAYS DECIMAL ERF FLOOR
    FORMULATEXT GAMMA GAUSS IFNA IFS IMCOSH IMCOT IMCSC IMCSCH IMSEC IMSECH IMSINH IMTAN ISFORMULA
    ISOWEEKNUM LET MAXIFS MINIFS MUNIT NUMBERVALUE PDURATION PERMUTATIONA PHI QUERYSTRING RRI SEC SECH
    SHEET SHEETS SKEW TEXTAFTER TEXTBEFORE TEXTJOIN UNICHAR UNICODE VALUETOTEXT WEBSERVICE XOR XMATCH
    ENCODEURL FILTERXML CONFIDENCE COVARIANCE DAYS360 ISO NETWORKDAYS WORKDAY RANK STDEV VAR MODE
    PERCENTILE QUARTILE""".split()
)
_CALLED = re.compile(r"(?<![\w.])([\w.]*)\(")  # the whole name before each "(", dots included


def _needs_prefix(formula: str) -> bool:
    """Whether XlsxWriter's own pass might change ``formula``: it holds "{" or "}" or "_xlfn.", or calls
    one of :data:`_PREFIXED_NAMES` or a dotted name (such as ``STDEV.S``). A name counts whole: the
    word characters (and dots) right before its "(", as a regular expression's ``\\b`` would find it."""
    if "{" in formula or "}" in formula or "_xlfn." in formula:
        return True
    return any("." in name or name in _PREFIXED_NAMES for name in _CALLED.findall(formula))


_ROW_IN_NAME = re.compile(re.escape(ROW_TOKEN) + r"[\w.]*\(")


def plain_template(template: str) -> bool:
    """Whether no formula made from a row template (:data:`ROW_TOKEN` for the row number) needs a prefix:
    the template on row 1 needs none, and no row number can be part of a called name."""
    return not _ROW_IN_NAME.search(template) and not _needs_prefix(template.replace(ROW_TOKEN, "1"))


class Book(xlsxwriter.Workbook):
    """XlsxWriter's Workbook plus workbook structure protection (which XlsxWriter does not offer)."""

    lock_structure = True
    worksheet_class = Sheet

    if _TESTED:  # with another XlsxWriter release the structure is left unlocked rather than risk bad XML

        def _write_book_views(self) -> None:  # workbookProtection goes right before bookViews
            if self.lock_structure:
                self._xml_empty_tag("workbookProtection", [("lockStructure", "1")])
            super()._write_book_views()


class Styles:
    """XlsxWriter formats made once per workbook, keyed by their properties."""

    def __init__(self, book: xlsxwriter.Workbook) -> None:
        self.book = book
        self.cache: dict[tuple, Any] = {}
        self.cells: dict[tuple[str, str, bool], Any] = {}  # cell() by its arguments (asked per cell)

    def __call__(self, **props: Any):
        key = tuple(sorted(props.items()))
        fmt = self.cache.get(key)
        if fmt is None:
            fmt = self.book.add_format(
                {"font_name": BODY_FONT, "font_size": FONT_SIZE, "font_charset": GB2312_CHARSET, **props}
            )
            self.cache[key] = fmt
        return fmt

    def cell(self, kind: str, ftype: str, *, bold: bool = False):
        """A table cell: kind input | locked | total | check | label | code."""
        fmt = self.cells.get((kind, ftype, bold))
        if fmt is None:
            fmt = self.cells[(kind, ftype, bold)] = self._cell(kind, ftype, bold)
        return fmt

    def _cell(self, kind: str, ftype: str, bold: bool):
        props: dict[str, Any] = {"border": 1, "valign": "vcenter"}
        if kind in ("input", "locked", "total"):
            props["num_format"] = NUMBER_FORMATS.get(ftype, "General")
            if ftype in ("choice", "text"):
                props["align"] = "center"
        if kind == "input":
            props["locked"] = False
        else:
            props["bg_color"] = FILLS["locked"]
        if kind == "check":
            props.update(font_size=9, font_color="#C00000", bg_color="#FFFFFF")
        if kind == "code":
            props.update(num_format="@", align="center", bg_color="#FFFFFF")
        if kind == "label":
            props["bg_color"] = "#FFFFFF"
        if bold or kind == "total":
            props["bold"] = True
        return self(**props)


@dataclass
class MetaRefs:
    """Where each form's field keys sit on the _meta sheet (HB_CHECK's header range)."""

    header: dict[str, str]


# ---------------------------------------------------------------- the writer


class _Writer:
    def __init__(
        self,
        spec: WorkbookSpec,
        values: Values,
        xlwings: bool,
        extras: list,
        created: datetime | None = None,
        data: FormData | None = None,
        summary_part: str | None = None,
        row_status: Mapping[str, str] | None = None,
        notes: Mapping[str, Mapping[str, str]] | None = None,
        own_rows_only: bool = False,
    ) -> None:
        self.summary_part = summary_part
        self.own_rows_only = own_rows_only
        self.data = data
        self.row_status = row_status
        self.notes = notes or {}
        self.spec = spec
        self.values = values
        self.xlwings = xlwings
        self.extras = extras
        self.created = created

    def write(self, target: Path) -> None:
        spec = self.spec
        title = f"{spec.unit_name}{spec.period}年脱贫攻坚统计报表"
        book, styles = new_book(target, spec, title, created=self.created)
        instructions = book.add_worksheet(INSTRUCTIONS_SHEET)
        forms = [(s, book.add_worksheet(s.sheet)) for s in spec.sheets]
        extra_ws = [(rows, book.add_worksheet(name)) for name, rows in self.extras]
        conf = book.add_worksheet(XLWINGS_SHEET) if self.xlwings else None
        meta = book.add_worksheet(META_SHEET)
        if self.summary_part is not None:
            write_summary_part(book.add_worksheet(SUMMARY_SHEET), self.summary_part)

        refs = self._write_meta(book, meta)
        InstructionsSheet(spec, instructions, styles).write()
        for sheet, ws in forms:
            known = (self.data.rows[sheet.form], self.data.totals[sheet.form]) if self.data else None
            form_sheet = FormSheet(
                spec, sheet, ws, styles, self.values.get(sheet.form, {}), self.xlwings, refs, known
            )
            form_sheet.notes = self.notes.get(sheet.form, {})
            form_sheet.children_locked = self.own_rows_only and not _own_sheet(spec, sheet)
            statuses = self.row_status and any(r.code in self.row_status for r in sheet.rows)
            form_sheet.row_status = self.row_status if statuses else {}
            form_sheet.write()
            if statuses:
                form_sheet.write_row_status(self.row_status)
        for rows, ws in extra_ws:
            _write_table(ws, rows, styles, title=f"{spec.unit_name}{spec.period}年汇总　{ws.name}")
        if conf is not None:
            for r, (key, value) in enumerate(XLWINGS_SETTINGS):
                conf.write_string(r, 0, key)
                conf.write_string(r, 1, value)
            conf.set_column(0, 0, 18)
            conf.set_column(1, 1, 24)
            conf.hide()
        if forms:
            forms[0][1].activate()
        book.close()

    def _write_meta(self, book: xlsxwriter.Workbook, ws) -> MetaRefs:
        spec = self.spec
        rows: list[list[str]] = [["key", "value"]]
        rows += [[k, v] for k, v in spec.meta().items()]
        rows.append(["xlwings", "1" if self.xlwings else "0"])
        header: dict[str, str] = {}
        for sheet in spec.sheets:
            f = sheet.form
            rows.append([f"sheet.{f}", sheet.sheet])
            rows.append([f"version.{f}", sheet.version])
            rows.append([f"rows.{f}", ",".join(r.code for r in sheet.rows)])
            rows.append([f"columns.{f}", ",".join(sheet.column_keys)])
            row_number = len(rows) + 1
            rows.append([f"header.{f}", *sheet.column_keys])
            last = xl_col_to_name(len(sheet.column_keys))
            header[f] = f"'{META_SHEET}'!$B${row_number}:${last}${row_number}"
        write_meta_sheet(book, ws, spec, rows)
        return MetaRefs(header)


def new_book(
    target: Path,
    spec: WorkbookSpec,
    title: str,
    *,
    created: datetime | None = None,
    book_class: type[Book] = Book,
) -> tuple[Book, Styles]:
    """A workbook as every hbreport workbook is written (text never turned into formulas, numbers or
    links; in memory; the body font), with ``title`` and the identity of ``spec`` among its document
    properties (``created``: the creation time, default now), and the maker of its formats."""
    book = book_class(
        str(target),
        {
            "strings_to_formulas": False,
            "strings_to_numbers": False,
            "strings_to_urls": False,
            "in_memory": True,
            "default_format_properties": {"font_name": BODY_FONT, "font_size": FONT_SIZE},
        },
    )
    styles = Styles(book)
    meta = spec.meta()
    book.set_properties(
        {
            "title": title,
            "subject": "湖北省脱贫攻坚规划(2016—2020年)",
            "author": spec.unit_name,
            "company": "湖北省扶贫攻坚领导小组办公室",
            "keywords": f"{meta['family']} {spec.layout_hash}",
            "comments": f"{meta['generator']}; layout {spec.layout_hash}",
        }
        | ({"created": created} if created else {})
    )
    return book, styles


def write_meta_sheet(
    book: xlsxwriter.Workbook, ws, spec: WorkbookSpec, rows: Sequence[Sequence[str]]
) -> None:
    """The ``_meta`` sheet: ``rows`` (a key | value heading, then key, value …) as text from A1, protected
    and very hidden, and the defined names that carry the workbook's identity (layout, unit, period)."""
    for r, row in enumerate(rows):
        for c, text in enumerate(row):
            ws.write_string(r, c, str(text))
    ws.set_column(0, 0, 24)
    ws.set_column(1, 1, 40)
    ws.protect("", {"select_locked_cells": True, "select_unlocked_cells": True})
    ws.very_hidden()
    book.define_name(FORM_ID_NAME, "=" + excel_text(spec.layout_hash))
    book.define_name(UNIT_NAME, "=" + excel_text(spec.unit_code))
    book.define_name(PERIOD_NAME, f"={int(spec.period)}")


def write_summary_part(ws, text: str) -> None:
    """A consolidation's Summary (JSON) on a protected, very hidden sheet: column A, in pieces of
    ``SUMMARY_PIECE`` characters read back in order (``reader.read_summary_part``)."""
    for r, start in enumerate(range(0, max(len(text), 1), SUMMARY_PIECE)):
        ws.write_string(r, 0, text[start : start + SUMMARY_PIECE])
    ws.protect("", {"select_locked_cells": True, "select_unlocked_cells": True})
    ws.very_hidden()


def meta_rows_expected(spec: WorkbookSpec) -> dict[str, str]:
    """The key → value pairs (column A → B) a workbook written for ``spec`` holds on ``_meta``."""
    out = dict(spec.meta())
    for sheet in spec.sheets:
        f = sheet.form
        out[f"sheet.{f}"] = sheet.sheet
        out[f"version.{f}"] = sheet.version
        out[f"rows.{f}"] = ",".join(r.code for r in sheet.rows)
        out[f"columns.{f}"] = ",".join(sheet.column_keys)
    return out


# ---------------------------------------------------------------- 填表说明


class InstructionsSheet:
    WIDTH = 84

    def __init__(self, spec: WorkbookSpec, ws, styles: Styles) -> None:
        self.spec, self.ws, self.styles = spec, ws, styles

    def line(self, r: int, text: str, fmt, *, url: str | None = None) -> None:
        lines = max(1, math.ceil(display_width(text) / (self.WIDTH * 1.1)))
        self.ws.set_row(r, ROW_HEIGHT * lines + 4)
        if url:
            self.ws.write_url(r, 0, url, fmt, string=text)
        else:
            self.ws.write_string(r, 0, text, fmt)

    def write(self) -> None:
        spec, ws, st = self.spec, self.ws, self.styles
        ws.set_column(0, 0, self.WIDTH)
        ws.hide_gridlines(2)
        ws.write_string(
            0, 0, INSTRUCTIONS_SHEET, st(bold=True, font_size=16, align="center", valign="vcenter")
        )
        ws.set_row(0, 30)
        parent = f"　报送：{spec.parent_name}" if spec.parent_name else ""
        self.line(
            1,
            f"填报单位：{spec.unit_name}（{spec.unit_code}）　报告期：{spec.period}年{parent}",
            st(valign="top"),
        )
        wrap = st(text_wrap=True, valign="top")
        r = 3
        for text in spec.instructions:
            self.line(r, text, wrap)
            r += 1
        r += 1
        self.line(r, "各表说明（点击表名可跳转）：", st(bold=True))
        r += 1
        link = st(font_color="#0563C1", underline=1, bold=True)
        for sheet in spec.sheets:
            title = f"{sheet.table_no}　{sheet.title}（工作表「{sheet.sheet}」）"
            self.line(r, title, link, url=f"internal:'{sheet.sheet}'!A1")
            r += 1
            for i, note in enumerate(sheet.notes, 1):
                self.line(r, f"　　{i}. {note}", wrap)
                r += 1
        ws.set_paper(9)
        ws.fit_to_pages(1, 0)
        ws.set_margins(left=0.6, right=0.6, top=0.7, bottom=0.7)
        protect_sheet(ws)


# ---------------------------------------------------------------- a form sheet


class FormSheet:
    def __init__(
        self,
        spec: WorkbookSpec,
        sheet: SheetSpec,
        ws,
        styles: Styles,
        values: Mapping[str, Mapping[str, Any]],
        xlwings: bool,
        refs: MetaRefs,
        known: tuple[Mapping[str, dict[str, Any]], dict[str, Any]] | None = None,
    ) -> None:
        self.spec, self.sheet, self.ws, self.st = spec, sheet, ws, styles
        self.values = values
        self.known = known  # (computed rows, 合计) when the caller computed them already
        self.xlwings = xlwings
        self.refs = refs
        self.layout = SheetLayout(sheet)
        self.status = status_columns(sheet)
        self.widths: dict[int, float] = {}
        self.templates: dict[str, str] = {}
        self.plain_templates: set[str] = set()  # keys of the templates plain_template() passed
        self.checked: str | None = None  # the last formula per_row made from one of them
        self.check_texts: dict[str, str] = {}  # row code → the 校验结果 text (worked out once per row)
        self.notes: Mapping[str, str] = {}  # row code → its explanation (the 说明 column)
        self.children_locked = False  # the children's rows are made by consolidation, not typed here
        self.row_status: Mapping[str, str] = {}  # a consolidated workbook: child code → 已报 / 未报 / …

    # -- coordinates (XlsxWriter counts from 0; the layout from 1)

    def put(self, row: int, col: int, value: Any, fmt) -> None:
        """Write a value (never a formula) to 1-based (row, col)."""
        r, c = row - 1, col - 1
        if value is None:
            self.ws.write_blank(r, c, None, fmt)
        elif isinstance(value, bool):
            self.ws.write_boolean(r, c, value, fmt)
        elif isinstance(value, int | float):
            if math.isfinite(value):
                self.ws.write_number(r, c, value, fmt)
            else:
                self.ws.write_string(r, c, str(value), fmt)
        else:
            self.ws.write_string(r, c, str(value), fmt)  # "=…", "+…", "@…" stay text

    def formula(self, row: int, col: int, text: str, fmt, cached: Any) -> None:
        """Write a formula (no leading '=') with its cached result."""
        if text is self.checked:  # made by per_row from a template known to need no prefix
            self.ws.write_checked_formula(row - 1, col - 1, "=" + text, fmt, _cached(cached))
        else:
            self.ws.write_formula(row - 1, col - 1, "=" + text, fmt, _cached(cached))

    def merge(self, row: int, first: int, last: int, text: str, fmt) -> None:
        if last > first:
            self.ws.merge_range(row - 1, first - 1, row - 1, last - 1, text, fmt)
        else:
            self.ws.write_string(row - 1, first - 1, text, fmt)

    # -- the sheet

    def write(self) -> None:
        rows, computed = self.computed_rows()
        self.set_widths()
        self.write_heading()
        self.write_table(rows, computed)
        self.write_footer()
        self.write_summary(rows, computed, [self.check_texts[r.code] for r in self.sheet.rows])
        if self.sheet.rows:
            self.write_validation()
            self.write_conditional_formats()
        self.write_page_setup()

    def computed_rows(self) -> tuple[dict[str, dict[str, Any]], dict[str, dict[str, Any]]]:
        """The cell values given per row (inputs, prefill), and every column computed in Python."""
        given: dict[str, dict[str, Any]] = {}
        for r in self.sheet.rows:
            row = self.values.get(r.code, {})
            given[r.code] = {c.key: row.get(c.key) for c in self.sheet.columns if c.role != "derived"}
        if self.known is not None:
            computed = {r.code: self.known[0][r.code] for r in self.sheet.rows}
            computed[TOTAL] = self.known[1]
        else:
            computed = {code: engine.compute_row(self.sheet, row) for code, row in given.items()}
            computed[TOTAL] = engine.total_row(self.sheet, [given[r.code] for r in self.sheet.rows])
        self.check_texts = {
            r.code: "" if self.absent(r.code) else engine.check_text(self.sheet, computed[r.code])
            for r in self.sheet.rows
        }
        return given, computed

    def absent(self, code: str) -> bool:
        """A consolidated workbook's row whose child is not 已报 (未报, 退回, 拒收, 空表): the cells derived
        from its data and its 校验结果 hold no formula and stay blank (no figures from blanks, no verdict)."""
        word = self.row_status.get(code)
        return word is not None and word != REPORTED_WORD

    def set_widths(self) -> None:
        L, sheet = self.layout, self.sheet
        names = [display_width(r.name) for r in sheet.rows] or [8]
        self.widths[NAME_COL] = min(max(max(names) + 2, 14), 30)
        self.widths[CODE_COL] = 14
        for col in sheet.columns:
            least = COLUMN_WIDTHS.get(col.field.type, 10)
            self.widths[L.col_index[col.key]] = heading_width(col.field.label, least)
        self.widths[L.check_col] = CHECK_WIDTH
        for c, w in self.widths.items():
            self.ws.set_column(c - 1, c - 1, w)
        self.ws.set_column(L.severity_col - 1, L.severity_col - 1, 4, None, {"hidden": True})
        self.ws.set_column(L.note_col - 1, L.note_col - 1, NOTE_WIDTH)

    def right_block_start(self, texts: list[str]) -> int:
        """First column of the 表号 … 有效期至 block, wide enough for its longest line."""
        need = max(display_width(t) for t in texts) + 2
        width, col = 0.0, self.layout.last_col
        while col > CODE_COL + 1 and width + self.widths[col] < need:
            width += self.widths[col]
            col -= 1
        return col

    def write_heading(self) -> None:
        spec, sheet, st, L = self.spec, self.sheet, self.st, self.layout
        last = L.last_col
        self.merge(
            TITLE_ROW, 1, last, sheet.title, st(bold=True, font_size=18, align="center", valign="vcenter")
        )
        self.ws.set_row(TITLE_ROW - 1, 34)
        left = [
            f"填报单位：{spec.unit_name}",
            f"报 告 期：{spec.period}年",
            f"计量单位：{sheet.measure_unit}" if sheet.measure_unit else "",
            f"单位代码：{spec.unit_code}",
        ]
        right = [
            f"表　　号：{sheet.table_no}",
            f"制定机关：{sheet.authority}",
            f"批准文号：{sheet.approval}",
            f"有效期至：{sheet.valid_until}",
        ]
        split = self.right_block_start(right)
        lf = st(align="left", valign="vcenter")
        rf = lf
        for row, ltext, rtext in zip(INFO_ROWS, left, right, strict=True):
            self.merge(row, 1, split - 1, ltext, lf)
            self.merge(row, split, last, rtext, rf)
        # headings and the 甲 乙 1 2 3 code row
        head = st(
            bold=True, border=1, align="center", valign="vcenter", text_wrap=True, bg_color=FILLS["header"]
        )
        code = st(border=1, align="center", valign="vcenter", bg_color=FILLS["header"])
        self.put(HEADER_ROW, NAME_COL, "单位名称", head)
        self.put(HEADER_ROW, CODE_COL, "单位代码", head)
        self.put(CODE_ROW, NAME_COL, LETTER_CODES[0], code)
        self.put(CODE_ROW, CODE_COL, LETTER_CODES[1], code)
        lines = 1
        for col in sheet.columns:
            c = L.col_index[col.key]
            text = heading_text(col.field)
            self.put(HEADER_ROW, c, text, head)
            self.put(CODE_ROW, c, col.number, code)
            label_lines = math.ceil(display_width(col.field.label) / 2 / (self.widths[c] / CJK_WIDTH))
            lines = max(lines, label_lines + text.count("\n"))
        self.put(HEADER_ROW, L.check_col, "校验结果", head)
        self.put(CODE_ROW, L.check_col, None, code)
        self.put(HEADER_ROW, L.note_col, NOTE_HEADING, head)
        self.put(CODE_ROW, L.note_col, None, code)
        self.ws.set_row(HEADER_ROW - 1, ROW_HEIGHT * lines + 6)

    def write_table(self, given: dict[str, dict[str, Any]], computed: dict[str, dict[str, Any]]) -> None:
        sheet, st, L = self.sheet, self.st, self.layout
        self.write_total_row(computed[TOTAL])
        label = st.cell("label", "text")
        code_fmt = st.cell("code", "text")
        check_fmt = st.cell("check", "text")
        from_data = {c.key for c in sheet.data_derived}
        for unit in sheet.rows:
            r = L.row_index[unit.code]
            self.put(r, NAME_COL, unit.name, label)
            self.put(r, CODE_COL, unit.code, code_fmt)
            row_given, row_computed = given[unit.code], computed[unit.code]
            absent = self.absent(unit.code)
            for col in sheet.columns:
                c = L.col_index[col.key]
                ftype = col.field.type
                if col.role == "derived":
                    if absent and col.key in from_data:
                        self.put(r, c, None, st.cell("locked", ftype))
                    else:
                        text = self.derived(col, r)
                        self.formula(r, c, text, st.cell("locked", ftype), row_computed.get(col.key))
                    continue
                value = row_given.get(col.key)
                locked = (col.role == "prefill" and value is not None) or self.children_locked
                self.put(r, c, value, st.cell("locked" if locked else "input", ftype))
            if absent:
                self.put(r, L.check_col, None, check_fmt)
            else:
                self.formula(r, L.check_col, self.check(r), check_fmt, self.check_texts[unit.code])
            self.write_row_end(r, unit.code)

    def write_row_end(self, r: int, code: str) -> None:
        """What follows a data row's 校验结果: its 说明 cell and its hidden severity cell."""
        sheet, st, L = self.sheet, self.st, self.layout
        note_fmt = st(border=1, valign="top", text_wrap=True, locked=False, num_format="@")
        self.put(r, L.note_col, self.notes.get(code), note_fmt)
        if sheet.rules:
            stems = self.severity_rules  # text in a number cell among the errors
            severity = self.per_row(
                SEVERITY_KEY, lambda n: severity_formula(stems, f"{L.check_letter}{n}"), r
            )
            self.formula(r, L.severity_col, severity, st.cell("locked", "integer"), self.severity_of(code))

    def severity_of(self, code: str) -> int:
        """The hidden severity cell's value of a row (worked out once per distinct 校验结果 text)."""
        text = self.check_texts[code]
        known = self.__dict__.setdefault("_severity_of", {})
        if text not in known:
            known[text] = severity_value(text, self.severity_rules)
        return known[text]

    @property
    def severity_rules(self) -> list:
        """The rules the hidden severity cells look for, with text in a number cell among the errors."""
        return list(self.sheet.rules) + ([TEXT_STEM] if self.sheet.number_inputs else [])

    def write_row_status(self, row_status: Mapping[str, str]) -> None:
        """The 填报状态 column right of 校验结果: each child's status in its row, 已报 X/Y on the 合计 row.
        Outside the form's table (the reader and the formulas do not see it); rows not 已报 are greyed."""
        L, st = self.layout, self.st
        col = L.status_col
        head = st(
            bold=True, border=1, align="center", valign="vcenter", text_wrap=True, bg_color=FILLS["header"]
        )
        self.put(HEADER_ROW, col, STATUS_HEADING, head)
        self.put(CODE_ROW, col, None, st(border=1, bg_color=FILLS["header"]))
        plain = st(border=1, align="center", valign="vcenter")
        absent = st(
            border=1, align="center", valign="vcenter", bold=True, font_color="#9C0006", bg_color="#FFC7CE"
        )
        reported = 0
        for unit in self.sheet.rows:
            word = row_status.get(unit.code, "")
            reported += word == REPORTED_WORD
            self.put(L.row_index[unit.code], col, word, plain if word == REPORTED_WORD else absent)
        total = f"{REPORTED_WORD} {reported}/{len(self.sheet.rows)}"
        self.put(TOTAL_ROW, col, total, st(bold=True, border=1, align="center", bg_color=FILLS["locked"]))
        self.ws.set_column(col - 1, col - 1, 10)
        self.ws.print_area(f"A1:{xl_col_to_name(col - 1)}{L.summary_row + 3}")

    def write_total_row(self, total: dict[str, Any]) -> None:
        """The 合计 row: label, and each column's total (or derived) formula with its value."""
        sheet, st, L = self.sheet, self.st, self.layout
        self.put(
            TOTAL_ROW,
            NAME_COL,
            "合计",
            st(bold=True, border=1, align="center", valign="vcenter", bg_color=FILLS["locked"]),
        )
        self.put(
            TOTAL_ROW, CODE_COL, "—", st(border=1, align="center", valign="vcenter", bg_color=FILLS["locked"])
        )
        for col in sheet.columns:
            c = L.col_index[col.key]
            ftype = "integer" if col.field.aggregation == "count_if" else col.field.type
            if col.role == "derived":
                text = self.derived(col, TOTAL_ROW)
            else:
                text = engine.total_formula(L, col)
            self.formula(TOTAL_ROW, c, text, st.cell("total", ftype), total.get(col.key))
        self.put(TOTAL_ROW, L.check_col, None, st.cell("check", "text"))
        self.put(TOTAL_ROW, L.note_col, None, st.cell("check", "text"))

    def per_row(self, key: str, make: Callable[[Any], str], row: int) -> str:
        """``make(row)`` for a data row, compiled once per sheet: the rule compiler runs on a row token
        that is then replaced by each row's number (the formulas differ only in their row numbers)."""
        template = self.templates.get(key)
        if template is None:
            template = self.templates[key] = make(ROW_TOKEN)
            if plain_template(template):
                self.plain_templates.add(key)
        formula = template.replace(ROW_TOKEN, str(row))
        if len(formula) >= MAX_FORMULA:
            raise HBError(
                f"第 {row} 行的公式超过 Excel 的长度上限（{MAX_FORMULA} 个字符）",
                sheet=self.sheet.sheet,
                hint="缩短该表规则的提示文字，或把规则分到两张表",
            )
        if key in self.plain_templates:
            self.checked = formula
        return formula

    def derived(self, col: Column, row: int) -> str:
        if row == TOTAL_ROW:
            native = engine.derived_formula(self.layout, col, row)
        else:
            native = self.per_row(col.key, lambda r: engine.derived_formula(self.layout, col, r), row)
        if self.xlwings:
            for status, rate, expected in self.status:
                if status.key == col.key:
                    cell = f"{self.layout.col_letter(rate.key)}{row}"
                    own = f"{self.layout.col_letter(expected.key)}{row}"  # the row's own expected rate
                    return (
                        f"IFERROR(HB_STATUS({excel_text(rate.field.indicator)},{cell},{self.spec.period},{own}),"
                        f"{native})"
                    )
        return native

    def check(self, row: int) -> str:
        native = self.per_row(CHECK_KEY, lambda r: engine.check_formula(self.layout, r), row)
        if not self.xlwings:
            return native
        L = self.layout
        first = xl_col_to_name(FIRST_FIELD_COL - 1)
        last = xl_col_to_name(L.check_col - 2)
        header = self.refs.header[self.sheet.form]
        return (
            f"IFERROR(HB_CHECK({excel_text(self.sheet.form)},{first}{row}:{last}{row},{header},"
            f"{self.spec.period}),{native})"
        )

    def write_footer(self) -> None:
        L, st = self.layout, self.st
        items = list(SIGNATURE_ITEMS)
        last = L.last_col
        bounds = [1 + round(i * last / len(items)) for i in range(len(items) + 1)]
        fmt = st(align="left", valign="vcenter", locked=False, bottom=1)  # the clerk signs here
        for i, text in enumerate(items):
            first, end = bounds[i], max(bounds[i], bounds[i + 1] - 1)
            self.merge(L.footer_row, first, end, text, fmt)
        self.ws.set_row(L.footer_row - 1, 24)
        wrap = st(text_wrap=True, align="left", valign="top")
        total_width = sum(self.widths.values())
        self.merge(L.notes_row, 1, last, "说明：", st(bold=True, align="left", valign="vcenter"))
        for i, note in enumerate(self.sheet.notes, 1):
            text = f"{i}. {note}"
            row = L.notes_row + i
            self.merge(row, 1, last, text, wrap)
            lines = max(1, math.ceil(display_width(text) / 2 / max(total_width / CJK_WIDTH - 2, 10)))
            self.ws.set_row(row - 1, ROW_HEIGHT * lines + 3)

    def write_summary(self, given, computed, check_texts: list[str]) -> None:
        sheet, st, L = self.sheet, self.st, self.layout
        s = L.summary_row
        self.merge(s, 1, CODE_COL, "校验汇总", st(bold=True, align="left", valign="vcenter"))
        label = st(border=1, align="left", valign="vcenter", text_wrap=True)
        c_value = FIRST_FIELD_COL
        n_rows = len(sheet.rows)
        severity_range = (
            f"{L.severity_letter}{FIRST_DATA_ROW}:{L.severity_letter}{max(L.last_data_row, FIRST_DATA_ROW)}"
        )
        int_fmt = st(border=1, num_format="#,##0", bold=True, bg_color=FILLS["locked"])
        pct_fmt = st(border=1, num_format="0.0%", bold=True, bg_color=FILLS["locked"])
        for offset, importance, name in ((1, "error", "错误"), (2, "warning", "警告")):
            rules = [r for r in sheet.rules if r.importance == importance]
            if importance == "error" and sheet.number_inputs:
                rules.append(TEXT_STEM)  # text in a number cell counts as an error row
            self.merge(s + offset, 1, CODE_COL, f"有“{name}”的行数", label)
            self.formula(
                s + offset,
                c_value,
                rows_with_formula(importance, severity_range) if n_rows and rules else "0",
                int_fmt,
                rows_with(check_texts, rules),
            )
        inputs = sheet.input_columns
        cells = len(inputs) * n_rows
        self.merge(s + 3, 1, CODE_COL, "填报完成率（已填÷应填单元格）", label)
        if cells:
            counts = "+".join(f"COUNTA({L.data_range(c.key)})" for c in inputs)
            filled = sum(1 for r in sheet.rows for c in inputs if given[r.code].get(c.key) is not None)
            self.formula(s + 3, c_value, f"({counts})/{cells}", pct_fmt, filled / cells)
        else:
            self.formula(s + 3, c_value, '""', pct_fmt, "")
        # completion against the plan's schedule, from the 合计 row
        if self.status and L.last_col >= FIRST_FIELD_COL + 6:
            _status, rate, expected = self.status[0]
            lab_first, lab_last, value_col = FIRST_FIELD_COL + 2, FIRST_FIELD_COL + 4, FIRST_FIELD_COL + 5
            rate_cell, exp_cell = L.cell(TOTAL, rate.key), L.cell(TOTAL, expected.key)
            total = computed[TOTAL]
            self.merge(s + 1, lab_first, lab_last, f"{rate.field.label}（合计）", label)
            self.formula(s + 1, value_col, rate_cell, pct_fmt, total.get(rate.key))
            self.merge(s + 2, lab_first, lab_last, expected.field.label, label)
            self.formula(s + 2, value_col, exp_cell, pct_fmt, total.get(expected.key))
            self.merge(s + 3, lab_first, lab_last, f"完成{expected.field.label}的比例", label)
            native = completion_formula(rate_cell, exp_cell)
            text = native
            if self.xlwings:
                text = (
                    f"IFERROR(HB_COMPLETION({excel_text(rate.field.indicator)},{rate_cell},"
                    f"{self.spec.period},{exp_cell}),{native})"
                )
            self.formula(
                s + 3,
                value_col,
                text,
                pct_fmt,
                completion_value(total.get(rate.key), total.get(expected.key)),
            )

    def write_validation(self) -> None:
        sheet, L = self.sheet, self.layout
        first, last = FIRST_DATA_ROW - 1, L.last_data_row - 1
        for col in sheet.columns:
            if col.role == "derived":
                continue
            c = L.col_index[col.key] - 1
            options = validation_options(col)
            if options:
                self.ws.data_validation(first, c, last, c, options)

    def write_conditional_formats(self) -> None:
        sheet, L = self.sheet, self.layout
        top = FIRST_DATA_ROW
        fmts = {
            imp: self.st.book.add_format({"bg_color": FILLS[imp], "font_color": FONT_COLOURS[imp]})
            for imp in ("error", "warning")
        }

        def ref(key: str) -> str:
            return f"${L.col_letter(key)}{top}"

        ordered = [r for r in sheet.rules if r.importance == "error"] + [
            r for r in sheet.rules if r.importance != "error"
        ]
        for rule in ordered:
            keys = sorted(rule.compiled().fields, key=lambda k: L.col_index[k])
            ranges = [L.data_range(k) for k in keys]
            first_cell = ranges[0].split(":")[0]
            self.ws.conditional_format(
                first_cell,
                {
                    "type": "formula",
                    "criteria": f'=({rule.excel_status(ref)})<>""',
                    "format": fmts["error" if rule.importance == "error" else "warning"],
                    "multi_range": " ".join(ranges),
                },
            )
        # the 校验结果 cell itself: red when it names an error rule, else yellow when it names a warning
        check = f"${L.check_letter}{top}"
        rng = f"{L.check_letter}{top}:{L.check_letter}{L.last_data_row}"
        for importance in ("error", "warning"):
            stems = [rule_stem(r) for r in sheet.rules if r.importance == importance]
            if importance == "error" and sheet.number_inputs:
                stems.append(engine.TEXT_IN_NUMBER)  # text in a number cell: red like an error
            if not stems:
                continue
            test = ",".join(f"ISNUMBER(FIND({excel_text(s)},{check}))" for s in stems)
            self.ws.conditional_format(
                rng, {"type": "formula", "criteria": f"=OR({test})", "format": fmts[importance]}
            )

    def write_page_setup(self) -> None:
        ws, L = self.ws, self.layout
        ws.freeze_panes(CODE_ROW, CODE_COL)
        ws.hide_gridlines(2)
        ws.set_landscape()
        ws.set_paper(9)  # A4
        ws.repeat_rows(TITLE_ROW - 1, CODE_ROW - 1)
        ws.fit_to_pages(1, 0)
        ws.print_area(L.print_area)
        ws.set_margins(left=0.4, right=0.4, top=0.6, bottom=0.6)
        ws.center_horizontally()
        ws.set_footer("&C第 &P 页，共 &N 页")
        protect_sheet(ws)


def protect_sheet(ws) -> None:
    """Protect a sheet without a password: locked cells stay selectable, columns and rows resizable."""
    ws.protect(
        "",
        {
            "format_columns": True,
            "format_rows": True,
            "select_locked_cells": True,
            "select_unlocked_cells": True,
        },
    )


def rows_with_formula(importance: str, severity_range: str) -> str:
    """Formula counting the rows whose 校验结果 names a rule of ``importance`` (error / warning), from
    the hidden severity cells: COUNTIF, not an array formula, so every engine gives the same count."""
    if importance == "error":
        return f'COUNTIF({severity_range},">=2")'
    return f"COUNTIF({severity_range},1)+COUNTIF({severity_range},3)"


def completion_formula(rate_cell: str, expected_cell: str) -> str:
    """Formula of the share of the plan's expected progress reached (累计脱贫率 ÷ 规划进度)."""
    return f'IF(AND(ISNUMBER({rate_cell}),N({expected_cell})>0),{rate_cell}/{expected_cell},"")'


def completion_value(rate: Any, expected: Any) -> Any:
    """The Python side of :func:`completion_formula`."""
    number = (int, float)
    if (
        isinstance(rate, number)
        and not isinstance(rate, bool)
        and isinstance(expected, number)
        and expected > 0
    ):
        return rate / expected
    return ""


def validation_options(col: Column) -> dict[str, Any] | None:
    """XlsxWriter data-validation options for an input (or prefill) cell of ``col``."""
    field = col.field
    title = field.label[:32]
    unit = f"（单位：{field.unit}）" if field.unit and field.unit != "%" else ""
    if field.type == "choice":
        listed = "、".join(field.choices)
        return {
            "validate": "list",
            "source": list(field.choices),
            "input_title": title,
            "input_message": f"请从下拉列表中选择：{listed}。",
            "error_title": "输入有误",
            "error_message": f"「{field.label}」只能从下拉列表中选择：{listed}。",
            "error_type": "stop",
        }
    if field.type in ("integer", "decimal", "percent"):
        low, high = field_bounds(col)
        kind = "整数" if field.type == "integer" else "数值"
        span = f"{_number_text(low)} 至 {_number_text(high)}"
        if field.type == "percent":
            span = f"{low:.0%} 至 {high:.0%}（以小数或百分数填写）"
        return {
            "validate": "integer" if field.type == "integer" else "decimal",
            "criteria": "between",
            "minimum": low,
            "maximum": high,
            "input_title": title,
            "input_message": f"填写 {span} 之间的{kind}{unit}；未统计的留空。",
            "error_title": "输入有误",
            "error_message": f"「{field.label}」应为 {span} 之间的{kind}{unit}，不能填写文字或超出范围的数。",
            "error_type": "stop",
        }
    return {
        "validate": "length",
        "criteria": "<=",
        "value": 255,
        "input_title": title,
        "input_message": "填写文字，不超过255个字符。",
        "error_title": "输入有误",
        "error_message": f"「{field.label}」不能超过255个字符。",
        "error_type": "stop",
    }


TABLE_MAX_WIDTH = 40  # widest column of a read-only table; longer text (a SHA-256, a finding) wraps
DIGEST_WIDTH = 23  # a column holding SHA-256 digests: 32 hex digits a line at 7 points, two lines each
DIGEST_LINE = 9.0  # points per line of 7-point text
DIGEST = re.compile(r"^[0-9a-f]{64}(；[0-9a-f]{64})*$")


def _write_table(ws, rows: Sequence[Sequence[Any]], styles: Styles, *, title: str = "") -> None:
    """A read-only table: first row headings, then values (text is never turned into formulas).

    On paper: ``title`` heads every page (a page header, so the table still starts at A1 for the readers
    of 下级明细 / 汇总校验), the heading row repeats, columns are at most ``TABLE_MAX_WIDTH`` wide and
    wrap, SHA-256 digests in a small font broken across lines, one page wide."""
    head = styles(
        bold=True, border=1, align="center", valign="vcenter", text_wrap=True, bg_color=FILLS["header"]
    )
    body = styles(border=1, valign="top", text_wrap=True)
    digest = styles(border=1, valign="top", text_wrap=True, font_size=7, font_name="Consolas")
    widths: dict[int, int] = {}
    digests: set[tuple[int, int]] = set()
    for r, row in enumerate(rows):
        for c, value in enumerate(row):
            fmt = head if r == 0 else body
            if r and isinstance(value, str) and DIGEST.match(value):
                fmt, shown = digest, DIGEST_WIDTH - 2
                digests.add((r, c))
            else:
                shown = display_width(str(value)) if value is not None else 0
            widths[c] = max(widths.get(c, 0), shown)
            if value is None:
                ws.write_blank(r, c, None, fmt)
            elif isinstance(value, bool):
                ws.write_boolean(r, c, value, fmt)
            elif isinstance(value, int | float) and math.isfinite(value):
                ws.write_number(r, c, value, fmt)
            else:
                ws.write_string(r, c, shown_text(str(value)), fmt)
    columns = {c: min(max(w + 2, 8), TABLE_MAX_WIDTH) for c, w in widths.items()}
    for c, w in columns.items():
        ws.set_column(c, c, w)
    for r, row in enumerate(rows):  # wrapped text needs its rows' height set: no engine grows them on load
        height = 0.0
        for c, value in enumerate(row):
            if value is None:
                continue
            if (r, c) in digests:
                height = max(height, DIGEST_LINE * 2 * (str(value).count("；") + 1) + 4)
            else:
                lines = math.ceil(display_width(str(value)) / max(columns[c] - 1, 1)) or 1
                height = max(height, ROW_HEIGHT * lines + 2)
        if height > ROW_HEIGHT + 2:
            ws.set_row(r, height)
    if rows:
        ws.freeze_panes(1, 0)
        ws.repeat_rows(0)
    if title:
        ws.set_header(f'&C&"-,Bold"&14{_header_text(title)}')
    ws.set_footer("&C第 &P 页，共 &N 页")
    ws.set_landscape()
    ws.set_paper(9)
    ws.set_margins(left=0.4, right=0.4, top=0.9, bottom=0.6)
    ws.fit_to_pages(1, 0)
    protect_sheet(ws)


def _header_text(text: str) -> str:
    """``text`` safe inside an Excel page header (``&`` starts a code there)."""
    return text[:100].replace("&", "&&")


__all__ = [
    "FORM_ID_NAME",
    "INSTRUCTIONS_SHEET",
    "META_SHEET",
    "XLWINGS_SHEET",
    "UDF_MODULE",
    "Values",
    "ExtraSheets",
    "write_workbook",
    "meta_rows_expected",
    "validation_options",
    "status_columns",
    "rows_with",
    "rows_with_formula",
    "completion_value",
    "display_width",
    "field_bounds",
]
