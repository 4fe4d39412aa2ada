"""Write a copy of a workbook with rows added to its identity (the ``_meta`` sheet).

The copy is the input's package part for part, the ``_meta`` sheet's XML excepted: the new key | value
rows go after its last row as inline strings (no other part changes, so every cell, format, formula,
validation and protection of the forms is the input's). The input is never written; the copy is
written whole or not at all (:func:`hbreport.xlsx.atomic.atomic_output`).
"""

from __future__ import annotations

import io
import posixpath
import re
import zipfile
from collections.abc import Iterable, Sequence
from pathlib import Path
from xml.etree import ElementTree
from xml.sax.saxutils import escape

from hbreport.errors import HBError
from hbreport.xlsx.atomic import atomic_output

META_SHEET = "_meta"
_MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_OFFICE_REL = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id"
_REL = "{http://schemas.openxmlformats.org/package/2006/relationships}Relationship"
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def write_with_meta_rows(
    data: bytes,
    source: Path,
    out: Path,
    rows: Sequence[tuple[str, str]],
    *,
    force: bool = False,
    inputs: Iterable[Path] = (),
) -> Path:
    """Write ``data`` (the bytes of the workbook ``source``, already through the gate) to ``out`` with
    ``rows`` added to its ``_meta`` sheet; HBError when the package has no ``_meta`` sheet."""
    try:
        package = zipfile.ZipFile(io.BytesIO(data))
        part = _meta_part(package)
        sheet = package.read(part).decode("utf-8")
    except (zipfile.BadZipFile, KeyError, ElementTree.ParseError, UnicodeDecodeError) as exc:
        raise HBError(
            f"无法在文件的 _meta 工作表中写入审核标记（{type(exc).__name__}）",
            file=source,
            hint="请用上级下发的 hbreport 报表填报后再审核",
        ) from None
    changed = _append_rows(sheet, rows).encode("utf-8")
    with atomic_output(out, force=force, inputs=[source, *inputs], suffix=".xlsx") as tmp:
        with zipfile.ZipFile(tmp, "w") as copy:
            for info in package.infolist():
                copy.writestr(info, changed if info.filename == part else package.read(info))
    return out


def _meta_part(package: zipfile.ZipFile) -> str:
    """The part name of the sheet called ``_meta`` (by name, as the reader finds it)."""
    names = {n.lower(): n for n in package.namelist()}
    workbook = "xl/workbook.xml"
    root_rels = names.get("_rels/.rels")
    if root_rels:
        for rel in ElementTree.fromstring(package.read(root_rels)).iter(_REL):
            if (rel.get("Type") or "").endswith("/officeDocument") and rel.get("TargetMode") != "External":
                workbook = (rel.get("Target") or workbook).lstrip("/")
    folder, base = posixpath.split(workbook)
    rels = ElementTree.fromstring(
        package.read(names[posixpath.join(folder, "_rels", base + ".rels").lower()])
    )
    targets = {rel.get("Id"): rel.get("Target") or "" for rel in rels.iter(_REL)}
    for sheet in ElementTree.fromstring(package.read(names[workbook.lower()])).iter(f"{_MAIN}sheet"):
        if (sheet.get("name") or "").strip().casefold() == META_SHEET:
            target = targets[sheet.get(_OFFICE_REL)]
            path = target.lstrip("/") if target.startswith("/") else posixpath.join(folder, target)
            return names[posixpath.normpath(path).lower()]
    raise KeyError(META_SHEET)


def _append_rows(sheet: str, rows: Sequence[tuple[str, str]]) -> str:
    """The sheet XML with ``rows`` (key in A, value in B, inline strings) after its last row."""
    data = re.search(r"<(\w+:)?sheetData\b[^>]*?(/?)>", sheet)
    if data is None:
        raise KeyError("sheetData")
    prefix = data.group(1) or ""
    numbers = [int(n) for n in re.findall(r"<(?:\w+:)?row\b[^>]*?\br=\"(\d+)\"", sheet)]
    first = max(numbers, default=0) + 1
    xml = "".join(
        f'<{prefix}row r="{first + i}">'
        + "".join(
            f'<{prefix}c r="{col}{first + i}" t="inlineStr"><{prefix}is><{prefix}t xml:space="preserve">'
            f"{escape(_NOT_XML.sub('', text))}</{prefix}t></{prefix}is></{prefix}c>"
            for col, text in zip("AB", row, strict=True)
        )
        + f"</{prefix}row>"
        for i, row in enumerate(rows)
    )
    if data.group(2):  # <sheetData/>
        sheet = sheet[: data.start()] + f"<{prefix}sheetData>{xml}</{prefix}sheetData>" + sheet[data.end() :]
    else:
        close = sheet.index(f"</{prefix}sheetData>", data.end())
        sheet = sheet[:close] + xml + sheet[close:]
    last = first + len(rows) - 1
    return re.sub(
        r'(<(?:\w+:)?dimension\b[^>]*?\bref=")([^"]*)(")',
        lambda m: m.group(1) + _widened(m.group(2), last) + m.group(3),
        sheet,
        count=1,
    )


def _widened(ref: str, last_row: int) -> str:
    """A dimension reference reaching at least row ``last_row`` and column B."""
    m = re.fullmatch(r"([A-Z]+)(\d+)(?::([A-Z]+)(\d+))?", ref)
    if m is None:
        return f"A1:B{last_row}"
    end_col, end_row = (m.group(3), int(m.group(4))) if m.group(3) else (m.group(1), int(m.group(2)))
    if len(end_col) == 1 and end_col < "B":
        end_col = "B"
    return f"{m.group(1)}{m.group(2)}:{end_col}{max(end_row, last_row)}"
