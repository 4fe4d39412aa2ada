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
typed at XFD1048576 would ask for 17 billion cells and abort the process. The gate measures what
readers will read: every part the workbook's sheets and sheet relationships point to (whatever its
name, folder, letter case or path separator — part names are compared as readers compare them) and
every part in a sheet folder is measured, and a sheet reaching past ``MAX_ROWS`` rows or
``MAX_CELLS`` cells (rows × columns) is refused, naming the sheet and the far cell. A part is parsed
(expat, no DTD) unless its bytes, written plainly, prove it within every limit (``_plain_extent``).
The same pass refuses more than ``MAX_SHARED_STRINGS`` shared strings, which readers load whether
cells use them or not.
"""

from __future__ import annotations

import hashlib
import io
import os
import posixpath
import re
import stat
import struct
import zipfile
import zlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path, PurePosixPath
from urllib.parse import unquote
from xml.etree.ElementTree import Element
from xml.parsers import expat

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
MAX_SHARED_STRINGS = 1_000_000
"""Most shared strings (distinct texts) in one workbook: a reader holds every one in memory, used or
not; the largest township roster has about 40,000 (a name and an ID number per household), a form a
few hundred."""
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
_SHEET_FOLDERS = ("worksheets", "chartsheets", "dialogsheets", "macrosheets")
_SHEET_TYPES = (
    "/worksheet",
    "/chartsheet",
    "/dialogsheet",
    "/xlmacrosheet",
    "/xlintlmacrosheet",
    "/sharedstrings",  # not a sheet, but read whole by readers: its strings are counted
)
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


def crash_reason(exit_code: int | None) -> tuple[str, str]:
    """(message, what to do) for a file whose reading killed the process reading it: a native parser
    aborted (or the system ended it, out of memory) on what the gate let through."""
    how = f"被信号 {-exit_code} 终止" if exit_code is not None and exit_code < 0 else f"退出代码 {exit_code}"
    return (
        f"读取此文件时读取程序异常终止（{how}），文件未被读取；多为异常构造或严重损坏的文件，其他文件不受影响",
        DANGER_HINT,
    )


def sha256_file(path: str | Path) -> str:
    """Hex SHA-256 of a file's bytes, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(INFLATE_CHUNK_BYTES), b""):
            digest.update(chunk)
    return digest.hexdigest()


class _Parts(dict):
    """Inflated parts by lower-cased name; ``plain``: the names of those whose bytes alone proved them within
    every limit (:func:`_plain_extent`): unprefixed SpreadsheetML, every cell tag opening with its reference."""

    def __init__(self) -> None:
        super().__init__()
        self.plain: set[str] = set()


@dataclass(frozen=True)
class Checked:
    """A workbook the gate let through, with what it read: the bytes it checked (parse these, not the
    file again) and the XML parts it inflated while checking them, by lower-cased part name (their
    ``plain`` attribute names the parts proved written plainly, see :class:`_Parts`)."""

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
    sheets = _sheets_to_measure(package, keep_xml)
    for name in package.verified & sheets.keys():  # a structural part named as a sheet as well
        _Measure(package, package.parts[name], sheets[name]).whole(package.read(name) or b"")
    for name, info in package.parts.items():
        if name in package.verified:
            continue
        measured = name in sheets or name.endswith("sharedstrings.xml")
        _verify_entry(
            package, info, keep_xml, _Measure(package, info, sheets.get(name)) if measured else None
        )
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
    kept: _Parts = field(default_factory=lambda: _Parts())  # parts already inflated and verified
    verified: set[str] = field(default_factory=set)

    def read(self, name: str) -> bytes | None:
        """A part's bytes, inflated here (never by zipfile), or None when there is no such part."""
        kept = self.kept.get(_part_key(name))
        if kept is not None:
            return kept
        info = self.parts.get(_part_key(name))
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
        name = _part_key(info.filename)
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


def _verify_entry(
    package: _Package, info: zipfile.ZipInfo, keep_xml: bool = False, measure: _Measure | None = None
) -> None:
    """Inflate one part (checked by ``_inflate``); scan XML parts for DTD declarations as they pass, and
    parse the parts readers read as sheets or shared strings (``measure``). The relationships, content
    types and workbook parts parsed afterwards are kept (inflated once), every XML part with ``keep_xml``;
    only parts of at most ``MAX_PARSED_XML_BYTES``, and only once they have passed every check."""
    name = _part_key(info.filename)
    package.verified.add(name)
    if not name.endswith(_XML_SUFFIXES) and measure is None:
        for _ in _inflate(package, info):
            pass
        return
    keep = info.file_size <= MAX_PARSED_XML_BYTES and (
        keep_xml or name.endswith(".rels") or name in ("[content_types].xml", "xl/workbook.xml")
    )
    # a measured part small enough to hold is measured whole (quickly, see _Measure.whole); a larger one
    # is parsed as it inflates
    whole = keep or (measure is not None and info.file_size <= MAX_PARSED_XML_BYTES)
    chunks: list[bytes] = []
    tail = b""
    for chunk in _inflate(package, info):
        if whole:
            chunks.append(chunk)
        # a declaration inside this chunk, or one begun in the tail of what came before
        if _declares_dtd(chunk) or (tail and _declares_dtd(tail + chunk[:_NEEDLE_OVERLAP])):
            raise _dtd_refused(package, info)
        tail = (
            chunk[-_NEEDLE_OVERLAP:] if len(chunk) >= _NEEDLE_OVERLAP else (tail + chunk)[-_NEEDLE_OVERLAP:]
        )
        if measure is not None and not whole:
            measure.feed(chunk)
    inflated = b"".join(chunks) if whole else b""
    if measure is not None:
        if whole:
            measure.whole(inflated)
        else:
            measure.close()
    if keep:
        package.kept[name] = inflated


def _dtd_refused(package: _Package, info: zipfile.ZipInfo) -> HBError:
    return HBError(
        f"内部部件「{info.filename}」含 DOCTYPE/ENTITY 声明（可能是恶意构造的“实体膨胀”或外部实体文件）",
        file=package.path,
        hint=DANGER_HINT,
    )


def _declares_dtd(window: bytes) -> bool:
    """Whether ``window`` holds a DOCTYPE or ENTITY declaration, in any letter case, UTF-8 or UTF-16.
    Each needle holds ``!`` and ``<!`` or ``<\\0!``, so most windows are cleared by a byte search."""
    if b"!" not in window or (b"<!" not in window and b"<\x00!" not in window):
        return False
    lowered = window.lower()
    return any(needle in lowered for needle in _DTD_NEEDLES)


# ---------------------------------------------------------------- what readers will read, measured


def _part_key(name: str) -> str:
    """A part name as readers look it up: either path separator, no leading slash, any letter case."""
    return name.replace("\\", "/").lstrip("/").lower()


def _target_keys(folder: str, target: str) -> set[str]:
    """Every part a relationship ``target`` (of a part in ``folder``) may name to some reader: resolved
    against the folder as the format says, taken from the package root, or under ``xl/`` as some
    readers do; either path separator, escaped or not."""
    keys = set()
    for text in {target, unquote(target)}:
        text = text.replace("\\", "/")
        if text.startswith("/"):
            keys.add(text)
        else:
            keys.update((posixpath.join(folder, text), text, "xl/" + text))
    return {posixpath.normpath(k).lstrip("/").lower() for k in keys}


def _sheets_to_measure(package: _Package, keep_xml: bool) -> dict[str, str | None]:
    """Verify the package relationships, the workbook and its relationships first, then name every part
    readers may read as a sheet, with its sheet's name where the workbook gives one: each part a sheet
    of the workbook points to through the workbook's relationships, each part those relationships call a
    sheet (whatever its name, folder or path separator), and every part in a sheet folder."""
    for name in ("_rels/.rels", "[content_types].xml"):
        if name in package.parts:
            _verify_entry(package, package.parts[name], keep_xml)
    workbook = _workbook_part(package)
    folder, base = posixpath.split(_part_key(workbook))
    rels_name = posixpath.join(folder, "_rels", base + ".rels")
    for name in (_part_key(workbook), rels_name):
        if name in package.parts and name not in package.verified:
            _verify_entry(package, package.parts[name], keep_xml)
    by_id: dict[str, set[str]] = {}
    measured: dict[str, str | None] = {
        name: None
        for name in package.parts
        if name.endswith(".xml") and any(f"{kind}/" in name for kind in _SHEET_FOLDERS)
    }
    rels = _parse(package, rels_name, required=False)
    for el in rels.iter(f"{{{_REL_NS}}}Relationship") if rels is not None else ():
        if el.get("TargetMode") != "External":
            keys = by_id[el.get("Id") or ""] = _target_keys(folder, el.get("Target") or "")
            if (el.get("Type") or "").lower().endswith(_SHEET_TYPES):
                measured.update((key, None) for key in keys if key in package.parts)
    root = _parse(package, workbook, required=True)
    for sheet in root.iter(f"{{{_MAIN_NS}}}sheet"):
        for key in by_id.get(sheet.get(f"{{{_OFFICE_REL_NS}}}id") or "", ()):
            if key in package.parts:
                measured[key] = sheet.get("name")
    return measured


class _Measure:
    """One part parsed (expat, no DTD), as it inflates or whole, unless its bytes alone prove it within
    every limit (:meth:`whole`): how far the cells holding a value reach, as the
    dense grid of a reader would, and how many shared strings it defines.

    Rows and cells without a reference count on from the previous one, as the format says; cells with
    no value (formatting only) do not count, as readers skip them. Elements count by their local name,
    whatever the prefix or namespace; the reference is the unprefixed ``r`` attribute, as readers take
    it, read after the parser decoded it (character references, either quote)."""

    def __init__(self, package: _Package, info: zipfile.ZipInfo, sheet: str | None) -> None:
        self.package, self.info, self.sheet = package, info, sheet
        rows = cols = strings = 0  # the extent so far, the shared strings
        row = col = 0  # where the last row and cell are
        cell_row = cell_col = 0  # the last cell opened, until it shows a value (cell_col 0: none open)

        def start(name: str, attrs: dict[str, str]) -> None:  # a closure: this runs for every element
            nonlocal rows, cols, strings, row, col, cell_row, cell_col
            if ":" in name:
                name = name.rpartition(":")[2]
            if name == "c":
                ref = attrs.get("r")
                at_col, at_row = _reference(ref) if ref else _NO_REFERENCE
                col = at_col or col + 1
                cell_row, cell_col = at_row or row, col
            elif name == "v" or name == "is":
                if cell_col:
                    if cell_row > rows:
                        rows = cell_row
                    if cell_col > cols:
                        cols = cell_col
                    cell_col = 0
            elif name == "row":
                ref = attrs.get("r")
                row = (_reference(ref)[1] if ref else 0) or row + 1
                col = cell_col = 0
            elif name == "si":
                strings += 1

        self.extent = lambda: (rows, cols, strings)
        parser = expat.ParserCreate()
        parser.StartElementHandler = start
        parser.StartDoctypeDeclHandler = self._doctype
        parser.EntityDeclHandler = self._doctype
        self.parser = parser

    def _doctype(self, *_args: object) -> None:
        raise _dtd_refused(self.package, self.info)

    def whole(self, xml: bytes) -> None:
        """Measure a whole part (already scanned for DTD declarations): at once when a bound read from
        its bytes (:func:`_plain_extent`) is within every limit, else parsed, which names the far cell."""
        bound = _plain_extent(xml)
        if bound is not None and _fits(bound[0], bound[1]) and bound[2] <= MAX_SHARED_STRINGS:
            self.package.kept.plain.add(_part_key(self.info.filename))
            return
        self.feed(xml)
        self.close()

    def feed(self, chunk: bytes) -> None:
        try:
            self.parser.Parse(chunk, False)
        except expat.ExpatError as exc:
            raise _corrupt(
                self.package.path, f"内部部件「{self.info.filename}」不是有效的 XML：{exc}"
            ) from None
        self._check()

    def close(self) -> None:
        self.feed(b"")
        try:
            self.parser.Parse(b"", True)
        except expat.ExpatError as exc:
            raise _corrupt(
                self.package.path, f"内部部件「{self.info.filename}」不是有效的 XML：{exc}"
            ) from None

    def _check(self) -> None:
        rows, cols, strings = self.extent()
        if strings > MAX_SHARED_STRINGS:
            raise HBError(
                f"内部部件「{self.info.filename}」定义了 {strings:,} 个以上的共享文本，超过上限 "
                f"{MAX_SHARED_STRINGS:,} 个（读取时会占用大量内存，多为异常构造的文件）",
                file=self.package.path,
                hint="请在 Excel/WPS 中把表格内容复制到新建的工作簿里保存，再重新报送；" + DANGER_HINT,
            )
        if _fits(rows, cols):
            return
        corner = f"{_column_letters(cols)}{rows}"
        if rows > MAX_ROWS:
            limit = f"超过上限 {MAX_ROWS:,} 行"
        else:
            limit = f"共 {rows * cols:,} 个单元格，超过上限 {MAX_CELLS:,} 个"
        raise HBError(
            f"工作表的内容一直延伸到第 {rows:,} 行、第 {cols:,} 列（{corner}），{limit}",
            file=self.package.path,
            sheet=self.sheet or f"（内部部件 {self.info.filename}）",
            cell=corner,
            hint="表格以外的远处单元格里有内容（多为误输入或误粘贴）：请在 Excel/WPS 中按 Ctrl+End 找到它，"
            "删除多余的行和列后保存，再重新报送",
        )


_REFERENCE = re.compile(r"\s*\$?([A-Za-z]*)\$?([0-9]*)")
_FAR = 10**9  # a reference longer than any sheet has: beyond every limit
_NO_REFERENCE = (0, 0)


@lru_cache(maxsize=65536)
def _reference(text: str) -> tuple[int, int]:
    """(column, row) of a cell reference, 0 for a part it lacks; a part too long for any sheet counts as
    beyond every limit."""
    match = _REFERENCE.match(text)
    letters, digits = match[1], match[2]
    col = _column_number(letters) if len(letters) <= 3 else _FAR
    row = int(digits) if 0 < len(digits) <= 9 else (_FAR if digits else 0)
    return col, row


# Every start tag of an unprefixed element named c: with its reference first, written plainly (groups:
# column letters, row digits, the rest of the start tag up to the first '>'), or any other way (no groups).
_CELL_TAG = re.compile(rb'<c(?: r="([A-Z]{1,3})([1-9][0-9]{0,6})"([^>]*)>|[\s/>])')
# also in text: the part is then parsed (f, worksheet and sheetData too: a part cleared without them is
# one the formula scan reads without looking for prefixes again, see Checked.parts)
_PREFIXED_TAG = re.compile(rb":(?:c|si|f|worksheet|sheetData)[\s/>]")
_ANY_CELL_TAG = re.compile(rb"<c[\s/>]")


def _stray_cell(reference: bytes) -> re.Pattern[bytes]:
    """A c start tag other than ``<c r="REF"`` (``reference``: a pattern for REF) followed by attributes
    written the one plain way (a space, a lower-case name not starting with r, a double-quoted value
    without quotes, '<', '>' or '&') up to its '>': where a part has none, every cell is at a reference
    that ``reference`` matches, and no reader can find another."""
    # possessive: no attribute is ever given back, so nothing is tried twice
    return re.compile(rb'<c(?! r="' + reference + rb'"(?: [a-qs-z][a-z]*+="[^"\'<>&]*+")*+/?>)[\s/>]')


# (stray, rows, columns): a part without a stray cell reaches at most that far, within every limit; tried
# in turn (the forms and rosters pass the first), else the references are read one by one. The shorter
# rows are tried first: most cells are on them, and a failed alternative costs a step back
_PLAIN_TIERS = (
    (_stray_cell(rb"A?[A-Z](?:[1-9][0-9]{0,3}|[1-6][0-9]{4})"), 69_999, 52),
    (_stray_cell(rb"[A-Z](?:[1-9][0-9]{0,4})"), 99_999, 26),
    (_stray_cell(rb"[A-Z]{1,2}(?:[1-9][0-9]{0,2}|[1-4][0-9]{3})"), 4_999, 702),
)
_ANY_R = re.compile(rb"\br\s*=")
_UTF8_DECLARATION = re.compile(
    rb"""<\?xml\s[^>]*?encoding\s*=\s*["']utf-?8["']|<\?xml\s(?:(?!encoding)[^>])*\?>""", re.I
)


def _plain_extent(xml: bytes) -> tuple[int, int, int] | None:
    """At least the (rows, columns, shared strings) :class:`_Measure` finds in a part, read from its bytes
    without parsing them, or None when the part is not written the plain way that allows it.

    Plain: UTF-8 (no NUL byte, an XML declaration saying UTF-8 or none), no prefixed ``c`` or ``si``
    tag, every ``c`` start tag opening with its reference ``r="A1"`` (capital letters, a row from 1, no
    character reference, no leading zero) and holding no other ``r`` attribute. Every cell is then where
    its reference says, whatever a reader makes of the rest, so the farthest reference of any cell,
    valued or not, bounds the sheet's extent; ``<si`` counted anywhere (comments too) bounds its
    strings (or the part's length: each tag takes 4 bytes). A tag cut at a '>' inside a quoted value is seen by its odd quotes and is not plain.

    Most parts are cleared without reading one reference: one search finds no c start tag that is not
    ``<c r="…"`` with a reference inside a tier's corner (``_PLAIN_TIERS``) and attributes written the one
    plain way; the tier's corner is then the bound. Only a part with a stray tag has its references read."""
    if b"\x00" in xml:
        return None
    head = xml[3:] if xml.startswith(b"\xef\xbb\xbf") else xml
    if head.startswith(b"<?xml"):
        if not _UTF8_DECLARATION.match(head):
            return None
    elif not head.startswith(b"<"):
        return None
    if _PREFIXED_TAG.search(xml):
        return None
    # every <si tag and perhaps a few more; a part too short to hold more tags than the limit is not read
    strings = len(xml) // 4 if len(xml) < 4 * MAX_SHARED_STRINGS else xml.count(b"<si")
    first = _ANY_CELL_TAG.search(xml)
    if first is None:
        return 0, 0, strings
    for stray, rows, cols in _PLAIN_TIERS:
        if stray.search(xml, first.start()) is None:  # every cell plain, none beyond the tier's corner
            return rows, cols, strings
    cells = _CELL_TAG.findall(xml, first.start())
    letters, digits, rests = map(set, zip(*cells, strict=True))
    if b"" in letters:  # a c tag without its plain reference first
        return None
    for rest in rests:  # the rest of a start tag: the same few texts in every cell of a sheet
        if b"'" in rest or rest.count(b'"') % 2 or _ANY_R.search(rest):
            return None
    return max(map(int, digits)), max(_column_number(x.decode("ascii")) for x in letters), strings


def _column_number(letters: str) -> int:
    number = 0
    for ch in letters.upper():
        number = number * 26 + ord(ch) - 64
    return number


def _column_letters(number: int) -> str:
    letters = ""
    while number > 0:
        number, rest = divmod(number - 1, 26)
        letters = chr(65 + rest) + letters
    return letters[:8] + ("…" if len(letters) > 8 else "")


def _fits(rows: int, cols: int) -> bool:
    return rows <= MAX_ROWS and rows * cols <= MAX_CELLS


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
    info = package.parts.get(_part_key(part))
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
            if _part_key(part) in package.parts:
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
