"""One-click actions for the classic xlwings add-in: 校验本表, 汇总下级, 生成报告.

The buttons of ``macros/hbreport.bas`` call these through ``RunPython``. Each action has a pure part that
takes paths and returns data (tested without Excel) and a thin Excel part that reads what it needs from
the calling workbook (``xw.Book.caller()``), calls the pure part and shows the result:

- :func:`validate_file` — hbreport.checks.check on the saved workbook, an annotated copy (hbreport.xlsx.annotate), and
  the rows of the 校验结果 sheet; :func:`validate_book` writes that sheet and colours the cells.
- :func:`consolidate_into` — hbreport.consolidation.consolidate of a folder of the children's workbooks into this
  level's workbook (a new file beside the open one); :func:`consolidate_children` opens it.
- :func:`report_for` — hbreport.report for a consolidated workbook; :func:`make_report` runs it.
"""

from __future__ import annotations

import re
import tempfile
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, TypeVar

from hbreport.checks.files import UNUSABLE
from hbreport.errors import HBError
from hbreport.model.findings import Finding
from hbreport.xl.core import meta_value, read_meta

RESULTS_SHEET = "校验结果"
RESULT_HEADINGS = ("序号", "重要性", "规则", "工作表", "单元格", "问题", "处理办法", "原底色")
FILLS = {"error": "#FF8080", "warning": "#FFFF66"}
NO_FILL = "无"
ANNOTATED_SUFFIX = "_问题标注"
CONSOLIDATED_SUFFIX = "_汇总"
REPORT_SUFFIX = "_进展报告"


# ---------------------------------------------------------------- pure parts

_VBA_PARTS = ("xl/vbaproject.bin", "xl/vbaprojectsignature.bin", "xl/vbaprojectsignatureagile.bin")
_MACRO_MAIN = "application/vnd.ms-excel.sheet.macroEnabled.main+xml"
_PLAIN_MAIN = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"


def macro_free_copy(src: str | Path, dst: str | Path) -> Path:
    """An .xlsx copy of a macro-enabled workbook (.xlsm): the same parts without the VBA project.

    "Import Functions" turns a form into an .xlsm, which the reader refuses (macros are not accepted
    from outside); the buttons check and report on this copy, so the office sees exactly what the
    next level up will see once the workbook is sent as .xlsx."""
    src, dst = Path(src), Path(dst)
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            name = info.filename
            if name.lower() in _VBA_PARTS or name.lower().startswith("xl/_rels/vbaproject"):
                continue
            data = zin.read(name)
            if name == "[Content_Types].xml":
                text = data.decode("utf-8").replace(_MACRO_MAIN, _PLAIN_MAIN)
                text = re.sub(r"<(Default|Override)\b[^>]*vnd\.ms-office\.vbaProject[^>]*/>", "", text)
                data = text.encode("utf-8")
            elif name == "xl/_rels/workbook.xml.rels":
                text = data.decode("utf-8")
                data = re.sub(r"<Relationship\b[^>]*/vbaProject\"[^>]*/>", "", text).encode("utf-8")
            zout.writestr(info, data)
    return dst


@dataclass
class Validation:
    """What 校验本表 found in a saved workbook."""

    path: Path
    findings: list[Finding]
    annotated: Path | None = None
    marks: list[tuple[str, str, str]] = field(default_factory=list)  # (sheet, cell, importance)

    @property
    def errors(self) -> int:
        return sum(f.importance == "error" for f in self.findings)

    @property
    def warnings(self) -> int:
        return sum(f.importance == "warning" for f in self.findings)

    def summary(self) -> str:
        if not self.findings:
            return "校验完成：未发现问题。"
        text = f"校验完成：错误 {self.errors} 项，警告 {self.warnings} 项，详见“{RESULTS_SHEET}”表。"
        if self.annotated:
            text += f"已另存一份标注了问题的副本：{self.annotated.name}"
        return text


def findings_rows(findings: Sequence[Finding]) -> list[list[Any]]:
    """The 校验结果 sheet: headings, then one row per finding (errors first), or 未发现问题."""
    ordered = sorted(findings, key=lambda f: f.importance != "error")
    rows: list[list[Any]] = [list(RESULT_HEADINGS)]
    for i, f in enumerate(ordered, start=1):
        rows.append([i, f.importance_zh, f.code, f.sheet or "", f.cell or "", f.message, f.hint or "", ""])
    if not findings:
        rows.append(["", "", "", "", "", "未发现问题", "", ""])
    return rows


def validate_file(path: str | Path, *, registry=None, annotate: bool = True) -> Validation:
    """Check a saved workbook as the next level up will; write an annotated copy beside it when something
    is wrong (the workbook itself is only read)."""
    from hbreport.checks.check import check_files
    from hbreport.xlsx.annotate import annotate_copy
    from hbreport.xlsx.trace import traced_cells

    path = Path(path)
    with tempfile.TemporaryDirectory(prefix="hbreport-") as scratch:
        checked = path
        if path.suffix.lower() == ".xlsm":
            checked = macro_free_copy(path, Path(scratch) / f"{path.stem}.xlsx")
        findings, results = check_files([checked], registry=registry)
        findings = [replace(f, file=str(path)) if f.file == str(checked) else f for f in findings]
        annotated = None
        if annotate and findings and not any(f.rule == UNUSABLE for f in findings):
            out = path.with_name(f"{path.stem}{ANNOTATED_SUFFIX}.xlsx")
            traced = traced_cells(results[0].data.spec, findings) if results else None
            annotated = annotate_copy(checked, findings, out, traced=traced)
    result = Validation(path=path, findings=list(findings), annotated=annotated)
    cells = {}
    for f in findings:
        if f.sheet and f.cell:
            cell = f.cell.split(":")[0].upper()
            if cells.get((f.sheet, cell)) != "error":
                cells[(f.sheet, cell)] = f.importance
    result.marks = [(sheet, cell, importance) for (sheet, cell), importance in cells.items()]
    return result


def workbook_identity(meta_rows: Sequence[Sequence[Any]]) -> tuple[str, int]:
    """(unit code, period) from the rows of a workbook's _meta sheet."""
    meta = read_meta(meta_rows)
    return meta_value(meta, "unit_code"), int(meta_value(meta, "period"))


def consolidated_path(book_path: str | Path) -> Path:
    book_path = Path(book_path)
    return book_path.with_name(f"{book_path.stem}{CONSOLIDATED_SUFFIX}.xlsx")


def consolidate_into(
    book_path: str | Path, folder: str | Path, unit_code: str, period: int, *, registry=None, progress=None
):
    """Consolidate the children's workbooks in ``folder`` for ``unit_code`` and ``period`` into a new
    workbook beside ``book_path`` (``<name>_汇总.xlsx``, replaced if it exists); returns the Summary."""
    from hbreport.consolidation.consolidate import consolidate

    folder = Path(folder)
    out = consolidated_path(book_path)
    if out.resolve().parent == folder.resolve():
        raise HBError(
            "所选文件夹就是本工作簿所在的文件夹，汇总结果会与下级报表混在一起",
            hint="把下级报表放在单独的文件夹中，再选那个文件夹",
        )
    # one process: inside Excel, Python runs as a COM server, where starting more processes is not worth
    # the risk (a county's folder reads in a fraction of a second anyway)
    return consolidate(
        folder, unit_code, period, out, registry=registry, force=True, progress=progress, workers=1
    )


def report_path(book_path: str | Path) -> Path:
    book_path = Path(book_path)
    return book_path.with_name(f"{book_path.stem}{REPORT_SUFFIX}.docx")


def report_for(book_path: str | Path, *, registry=None) -> Path:
    """The Word progress report of a workbook, written beside it: the consolidated result
    (``<name>_汇总.xlsx``) when 汇总下级 has made one, else the workbook itself."""
    from hbreport.report import report_from_workbook

    book_path = Path(book_path)
    source = consolidated_path(book_path) if consolidated_path(book_path).is_file() else book_path
    with tempfile.TemporaryDirectory(prefix="hbreport-") as scratch:
        readable = source
        if source.suffix.lower() == ".xlsm":
            readable = macro_free_copy(source, Path(scratch) / f"{source.stem}.xlsx")
        return report_from_workbook(readable, report_path(source), registry=registry)


def restore_colours(rows: Sequence[Sequence[Any]]) -> list[tuple[str, str, str | None]]:
    """From an earlier 校验结果 sheet: the (sheet, cell, original fill or None) to put back before a new
    check. The first row naming a coloured cell records its original fill in the hidden column 原底色."""
    if not rows or list(rows[0])[: len(RESULT_HEADINGS)] != list(RESULT_HEADINGS):
        return []
    out = []
    for row in rows[1:]:
        row = [*row, *([None] * len(RESULT_HEADINGS))]
        sheet, cell, colour = row[3], row[4], row[7]
        if sheet and cell and colour:
            out.append(
                (str(sheet), str(cell).split(":")[0].upper(), None if colour == NO_FILL else str(colour))
            )
    return out


# ---------------------------------------------------------------- the Excel side (Windows, classic add-in)


def _caller():
    import xlwings as xw

    return xw.Book.caller()


def _saved_path(book) -> Path:
    book.save()
    path = Path(book.fullname)
    if not path.is_file():
        raise HBError("请先把工作簿保存到本机硬盘上，再点按钮", hint="“文件”→“另存为”，保存为 .xlsx 或 .xlsm")
    return path


def _alert(book, text: str, title: str = "hbreport") -> None:
    try:
        book.app.alert(text, title=title)
    except Exception:  # older Excel or no UI: the status bar still says it
        book.app.status_bar = text


class _Unprotected:
    """Lift the sheet and workbook-structure protection the forms carry (no password) and put it back."""

    def __init__(self, book, sheets) -> None:
        self.book, self.sheets = book, list(sheets)

    def __enter__(self):
        self.book.api.Unprotect()
        for sheet in self.sheets:
            sheet.api.Unprotect()
        return self

    def __exit__(self, *exc) -> None:
        for sheet in self.sheets:
            sheet.api.Protect(
                DrawingObjects=True, Contents=True, AllowFormattingColumns=True, AllowFormattingRows=True
            )
        self.book.api.Protect(Structure=True)


def _fill_hex(rng) -> str | None:
    colour = rng.color
    return None if colour is None else "#{:02X}{:02X}{:02X}".format(*colour)


def _rows(value: Any) -> list[list[Any]]:
    if not isinstance(value, list):
        return [[value]]
    return value if value and isinstance(value[0], list) else [value]


_T = TypeVar("_T")


def _attempt(book: Any, action: Callable[[], _T]) -> _T | None:
    """``action()``; a bad workbook or input (:class:`HBError`) is told to the user and gives None."""
    try:
        return action()
    except HBError as exc:
        _alert(book, str(exc))
        return None


def validate_book() -> None:
    """校验本表 button: save, check as the next level up will, list the findings on 校验结果, colour the cells."""
    book = _caller()
    result = _attempt(book, lambda: validate_file(_saved_path(book)))
    if result is None:
        return
    names = [s.name for s in book.sheets]
    old = (
        restore_colours(_rows(book.sheets[RESULTS_SHEET].used_range.value)) if RESULTS_SHEET in names else []
    )
    rows = findings_rows(result.findings)
    first_row: dict[tuple[str, str], int] = {}
    for index, row in enumerate(rows[1:], start=1):
        first_row.setdefault((row[3], str(row[4]).split(":")[0].upper()), index)
    touched = sorted({sheet for sheet, _, _ in result.marks} | {sheet for sheet, _, _ in old})
    with _Unprotected(book, [book.sheets[n] for n in touched if n in names]):
        for sheet, cell, colour in old:
            if sheet in names:
                book.sheets[sheet][cell].color = colour
        for sheet, cell, importance in result.marks:
            if sheet not in names:
                continue
            target = book.sheets[sheet][cell]
            rows[first_row[(sheet, cell)]][7] = _fill_hex(target) or NO_FILL
            target.color = FILLS[importance]
        if RESULTS_SHEET in names:
            results = book.sheets[RESULTS_SHEET]
        else:
            results = book.sheets.add(RESULTS_SHEET, after=book.sheets[-1])
        results.clear()
        results["A1"].value = rows
        results["A1"].expand("right").font.bold = True
        results.range("H:H").api.EntireColumn.Hidden = True
        results.autofit()
    results.activate()
    _alert(book, result.summary())


def consolidate_children(folder: str) -> None:
    """汇总下级 button: consolidate the chosen folder into this level's workbook and open the result."""
    import xlwings as xw

    book = _caller()

    def run() -> Any:
        code, period = workbook_identity(book.sheets["_meta"].used_range.value)
        return consolidate_into(_saved_path(book), folder, code, period)

    summary = _attempt(book, run)
    if summary is None:
        return
    if summary.output:
        xw.Book(summary.output)
    _alert(book, summary.render())


def make_report() -> None:
    """生成报告 button: the Word progress report of this (consolidated) workbook, written beside it."""
    book = _caller()
    path = _attempt(book, lambda: report_for(_saved_path(book)))
    if path is None:
        return
    _alert(book, f"已生成报告：{path}")
