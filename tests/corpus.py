"""Bad incoming files, generated on demand (no binaries are committed).

Each ``make_*`` function writes one case into ``directory`` under a stable name and returns
its path. ``BAD_CASES`` maps the stable name to its maker. The zip bombs are built from raw
deflate blocks repeated after a full flush, so a part that inflates to 1 GiB takes about a
megabyte on disk and well under a second to write, with little memory.
"""

from __future__ import annotations

import io
import random
import struct
import zipfile
import zlib
from collections.abc import Callable
from pathlib import Path

import docx
import openpyxl

MiB = 1024 * 1024

CT_NS = "http://schemas.openxmlformats.org/package/2006/content-types"
REL_NS = "http://schemas.openxmlformats.org/package/2006/relationships"
OFFICE_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"

SHEET_NAMES = ["乡镇汇总", "贫困户名册"]
EXTERNAL_TARGET = "file:///D:/扶贫报表/县汇总表.xlsx"


# ---------------------------------------------------------------- building blocks


def workbook_parts() -> dict[str, bytes]:
    """The parts of a small, valid workbook written by openpyxl (name → bytes)."""
    book = openpyxl.Workbook()
    summary = book.active
    summary.title = SHEET_NAMES[0]
    summary.append(["村名", "贫困户数", "贫困人口"])
    summary.append(["张家湾村", 120, 356])
    summary.append(["李家岭村", 87, 241])
    summary.append(["合计", "=SUM(B2:B3)", "=SUM(C2:C3)"])
    roster = book.create_sheet(SHEET_NAMES[1])
    roster.append(["户主姓名", "家庭人口", "致贫原因"])
    roster.append(["王某", 4, "因病"])
    buffer = io.BytesIO()
    book.save(buffer)
    with zipfile.ZipFile(io.BytesIO(buffer.getvalue())) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def make_valid(directory: Path, name: str = "valid.xlsx") -> Path:
    """A normal openpyxl-written workbook with the sheets ``SHEET_NAMES``."""
    return write_zip(directory / name, workbook_parts())


def write_zip(path: Path, parts: dict[str, bytes]) -> Path:
    """A deflated zip of ``parts`` (written by hand so that tests can bend the headers)."""
    entries = []
    for name, data in parts.items():
        packer = zlib.compressobj(6, zlib.DEFLATED, -zlib.MAX_WBITS)
        entries.append(_Entry(name, packer.compress(data) + packer.flush(), zlib.crc32(data), len(data)))
    _write_entries(path, entries)
    return path


class _Entry:
    def __init__(self, name: str, raw: bytes, crc: int, size: int, declared: int | None = None) -> None:
        self.name = name.encode("utf-8")
        self.raw = raw
        self.crc = crc
        self.size = declared if declared is not None else size


def _write_entries(path: Path, entries: list[_Entry]) -> None:
    """Local headers, data, central directory and end record of a plain (non-zip64) zip."""
    path.parent.mkdir(parents=True, exist_ok=True)
    central = []
    with open(path, "wb") as out:
        for entry in entries:
            offset = out.tell()
            flags, method, stamp = 0x800, 8, (0, 0x21)
            out.write(
                struct.pack(
                    "<4sHHHHHIIIHH",
                    b"PK\x03\x04",
                    20,
                    flags,
                    method,
                    *stamp,
                    entry.crc,
                    len(entry.raw),
                    entry.size,
                    len(entry.name),
                    0,
                )
            )
            out.write(entry.name)
            out.write(entry.raw)
            central.append(
                struct.pack(
                    "<4sHHHHHHIIIHHHHHII",
                    b"PK\x01\x02",
                    20,
                    20,
                    flags,
                    method,
                    *stamp,
                    entry.crc,
                    len(entry.raw),
                    entry.size,
                    len(entry.name),
                    0,
                    0,
                    0,
                    0,
                    0,
                    offset,
                )
                + entry.name
            )
        start = out.tell()
        directory = b"".join(central)
        out.write(directory)
        out.write(
            struct.pack(
                "<4sHHHHIIH", b"PK\x05\x06", 0, 0, len(entries), len(entries), len(directory), start, 0
            )
        )


def _deflated_sheet(body_bytes: int) -> tuple[bytes, int, int]:
    """(raw deflate, crc, size) of a sheet whose <sheetData> holds ``body_bytes`` of spaces."""
    head = (
        f'<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="{MAIN_NS}"><sheetData>'
        '<row r="1"><c r="A1"><v>1</v></c></row>'
    ).encode()
    foot = b"</sheetData></worksheet>"
    block = b" " * MiB
    assert body_bytes % MiB == 0
    packer = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    raw = [packer.compress(head) + packer.flush(zlib.Z_FULL_FLUSH)]
    packed_block = packer.compress(block) + packer.flush(zlib.Z_FULL_FLUSH)
    crc = zlib.crc32(head)
    for _ in range(body_bytes // MiB):
        raw.append(packed_block)  # identical after a full flush: no history is shared
        crc = zlib.crc32(block, crc)
    raw.append(packer.compress(foot) + packer.flush())
    crc = zlib.crc32(foot, crc)
    return b"".join(raw), crc, len(head) + body_bytes + len(foot)


def _bomb(path: Path, body_bytes: int, *, declared: int | None = None) -> Path:
    entries = []
    for name, data in workbook_parts().items():
        if name == "xl/worksheets/sheet1.xml":
            raw, crc, size = _deflated_sheet(body_bytes)
            entries.append(_Entry(name, raw, crc, size, declared))
        else:
            packer = zlib.compressobj(6, zlib.DEFLATED, -zlib.MAX_WBITS)
            entries.append(_Entry(name, packer.compress(data) + packer.flush(), zlib.crc32(data), len(data)))
    _write_entries(path, entries)
    return path


def _edit(parts: dict[str, bytes], name: str, old: str, new: str) -> None:
    text = parts[name].decode("utf-8")
    assert old in text, f"{old!r} not in {name}"
    parts[name] = text.replace(old, new, 1).encode("utf-8")


# ---------------------------------------------------------------- the cases


def make_empty(directory: Path) -> Path:
    path = directory / "empty.xlsx"
    path.write_bytes(b"")
    return path


def make_oversized(directory: Path) -> Path:
    """A sparse file just over 50 MiB: costs no disk and no memory to make."""
    path = directory / "oversized.xlsx"
    with open(path, "wb") as out:
        out.write(b"PK\x03\x04")
        out.truncate(50 * MiB + 1)
    return path


def make_random_bytes(directory: Path) -> Path:
    path = directory / "random_bytes.xlsx"
    path.write_bytes(random.Random(20160101).randbytes(8192))
    return path


def make_docx_renamed(directory: Path) -> Path:
    document = docx.Document()
    document.add_paragraph("湖北省脱贫攻坚工作进展情况报告")
    path = directory / "word_document.xlsx"
    document.save(path)
    return path


def make_csv_renamed(directory: Path) -> Path:
    """A CSV as Excel on a Chinese Windows saves it: GBK, comma-separated."""
    path = directory / "csv_text.xlsx"
    rows = ["村名,贫困户数,贫困人口", "张家湾村,120,356", "李家岭村,87,241"]
    path.write_bytes("\r\n".join(rows).encode("gbk"))
    return path


_OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


def _ole2(path: Path, body: bytes = b"") -> Path:
    junk = random.Random(path.name).randbytes(4096)
    path.write_bytes(_OLE2_MAGIC + b"\x00" * 16 + b"\x3e\x00\x03\x00\xfe\xff" + body + junk)
    return path


def make_legacy_xls(directory: Path) -> Path:
    return _ole2(directory / "old_format.xls")


def make_wps_et(directory: Path) -> Path:
    return _ole2(directory / "wps_table.et")


def make_encrypted(directory: Path) -> Path:
    """An OLE2 container like Excel's password-protected workbooks (EncryptedPackage stream)."""
    names = "EncryptionInfo".encode("utf-16-le") + b"\x00" * 8 + "EncryptedPackage".encode("utf-16-le")
    return _ole2(directory / "password_protected.xlsx", names)


def make_pdf_renamed(directory: Path) -> Path:
    path = directory / "printed_report.xlsx"
    path.write_bytes(
        b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<< >>\n%%EOF\n"
    )
    return path


def make_html_export(directory: Path) -> Path:
    """A web system's "export to Excel": an HTML table saved as .xls."""
    path = directory / "web_export.xls"
    path.write_text(
        '<html><head><meta charset="utf-8"></head><body><table>'
        "<tr><td>村名</td><td>贫困户数</td></tr><tr><td>张家湾村</td><td>120</td></tr>"
        "</table></body></html>",
        encoding="utf-8",
    )
    return path


def make_truncated(directory: Path) -> Path:
    """A valid workbook cut in half, as an interrupted download leaves it."""
    valid = make_valid(directory, "_whole_for_truncation.xlsx")
    data = valid.read_bytes()
    valid.unlink()
    path = directory / "truncated.xlsx"
    path.write_bytes(data[: len(data) // 2])
    return path


def make_ods_renamed(directory: Path) -> Path:
    path = directory / "opendocument.xlsx"
    manifest = (
        '<?xml version="1.0" encoding="UTF-8"?><manifest:manifest '
        'xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0"/>'
    )
    return write_zip(
        path,
        {
            "mimetype": b"application/vnd.oasis.opendocument.spreadsheet",
            "META-INF/manifest.xml": manifest.encode(),
            "content.xml": b'<?xml version="1.0" encoding="UTF-8"?><office:document-content '
            b'xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0"/>',
        },
    )


def make_plain_zip(directory: Path) -> Path:
    return write_zip(directory / "plain_archive.xlsx", {"说明.txt": "各乡镇报表见附件".encode()})


def make_zip_bomb(directory: Path) -> Path:
    """A valid-looking workbook whose first sheet inflates to 1 GiB (about 1 MB on disk)."""
    return _bomb(directory / "zip_bomb.xlsx", 1024 * MiB)


def make_ratio_bomb(directory: Path) -> Path:
    """Under the total limit, but one sheet inflates about 1000 times (100 MiB from ~100 KB)."""
    return _bomb(directory / "ratio_bomb.xlsx", 100 * MiB)


def make_lying_header_bomb(directory: Path) -> Path:
    """A 1 GiB sheet whose headers claim 10 KiB, so size checks on headers alone pass."""
    return _bomb(directory / "lying_header_bomb.xlsx", 1024 * MiB, declared=10 * 1024)


def make_too_many_parts(directory: Path) -> Path:
    parts = workbook_parts()
    for i in range(10_001):
        parts[f"xl/media/pad{i}.txt"] = b""
    return write_zip(directory / "too_many_parts.xlsx", parts)


BILLION_LAUGHS = (
    '<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE sst [\n<!ENTITY lol "lol">\n'
    + "".join(
        f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">\n' for i in range(1, 10)
    )
    + f']>\n<sst xmlns="{MAIN_NS}" count="1" uniqueCount="1"><si><t>&lol9;</t></si></sst>'
)


def make_billion_laughs(directory: Path) -> Path:
    """sharedStrings.xml whose nested entities expand to 10^9 "lol"s."""
    parts = workbook_parts()
    parts["xl/sharedStrings.xml"] = BILLION_LAUGHS.encode("utf-8")
    return write_zip(directory / "billion_laughs.xlsx", parts)


def make_billion_laughs_utf16(directory: Path) -> Path:
    """The same expansion in a UTF-16 part (with BOM), which XML parsers also accept."""
    parts = workbook_parts()
    parts["xl/sharedStrings.xml"] = BILLION_LAUGHS.replace('encoding="UTF-8"', 'encoding="UTF-16"').encode(
        "utf-16"
    )
    return write_zip(directory / "billion_laughs_utf16.xlsx", parts)


def make_external_entity(directory: Path) -> Path:
    """workbook.xml declaring an external entity that would read a local file (XXE)."""
    parts = workbook_parts()
    text = parts["xl/workbook.xml"].decode("utf-8")
    prolog_end = text.index("?>") + 2 if text.startswith("<?xml") else 0
    doctype = '<!DOCTYPE workbook [<!ENTITY secret SYSTEM "file:///etc/passwd">]>'
    parts["xl/workbook.xml"] = (text[:prolog_end] + doctype + text[prolog_end:]).encode("utf-8")
    return write_zip(directory / "external_entity.xlsx", parts)


def make_external_link(directory: Path) -> Path:
    """A workbook with a formula that pulls from another workbook, as Excel writes it."""
    parts = workbook_parts()
    _edit(
        parts,
        "[Content_Types].xml",
        "</Types>",
        '<Override PartName="/xl/externalLinks/externalLink1.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.externalLink+xml"/></Types>',
    )
    _edit(
        parts,
        "xl/_rels/workbook.xml.rels",
        "</Relationships>",
        f'<Relationship Id="rIdExt1" Type="{OFFICE_REL}/externalLink" '
        'Target="externalLinks/externalLink1.xml"/></Relationships>',
    )
    _edit(
        parts,
        "xl/workbook.xml",
        "</sheets>",
        f'</sheets><externalReferences><externalReference xmlns:r="{OFFICE_REL}" r:id="rIdExt1"/>'
        "</externalReferences>",
    )
    parts["xl/externalLinks/externalLink1.xml"] = (
        f'<?xml version="1.0" encoding="UTF-8"?><externalLink xmlns="{MAIN_NS}" xmlns:r="{OFFICE_REL}">'
        '<externalBook r:id="rId1"><sheetNames><sheetName val="汇总"/></sheetNames>'
        '<sheetDataSet><sheetData sheetId="0"><row r="2"><cell r="B2"><v>120</v></cell></row>'
        "</sheetData></sheetDataSet></externalBook></externalLink>"
    ).encode()
    parts["xl/externalLinks/_rels/externalLink1.xml.rels"] = (
        f'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="{REL_NS}">'
        f'<Relationship Id="rId1" Type="{OFFICE_REL}/externalLinkPath" '
        f'Target="{EXTERNAL_TARGET}" TargetMode="External"/></Relationships>'
    ).encode()
    return write_zip(directory / "external_link.xlsx", parts)


def macro_parts() -> dict[str, bytes]:
    """The valid workbook turned macro-enabled, with a VBA project part."""
    parts = workbook_parts()
    _edit(
        parts,
        "[Content_Types].xml",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml",
        "application/vnd.ms-excel.sheet.macroEnabled.main+xml",
    )
    _edit(
        parts,
        "[Content_Types].xml",
        "</Types>",
        '<Default Extension="bin" ContentType="application/vnd.ms-office.vbaProject"/></Types>',
    )
    _edit(
        parts,
        "xl/_rels/workbook.xml.rels",
        "</Relationships>",
        '<Relationship Id="rIdVba" Type="http://schemas.microsoft.com/office/2006/relationships/vbaProject" '
        'Target="vbaProject.bin"/></Relationships>',
    )
    parts["xl/vbaProject.bin"] = _OLE2_MAGIC + random.Random(7).randbytes(2048)
    return parts


def make_macros(directory: Path) -> Path:
    return write_zip(directory / "macros.xlsm", macro_parts())


BAD_CASES: dict[str, Callable[[Path], Path]] = {
    "empty": make_empty,
    "oversized": make_oversized,
    "random_bytes": make_random_bytes,
    "docx_renamed": make_docx_renamed,
    "csv_renamed": make_csv_renamed,
    "legacy_xls": make_legacy_xls,
    "wps_et": make_wps_et,
    "encrypted": make_encrypted,
    "pdf_renamed": make_pdf_renamed,
    "html_export": make_html_export,
    "truncated": make_truncated,
    "ods_renamed": make_ods_renamed,
    "plain_zip": make_plain_zip,
    "zip_bomb": make_zip_bomb,
    "ratio_bomb": make_ratio_bomb,
    "lying_header_bomb": make_lying_header_bomb,
    "too_many_parts": make_too_many_parts,
    "billion_laughs": make_billion_laughs,
    "billion_laughs_utf16": make_billion_laughs_utf16,
    "external_entity": make_external_entity,
    "external_link": make_external_link,
    "macros": make_macros,
}


def make_all(directory: Path) -> dict[str, Path]:
    """Every bad case in ``directory``, by stable name."""
    directory.mkdir(parents=True, exist_ok=True)
    return {name: maker(directory) for name, maker in BAD_CASES.items()}


# ================================================================ real forms, tampered with
#
# The cases below start from a real township workbook: generated by hbreport for 红安县梅塘镇 on the
# embedded sample, filled with rule-abiding values, then edited the way a clerk, a script or an
# attacker would — with openpyxl (as a spreadsheet program saves it) or part by part with zipfile.
# ``FORM_CASES`` maps each stable name to its maker; ``good_children`` writes clean siblings for a
# consolidation folder, ``make_registry_with_formula_names`` a units CSV whose names look like formulas.

FORM_PERIOD = 2017
FORM_TOWNSHIP = "421122101"  # 红安县梅塘镇: 15 villages, 7 of them poor
OTHER_TOWNSHIP = "421122102"  # 石坪镇, a sibling under the same county
FORM_COUNTY = "421122"  # 红安县
FORMULA_LIKE = ('=HYPERLINK("http://x","y")', "+1", "-1", "@SUM(A1)", "=cmd|' /C calc'!A0")
"""Text that a spreadsheet would run as a formula if it were written as one."""
FORMULA_MARKERS = ("HYPERLINK", "cmd|", "@SUM", "SUM(A1)")
"""Pieces of ``FORMULA_LIKE`` that no formula hbreport writes ever contains."""

PP, VE, KP = "poverty_progress", "village_exit", "key_projects"


def form_values(code: str = FORM_TOWNSHIP, registry=None) -> dict:
    """Prefilled baseline and rule-abiding inputs for every row of ``code``'s workbook."""
    import readback

    from hbreport.baseline import load_baseline
    from hbreport.forms import prefill_values
    from hbreport.registry import load_registry

    spec = _form_spec(code, registry)
    prefill = prefill_values(spec, registry or load_registry(), load_baseline())
    inputs = readback.valid_inputs(spec)
    return {
        form: {row: {**prefill.get(form, {}).get(row, {}), **cells} for row, cells in rows.items()}
        for form, rows in inputs.items()
    }


def _form_spec(code: str, registry=None):
    from hbreport.spec import build_workbook_spec

    return build_workbook_spec(code, FORM_PERIOD, registry=registry)


def write_filled_form(
    directory: Path, code: str = FORM_TOWNSHIP, name: str | None = None, registry=None
) -> Path:
    """``code``'s workbook as hbreport writes it, filled with ``form_values`` (a clean submission)."""
    from hbreport.xlsx.writer import write_workbook

    spec = _form_spec(code, registry)
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / (name or spec.file_name())
    return write_workbook(spec, path, values=form_values(code, registry))


def _clean_form_bytes() -> bytes:
    """The bytes of the clean 梅塘镇 workbook, written once per process."""
    import tempfile

    if not _CLEAN_FORM:
        with tempfile.TemporaryDirectory() as tmp:
            _CLEAN_FORM.append(write_filled_form(Path(tmp), name="clean.xlsx").read_bytes())
    return _CLEAN_FORM[0]


_CLEAN_FORM: list[bytes] = []


def good_children(directory: Path, codes: tuple[str, ...], registry=None) -> dict[str, Path]:
    """Clean, filled workbooks of the townships ``codes`` (9-digit), by code."""
    return {code: write_filled_form(directory, code, registry=registry) for code in codes}


def form_cell(form: str, field: str, row: int = 1, code: str = FORM_TOWNSHIP) -> tuple[str, str]:
    """(sheet name, A1 reference) of ``field`` on the ``row``-th data row (1-based) of ``form``."""
    from hbreport.xlsx.layout import SheetLayout

    sheet = _form_spec(code).sheet(form)
    return sheet.sheet, SheetLayout(sheet).cell(sheet.rows[row - 1].code, field)


def _split(ref: str) -> tuple[int, int]:
    """(column number, row number) of an A1 reference."""
    from openpyxl.utils.cell import column_index_from_string, coordinate_from_string

    letters, row = coordinate_from_string(ref)
    return column_index_from_string(letters), row


def _sheet_name(form: str) -> str:
    return _form_spec(FORM_TOWNSHIP).sheet(form).sheet


def _edited_form(directory: Path, name: str, change: Callable[[openpyxl.Workbook], None]) -> Path:
    """The clean form, opened and saved again by openpyxl with ``change`` applied in between."""
    book = openpyxl.load_workbook(io.BytesIO(_clean_form_bytes()))
    change(book)
    path = directory / name
    book.save(path)
    return path


def _form_parts() -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(_clean_form_bytes())) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def _set_text(cell, text: str) -> None:
    """Type ``text`` as text (as Excel stores an entry that starts with an apostrophe), never a formula."""
    cell.value = text
    cell.data_type = "s"


def _set_meta(book: openpyxl.Workbook, **changes: str) -> None:
    ws = book["_meta"]
    for row in ws.iter_rows(min_col=1, max_col=2):
        key = row[0].value
        if key in changes:
            row[1].value = changes[key]


# ---------------------------------------------------------------- not what it claims


def make_form_no_meta(directory: Path) -> Path:
    """The identity sheet deleted: data copied into a look-alike workbook."""

    def change(book):
        del book["_meta"]

    return _edited_form(directory, "form_no_meta.xlsx", change)


def make_form_meta_other_unit(directory: Path) -> Path:
    """_meta edited to claim the sibling township 石坪镇 (unit code and name)."""
    other = _form_spec(OTHER_TOWNSHIP)
    return _edited_form(
        directory,
        "form_meta_other_unit.xlsx",
        lambda book: _set_meta(book, unit_code=other.unit_code, unit_name=other.unit_name),
    )


def make_form_meta_forged(directory: Path) -> Path:
    """_meta claims 石坪镇 down to its layout fingerprint; the table still lists 梅塘镇's villages."""
    other = _form_spec(OTHER_TOWNSHIP)
    return _edited_form(
        directory,
        "form_meta_forged.xlsx",
        lambda book: _set_meta(
            book, unit_code=other.unit_code, unit_name=other.unit_name, layout_hash=other.layout_hash
        ),
    )


def make_form_heading_changed(directory: Path) -> Path:
    """A column heading relabelled under an unchanged version (本年脱贫人口 → 本年脱贫户数)."""
    from hbreport.xlsx.layout import HEADER_ROW, SheetLayout

    sheet = _form_spec(FORM_TOWNSHIP).sheet(PP)
    ref = f"{SheetLayout(sheet).col_letter('exited_people')}{HEADER_ROW}"

    def change(book):
        book[sheet.sheet][ref] = "本年脱贫户数(户)"

    return _edited_form(directory, "form_heading_changed.xlsx", change)


def make_form_row_code_changed(directory: Path) -> Path:
    """The code of the third village row changed (B column), names untouched."""
    sheet_name, ref = form_cell(PP, "base_households", row=3)
    code_ref = f"B{_split(ref)[1]}"

    def change(book):
        book[sheet_name][code_ref] = "421122101999"

    return _edited_form(directory, "form_row_code_changed.xlsx", change)


def make_form_column_inserted(directory: Path) -> Path:
    """A column inserted inside the table (before 本年脱贫户数) and filled."""
    sheet_name, ref = form_cell(PP, "exited_households")
    column = _split(ref)[0]

    def change(book):
        ws = book[sheet_name]
        ws.insert_cols(column)
        ws.cell(row=6, column=column, value="备注")
        ws.cell(row=9, column=column, value="已核实")

    return _edited_form(directory, "form_column_inserted.xlsx", change)


def make_form_sheet_renamed(directory: Path) -> Path:
    def change(book):
        book[_sheet_name(KP)].title = "03重点工程（修改稿）"

    return _edited_form(directory, "form_sheet_renamed.xlsx", change)


def make_form_sheet_deleted(directory: Path) -> Path:
    def change(book):
        del book[_sheet_name(VE)]

    return _edited_form(directory, "form_sheet_deleted.xlsx", change)


def make_form_row_inserted(directory: Path) -> Path:
    """A village row added in the middle of the table, as a clerk adds a village the form lacks."""
    sheet_name, ref = form_cell(PP, "prior_exited_people", row=4)
    row = _split(ref)[1]

    def change(book):
        ws = book[sheet_name]
        ws.insert_rows(row)
        for column, value in enumerate(["新增村", "421122101099", 10, 30, 5, 2, 6], start=1):
            ws.cell(row=row, column=column, value=value)

    return _edited_form(directory, "form_row_inserted.xlsx", change)


def make_form_row_deleted(directory: Path) -> Path:
    sheet_name, ref = form_cell(PP, "prior_exited_people", row=4)
    row = _split(ref)[1]

    def change(book):
        book[sheet_name].delete_rows(row)

    return _edited_form(directory, "form_row_deleted.xlsx", change)


def make_form_unprotected_prefill_changed(directory: Path) -> Path:
    """Sheet protection removed and a locked, prefilled baseline cell (建档立卡贫困人口) raised by 100."""
    sheet_name, ref = form_cell(PP, "base_people", row=2)

    def change(book):
        ws = book[sheet_name]
        ws.protection.sheet = False
        ws[ref] = (ws[ref].value or 0) + 100

    return _edited_form(directory, "form_unprotected_prefill_changed.xlsx", change)


def make_form_macros(directory: Path) -> Path:
    """The real form turned into a macro-enabled .xlsm with a VBA project."""
    parts = _form_parts()
    _edit(
        parts,
        "[Content_Types].xml",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml",
        "application/vnd.ms-excel.sheet.macroEnabled.main+xml",
    )
    _edit(
        parts,
        "[Content_Types].xml",
        "</Types>",
        '<Default Extension="bin" ContentType="application/vnd.ms-office.vbaProject"/></Types>',
    )
    _edit(
        parts,
        "xl/_rels/workbook.xml.rels",
        "</Relationships>",
        '<Relationship Id="rIdVba" Type="http://schemas.microsoft.com/office/2006/relationships/vbaProject" '
        'Target="vbaProject.bin"/></Relationships>',
    )
    parts["xl/vbaProject.bin"] = _OLE2_MAGIC + random.Random(8).randbytes(2048)
    return write_zip(directory / "form_macros.xlsm", parts)


def make_form_external_link(directory: Path) -> Path:
    """The real form with an input cell pulling from another workbook through an external link."""
    parts = _form_parts()
    _edit(
        parts,
        "[Content_Types].xml",
        "</Types>",
        '<Override PartName="/xl/externalLinks/externalLink1.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.externalLink+xml"/></Types>',
    )
    _edit(
        parts,
        "xl/_rels/workbook.xml.rels",
        "</Relationships>",
        f'<Relationship Id="rIdExt1" Type="{OFFICE_REL}/externalLink" '
        'Target="externalLinks/externalLink1.xml"/></Relationships>',
    )
    workbook = parts["xl/workbook.xml"].decode("utf-8")
    anchor = "</sheets>"
    assert anchor in workbook
    parts["xl/workbook.xml"] = workbook.replace(
        anchor,
        f'</sheets><externalReferences><externalReference xmlns:r="{OFFICE_REL}" r:id="rIdExt1"/>'
        "</externalReferences>",
        1,
    ).encode()
    parts["xl/externalLinks/externalLink1.xml"] = (
        f'<?xml version="1.0" encoding="UTF-8"?><externalLink xmlns="{MAIN_NS}" xmlns:r="{OFFICE_REL}">'
        '<externalBook r:id="rId1"><sheetNames><sheetName val="汇总"/></sheetNames>'
        '<sheetDataSet><sheetData sheetId="0"><row r="2"><cell r="B2"><v>120</v></cell></row>'
        "</sheetData></sheetDataSet></externalBook></externalLink>"
    ).encode()
    parts["xl/externalLinks/_rels/externalLink1.xml.rels"] = (
        f'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="{REL_NS}">'
        f'<Relationship Id="rId1" Type="{OFFICE_REL}/externalLinkPath" '
        f'Target="{EXTERNAL_TARGET}" TargetMode="External"/></Relationships>'
    ).encode()
    return write_zip(directory / "form_external_link.xlsx", parts)


# ---------------------------------------------------------------- wrong content


def _typed(name: str, entries: list[tuple[str, str, int, object]]) -> Callable[[Path], Path]:
    """A maker typing ``entries`` (form, field, data row, value) into the clean form."""

    def make(directory: Path) -> Path:
        cells = [(*form_cell(form, field, row), value) for form, field, row, value in entries]

        def change(book):
            for sheet_name, ref, value in cells:
                if isinstance(value, str):
                    _set_text(book[sheet_name][ref], value)
                else:
                    book[sheet_name][ref] = value

        return _edited_form(directory, f"{name}.xlsx", change)

    make.__name__ = f"make_{name}"
    make.__doc__ = "; ".join(f"{form}.{field} row {row} := {value!r}" for form, field, row, value in entries)
    return make


make_form_text_in_count = _typed("form_text_in_count", [(PP, "exited_people", 2, "约300")])


def make_form_date_in_count(directory: Path) -> Path:
    """A date where a count belongs (the cell was formatted as a date, or 5-1 was read as May 1st)."""
    import datetime as dt

    return _typed("form_date_in_count", [(PP, "exited_households", 2, dt.datetime(2017, 5, 1))])(directory)


make_form_negative_count = _typed("form_negative_count", [(PP, "new_people", 2, -5)])
make_form_decimal_count = _typed("form_decimal_count", [(PP, "exited_households", 2, 3.5)])
make_form_huge_count = _typed(
    "form_huge_count",
    [(KP, "training_person_times", 2, 123_456_789_012_345), (KP, "reloc_area", 3, 1e300)],
)
make_form_formula_text = _typed(
    "form_formula_text",
    [(PP, "new_people", row, text) for row, text in enumerate(FORMULA_LIKE, start=1)]
    + [(VE, "apply_exit", row, text) for row, text in enumerate(FORMULA_LIKE, start=1)],
)


def make_form_merged_inputs(directory: Path) -> Path:
    """Two input cells of one row merged (the right-hand value is lost in Excel)."""
    sheet_name, left = form_cell(PP, "exited_households", row=2)
    _, right = form_cell(PP, "exited_people", row=2)

    def change(book):
        book[sheet_name].merge_cells(f"{left}:{right}")

    return _edited_form(directory, "form_merged_inputs.xlsx", change)


def make_form_value_over_formula(directory: Path) -> Path:
    """A number typed over the derived 累计脱贫人口 formula of one row."""
    sheet_name, ref = form_cell(PP, "cum_exited_people", row=2)

    def change(book):
        book[sheet_name][ref] = 999

    return _edited_form(directory, "form_value_over_formula.xlsx", change)


def make_form_formula_in_input(directory: Path) -> Path:
    """Formula-like entries stored AS formulas in input cells (a DDE command, a link, a sum)."""
    entries = [
        (*form_cell(PP, "new_people", 1), "=cmd|' /C calc'!A0"),
        (*form_cell(PP, "new_people", 2), '=HYPERLINK("http://x","y")'),
        (*form_cell(VE, "apply_exit", 1), '=HYPERLINK("http://x","是")'),
    ]

    def change(book):
        for sheet_name, ref, formula in entries:
            book[sheet_name][ref] = formula  # openpyxl stores text starting with "=" as a formula

    return _edited_form(directory, "form_formula_in_input.xlsx", change)


def _sheet_part(parts: dict[str, bytes], sheet_name: str) -> str:
    """The zip part holding the worksheet named ``sheet_name``."""
    import re

    workbook = parts["xl/workbook.xml"].decode("utf-8")
    rels = parts["xl/_rels/workbook.xml.rels"].decode("utf-8")
    rel_id = re.search(rf'<sheet name="{re.escape(sheet_name)}" sheetId="\d+"[^>]*? r:id="(\w+)"', workbook)
    target = re.search(rf'<Relationship Id="{rel_id.group(1)}"[^>]*? Target="([^"]+)"', rels)
    return "xl/" + target.group(1).lstrip("/").removeprefix("xl/")


def _set_stored_number(parts: dict[str, bytes], form: str, field: str, row: int, text: str) -> None:
    """Put ``text`` verbatim as the stored number of a filled cell (what no spreadsheet program writes)."""
    import re

    sheet_name, ref = form_cell(form, field, row)
    part = _sheet_part(parts, sheet_name)
    xml = parts[part].decode("utf-8")
    changed, count = re.subn(rf'(<c r="{ref}"[^>]*>)<v>[^<]*</v>', rf"\g<1><v>{text}</v>", xml)
    assert count == 1, (part, ref)
    parts[part] = changed.encode("utf-8")


def make_form_nan_and_infinity(directory: Path) -> Path:
    """NaN and infinity stored as cell numbers (a script's output; readers parse them as floats)."""
    parts = _form_parts()
    _set_stored_number(parts, VE, "village_income", 1, "NaN")
    _set_stored_number(parts, KP, "reloc_area", 1, "inf")
    _set_stored_number(parts, PP, "exited_people", 1, "-inf")
    return write_zip(directory / "form_nan_and_infinity.xlsx", parts)


def make_form_far_corner_value(directory: Path) -> Path:
    """One value typed far outside the table, at XFD1048576 (a reader's dense grid would need 17
    billion cells for it)."""
    sheet_name = _sheet_name(PP)

    def change(book):
        book[sheet_name]["XFD1048576"] = 1

    return _edited_form(directory, "form_far_corner_value.xlsx", change)


def hidden_far_corner_parts() -> dict[str, bytes]:
    """The clean form with one value at XFD1048576 on the 01 sheet, whose part is moved out of
    ``xl/worksheets/`` to ``xl/data/s1.xml`` and stored under a backslash name (``xl\\data\\s1.xml``),
    as readers still find it through the workbook's relationships: python-calamine aborts the whole
    process on it (a dense grid of 17 billion cells)."""
    parts = _form_parts()
    part = _sheet_part(parts, _sheet_name(PP))
    xml = parts.pop(part).decode("utf-8")
    far = '<row r="1048576"><c r="XFD1048576" t="n"><v>1</v></c></row></sheetData>'
    assert xml.count("</sheetData>") == 1
    parts["xl\\data\\s1.xml"] = xml.replace("</sheetData>", far).encode("utf-8")
    for name, old, new in (
        ("xl/_rels/workbook.xml.rels", part.removeprefix("xl/"), "data/s1.xml"),
        ("[Content_Types].xml", "/" + part, "/xl/data/s1.xml"),
    ):
        _edit(parts, name, f'"{old}"', f'"{new}"')
    return parts


def make_form_hidden_far_corner(directory: Path) -> Path:
    """A value at the far corner in a sheet part stored where a name-based check would not look
    (:func:`hidden_far_corner_parts`)."""
    return write_zip(directory / "form_hidden_far_corner.xlsx", hidden_far_corner_parts())


def make_form_backslash_names(directory: Path) -> Path:
    """The clean form with every part name written with backslashes (``xl\\worksheets\\sheet1.xml``), as
    some zip tools on Windows store them; readers take them as the same parts."""
    parts = {name.replace("/", "\\"): data for name, data in _form_parts().items()}
    return write_zip(directory / "form_backslash_names.xlsx", parts)


FORM_CASES: dict[str, Callable[[Path], Path]] = {
    "form_no_meta": make_form_no_meta,
    "form_meta_other_unit": make_form_meta_other_unit,
    "form_meta_forged": make_form_meta_forged,
    "form_heading_changed": make_form_heading_changed,
    "form_row_code_changed": make_form_row_code_changed,
    "form_column_inserted": make_form_column_inserted,
    "form_sheet_renamed": make_form_sheet_renamed,
    "form_sheet_deleted": make_form_sheet_deleted,
    "form_row_inserted": make_form_row_inserted,
    "form_row_deleted": make_form_row_deleted,
    "form_unprotected_prefill_changed": make_form_unprotected_prefill_changed,
    "form_macros": make_form_macros,
    "form_external_link": make_form_external_link,
    "form_far_corner_value": make_form_far_corner_value,
    "form_hidden_far_corner": make_form_hidden_far_corner,
    "form_text_in_count": make_form_text_in_count,
    "form_date_in_count": make_form_date_in_count,
    "form_negative_count": make_form_negative_count,
    "form_decimal_count": make_form_decimal_count,
    "form_huge_count": make_form_huge_count,
    "form_nan_and_infinity": make_form_nan_and_infinity,
    "form_merged_inputs": make_form_merged_inputs,
    "form_value_over_formula": make_form_value_over_formula,
    "form_formula_text": make_form_formula_text,
    "form_formula_in_input": make_form_formula_in_input,
}


def make_all_forms(directory: Path) -> dict[str, Path]:
    """Every tampered real form in ``directory``, by stable name."""
    directory.mkdir(parents=True, exist_ok=True)
    return {name: maker(directory) for name, maker in FORM_CASES.items()}


def make_registry_with_formula_names(directory: Path) -> Path:
    """The embedded units CSV with the names of two townships of 红安县 and some of their villages
    replaced by ``FORMULA_LIKE`` strings (returns the CSV's path)."""
    import csv

    from hbreport.paths import SAMPLE_UNITS

    with open(SAMPLE_UNITS, encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    renamed = formula_names()
    for row in rows:
        if row["code"] in renamed:
            row["name"] = renamed[row["code"]]
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "units_formula_names.csv"
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path


def formula_names() -> dict[str, str]:
    """12-digit code → the formula-like name ``make_registry_with_formula_names`` gives it."""
    return dict(zip(registry_formula_codes(), FORMULA_LIKE * 2, strict=False))


def registry_formula_codes() -> tuple[str, ...]:
    """The 12-digit codes ``make_registry_with_formula_names`` renames: 梅塘镇, 石坪镇 and the first two
    poor villages of each (rows of both the 01 and the 02 form)."""
    from hbreport.baseline import load_baseline
    from hbreport.registry import load_registry

    registry, baseline = load_registry(), load_baseline()
    codes = []
    for township in (FORM_TOWNSHIP, OTHER_TOWNSHIP):
        villages = [v.code for v in registry.children(township) if baseline.villages[v.code].poor_village]
        codes += [registry.get(township).code, *villages[:2]]
    return tuple(codes)
