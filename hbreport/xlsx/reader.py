"""Read a filled workbook back: identity, structure, values and checks.

``read_workbook(path)`` never trusts what a spreadsheet shows: it reads only the input and
prefilled cells, recomputes every derived value and the 合计 row in Python (the same engine that
wrote the formulas), and runs every rule on every row. Problems with the file as a whole (not a
workbook, not an hbreport form, another unit or period, an old template, renamed sheets, rows
inserted) raise :class:`HBError`; problems with content become :class:`Finding` s naming the file,
sheet and cell and what to do.

Bulk values come from python-calamine (fast; it reads hidden sheets). Which cells hold formulas is
read from the sheet XML the safety gate already inflated (``sheet_formulas``; openpyxl in read-only
mode when a package is written an unusual way), for the table area only (python-calamine 0.9 does not
expose formulas). The input file is read once into memory, checked, parsed from those same bytes, and
never written. What is the same for every workbook of a form (formula texts, column bounds) is worked
out once per sheet shape; texts for findings are made only when there is a finding.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from openpyxl.utils import get_column_letter

from hbreport.checks import cells as cell_checks
from hbreport.checks import quote, registered
from hbreport.checks.engine import ROW_MARK, check_row, check_template, derived_template, total_formula
from hbreport.coerce import cell_text, plain
from hbreport.context import Context
from hbreport.errors import HBError
from hbreport.forms import prefill_values
from hbreport.model import approval
from hbreport.model.figures import changed_cells, rows_of
from hbreport.model.findings import Finding, Findings
from hbreport.model.summary import ChildStatus, Summary
from hbreport.model.values import FormData
from hbreport.period import parse_period, period_label
from hbreport.registry import normalize_code
from hbreport.spec import FORM_FAMILY, TOTAL, Column, SheetSpec, WorkbookSpec, build_workbook_spec
from hbreport.xlsx import safety
from hbreport.xlsx.cells import (
    CellContext,
    InputPlan,
    at,
    calamine_sheet,
    fields_in_order,
    input_plan,
    normal_formula,
    open_calamine,
    open_openpyxl,
    read_cell,
    read_rows,
)
from hbreport.xlsx.layout import (
    CHECK_SHEET,
    CODE_COL,
    CODE_ROW,
    FIRST_DATA_ROW,
    HEADER_ROW,
    LETTER_CODES,
    NAME_COL,
    SUMMARY_SHEET,
    TOTAL_ROW,
    SheetLayout,
)
from hbreport.xlsx.sheet_formulas import error_cells, escaped, formula_cells

META_SHEET = "_meta"
NEW_FORM_HINT = "请向上级扶贫部门索取 {year} 年新表，把数据转填到新表后重新报送"
RULE_HINTS = {
    "error": "请核对本行数据并改正后重新报送",
    "warning": "请核实；确属实际情况的，在表下“说明”处写明原因",
}


@dataclass
class ReadResult(Findings):
    """A workbook read back: its values (derived recomputed), what is wrong in it, and its identity."""

    data: FormData
    findings: list[Finding]
    sha256: str
    path: Path
    meta: dict[str, str] = field(default_factory=dict)
    summary: Summary | None = None  # a consolidation's output: its Summary, from the hidden part
    consolidated: bool = False  # the workbook is a consolidation's output (it has 汇总校验)
    notes: dict[str, dict[str, str]] = field(default_factory=dict)  # form → row code → the row's 说明
    signature: dict[str, str] = field(default_factory=dict)  # 填表人, 联系电话 … → what was typed after them
    stamp: approval.Stamp | None = None  # its approval (hbreport approve), checked against its values

    @property
    def spec(self) -> WorkbookSpec:
        return self.data.spec

    @property
    def values_digest(self) -> str:
        """The digest of its data values and explanations (:func:`approval.content_digest`)."""
        return approval.content_digest(self.data, self.notes)


def read_workbook(
    path: str | Path,
    *,
    registry=None,
    catalog=None,
    baseline=None,
    expect_unit: str | None = None,
    expect_period: int | None = None,
    family: str = FORM_FAMILY,
    rebuild: Callable[[Path, dict[str, str], Any], WorkbookSpec] | None = None,
) -> ReadResult:
    """Read, recompute and check one filled workbook; HBError when the file cannot be used at all.

    ``family`` and ``rebuild`` serve workbooks of another family whose rows are not the registry's
    children (the exit verification's households and villages): ``rebuild(path, meta, book)`` gives
    the spec the workbook claims to be, in place of the one made from the registry."""

    path = Path(path)
    checked = safety.inspect_and_read(path)  # the bytes checked are the bytes parsed: read once
    inspection, data = checked.inspection, checked.data
    registry, catalog, baseline = Context.of(registry, catalog, baseline).parts

    book = open_calamine(path, data)
    try:
        meta = _read_meta(path, book, family)
        if rebuild is None:
            spec = _spec_for(path, meta, registry, catalog, baseline, expect_unit, expect_period)
        else:
            spec = rebuild(path, meta, book)
        reader = SheetReader(path, spec, registry)
        grids = {}
        for sheet in spec.sheets:
            grids[sheet.form] = reader.grid(book, sheet)
            reader.check_structure(sheet, grids[sheet.form].values)
        consolidated = CHECK_SHEET in book.sheet_names
        summary = read_summary_part(path, book, reader.findings)  # the bytes the gate passed
    finally:
        book.close()
    formulas = _formula_cells(path, data, spec, grids, checked.parts)
    errors = error_cells(data, _table_areas(spec), checked.parts) or {}

    expected_prefill = prefill_values(spec, registry, baseline)
    # a consolidated workbook's rows of children not 已报 carry no formulas and no data to judge
    absent = summary.absent_rows() if summary is not None else set()
    inputs: dict[str, dict[str, dict[str, Any]]] = {}
    for sheet in spec.sheets:
        grid, held = grids[sheet.form], formulas.get(sheet.sheet, {})
        sheet_errors = errors.get(sheet.sheet)
        reader.check_merged(sheet, grid.merged)
        if absent:  # figures typed into such a row are said and not read as the child's
            cleared = reader.clear_absent_rows(sheet, grid.values, held, sheet_errors, summary)
            if cleared:
                held = _Cleared(held, cleared)
                sheet_errors = {k: v for k, v in (sheet_errors or {}).items() if k not in cleared}
        reader.check_formulas(sheet, held, absent)
        before = len(reader.findings)
        inputs[sheet.form] = reader.read_values(
            sheet, grid.values, held, expected_prefill.get(sheet.form, {}), sheet_errors
        )
        if summary is not None and summary.figures:  # 已报 rows as the consolidation wrote them
            recorded = rows_of(summary.figures, sheet.form)
            if recorded:
                reader.restore_reported_rows(
                    sheet,
                    inputs[sheet.form],
                    recorded,
                    summary,
                    grid.values,
                    held,
                    sheet_errors,
                    expected_prefill.get(sheet.form, {}),
                    before,
                )

    form_data = FormData.from_inputs(spec, inputs, absent=absent, source=str(path), sha256=inspection.sha256)
    for sheet in spec.sheets:
        reader.check_rules(sheet, form_data.rows[sheet.form], absent)
    notes = {s.form: row_notes(s, grids[s.form].values) for s in spec.sheets}
    findings = explained(spec, reader.findings, notes)
    signature: dict[str, str] = {}
    for sheet in spec.sheets:
        for label, text in signed(sheet, grids[sheet.form].values).items():
            signature.setdefault(label, text)
    stamp = approval.stamp_in(meta, form_data, notes)
    return ReadResult(
        form_data,
        findings,
        inspection.sha256,
        path,
        meta,
        summary,
        consolidated or summary is not None,
        {f: n for f, n in notes.items() if n},
        signature,
        stamp,
    )


def explained(spec: WorkbookSpec, findings: list[Finding], notes: dict[str, dict[str, str]]) -> list[Finding]:
    """The findings, each 警告 on a row whose 说明 cell holds text carrying that text (已说明)."""
    if not any(notes.values()):
        return findings
    rows: dict[tuple[str, int], str] = {}
    for sheet in spec.sheets:
        layout = SheetLayout(sheet)
        for code, text in notes.get(sheet.form, {}).items():
            rows[(sheet.sheet, layout.row_index[code])] = text
    out = []
    for f in findings:
        number = "".join(ch for ch in f.cell or "" if ch.isdigit())
        text = rows.get((f.sheet or "", int(number))) if number and f.importance == "warning" else None
        out.append(replace(f, explanation=text) if text else f)
    return out


def _text_at(values: list[list[Any]], row: int, col: int) -> str:
    """The text of 1-based (row, col) of a sheet's values ('' when blank or outside them)."""
    if row - 1 < len(values) and col - 1 < len(values[row - 1]):
        return cell_text(values[row - 1][col - 1]).strip()
    return ""


def row_notes(sheet: SheetSpec, values: list[list[Any]]) -> dict[str, str]:
    """Each row's explanation in the 说明 column (none on forms issued without that column)."""
    from hbreport.xlsx.writer import NOTE_HEADING

    layout = SheetLayout(sheet)
    if _text_at(values, HEADER_ROW, layout.note_col).split("\n")[0] != NOTE_HEADING.split("\n")[0]:
        return {}
    out = {}
    for unit in sheet.rows:
        text = _text_at(values, layout.row_index[unit.code], layout.note_col)
        if text:
            out[unit.code] = text
    return out


def signed(sheet: SheetSpec, values: list[list[Any]]) -> dict[str, str]:
    """What the clerk typed after each label of the signature line (单位负责人, 填表人, 联系电话 …)."""
    from hbreport.xlsx.writer import SIGNATURE_ITEMS

    row = SheetLayout(sheet).footer_row
    if row - 1 >= len(values):
        return {}
    out = {}
    for raw in values[row - 1]:
        text = cell_text(raw).strip()
        for item in SIGNATURE_ITEMS:
            label = item.split("：")[0]
            if text.startswith(label + "：") and text != item:
                typed = text[len(label) + 1 :].strip()
                if typed and typed != item[len(label) + 1 :].strip():
                    out[label] = typed
    return out


# ---------------------------------------------------------------- file and identity


def read_summary_part(path: Path, book, findings: list[Finding]) -> Summary | None:
    """The consolidation Summary a workbook carries on its hidden ``_summary`` sheet (None when it has
    none); a part this version cannot read is a warning in ``findings``, never a guess from the
    Chinese sheets."""
    if SUMMARY_SHEET not in book.sheet_names:
        return None
    rows = book.get_sheet_by_name(SUMMARY_SHEET).to_python(skip_empty_area=False)
    text = "".join(row[0] for row in rows if row and isinstance(row[0], str))
    try:
        return Summary.from_part(text)
    except ValueError as exc:
        findings.append(
            Finding(
                message=f"汇总情况数据（隐藏的 {SUMMARY_SHEET} 工作表）无法读取（{exc}），各级报送数未计入",
                importance="warning",
                rule="汇总情况",
                file=str(path),
                sheet=SUMMARY_SHEET,
                hint="请报送单位用本版本程序重新汇总后再报送",
            )
        )
        return None


def _read_meta(path: Path, book, family: str = FORM_FAMILY) -> dict[str, str]:
    """The identity in the `_meta` sheet, found by name (never by visibility: LibreOffice un-hides it).
    A key's first row counts, but for the approval's rows: the latest approval stands."""
    names = {name.strip().casefold(): name for name in book.sheet_names}
    name = names.get(META_SHEET.casefold())
    not_ours = HBError(
        "不是 hbreport 生成的报表（没有标识报表身份的 _meta 工作表），无法确定填报单位、报告期和表式版本",
        file=path,
        hint="请使用上级下发的 hbreport 空白报表填报；不要把数据复制到新建的工作簿里报送",
    )
    if name is None:
        raise not_ours
    sheet = book.get_sheet_by_name(name)
    if sheet.height > 1000:
        raise HBError("_meta 工作表的行数异常", file=path, sheet=name, hint="请使用上级下发的原报表重新填报")
    meta: dict[str, str] = {}
    for row in sheet.to_python(skip_empty_area=False):
        if len(row) >= 2:
            key, value = cell_text(row[0]), cell_text(row[1])
            if key and key != "key" and (key not in meta or key.startswith(approval.PREFIX)):
                meta[key] = value
    if meta.get("family") != family:
        raise not_ours
    missing = [k for k in ("unit_code", "period", "version", "layout_hash") if not meta.get(k)]
    if missing:
        raise HBError(
            f"_meta 工作表缺少 {'、'.join(missing)}，报表身份不完整（可能被改动过）",
            file=path,
            sheet=name,
            hint="请使用上级下发的原报表重新填报",
        )
    return meta


def _spec_for(path, meta, registry, catalog, baseline, expect_unit, expect_period) -> WorkbookSpec:
    """Rebuild the spec the workbook claims to be and compare identity, version and layout."""
    claimed_name = meta.get("unit_name", "")
    try:
        unit_code = normalize_code(meta["unit_code"])
        unit = registry.get(unit_code)
    except HBError:
        raise HBError(
            f"报表标识的填报单位「{claimed_name}」（代码 {meta['unit_code']}）不在单位名册中",
            file=path,
            hint="请确认单位名册是最新的，或请填报单位使用上级下发的本单位报表",
        ) from None
    if expect_unit is not None:
        expected = registry.get(expect_unit)
        if expected.code != unit.code:
            raise HBError(
                f"报表标识的填报单位是「{unit.name}」（{unit.short_code}），不是应报的「{expected.name}」（{expected.short_code}）",
                file=path,
                hint=f"请确认报送的是「{expected.name}」本单位的报表；文件名可能与内容不符",
            )
    try:
        period = parse_period(meta["period"])
    except HBError:
        raise HBError(
            f"报表标识的报告期「{meta['period']}」无法识别", file=path, hint="请使用上级下发的原报表重新填报"
        ) from None
    if expect_period is not None and period != expect_period:
        raise HBError(
            f"这是「{unit.name}」{period_label(period)}的报表，本次收取的是{period_label(expect_period)}的报表",
            file=path,
            hint=NEW_FORM_HINT.format(year=expect_period)
            if period < expect_period
            else f"请报送{period_label(expect_period)}的报表",
        )
    spec = build_workbook_spec(unit.code, period, registry=registry, catalog=catalog, baseline=baseline)
    claimed_forms = meta.get("forms")
    if meta["version"] != spec.version or (
        claimed_forms and claimed_forms != ",".join(s.form for s in spec.sheets)
    ):
        raise HBError(
            f"报表是旧版表式（文件版本 {meta['version']}，当前版本 {spec.version}）",
            file=path,
            hint=NEW_FORM_HINT.format(year=period),
        )
    if meta["layout_hash"] != spec.layout_hash:
        _rows_against_registry(path, meta, spec, registry)
        raise HBError(
            f"表式结构与当前表式不一致（版本号同为 {spec.version}，但布局指纹为 {meta['layout_hash']}，"
            f"当前应为 {spec.layout_hash}）：可能是单位名册或表式调整前生成的旧表",
            file=path,
            hint=NEW_FORM_HINT.format(year=period),
        )
    return spec


def _rows_against_registry(path: Path, meta: dict[str, str], spec: WorkbookSpec, registry) -> None:
    """When the layout differs because the workbook's rows are other units than the registry's children
    (a workbook made from another registry, or before the registry changed), say so, with examples.

    The workbook lists its rows per form in ``_meta``. Units there that are not this unit's children
    in the registry, or children that no form of the workbook lists, mean the registries differ; rows
    that differ otherwise (which villages are poor comes from the baseline) are left to the layout
    message."""
    claimed = {s.form: [c for c in meta.get(f"rows.{s.form}", "").split(",") if c] for s in spec.sheets}
    listed = {c for rows in claimed.values() for c in rows}
    if not listed:
        return
    children = registry.children(spec.unit_code)
    known = {u.code for u in children} | {spec.unit_code}
    only_book = sorted(listed - known)
    only_registry = [u for u in children if u.code not in listed]
    if not only_book and not only_registry:
        return
    parts = []
    if only_book:
        codes = "、".join(_short_code(c) for c in only_book[:3])
        parts.append(f"表中有 {len(only_book)} 个单位不是名册中「{spec.unit_name}」的下级（如 {codes}）")
    if only_registry:
        names = "、".join(f"{u.name}（{_short_code(u.code)}）" for u in only_registry[:3])
        parts.append(f"名册中有 {len(only_registry)} 个下级不在表中（如 {names}）")
    named = meta.get("unit_name", "")
    renamed = (
        f"报表的填报单位「{named}」在所用名册中名为「{spec.unit_name}」；"
        if named and named != spec.unit_name
        else ""
    )
    differs = [s for s in spec.sheets if set(claimed[s.form]) != {r.code for r in s.rows}]
    sheet = (differs or spec.sheets)[0]
    raise HBError(
        f"{renamed}表中的单位与单位名册不一致：{'；'.join(parts)}",
        file=path,
        sheet=sheet.sheet,
        hint="报表与所用的单位名册不是同一份：若报表是按另一份名册生成的（例如完整的区划表），"
        "检查和汇总时请用 --units 指定同一份名册；若名册已调整，请向上级扶贫部门索取按新名册生成的报表",
    )


def _short_code(code: str) -> str:
    """12 digits as people write them: trailing zero groups dropped (6 digits for a county, 9 for a township)."""
    for keep in (6, 9):
        if code[keep:] == "0" * (len(code) - keep):
            return code[:keep]
    return code


# ---------------------------------------------------------------- formulas (openpyxl, read-only)


def _shape(sheet: SheetSpec) -> tuple:
    """What a sheet's formulas and cell checks depend on besides its number of rows: its columns (their
    fields carry type, bounds, choices and aggregation) and rules, not which units the rows are."""
    return (
        sheet.form,
        tuple((c.field, c.role, c.number, c.formula, c.prefill) for c in sheet.columns),
        sheet.rules,
    )


_SHAPES: dict[tuple, int] = {}  # sheet shape → a small number naming it in _PLANS
_PLANS: dict[tuple, Any] = {}  # (kind, shape number, …) → plan
_MAX_PLANS = 4096


def _planned(kind: str, sheet: SheetSpec, make, *extra: Any) -> Any:
    """``make(sheet, *extra)``, worked out once per sheet shape (see :func:`_shape`), kind and ``extra``:
    every workbook of a form shares the plans, whichever units its rows are."""
    shape = _shape(sheet)
    number = _SHAPES.get(shape)
    if number is None:
        if len(_SHAPES) >= 64 or len(_PLANS) >= _MAX_PLANS:
            _SHAPES.clear()
            _PLANS.clear()
        number = _SHAPES[shape] = len(_SHAPES)
    key = (kind, number, *extra)
    plan = _PLANS.get(key)
    if plan is None:
        if len(_PLANS) >= _MAX_PLANS:
            _PLANS.clear()
        plan = _PLANS[key] = make(sheet, *extra)
    return plan


def _formulas_as_written(sheet: SheetSpec) -> dict[tuple[int, int], tuple[bytes, str]]:
    """(row, col) → (the formula as the sheet XML holds it, '=' + the formula) for every cell that must
    hold a formula: derived, 合计 and 校验结果 (made from the per-row texts, shared by every sheet size)."""
    return _planned("written", sheet, _make_formulas_as_written, len(sheet.rows))


def _make_formulas_as_written(sheet: SheetSpec, n_rows: int) -> dict[tuple[int, int], tuple[bytes, str]]:
    out = dict(_total_formulas(sheet))
    for column in _planned("row columns", sheet, _row_columns):
        out.update(column.first(n_rows))
    return out


_MARK_BYTES = ROW_MARK.encode()


class _ColumnFormulas:
    """One formula column of a form's data rows, cell by cell as written ((row, col), (the formula as the
    XML holds it, '=' + the formula)), made as far down as a sheet has asked for: the sheets of a form
    with fewer or more rows share them."""

    def __init__(self, c: int, written: bytes, text: str) -> None:
        self.c, self.written, self.text = c, written, text
        self.cells: list[tuple[tuple[int, int], tuple[bytes, str]]] = []

    def first(self, n_rows: int) -> list[tuple[tuple[int, int], tuple[bytes, str]]]:
        cells = self.cells
        for r in range(FIRST_DATA_ROW + len(cells), FIRST_DATA_ROW + n_rows):
            digits = str(r)
            written = self.written.replace(_MARK_BYTES, digits.encode())
            cells.append(((r, self.c), (written, self.text.replace(ROW_MARK, digits))))
        return cells[:n_rows]


def _row_columns(sheet: SheetSpec) -> tuple[_ColumnFormulas, ...]:
    return tuple(_ColumnFormulas(*t) for t in _planned("row templates", sheet, _row_templates))


def _row_templates(sheet: SheetSpec) -> tuple[tuple[int, bytes, str], ...]:
    """Per formula column of a data row (derived cells, then 校验结果): (column, the formula as the XML
    holds it, '=' + the formula), with the row number left as ROW_MARK: made once per form."""
    layout = SheetLayout(sheet)
    texts = [
        (layout.col_index[col.key], derived_template(layout, col))
        for col in sheet.columns
        if col.role == "derived"
    ]
    texts.append((layout.check_col, check_template(layout)))
    return tuple((c, escaped(text), "=" + text) for c, text in texts)


def _total_formulas(sheet: SheetSpec) -> tuple[tuple[tuple[int, int], tuple[bytes, str]], ...]:
    def make(sheet: SheetSpec, n_rows: int) -> tuple:
        layout = SheetLayout(sheet)
        texts = ((layout.col_index[col.key], total_formula(layout, col)) for col in sheet.columns)
        return tuple(((TOTAL_ROW, c), _as_written(text)) for c, text in texts)

    return _planned("total", sheet, make, len(sheet.rows))


def _as_written(text: str) -> tuple[bytes, str]:
    return escaped(text), "=" + text


def _table_areas(spec: WorkbookSpec) -> dict[str, tuple[int, int, int, int]]:
    """Per sheet: the table's (first row, last row, first column, last column), 合计 row to 校验结果."""
    areas = {}
    for sheet in spec.sheets:
        layout = SheetLayout(sheet)
        areas[sheet.sheet] = (TOTAL_ROW, layout.last_data_row, 1, layout.check_col)
    return areas


def _formula_cells(
    path: Path,
    data: bytes,
    spec: WorkbookSpec,
    grids: Mapping[str, Any] | None = None,
    parts: Mapping[str, bytes] | None = None,
) -> dict[str, Mapping[tuple[int, int], Any]]:
    """Per sheet: (row, col) → what the table area holds as written (formula text starts with '=').

    Fast path: formula cells found in the sheet XML (sheet_formulas), every other cell's value from the
    calamine grid already read; openpyxl (read-only) when the package is not written the common way."""
    areas = _table_areas(spec)
    expected = {sheet.sheet: _formulas_as_written(sheet) for sheet in spec.sheets}
    fast = formula_cells(data, areas, expected, parts) if grids is not None else None
    if fast is not None:
        return {
            sheet.sheet: _HeldCells(fast[sheet.sheet], grids[sheet.form].values, areas[sheet.sheet])
            for sheet in spec.sheets
        }

    book = open_openpyxl(path, data)
    out: dict[str, dict[tuple[int, int], Any]] = {}
    try:
        for sheet in spec.sheets:
            if sheet.sheet not in book.sheetnames:
                continue
            layout = SheetLayout(sheet)
            ws = book[sheet.sheet]
            cells: dict[tuple[int, int], Any] = {}
            for r, row in enumerate(
                ws.iter_rows(
                    min_row=TOTAL_ROW,
                    max_row=layout.last_data_row,
                    min_col=1,
                    max_col=layout.check_col,
                    values_only=True,
                ),
                start=TOTAL_ROW,
            ):
                for c, value in enumerate(row, start=1):
                    cells[(r, c)] = value
            out[sheet.sheet] = cells
    finally:
        book.close()
    return out


_OUTSIDE = object()  # a cell outside the table area


class _Cleared(Mapping):
    """``held`` but for the cells of ``cleared``, which hold nothing."""

    def __init__(self, held: Mapping[tuple[int, int], Any], cleared: Collection[tuple[int, int]]) -> None:
        self.held, self.cleared = held, cleared

    def __getitem__(self, key: tuple[int, int]) -> Any:
        return None if key in self.cleared else self.held[key]

    def get(self, key: tuple[int, int], default: Any = None) -> Any:
        return None if key in self.cleared else self.held.get(key, default)

    def __iter__(self):
        return iter(self.held)

    def __len__(self) -> int:
        return len(self.held)


class _HeldCells(Mapping):
    """(row, col) → what a cell of the table area holds: its formula text ('=…') when it holds a formula,
    else its value from the calamine grid (None for an empty cell). Looked up, never copied."""

    def __init__(
        self, formulas: dict[tuple[int, int], str], values: list[list[Any]], area: tuple[int, int, int, int]
    ) -> None:
        self.formulas = formulas
        self.values = values
        self.area = area

    def __getitem__(self, key: tuple[int, int]) -> Any:
        held = self.get(key, _OUTSIDE)
        if held is _OUTSIDE:
            raise KeyError(key)
        return held

    def __iter__(self):
        top, bottom, left, right = self.area
        return ((r, c) for r in range(top, bottom + 1) for c in range(left, right + 1))

    def __len__(self) -> int:
        top, bottom, left, right = self.area
        return max(0, bottom - top + 1) * max(0, right - left + 1)

    def get(self, key: tuple[int, int], default: Any = None) -> Any:
        formula = self.formulas.get(key)
        if formula is not None:
            return formula
        r, c = key
        top, bottom, left, right = self.area
        if not (top <= r <= bottom and left <= c <= right):
            return default
        return at(self.values, r, c)


# ---------------------------------------------------------------- sheets


@dataclass
class _Grid:
    values: list[list[Any]]
    merged: list[tuple[tuple[int, int], tuple[int, int]]]


class SheetReader:
    """Reads the form sheets of one workbook and collects findings (the roster reader,
    :class:`hbreport.households.readback.RosterSheetReader`, is this reader with households for rows)."""

    rule_hints = RULE_HINTS

    def __init__(self, path: Path, spec: WorkbookSpec, registry) -> None:
        self.path = path
        self.spec = spec
        self.registry = registry
        self.findings: list[Finding] = []
        self.row_names: dict[str, dict[str, str]] = {}

    # -- findings

    def add(
        self,
        sheet: SheetSpec,
        cell: str | None,
        message: str,
        rule: str,
        hint: str,
        importance: str = "error",
    ) -> None:
        self.findings.append(
            Finding(
                message=message,
                importance=importance,
                rule=rule,
                file=str(self.path),
                unit_code=self.spec.unit_code,
                unit_name=self.spec.unit_name,
                sheet=sheet.sheet,
                cell=cell,
                hint=hint,
            )
        )

    def report(self, sheet: SheetSpec, cell: str | None, code: str, /, **fields: Any) -> None:
        """A finding of the registered check ``code``, its message and hint made from ``fields`` (which
        may themselves be named ``code`` or ``sheet``: the check's own parameters are positional)."""
        check = registered(code)
        self.add(sheet, cell, check.message(**fields), code, check.hint_text(**fields), check.importance)

    def fail(self, sheet: SheetSpec, cell: str | None, message: str, hint: str) -> HBError:
        return HBError(message, file=self.path, sheet=sheet.sheet, cell=cell, hint=hint)

    def row_label(self, sheet: SheetSpec, row_key: str) -> str:
        if row_key == TOTAL:
            return "合计行"
        names = self.row_names.get(sheet.form)
        if names is None:
            names = self.row_names[sheet.form] = {r.code: r.name for r in reversed(sheet.rows)}
        return f"「{names.get(row_key, '')}」（{self.short_code(row_key)}）行"

    # -- reading

    def grid(self, book, sheet: SheetSpec) -> _Grid:
        if sheet.sheet not in book.sheet_names:
            from hbreport.xlsx.writer import INSTRUCTIONS_SHEET, XLWINGS_SHEET

            known = {META_SHEET, INSTRUCTIONS_SHEET, XLWINGS_SHEET, *(s.sheet for s in self.spec.sheets)}
            others = "".join(f"「{n}」" for n in book.sheet_names if n not in known)
            seen = f"；工作簿中另有工作表{others}" if others else ""
            raise self.fail(
                sheet,
                None,
                f"找不到工作表「{sheet.sheet}」（{sheet.table_no} {sheet.title}），可能被改名或删除{seen}",
                f"请把工作表名改回「{sheet.sheet}」；如已删除，请使用上级下发的原报表重新填报",
            )
        ws = calamine_sheet(
            self.path, book, sheet.sheet, "请删除表格下方多余的行后重新保存；表格本身不应有这么多行"
        )
        layout = SheetLayout(sheet)
        values = ws.to_python(skip_empty_area=False, nrows=layout.last_data_row + 2)
        return _Grid(values, list(ws.merged_cell_ranges or []))

    def check_structure(self, sheet: SheetSpec, values: list[list[Any]]) -> None:
        """Headings, column codes and row codes as the spec lays them out; HBError at the first difference."""
        hint = "请勿增删行列；请使用上级下发的原报表重新填报，或把改动恢复原样"
        self.check_columns(sheet, values, hint)
        for i, unit in enumerate(sheet.rows):
            r = FIRST_DATA_ROW + i
            found = cell_text(at(values, r, CODE_COL))
            if _same_code(found, unit.code):
                continue
            where = f"第 {r} 行应为「{unit.name}」（{self.short_code(unit.code)}），表中为「{cell_text(at(values, r, NAME_COL))}」（{found or '空'}）"
            raise self.fail(sheet, f"B{r}", f"{where}：表格中插入、删除或调换了行", hint)
        self.check_end(
            sheet,
            values,
            "表格最后一行之后多出一行「{}」：表格中插入了行",
            "请删除多出的行；本表的单位由上级按单位名册确定，如名册有误请联系上级扶贫部门",
        )

    def check_columns(self, sheet: SheetSpec, values: list[list[Any]], hint: str) -> None:
        """The column codes and headings, and the 合计 row, where the spec puts them; HBError (with
        ``hint``) at the first difference."""
        layout = SheetLayout(sheet)
        for col, code in ((NAME_COL, LETTER_CODES[0]), (CODE_COL, LETTER_CODES[1])):
            found = cell_text(at(values, CODE_ROW, col))
            if found != code:
                cell = f"{get_column_letter(col)}{CODE_ROW}"
                raise self.fail(
                    sheet, cell, f"栏目代码应为「{code}」，表中为「{found}」：表头被改动或插入了列", hint
                )
        for column in sheet.columns:
            c = layout.col_index[column.key]
            found = cell_text(at(values, CODE_ROW, c))
            heading = cell_text(at(values, HEADER_ROW, c))
            if found != str(column.number):
                row, problem = (
                    CODE_ROW,
                    (
                        f"栏目代码应为「{column.number}」（{column.field.label}），表中为「{found}」：插入、删除或移动了列"
                    ),
                )
            elif column.field.label not in heading:
                row, problem = (
                    HEADER_ROW,
                    f"栏目名称应为「{column.field.header()}」，表中为「{heading}」：表头被改动",
                )
            else:
                continue
            raise self.fail(sheet, f"{get_column_letter(c)}{row}", problem, hint)
        total = cell_text(at(values, TOTAL_ROW, NAME_COL))
        if "合计" not in total.replace(" ", "").replace("\u3000", ""):
            raise self.fail(sheet, f"A{TOTAL_ROW}", f"第 {TOTAL_ROW} 行应为「合计」，表中为「{total}」", hint)

    def check_end(self, sheet: SheetSpec, values: list[list[Any]], message: str, hint: str) -> None:
        """Nothing below the table's last row: HBError when the row after it holds a code or a name
        (``message`` with ``{}`` for what it holds)."""
        after = SheetLayout(sheet).last_data_row + 1
        extra = cell_text(at(values, after, CODE_COL)) or cell_text(at(values, after, NAME_COL))
        if extra:
            raise self.fail(sheet, f"B{after}", message.format(extra), hint)

    def short_code(self, code: str) -> str:
        try:
            return self.registry.get(code).short_code
        except HBError:
            return code

    def check_merged(self, sheet: SheetSpec, merged) -> None:
        layout = SheetLayout(sheet)
        for (r0, c0), (r1, c1) in merged:
            top, left, bottom, right = r0 + 1, c0 + 1, r1 + 1, c1 + 1
            if bottom < TOTAL_ROW or top > layout.last_data_row or left > layout.check_col:
                continue
            ref = f"{get_column_letter(left)}{top}:{get_column_letter(right)}{bottom}"
            self.report(sheet, f"{get_column_letter(left)}{top}", cell_checks.MERGED, ref=ref)

    def check_formulas(
        self, sheet: SheetSpec, cells: Mapping[tuple[int, int], Any], absent: Collection[str] = ()
    ) -> None:
        """Derived, 合计 and 校验结果 cells must still hold their formulas; the rows of ``absent``
        children (a consolidated workbook's rows not 已报) hold none, or one giving ""."""
        get = cells.get
        skip: set[int] = set()
        if absent:
            rows = SheetLayout(sheet).row_index
            skip = {rows[code] for code in absent if code in rows}
        for (r, c), (_, written) in _formulas_as_written(sheet).items():
            held = get((r, c))
            if held is written or held == written:
                continue  # exactly the formula written (the common case)
            if r in skip and (held in (None, "") or held == '=""'):
                continue
            self.check_formula(sheet, r, c, written[1:], held)

    def check_formula(self, sheet: SheetSpec, r: int, c: int, formula: str, held: Any) -> None:
        """One cell that must hold ``formula``: a finding when it was changed or overwritten."""
        layout = SheetLayout(sheet)
        names = {layout.col_index[col.key]: col.field.label for col in sheet.columns}
        names[layout.check_col] = "校验结果"
        cell = f"{get_column_letter(c)}{r}"
        what = self.cell_label(sheet, r, names[c])
        if isinstance(held, str) and held.startswith("="):
            if normal_formula(formula) not in normal_formula(held):
                self.report(
                    sheet, cell, cell_checks.FORMULA_CHANGED, what=what, formula=quote(held), doc="报表"
                )
            return
        how = "删除" if held in (None, "") else f"改成了直接键入的数值「{quote(cell_text(held))}」"
        self.report(sheet, cell, cell_checks.FORMULA_REPLACED, what=what, how=how, doc="报表")

    def cell_label(self, sheet: SheetSpec, r: int, label: str) -> str:
        row_key = TOTAL if r == TOTAL_ROW else sheet.rows[r - FIRST_DATA_ROW].code
        return f"{self.row_label(sheet, row_key)}的「{label}」"

    def clear_absent_rows(
        self,
        sheet: SheetSpec,
        values: list[list[Any]],
        held: Mapping[tuple[int, int], Any],
        errors: Mapping[tuple[int, int], str] | None,
        summary: Summary,
    ) -> set[tuple[int, int]]:
        """In a consolidated workbook, the rows of children ``summary`` does not count as 已报 hold only
        their prefilled baseline: a figure typed into an input or computed cell there is a finding (one
        per row) and is taken out of ``values`` (this read's copy of the grid), so it is counted
        nowhere. The (row, col) of the cells cleared."""
        from hbreport.checks.consolidation import ABSENT_FILLED
        from hbreport.model.summary import ACCEPTED, DUPLICATE, REJECTED

        layout = SheetLayout(sheet)
        from_data = {c.key for c in sheet.data_derived}
        watched = [layout.col_index[c.key] for c in sheet.columns if c.role == "input" or c.key in from_data]
        cleared: set[tuple[int, int]] = set()
        for child in summary.children:
            if child.status == ACCEPTED or child.code not in layout.row_index:
                continue
            r = layout.row_index[child.code]
            typed = []
            for c in watched:
                raw = at(values, r, c)
                shown = (errors or {}).get((r, c)) or (raw if raw is not None else held.get((r, c)))
                if shown is None or shown == '=""' or not cell_text(shown).strip():
                    continue  # nothing, or the empty formula check_formulas allows there
                typed.append((f"{get_column_letter(c)}{r}", shown))
                cleared.add((r, c))
                if raw is not None:
                    values[r - 1][c - 1] = None
            if not typed:
                continue
            self.report(
                sheet,
                typed[0][0],
                ABSENT_FILLED,
                row=self.row_label(sheet, child.code),
                status=REJECTED if child.status == DUPLICATE else child.status,
                cells="、".join(cell for cell, _ in typed),
                shown="、".join(quote(cell_text(value)) for _, value in typed[:3])
                + ("等" if len(typed) > 3 else ""),
                unit=f"「{child.name}」",
            )
        return cleared

    def restore_reported_rows(
        self,
        sheet: SheetSpec,
        rows: dict[str, dict[str, Any]],
        recorded: Mapping[str, Mapping[str, Any]],
        summary: Summary,
        values: list[list[Any]],
        held: Mapping[tuple[int, int], Any],
        errors: Mapping[tuple[int, int], str] | None,
        prefill: Mapping[str, Mapping[str, Any]],
        since: int,
    ) -> None:
        """In a consolidated workbook, the input cells of each 已报 child's row (``rows``, as read) that
        differ from what the consolidation wrote there (``recorded``, from the Summary part) are a finding
        (one per row) and are read as recorded: the figures used are the child's. Findings made since
        ``since`` on those cells (text in a number cell …) are about values not used and are dropped.
        Prefilled cells with a baseline are the prefill check's."""
        from hbreport.checks.consolidation import REPORTED_CHANGED
        from hbreport.model.summary import ACCEPTED

        layout = SheetLayout(sheet)
        labels = {c.key: c.field.label for c in sheet.columns}
        restored: set[str] = set()
        said: list[tuple[ChildStatus, str, list[str]]] = []  # child, its first cell changed, the changes
        for child in summary.children:
            was = recorded.get(child.code)
            if child.status != ACCEPTED or was is None or child.code not in rows:
                continue
            base = prefill.get(child.code) or {}
            watched = {k: v for k, v in was.items() if k in layout.col_index and base.get(k) is None}
            changes = changed_cells(watched, rows[child.code])
            if not changes:
                continue
            r = layout.row_index[child.code]
            shown = []
            shown_first = ""
            for key, before, now in sorted(changes, key=lambda x: layout.col_index[x[0]]):
                c = layout.col_index[key]
                cell = f"{get_column_letter(c)}{r}"
                shown_first = shown_first or cell
                raw = (errors or {}).get((r, c)) or at(values, r, c)
                now_text = cell_text(raw if raw not in (None, "") else held.get((r, c), now))
                shown.append(
                    f"{cell}「{labels[key]}」汇总时为{_figure(before)}，现为{_figure(now_text or None)}"
                )
                rows[child.code][key] = before
                restored.add(cell)
            said.append((child, shown_first, shown))
        if restored:
            self.findings[since:] = [
                f for f in self.findings[since:] if not (f.sheet == sheet.sheet and f.cell in restored)
            ]
        for child, first, shown in said:
            self.report(
                sheet,
                first,
                REPORTED_CHANGED,
                row=self.row_label(sheet, child.code),
                unit=f"「{child.name}」",
                changes="；".join(shown),
            )

    def read_values(
        self,
        sheet: SheetSpec,
        values: list[list[Any]],
        held: Mapping[tuple[int, int], Any],
        prefill: Mapping[str, Mapping[str, Any]],
        errors: Mapping[tuple[int, int], str] | None = None,
    ) -> dict[str, dict[str, Any]]:
        """Input and prefill cells of each row (:func:`hbreport.xlsx.cells.read_rows`); values that cannot be
        used become None with a finding.

        A formula a clerk typed into an input cell (=120+30) counts with the result the spreadsheet
        saved; a file saved without results (by a script) cannot be read there and says so. ``errors``:
        (row, col) → the error value (#N/A) a cell holds."""
        plan = _planned("inputs", sheet, _input_plan)
        codes = [unit.code for unit in sheet.rows]
        return read_rows(values, FIRST_DATA_ROW, codes, plan, prefill, self.cells(sheet, held, errors))

    def cells(
        self,
        sheet: SheetSpec,
        held: Mapping[tuple[int, int], Any],
        errors: Mapping[tuple[int, int], str] | None = None,
    ) -> CellContext:
        """How :mod:`hbreport.xlsx.cells` reads this sheet's cells: findings and row names from this reader."""
        return CellContext(
            held,
            errors or {},
            lambda code: self.row_label(sheet, code),
            lambda cell, message, code, hint, importance: self.add(
                sheet, cell, message, code, hint, importance
            ),
            lambda code, column, cell, value, expected: self.check_prefill(
                sheet, code, column, cell, value, expected
            ),
        )

    def read_cell(
        self,
        sheet: SheetSpec,
        row_key: str,
        column: Column,
        r: int,
        c: int,
        raw: Any,
        held: Mapping[tuple[int, int], Any],
        expected_row: Mapping[str, Any] | None,
        error: str | None = None,
    ) -> Any:
        """One input or prefill cell, read as :meth:`read_values` reads the cells it cannot take at once."""
        errors = {(r, c): error} if error is not None else {}
        return read_cell(self.cells(sheet, held, errors), row_key, column, r, c, raw, expected_row)

    def check_prefill(
        self, sheet: SheetSpec, row_key: str, column: Column, cell: str, value: Any, expected: Any
    ) -> Any:
        """A prefilled baseline cell must still hold the baseline; the baseline is what gets used."""
        if expected is None or plain(value) == plain(expected):
            return value if expected is None else expected
        self.report(
            sheet,
            cell,
            cell_checks.PREFILL_CHANGED,
            what=f"{self.row_label(sheet, row_key)}的「{column.field.label}」",
            kind="基数",
            expected=plain(expected),
            shown="空白" if value is None else quote(plain(value)),
            fix="请另行书面报告上级扶贫部门",
        )
        return expected

    def check_rules(
        self, sheet: SheetSpec, rows: Mapping[str, Mapping[str, Any]], absent: Collection[str] = ()
    ) -> None:
        """The form's rules on each row, but the rows of ``absent`` children (no data, no verdict)."""
        layout = SheetLayout(sheet)
        for unit in sheet.rows:
            if unit.code in absent:
                continue
            r = layout.row_index[unit.code]
            for rule, status in check_row(sheet, rows[unit.code]):
                keys = fields_in_order(rule)
                cells = [f"{layout.col_letter(k)}{r}" for k in keys if k in layout.col_index]
                self.add_rule(sheet, unit.code, rule, status, cells)

    def add_rule(self, sheet: SheetSpec, row_key: str, rule, status: str, cells: list[str]) -> None:
        """The finding of a rule failing on a row (``status`` 'invalid': it could not be judged), at
        ``cells``, the cells it reads."""
        label = self.row_label(sheet, row_key)
        if status == "invalid":
            message = f"{label}：{rule.message.rstrip('。；;')}——无法判断（涉及单元格的数据无效），涉及 {'、'.join(cells)}"
        else:
            message = f"{label}：{rule.message.rstrip('。；;')}（涉及 {'、'.join(cells)}）"
        hints = self.rule_hints
        self.add(
            sheet,
            cells[0] if cells else None,
            message,
            rule.id,
            hints.get(rule.importance, hints["error"]),
            importance=rule.importance,
        )


def _figure(value: Any) -> str:
    """A cell's figure as a message quotes it: 空白, or its value in quotes."""
    return "空白" if value is None or value == "" else f"“{quote(plain(value))}”"


def _input_plan(sheet: SheetSpec) -> InputPlan:
    return input_plan(sheet, SheetLayout(sheet).col_index)


def _same_code(found: str, code: str) -> bool:
    if found == code:
        return True
    try:
        return normalize_code(found) == code
    except HBError:
        return False
