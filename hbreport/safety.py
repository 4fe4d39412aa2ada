"""The gate every incoming workbook passes before any parser touches it.

``inspect_workbook(path)`` reads the file once, in binary, hashes it and checks it; it never
modifies the file. It refuses, with a Chinese message that names the file, what is wrong and
what to do:

- a missing path, a folder, an empty file, a file over ``MAX_FILE_BYTES``;
- anything that is not a zip, named for what it is instead: an old Excel 97-2003 ``.xls`` or
  WPS ``.et`` (OLE2 compound file), a password-encrypted workbook, a PDF, a web page or Excel
  2003 XML table saved as ``.xls``, a CSV/text file, an image, a RAR/7z/gzip archive, or
  unknown bytes;
- a truncated or corrupt zip (bad structure, bad CRC, cut-off compressed data);
- a zip that is not an Excel workbook: a renamed Word ``.docx``, PowerPoint ``.pptx``,
  OpenDocument ``.ods``, a binary ``.xlsb``, or any zip without ``xl/workbook.xml``;
- a zip bomb: more than ``MAX_ENTRIES`` parts, declared sizes over ``MAX_UNCOMPRESSED_BYTES``
  in total, or a part larger than ``RATIO_GRACE_BYTES`` that inflates more than
  ``MAX_ENTRY_RATIO`` times. Declared sizes are not trusted: every part is stream-inflated
  in chunks of at most ``INFLATE_CHUNK_BYTES`` and must stop at exactly its declared size
  with the declared CRC, so a lying header is caught after one chunk and memory stays
  bounded whatever the file claims;
- an XML part (``.xml``, ``.rels``, ``.vml``) with a ``<!DOCTYPE`` or ``<!ENTITY``
  declaration (billion laughs, XXE): the whole inflated stream is scanned as it passes, in
  UTF-8 and UTF-16; the few parts parsed here go through defusedxml as well;
- external links (``xl/externalLinks/*`` or ``<externalReference>``), named by target;
- macros (``xl/vbaProject.bin``, Excel 4.0 macro sheets, a macro-enabled content type)
  unless ``allow_macros=True``.

Limits are chosen so that the largest real township roster passes with room to spare: about
20,000 households × 25 columns is some 2.5 MB on disk and 27 MB inflated, each sheet part
inflating about 10 times; a generated form is under 1 MB.

Readers hold a sheet as one dense grid from A1 to its farthest cell with a value, so one value
typed at XFD1048576 would ask for 17 billion cells and abort the process. The cells of every
worksheet are therefore followed as the part inflates, and a sheet reaching past ``MAX_ROWS``
rows or ``MAX_CELLS`` cells (rows × columns) is refused, naming the sheet and the far cell.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import stat
import struct
import zipfile
import zlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path, PurePosixPath
from xml.etree.ElementTree import Element

import defusedxml.ElementTree as SafeET
from defusedxml import DefusedXmlException

from hbreport.errors import HBError

MiB = 1024 * 1024

MAX_FILE_BYTES = 50 * MiB
"""Largest workbook accepted on disk."""
MAX_UNCOMPRESSED_BYTES = 500 * MiB
"""Largest total of all parts once inflated."""
MAX_ENTRY_RATIO = 200
"""Largest inflated/compressed ratio of one part (real sheets inflate about 10 times)."""
RATIO_GRACE_BYTES = 1 * MiB
"""Parts that inflate to at most this many bytes are not held to ``MAX_ENTRY_RATIO``."""
MAX_ENTRIES = 10_000
"""Most parts (zip entries) in one workbook."""
MAX_ROWS = 200_000
"""Most rows in one sheet, counted to its farthest cell with a value as the sheet inflates."""
MAX_CELLS = 4_000_000
"""Most cells (rows × columns, from A1 to the farthest value) in one sheet: a reader's dense grid of
this size takes about 130 MB; the largest township roster (20,000 × 25) is 500,000."""
MAX_PARSED_XML_BYTES = 16 * MiB
"""Largest part parsed whole here (workbook.xml, content types, relationships)."""
INFLATE_CHUNK_BYTES = 1 * MiB
_SMALL_XML_BYTES = 64 * 1024  # parsed parts up to this size are remembered by their bytes
"""Most bytes inflated at a time; bounds memory on any input."""

SPREADSHEET_HINT = "请用 Excel 或 WPS 打开后“另存为”Excel 工作簿（.xlsx）再报送"
RESEND_HINT = (
    "文件可能在下载、拷贝或传输中被截断或损坏；请从原处重新拷贝，或请填报单位用 Excel/WPS 重新保存后再发送"
)
DANGER_HINT = (
    "正常的 Excel/WPS 工作簿不会这样；请不要打开此文件，联系报送单位用 Excel/WPS 重新另存为 .xlsx 后再报送"
)

_XML_SUFFIXES = (".xml", ".rels", ".vml")
_DTD_NEEDLES = tuple(
    word.encode(codec) for word in ("<!doctype", "<!entity") for codec in ("utf-8", "utf-16-le", "utf-16-be")
)
_NEEDLE_OVERLAP = max(len(n) for n in _DTD_NEEDLES) - 1
_LOCAL_HEADER = struct.Struct("<4sHHHHHIIIHH")
_LOCAL_MAGIC = b"PK\x03\x04"
_ZIP_ENCRYPTED, _ZIP_PATCHED, _ZIP_STRONG_ENCRYPTION = 0x1, 0x20, 0x40
_OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ZIP_MAGICS = (b"PK\x03\x04", b"PK\x05\x06", b"PK\x07\x08")

_REL_NS = "http://schemas.openxmlformats.org/package/2006/relationships"
_CT_NS = "http://schemas.openxmlformats.org/package/2006/content-types"
_MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_OFFICE_DOC_REL = "/officeDocument"
_OFFICE_REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_MACRO_CONTENT_TYPES = (
    "application/vnd.ms-excel.sheet.macroenabled.main+xml",
    "application/vnd.ms-excel.template.macroenabled.main+xml",
    "application/vnd.ms-excel.addin.macroenabled.main+xml",
    "application/vnd.ms-office.vbaproject",
    "application/vnd.ms-excel.macrosheet+xml",
    "application/vnd.ms-excel.intlmacrosheet+xml",
)


@dataclass(frozen=True)
class Inspection:
    """What the gate learned about a workbook it let through."""

    path: Path
    sha256: str
    size: int
    kind: str  # "xlsx" | "xlsm"
    has_macros: bool
    external_links: list[str] = field(default_factory=list)
    sheets: list[str] = field(default_factory=list)


def sha256_file(path: str | Path) -> str:
    """Hex SHA-256 of a file's bytes, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(INFLATE_CHUNK_BYTES), b""):
            digest.update(chunk)
    return digest.hexdigest()


@dataclass(frozen=True)
class Checked:
    """A workbook the gate let through, with what it read: the bytes it checked (parse these, not the
    file again) and the XML parts it inflated while checking them, by lower-cased part name."""

    inspection: Inspection
    data: bytes = field(repr=False)
    parts: Mapping[str, bytes] = field(repr=False)


def inspect_workbook(path: Path, *, allow_macros: bool = False) -> Inspection:
    """Check an incoming workbook without changing it; raise ``HBError`` on anything unsafe."""
    return _inspect(Path(path), allow_macros, keep_xml=False).inspection


def inspect_and_read(path: Path, *, allow_macros: bool = False) -> Checked:
    """:func:`inspect_workbook`, keeping the checked bytes and every inflated XML part of at most
    ``MAX_PARSED_XML_BYTES`` (worksheets, workbook, relationships …), so a reader inflates nothing twice."""
    return _inspect(Path(path), allow_macros, keep_xml=True)


def _inspect(path: Path, allow_macros: bool, keep_xml: bool) -> Checked:
    data = _read_once(path)
    sha256 = hashlib.sha256(data).hexdigest()
    if not data.startswith(_ZIP_MAGICS):
        raise _not_a_zip(path, data)
    package = _Package(path, data, _list_parts(path, data))
    _check_is_workbook(package)
    _check_declared_sizes(package)
    for info in package.parts.values():
        _verify_entry(package, info, keep_xml)
    inspection = _read_structure(package, sha256, allow_macros)
    return Checked(inspection, data, package.kept)


# ---------------------------------------------------------------- reading the file once


def _read_once(path: Path) -> bytes:
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        raise HBError("文件不存在", file=path, hint="请检查文件名和所在文件夹是否正确") from None
    except OSError as exc:
        raise HBError(
            f"无法读取文件（{exc.strerror}）", file=path, hint="请检查文件权限或是否被其他程序占用"
        ) from None
    if stat.S_ISDIR(mode):
        raise HBError("这是一个文件夹，不是 Excel 工作簿", file=path, hint="请指定文件夹中的 .xlsx 文件")
    if not stat.S_ISREG(mode):
        raise HBError("这不是普通文件，不是 Excel 工作簿", file=path, hint="请指定一个 .xlsx 文件")
    try:
        with open(path, "rb") as handle:
            too_large = os.fstat(handle.fileno()).st_size > MAX_FILE_BYTES
            data = b"" if too_large else handle.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise HBError(
            f"无法读取文件（{exc.strerror}）", file=path, hint="请检查文件权限或是否被其他程序占用"
        ) from None
    if too_large or len(data) > MAX_FILE_BYTES:
        raise HBError(
            f"文件超过 {MAX_FILE_BYTES // MiB} MB 的上限（报表工作簿一般只有几 MB）",
            file=path,
            hint="请删除多余的工作表、图片和大片空行后重新保存；确需报送更大的文件请联系上级扶贫办",
        )
    if not data:
        raise HBError(
            "文件是空的（0 字节），保存或拷贝时出了错",
            file=path,
            hint="请填报单位在 Excel/WPS 中重新保存工作簿后再报送",
        )
    return data


# ---------------------------------------------------------------- not a zip: say what it is


def _not_a_zip(path: Path, data: bytes) -> HBError:
    head = data[:4096]
    lowered = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if data.startswith(_OLE2_MAGIC):
        if "EncryptedPackage".encode("utf-16-le") in data:
            return HBError(
                "这是设置了打开密码的加密工作簿，无法读取",
                file=path,
                hint="请在 Excel/WPS 中取消打开密码（文件→信息→保护工作簿→用密码进行加密，清空密码）后另存为 .xlsx 再报送",
            )
        return HBError(
            "这是旧版 Excel 97-2003 (.xls) 或 WPS (.et) 文件，不是 .xlsx 工作簿",
            file=path,
            hint="请用 Excel/WPS 另存为 .xlsx 后重新报送",
        )
    if head.startswith(b"%PDF"):
        return HBError(
            "这是 PDF 文件，不是 Excel 工作簿",
            file=path,
            hint="请报送原始的 Excel 工作簿（.xlsx），不要报送打印或导出的 PDF",
        )
    for magic, what in (
        (b"Rar!\x1a\x07", "RAR 压缩包"),
        (b"7z\xbc\xaf\x27\x1c", "7z 压缩包"),
        (b"\x1f\x8b", "gzip 压缩包"),
    ):
        if head.startswith(magic):
            return HBError(
                f"这是{what}，不是 Excel 工作簿", file=path, hint="请解压后分别报送其中的 .xlsx 文件"
            )
    for magic, what in (
        (b"\x89PNG\r\n\x1a\n", "PNG 图片"),
        (b"\xff\xd8\xff", "JPEG 图片"),
        (b"GIF8", "GIF 图片"),
        (b"BM", "BMP 图片"),
    ):
        if head.startswith(magic):
            return HBError(
                f"这是{what}，不是 Excel 工作簿",
                file=path,
                hint="请报送 Excel 工作簿本身，不要报送截图或照片",
            )
    if b"urn:schemas-microsoft-com:office:spreadsheet" in head:
        return HBError("这是 Excel 2003 XML 表格，不是 .xlsx 工作簿", file=path, hint=SPREADSHEET_HINT)
    if lowered.startswith((b"<!doctype html", b"<html", b"<table", b"<meta")) or b"<html" in lowered[:1024]:
        return HBError(
            "这是网页（HTML）格式的表格（常见于从网站系统“导出 Excel”得到的文件），不是真正的 Excel 工作簿",
            file=path,
            hint=SPREADSHEET_HINT,
        )
    text = _as_text(head)
    if text is not None:
        lines = [line for line in text.splitlines() if line.strip()]
        if lines and any(sep in lines[0] for sep in (",", "\t", "，")):
            what = "CSV/文本文件（逗号或制表符分隔的纯文本）"
        else:
            what = "纯文本文件"
        return HBError(f"这是{what}，不是 Excel 工作簿", file=path, hint=SPREADSHEET_HINT)
    return HBError(
        f"无法识别的文件内容（开头字节 {data[:8].hex(' ')}），不是 Excel 工作簿，文件可能已损坏",
        file=path,
        hint="请确认报送的是用 Excel/WPS 保存的 .xlsx 文件，" + RESEND_HINT,
    )


def _as_text(head: bytes) -> str | None:
    """The head decoded as text if it plausibly is text (UTF-8 or GB18030, no control bytes)."""
    if b"\x00" in head:
        return None
    for codec in ("utf-8-sig", "gb18030"):
        try:
            text = head.decode(codec)
        except UnicodeDecodeError:
            # a multi-byte character cut at the end of the head is still text
            try:
                text = head[:-3].decode(codec)
            except UnicodeDecodeError:
                continue
        if all(ch.isprintable() or ch.isspace() for ch in text):
            return text
    return None


# ---------------------------------------------------------------- zip structure


@dataclass(frozen=True)
class _Package:
    """The file's bytes and its parts by lower-cased name (OPC part names ignore case)."""

    path: Path
    data: bytes
    parts: dict[str, zipfile.ZipInfo]
    kept: dict[str, bytes] = field(default_factory=dict)  # parts already inflated and verified

    def read(self, name: str) -> bytes | None:
        """A part's bytes, inflated here (never by zipfile), or None when there is no such part."""
        kept = self.kept.get(name.lower())
        if kept is not None:
            return kept
        info = self.parts.get(name.lower())
        return None if info is None else b"".join(_inflate(self, info))


def _list_parts(path: Path, data: bytes) -> dict[str, zipfile.ZipInfo]:
    """The central directory, read by zipfile; nothing is inflated yet."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            infos = archive.infolist()
    except (
        zipfile.BadZipFile,
        zipfile.LargeZipFile,
        ValueError,
        OSError,
        EOFError,
        struct.error,
        IndexError,
        KeyError,
        NotImplementedError,
    ) as exc:
        raise _corrupt(path, f"压缩结构无法读取：{exc}") from None
    if len(infos) > MAX_ENTRIES:
        raise HBError(
            f"工作簿内部有 {len(infos)} 个部件，超过上限 {MAX_ENTRIES} 个，结构异常（疑似恶意构造的文件）",
            file=path,
            hint=DANGER_HINT,
        )
    parts: dict[str, zipfile.ZipInfo] = {}
    for info in infos:
        name = info.filename.lower()
        if name in parts:
            raise _corrupt(path, f"内部部件「{info.filename}」重复出现")
        parts[name] = info
    return parts


def _corrupt(path: Path, detail: str) -> HBError:
    return HBError(f"文件不完整或已损坏（{detail}）", file=path, hint=RESEND_HINT)


def _check_is_workbook(package: _Package) -> None:
    path, names = package.path, package.parts
    if "xl/workbook.xml" in names:
        return
    if "word/document.xml" in names:
        raise HBError(
            "这是 Word 文档（.docx），只是扩展名改成了表格的样子，不是 Excel 工作簿",
            file=path,
            hint="请报送 Excel 工作簿（.xlsx）",
        )
    if "ppt/presentation.xml" in names:
        raise HBError(
            "这是 PowerPoint 演示文稿（.pptx），不是 Excel 工作簿",
            file=path,
            hint="请报送 Excel 工作簿（.xlsx）",
        )
    if "xl/workbook.bin" in names:
        raise HBError(
            "这是 Excel 二进制工作簿（.xlsb），不是 .xlsx 工作簿",
            file=path,
            hint="请用 Excel 另存为 .xlsx 后重新报送",
        )
    mimetype = names.get("mimetype")
    if mimetype is not None and mimetype.file_size <= 256:
        kind = (package.read("mimetype") or b"").decode("ascii", "replace")
        if "opendocument.spreadsheet" in kind:
            raise HBError(
                "这是 OpenDocument 电子表格（.ods），不是 .xlsx 工作簿", file=path, hint=SPREADSHEET_HINT
            )
        if "opendocument" in kind:
            raise HBError(
                "这是 OpenDocument 文档（.odt/.odp 等），不是 Excel 工作簿",
                file=path,
                hint="请报送 Excel 工作簿（.xlsx）",
            )
    raise HBError(
        "这是一个普通 ZIP 压缩包，不是 Excel 工作簿（缺少 xl/workbook.xml）",
        file=path,
        hint="如果是压缩包，请解压后报送其中的 .xlsx 文件；如果本应是工作簿，说明文件已损坏，" + RESEND_HINT,
    )


def _check_declared_sizes(package: _Package) -> None:
    path, infos = package.path, package.parts.values()
    total = sum(info.file_size for info in infos)
    if total > MAX_UNCOMPRESSED_BYTES:
        raise HBError(
            f"文件解压后共 {total / MiB:,.0f} MB，超过上限 {MAX_UNCOMPRESSED_BYTES // MiB} MB（疑似“压缩炸弹”）",
            file=path,
            hint=DANGER_HINT,
        )
    for info in infos:
        if info.file_size > RATIO_GRACE_BYTES and info.file_size > MAX_ENTRY_RATIO * max(
            info.compress_size, 1
        ):
            ratio = info.file_size / max(info.compress_size, 1)
            raise HBError(
                f"内部部件「{info.filename}」压缩比 {ratio:,.0f}:1，超过上限 {MAX_ENTRY_RATIO}:1（疑似“压缩炸弹”）",
                file=path,
                hint=DANGER_HINT,
            )


def _verify_entry(package: _Package, info: zipfile.ZipInfo, keep_xml: bool = False) -> None:
    """Inflate one part (checked by ``_inflate``); scan XML parts for DTD declarations as they pass,
    and follow the cells of worksheets to their farthest value. The relationships, content types and
    workbook parts parsed afterwards are kept (inflated once), every XML part with ``keep_xml``;
    only parts of at most ``MAX_PARSED_XML_BYTES``, and only once they have passed every check."""
    name = info.filename.lower()
    if not name.endswith(_XML_SUFFIXES):
        for _ in _inflate(package, info):
            pass
        return
    extent = _SheetExtent() if name.startswith("xl/worksheets/") else None
    keep = info.file_size <= MAX_PARSED_XML_BYTES and (
        keep_xml or name.endswith(".rels") or name in ("[content_types].xml", "xl/workbook.xml")
    )
    chunks: list[bytes] = []
    tail = b""
    for chunk in _inflate(package, info):
        if keep:
            chunks.append(chunk)
        # a declaration inside this chunk, or one begun in the tail of what came before
        if _declares_dtd(chunk) or (tail and _declares_dtd(tail + chunk[:_NEEDLE_OVERLAP])):
            raise HBError(
                f"内部部件「{info.filename}」含 DOCTYPE/ENTITY 声明（可能是恶意构造的“实体膨胀”或外部实体文件）",
                file=package.path,
                hint=DANGER_HINT,
            )
        tail = (
            chunk[-_NEEDLE_OVERLAP:] if len(chunk) >= _NEEDLE_OVERLAP else (tail + chunk)[-_NEEDLE_OVERLAP:]
        )
        if extent is not None:
            extent.feed(chunk)
    if extent is not None:
        _check_extent(package, info, extent)
    if keep:
        package.kept[name] = b"".join(chunks)


def _declares_dtd(window: bytes) -> bool:
    """Whether ``window`` holds a DOCTYPE or ENTITY declaration, in any letter case, UTF-8 or UTF-16.
    Each needle holds ``!`` and ``<!`` or ``<\\0!``, so most windows are cleared by a byte search."""
    if b"!" not in window or (b"<!" not in window and b"<\x00!" not in window):
        return False
    lowered = window.lower()
    return any(needle in lowered for needle in _DTD_NEEDLES)


# A cell start tag (<c followed by a space, '>' or '/'), capturing its reference when r="A1" is its first
# attribute. Cells whose reference is written otherwise (not first, other quotes, a prefix) leave the
# quick pass unsure, and the sheet is walked tag by tag.
_QUICK_CELL = re.compile(rb'<c(?:\s+r="([A-Z]{1,3})([0-9]{1,7})"|[\s>/])')
_NO_REF = (b"", b"")
_PREFIXED_CELL = re.compile(rb"<[A-Za-z_][\w.-]*:c[\s>/]")
_PREFIX_HINT = re.compile(rb":c[\s>/]")  # in every prefixed cell start tag, rarely anywhere else
_SHEET_TAG = re.compile(rb"<(/?)(?:[A-Za-z_][\w.-]*:)?(row|c|v|is)(?=[\s/>])([^<>]*)>")
_REF_ATTR = re.compile(rb"""(?:^|\s)r\s*=\s*["']([A-Za-z]{0,3})([0-9]{0,7})["']""")
_ROW_OR_CELL = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?(?:row|c)\s")
_MAX_TAG_BYTES = 4096
# Where a sheet's cells may reach, to guess a bound from: its <dimension> near the start, its last cell.
_DIMENSION = re.compile(rb'<dimension\s+ref="(?:[A-Z]{1,3}[0-9]{1,7}:)?([A-Z]{1,3})([0-9]{1,7})"')
_DIMENSION_WITHIN = 16 * 1024
_LAST_CELL = b'<c r="'
_CELL_REF = re.compile(rb'<c r="([A-Z]{1,3})([0-9]{1,7})"')


class _SheetExtent:
    """How far a worksheet's cells reach, from every cell reference, taken as the part inflates.

    This quick pass counts every cell, formatted-only ones too. When it cannot be sure (a cell
    whose first attribute is not a plain ``r="B12"`` reference) or the sheet looks too large,
    ``_CellWalker`` walks the sheet again tag by tag.

    ``rows`` and ``cols`` are never less than the farthest reference. Unless ``exact``, each chunk is
    first matched against a loose bound guessed from the sheet's ``<dimension>``, its last cell and the
    chunks before: when every cell start tag holds a plain reference within it, the bound stands for
    the chunk (``bounded``) and no reference is taken apart; otherwise the chunk's references are read
    one by one. A bound over the limits is counted again exactly (``_check_extent``) before it counts."""

    def __init__(self, exact: bool = False) -> None:
        self.rows = 0
        self.cols = 0
        self.unsure = False  # a cell start tag without a plain reference first, or with a prefix
        self.carry = b""
        self.malformed = False
        self.guess = not exact
        self.bounded = False
        self.hinted = False  # the <dimension> was looked for

    def whole_tags(self, chunk: bytes) -> bytes:
        """``chunk`` after what was held back, minus a tag cut at its end (held back for next time)."""
        data = self.carry + chunk
        cut = data.rfind(b"<")
        if cut != -1 and data.find(b">", cut) == -1:
            data, self.carry = data[:cut], data[cut:]
            if len(self.carry) > _MAX_TAG_BYTES:  # no row or cell tag is this long
                self.malformed = self.malformed or bool(_ROW_OR_CELL.match(self.carry))
                self.carry = b""
        else:
            self.carry = b""
        return data

    def feed(self, chunk: bytes) -> None:
        if not self.sure:  # the walker decides; nothing counted here matters any more
            return
        data = self.whole_tags(chunk)
        if _PREFIX_HINT.search(data) and _PREFIXED_CELL.search(data):
            self.unsure = True
            return
        if self.guess and self._within_guess(data):
            return
        cells = _QUICK_CELL.findall(data)  # every cell start tag, with its reference when that comes first
        if _NO_REF in cells:
            self.unsure = True
        elif cells:
            letters, rows = (set(part) for part in zip(*cells, strict=True))
            self.rows = max(self.rows, max(map(int, rows)))
            self.cols = max(self.cols, max(map(_column_number, letters)))

    def _within_guess(self, data: bytes) -> bool:
        """Settle ``data`` by a guessed bound if every cell start tag in it holds a plain reference
        within the bound, or if one holds no plain reference (unsure); False to read the references."""
        cols, rows = self.cols, self.rows
        if not self.hinted:
            self.hinted = True
            hint = _DIMENSION.search(data, 0, _DIMENSION_WITHIN)
            if hint is not None:
                cols, rows = max(cols, _column_number(hint[1])), max(rows, int(hint[2]))
        last = data.rfind(_LAST_CELL)
        hint = _CELL_REF.match(data, last) if last != -1 else None
        if hint is not None:
            cols, rows = max(cols, _column_number(hint[1])), max(rows, int(hint[2]))
        if cols < 1 or not 1 <= rows <= 9_999_999 or not _fits(rows, cols):  # 7 digits, as _QUICK_CELL
            return False
        rows, cols = _loose_bound(rows, cols)
        stray = _cells_beyond(cols, rows).search(data)
        if stray is None:
            self.cols, self.rows, self.bounded = cols, rows, True
            return True
        if not _QUICK_CELL.match(data, stray.start())[1]:
            self.unsure = True
            return True
        return False

    @property
    def sure(self) -> bool:
        return not self.malformed and not self.unsure


def _loose_bound(rows: int, cols: int) -> tuple[int, int]:
    """A bound at or beyond ``rows`` × ``cols`` and within the limits, loose so that few are ever used:
    every numeral as long as theirs (999 rows, ZZ columns), else the rows rounded up, else as it is."""
    whole = (10 ** len(str(rows)) - 1, _column_number(b"Z" * len(_column_letters(cols))))
    rounded = (_round_up(rows), cols)
    for bound in (whole, rounded):
        if _fits(*bound):
            return bound
    return rows, cols


def _round_up(rows: int) -> int:
    """``rows`` rounded up to a power of two or three times one."""
    power = 1 << (rows - 1).bit_length()
    return power * 3 // 4 if power >= 4 and power * 3 // 4 >= rows else power


@lru_cache(maxsize=256)
def _cells_beyond(cols: int, rows: int) -> re.Pattern[bytes]:
    """Cell start tags other than ``<c r="B12"`` (one space, no leading zeros) within ``cols`` columns
    and ``rows`` rows: every tag that ``_QUICK_CELL`` might not read as a reference within them."""
    columns = (
        _numerals_up_to(_column_letters(cols), "ABCDEFGHIJKLMNOPQRSTUVWXYZ", "A")
        if cols <= 18278
        else "[A-Z]{1,3}"
    )
    numbers = _numerals_up_to(str(rows), "0123456789", "1")
    return re.compile(rf'<c(?! r="(?:{columns})(?:{numbers})")[\s>/]'.encode("ascii"))


def _numerals_up_to(bound: str, digits: str, first: str) -> str:
    """A regular expression for the numerals over ``digits`` (ordered, the first digit at least ``first``)
    that come at most to ``bound``: shorter ones, and those of its length not above it."""
    low, high = digits[0], digits[-1]
    size = len(bound)
    if bound == high * size:
        return f"[{first}-{high}][{low}-{high}]{{0,{size - 1}}}"
    alternatives = [f"[{first}-{high}][{low}-{high}]{{0,{size - 2}}}"] if size > 1 else []
    for at, digit in enumerate(bound):
        lowest = first if at == 0 else low
        if digit > lowest:
            alternatives.append(
                f"{bound[:at]}[{lowest}-{chr(ord(digit) - 1)}][{low}-{high}]{{{size - 1 - at}}}"
            )
    alternatives.append(bound)
    return "|".join(alternatives)


class _CellWalker(_SheetExtent):
    """The exact extent of the cells with a value, walking row and cell tags in order. Rows and cells
    without a reference count on from the previous one, as the format says; cells with no value
    (formatting only) do not count, as readers skip them."""

    def __init__(self) -> None:
        super().__init__()
        self.row = 0
        self.col = 0
        self.cell: tuple[int, int] | None = None  # the open <c> element: (row, column)

    def feed(self, chunk: bytes) -> None:
        for closing, tag, attrs in _SHEET_TAG.findall(self.whole_tags(chunk)):
            if closing:
                if tag == b"c":
                    self.cell = None
                continue
            refs = _REF_ATTR.findall(attrs)
            if tag == b"row":
                numbers = [int(digits) for _, digits in refs if digits]
                self.row = max(numbers) if numbers else self.row + 1
                self.col = 0
            elif tag == b"c":
                columns = [_column_number(letters) for letters, _ in refs if letters]
                numbers = [int(digits) for _, digits in refs if digits]
                self.col = max(columns) if columns else self.col + 1
                row = max(numbers) if numbers else self.row
                self.cell = None if attrs.rstrip().endswith(b"/") else (row, self.col)
            elif self.cell is not None:  # <v> or <is>: the open cell holds a value
                self.rows = max(self.rows, self.cell[0])
                self.cols = max(self.cols, self.cell[1])
                self.cell = None


def _column_number(letters: bytes) -> int:
    number = 0
    for ch in letters.upper():
        number = number * 26 + ch - 64
    return number


def _column_letters(number: int) -> str:
    letters = ""
    while number > 0:
        number, rest = divmod(number - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def _fits(rows: int, cols: int) -> bool:
    return rows <= MAX_ROWS and rows * cols <= MAX_CELLS


def _within_limits(extent: _SheetExtent) -> bool:
    return _fits(extent.rows, extent.cols)


def _check_extent(package: _Package, info: zipfile.ZipInfo, quick: _SheetExtent) -> None:
    if quick.sure and quick.bounded and not _within_limits(quick):  # a guessed bound: count exactly
        quick = _SheetExtent(exact=True)
        for chunk in _inflate(package, info):
            quick.feed(chunk)
    if quick.sure and _within_limits(quick):
        return
    extent = _CellWalker()
    for chunk in _inflate(package, info):
        extent.feed(chunk)
    if extent.malformed:
        raise _corrupt(package.path, f"内部部件「{info.filename}」中有异常长的行或单元格标记")
    if _within_limits(extent):
        return
    corner = f"{_column_letters(extent.cols)}{extent.rows}"
    if extent.rows > MAX_ROWS:
        limit = f"超过上限 {MAX_ROWS:,} 行"
    else:
        limit = f"共 {extent.rows * extent.cols:,} 个单元格，超过上限 {MAX_CELLS:,} 个"
    raise HBError(
        f"工作表的内容一直延伸到第 {extent.rows:,} 行、第 {extent.cols:,} 列（{corner}），{limit}",
        file=package.path,
        sheet=_sheet_name_of(package, info.filename),
        cell=corner,
        hint="表格以外的远处单元格里有内容（多为误输入或误粘贴）：请在 Excel/WPS 中按 Ctrl+End 找到它，"
        "删除多余的行和列后保存，再重新报送",
    )


def _sheet_name_of(package: _Package, part: str) -> str | None:
    """The name of the sheet stored in worksheet ``part`` (None when the workbook does not say)."""
    try:
        workbook_part = _workbook_part(package)
        folder = PurePosixPath(workbook_part).parent
        rels = _parse(package, f"{folder}/_rels/{PurePosixPath(workbook_part).name}.rels", required=False)
        targets = {}
        for el in rels.iter(f"{{{_REL_NS}}}Relationship") if rels is not None else ():
            target = el.get("Target") or ""
            resolved = target.lstrip("/") if target.startswith("/") else str(folder / target)
            targets[el.get("Id")] = resolved.lower()
        workbook = _parse(package, workbook_part, required=True)
    except HBError:
        return None
    for sheet in workbook.iter(f"{{{_MAIN_NS}}}sheet"):
        rel_id = sheet.get(f"{{{_OFFICE_REL_NS}}}id")
        if targets.get(rel_id) == part.lower():
            return sheet.get("name")
    return None


def _inflate(package: _Package, info: zipfile.ZipInfo) -> Iterator[bytes]:
    """Yield a part's bytes in bounded chunks; it must end at exactly its declared size and CRC."""
    inflated = 0
    crc = 0
    for chunk in _inflate_raw(package, info):
        inflated += len(chunk)
        if inflated > info.file_size:
            raise HBError(
                f"内部部件「{info.filename}」实际解压后比它声明的 {info.file_size:,} 字节更大，"
                "文件头被篡改（疑似“压缩炸弹”）",
                file=package.path,
                hint=DANGER_HINT,
            )
        crc = zlib.crc32(chunk, crc)
        yield chunk
    if inflated != info.file_size:
        raise _corrupt(
            package.path, f"内部部件「{info.filename}」只有 {inflated:,} 字节，应为 {info.file_size:,} 字节"
        )
    if crc != info.CRC:
        raise _corrupt(package.path, f"内部部件「{info.filename}」校验和（CRC）不符")


def _inflate_raw(package: _Package, info: zipfile.ZipInfo) -> Iterator[bytes]:
    """Yield the inflated bytes of a part as the deflate stream gives them, ``INFLATE_CHUNK_BYTES`` at most."""
    path = package.path
    raw = _raw_member(package, info)
    if info.compress_type == zipfile.ZIP_STORED:
        for start in range(0, len(raw), INFLATE_CHUNK_BYTES):
            yield bytes(raw[start : start + INFLATE_CHUNK_BYTES])
        return
    if info.compress_type != zipfile.ZIP_DEFLATED:
        raise _corrupt(
            path, f"内部部件「{info.filename}」使用了 Excel 不用的压缩方式（{info.compress_type}）"
        )
    inflater = zlib.decompressobj(-zlib.MAX_WBITS)
    try:
        for start in range(0, len(raw), 64 * 1024):
            pending = raw[start : start + 64 * 1024]
            while pending and not inflater.eof:
                out = inflater.decompress(pending, INFLATE_CHUNK_BYTES)
                pending = inflater.unconsumed_tail
                if out:
                    yield out
            if inflater.eof:
                break
        while not inflater.eof:  # output still held back after the last input
            out = inflater.decompress(b"", INFLATE_CHUNK_BYTES)
            if not out:
                break
            yield out
    except zlib.error as exc:
        raise _corrupt(path, f"内部部件「{info.filename}」的压缩数据损坏：{exc}") from None
    if not inflater.eof:
        raise _corrupt(path, f"内部部件「{info.filename}」的压缩数据被截断")


def _raw_member(package: _Package, info: zipfile.ZipInfo) -> memoryview:
    """The compressed bytes of one part, located through its local header."""
    path, data = package.path, package.data
    if info.flag_bits & (_ZIP_ENCRYPTED | _ZIP_STRONG_ENCRYPTION):
        raise _corrupt(path, f"内部部件「{info.filename}」被加密")
    if info.flag_bits & _ZIP_PATCHED:
        raise _corrupt(path, f"内部部件「{info.filename}」使用了 Excel 不用的压缩特性（补丁数据）")
    offset = info.header_offset
    if offset < 0 or offset + _LOCAL_HEADER.size > len(data):
        raise _corrupt(path, f"内部部件「{info.filename}」的位置超出文件末尾")
    fields = _LOCAL_HEADER.unpack_from(data, offset)
    magic, name_len, extra_len = fields[0], fields[9], fields[10]
    name_start = offset + _LOCAL_HEADER.size
    start = name_start + name_len + extra_len
    if magic != _LOCAL_MAGIC or data[name_start : name_start + name_len] != info.orig_filename.encode(
        "utf-8" if info.flag_bits & 0x800 else "cp437", "replace"
    ):
        raise _corrupt(path, f"内部部件「{info.filename}」的本地文件头与目录不一致")
    end = start + info.compress_size
    if end > len(data):
        raise _corrupt(path, f"内部部件「{info.filename}」的数据超出文件末尾")
    return memoryview(data)[start:end]


# ---------------------------------------------------------------- what the workbook holds


def _read_structure(package: _Package, sha256: str, allow_macros: bool) -> Inspection:
    path, names = package.path, package.parts
    content_types = _parse(package, "[Content_Types].xml", required=True)
    declared_types = {
        (el.get("ContentType") or "").lower()
        for el in content_types.iter()
        if el.tag in (f"{{{_CT_NS}}}Default", f"{{{_CT_NS}}}Override")
    }
    workbook = _parse(package, _workbook_part(package), required=True)
    sheets = [el.get("name") or "" for el in workbook.iter(f"{{{_MAIN_NS}}}sheet")]
    if not sheets:
        raise _corrupt(path, "工作簿中没有任何工作表")

    has_macros = (
        "xl/vbaproject.bin" in names
        or any(name.startswith("xl/macrosheets/") for name in names)
        or bool(declared_types & set(_MACRO_CONTENT_TYPES))
    )
    if has_macros and not allow_macros:
        raise HBError(
            "工作簿含宏（VBA 代码或宏表），出于安全不予接收",
            file=path,
            hint="请在 Excel/WPS 中“另存为”不含宏的 Excel 工作簿（.xlsx）后重新报送",
        )

    external_links = _external_links(package)
    if not external_links and workbook.find(f".//{{{_MAIN_NS}}}externalReference") is not None:
        external_links = ["（未注明目标的外部引用）"]
    if external_links:
        shown = "；".join(external_links[:5]) + ("……" if len(external_links) > 5 else "")
        raise HBError(
            f"工作簿含 {len(external_links)} 个外部链接，公式引用了其他文件：{shown}",
            file=path,
            hint="请在 Excel/WPS 中用“数据→编辑链接→断开链接”把这些公式变成数值，保存后重新报送",
        )
    return Inspection(
        path=path,
        sha256=sha256,
        size=len(package.data),
        kind="xlsm" if has_macros else "xlsx",
        has_macros=has_macros,
        external_links=external_links,
        sheets=sheets,
    )


def _parse(package: _Package, part: str, *, required: bool) -> Element | None:
    """Parse one small, already verified XML part with defusedxml (no DTD, no entities)."""
    path = package.path
    info = package.parts.get(part.lower())
    if info is None:
        if required:
            raise _corrupt(path, f"缺少内部部件「{part}」")
        return None
    if info.file_size > MAX_PARSED_XML_BYTES:
        raise HBError(
            f"内部部件「{info.filename}」有 {info.file_size / MiB:,.0f} MB，超过 {MAX_PARSED_XML_BYTES // MiB} MB 的上限，结构异常",
            file=path,
            hint=DANGER_HINT,
        )
    try:
        return _parsed(package.read(part))
    except (SafeET.ParseError, DefusedXmlException) as exc:
        raise _corrupt(path, f"内部部件「{info.filename}」不是有效的 XML：{exc}") from None


def _parsed(data: bytes) -> Element:
    """``data`` parsed with defusedxml (no DTD); the small structural parts, the same bytes in every
    workbook one program writes, are parsed once per process (the result is only read)."""
    return _parsed_small(data) if len(data) <= _SMALL_XML_BYTES else SafeET.fromstring(data, forbid_dtd=True)


@lru_cache(maxsize=256)
def _parsed_small(data: bytes) -> Element:
    return SafeET.fromstring(data, forbid_dtd=True)


def _relationships(root: Element | None) -> list[tuple[str, str, str]]:
    """(type, target, target mode) of each relationship in a parsed .rels part."""
    if root is None:
        return []
    return [
        (el.get("Type") or "", el.get("Target") or "", el.get("TargetMode") or "")
        for el in root.iter(f"{{{_REL_NS}}}Relationship")
    ]


def _workbook_part(package: _Package) -> str:
    """The workbook part named by the package relationships (xl/workbook.xml by convention)."""
    for rel_type, target, mode in _relationships(_parse(package, "_rels/.rels", required=False)):
        if rel_type.endswith(_OFFICE_DOC_REL) and mode != "External":
            part = target.lstrip("/")
            if part.lower() in package.parts:
                return part
    return "xl/workbook.xml"


def _external_links(package: _Package) -> list[str]:
    """Targets of the workbook's external links (files, DDE), one entry per link part."""
    links: list[str] = []
    for name in sorted(package.parts):
        if "externallinks" not in name:  # in every name whose folder is xl/externallinks
            continue
        pure = PurePosixPath(name)
        if pure.parent != PurePosixPath("xl/externallinks") or pure.suffix != ".xml":
            continue
        rels = _parse(package, f"xl/externalLinks/_rels/{pure.name}.rels", required=False)
        targets = [target for _, target, _ in _relationships(rels) if target]
        if not targets:
            part = _parse(package, name, required=True)
            for dde in part.iter(f"{{{_MAIN_NS}}}ddeLink"):
                targets.append(f"DDE {dde.get('ddeService', '')}|{dde.get('ddeTopic', '')}")
        links.append("、".join(targets) if targets else f"（{package.parts[name].filename}）")
    return links
