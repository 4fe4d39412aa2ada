"""Return a workbook to its sender with the problems marked on it.

``annotate_copy(src, findings, out_path)`` writes a COPY of the child's workbook (the original is
never touched; the copy appears atomically): each problem cell filled red (错误) or yellow (警告)
with a cell comment saying what is wrong and what to do, and a first sheet 问题清单 listing every
finding with a link to its cell.
"""

from __future__ import annotations

import hashlib
import io
import math
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

from openpyxl import load_workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.comments import Comment
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter
from openpyxl.utils.cell import coordinate_from_string
from openpyxl.utils.escape import escape
from openpyxl.worksheet.hyperlink import Hyperlink
from openpyxl.worksheet.properties import PageSetupProperties

from hbreport.errors import HBError
from hbreport.model.findings import Finding
from hbreport.xlsx import safety
from hbreport.xlsx.atomic import atomic_output, check_target
from hbreport.xlsx.names import shown

ISSUES_SHEET = "问题清单"
FILLS = {
    "error": PatternFill(fill_type="solid", start_color="FFFF8080", end_color="FFFF8080"),
    "warning": PatternFill(fill_type="solid", start_color="FFFFFF66", end_color="FFFFFF66"),
}
COMMENT_AUTHOR = "上级扶贫部门审核"
HEADINGS = ("序号", "重要性", "规则", "工作表", "单元格", "问题", "处理办法")
WIDTHS = (6, 8, 22, 16, 9, 60, 40)
LINE_HEIGHT = 13.5  # points per line of 11-point text


def annotate_copy(
    src: str | Path,
    findings: Sequence[Finding],
    out_path: str | Path,
    *,
    force: bool = False,
    inputs: Iterable[str | Path] = (),
    traced: Mapping[tuple[str, str], Sequence[Finding]] | None = None,
) -> Path:
    """Write an annotated copy of ``src`` to ``out_path`` and return it; ``src`` is only read.
    ``src`` and ``inputs`` are never written over; an existing ``out_path`` only with ``force``.
    ``traced`` ((sheet, cell) → findings, :func:`hbreport.xlsx.trace.traced_cells`): the typed cells that
    feed a failing rule, coloured and commented too, so the clerk sees which of their entries to check."""
    src, out_path = Path(src), Path(out_path)
    inputs = [src, *(Path(p) for p in inputs)]
    if out_path.exists() and out_path.resolve() == src.resolve():
        raise HBError("标注后的副本不能覆盖原文件", file=src, hint="请指定另一个输出文件名或文件夹")
    check_target(out_path, suffix=out_path.suffix.lower() or ".xlsx", force=force, inputs=inputs)
    inspection = safety.inspect_workbook(src)
    data = src.read_bytes()
    if hashlib.sha256(data).hexdigest() != inspection.sha256:
        raise HBError("文件在读取过程中被改动", file=src, hint="请等文件保存或拷贝完成后重试")
    try:
        book = load_workbook(io.BytesIO(data), keep_links=False, rich_text=True)
    except Exception as exc:  # openpyxl raises many types on malformed parts
        raise HBError(
            f"工作簿无法打开以标注问题（{type(exc).__name__}: {exc}）", file=src, hint=safety.RESEND_HINT
        ) from None

    _keep_escapes(book)
    marked = _mark_cells(book, findings)
    _mark_traced(book, traced or {}, marked)
    _issues_sheet(book, findings, marked)
    with atomic_output(out_path, force=force, inputs=inputs) as tmp:
        book.save(tmp)
    return out_path


def _keep_escapes(book) -> None:
    """Text cells holding characters XML cannot carry (a cell written ``_x000B_`` is read as the control
    character U+000B) are written back as the same escapes: the copy holds what the original held."""
    for ws in book.worksheets:
        for cell in ws._cells.values():
            value = cell._value
            if type(value) is str and ILLEGAL_CHARACTERS_RE.search(value):
                cell._value = escape(value)


def _mark_cells(book, findings: Sequence[Finding]) -> set[tuple[str, str]]:
    """Fill and comment every cell a finding names; return the (sheet, cell) pairs marked."""
    by_cell: dict[tuple[str, str], list[Finding]] = {}
    for f in findings:
        if f.sheet and f.cell and f.sheet in book.sheetnames and _valid_cell(f.cell):
            by_cell.setdefault((f.sheet, f.cell.split(":")[0].upper()), []).append(f)
    for (sheet, ref), items in by_cell.items():
        cell = book[sheet][ref]
        worst = "error" if any(f.importance == "error" for f in items) else "warning"
        cell.fill = FILLS[worst]
        lines = [_comment_line(f) for f in items]
        old = cell.comment.text.strip() + "\n" if cell.comment is not None and cell.comment.text else ""
        comment = Comment(old + "\n".join(lines), COMMENT_AUTHOR)
        comment.width = 360
        comment.height = min(60 + 40 * len(lines), 400)
        cell.comment = comment
    return set(by_cell)


def _mark_traced(book, traced: Mapping[tuple[str, str], Sequence[Finding]], marked) -> None:
    """Colour and comment the typed cells that feed a failing rule (not those a finding names itself)."""
    for (sheet, ref), items in traced.items():
        if sheet not in book.sheetnames or (sheet, ref) in marked or not _valid_cell(ref):
            continue
        cell = book[sheet][ref]
        worst = "error" if any(f.importance == "error" for f in items) else "warning"
        cell.fill = FILLS[worst]
        lines = [
            f"【{f.importance_zh}{('·' + f.rule) if f.rule else ''}】本格填报的数参与计算，"
            f"相关校验未通过：{f.message}（问题所在：{f.cell}）。请核对本格"
            for f in items
        ]
        comment = Comment("\n".join(lines), COMMENT_AUTHOR)
        comment.width = 360
        comment.height = min(60 + 40 * len(lines), 400)
        cell.comment = comment


def _comment_line(f: Finding) -> str:
    line = f"【{f.importance_zh}{('·' + f.code) if f.rule else ''}】{f.message}"
    return line + (f"。处理办法：{f.hint}" if f.hint else "")


def _valid_cell(ref: str) -> bool:
    try:
        coordinate_from_string(ref.split(":")[0])
    except ValueError:
        return False
    return True


def _issues_sheet(book, findings: Sequence[Finding], marked: set[tuple[str, str]]) -> None:
    """A first sheet listing every finding, each linked to its cell when the cell is in the workbook."""
    name = ISSUES_SHEET
    if name in book.sheetnames:
        del book[name]
    ws = book.create_sheet(name, 0)
    thin = Side(style="thin", color="FF999999")
    border = Border(left=thin, right=thin, top=thin, bottom=thin)
    count_e = sum(f.importance == "error" for f in findings)
    count_w = sum(f.importance == "warning" for f in findings)
    unit = next((f.unit_name for f in findings if f.unit_name), "")
    ws["A1"] = (
        f"{unit}报表审核问题清单：错误 {count_e} 项（必须改正后重新报送），"
        f"警告 {count_w} 项（请核实或在“说明”中写明原因）"
    )
    ws["A1"].font = Font(bold=True, size=12)
    ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(HEADINGS))
    for c, (heading, width) in enumerate(zip(HEADINGS, WIDTHS, strict=True), start=1):
        cell = ws.cell(row=2, column=c, value=heading)
        cell.font = Font(bold=True)
        cell.border = border
        cell.alignment = Alignment(horizontal="center", vertical="center")
        ws.column_dimensions[get_column_letter(c)].width = width
    ordered = sorted(findings, key=lambda f: f.importance != "error")
    for i, f in enumerate(ordered, start=1):
        r = i + 2
        values = (
            i,
            f.importance_zh,
            f.code,
            f.sheet or "",
            f.cell or "",
            shown(f.message),
            shown(f.hint or ""),
        )
        for c, value in enumerate(values, start=1):
            cell = ws.cell(row=r, column=c, value=value)
            cell.border = border
            cell.alignment = Alignment(vertical="top", wrap_text=c >= 6)
        ws.cell(row=r, column=2).fill = FILLS.get(f.importance, FILLS["error"])
        lines = max(_lines(f.message, WIDTHS[5]), _lines(f.hint or "", WIDTHS[6]))
        ws.row_dimensions[r].height = LINE_HEIGHT * lines + 3
        if f.sheet and f.cell and (f.sheet, f.cell.split(":")[0].upper()) in marked:
            link = ws.cell(row=r, column=5)
            sheet_ref = f.sheet.replace("'", "''")
            link.hyperlink = Hyperlink(
                ref=link.coordinate, location=f"'{sheet_ref}'!{f.cell.split(':')[0]}", display=f.cell
            )
            link.font = Font(color="FF0563C1", underline="single")
    if not findings:
        ws.cell(row=3, column=1, value="未发现问题")
    ws.freeze_panes = "A3"
    ws.print_title_rows = "1:2"
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr = PageSetupProperties(fitToPage=True)
    for other in book.worksheets:
        other.sheet_view.tabSelected = False
    ws.sheet_view.tabSelected = True
    book.active = 0


def _lines(text: str, width: int) -> int:
    """Lines a wrapped text takes in a column ``width`` characters wide (CJK characters count double)."""
    units = sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)
    return max(1, math.ceil(units / max(width - 1, 1)))
