"""Which cells of a workbook hold formulas, read straight from the sheets' XML.

python-calamine reads values fast but not formulas; openpyxl reads formulas but builds an object per
cell (it was half of the time of reading a form). A form needs only one answer per cell of its table —
formula or not, and the formula's text — so this module finds the ``<f>`` elements in the sheet XML and
the cell each belongs to, translating shared formulas (Excel writes a formula copied down a column once,
and ``<f t="shared" si="…"/>`` in the other cells) the way openpyxl does.

It reads only packages written the common way (unprefixed SpreadsheetML, every cell with its ``r``
reference — Excel, WPS, LibreOffice, XlsxWriter, openpyxl); for anything else it returns None and the
caller uses a full parser. The bytes must already have passed the safety gate (``safety.inspect_workbook``):
no DTDs, no bombs. Nothing is written.
"""

from __future__ import annotations

import io
import posixpath
import re
import zipfile
from collections.abc import Mapping
from functools import lru_cache
from html import unescape
from typing import Any
from xml.etree.ElementTree import Element

import numpy as np
from defusedxml import ElementTree
from openpyxl.formula.translate import Translator
from openpyxl.utils import column_index_from_string, get_column_letter

Area = tuple[int, int, int, int]  # min_row, max_row, min_col, max_col (1-based, inclusive)

_REL = "{http://schemas.openxmlformats.org/package/2006/relationships}Relationship"
_MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_DOC_REL = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id"
_OFFICE_DOCUMENT = "/officeDocument"

# A cell whose first child is its formula (the schema's order: f, v, is): start tag, then <f …>text</f> or <f …/>.
# The formula text holds no '<' (XML escapes it), so it ends at the first '<', which must be '</f>'.
_FORMULA_CELL = re.compile(rb"<c(\s[^>]*)?>\s*<f(\s[^>]*?)?(?:/>|>([^<]*)</f>)")
_F_OPEN = re.compile(rb"<f[\s>/]")
_REF = re.compile(rb'\sr="([A-Z]{1,3})([0-9]{1,7})"')
_ATTR = re.compile(rb'\s(t|si|ref)="([^"]*)"')
_SMALL_XML = 64 * 1024
_PREFIXED = re.compile(rb"<[A-Za-z_][\w.-]*:(?:worksheet|sheetData|c|f)[\s>/]")
_PREFIXED_NAME = re.compile(
    rb":(?:worksheet|sheetData|c|f)[\s>/]"
)  # searched first: a colon is rarer than '<'


Expected = Mapping[tuple[int, int], tuple[bytes, str]]


def escaped(text: str) -> bytes:
    """``text`` as an element's content in the sheet XML (UTF-8; & < > escaped, as XlsxWriter writes it)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").encode("utf-8")


class RowFormulas(Mapping):
    """An :data:`Expected` mapping for the per-row formulas of a long table, made from one template
    per column (``mark`` where the row number goes) only for the cells asked for: a roster's rows share
    their formulas (``<f t="shared" …/>``), so most cells never need theirs written out.
    ``text(key)`` is the '=' text alone (the same object every time). :func:`formula_cells` gives a
    cell pointing at a shared formula that is the expected one, and moves down its column as the
    expected ones do, this mapping's :attr:`as_written` instead of its text."""

    def __init__(self, templates: Mapping[int, str], rows: range, mark: str) -> None:
        self.templates = {c: ("=" + t, escaped(t)) for c, t in templates.items()}
        self.rows, self.mark, self.mark_bytes = rows, mark, mark.encode()
        self.as_written = _AsWritten()
        self._texts: dict[tuple[int, int], str] = {}
        self._entries: dict[tuple[int, int], tuple[bytes, str]] = {}

    def text(self, key: tuple[int, int]) -> str | None:
        held = self._texts.get(key)
        if held is None:
            row, col = key
            template = self.templates.get(col)
            if template is None or row not in self.rows:
                return None
            held = self._texts[key] = template[0].replace(self.mark, str(row))
        return held

    def __getitem__(self, key: tuple[int, int]) -> tuple[bytes, str]:
        entry = self._entries.get(key)
        if entry is None:
            text = self.text(key)
            if text is None:
                raise KeyError(key)
            written = self.templates[key[1]][1].replace(self.mark_bytes, str(key[0]).encode())
            entry = self._entries[key] = (written, text)
        return entry

    def __contains__(self, key: object) -> bool:
        return isinstance(key, tuple) and len(key) == 2 and key[1] in self.templates and key[0] in self.rows

    def __iter__(self):
        return ((r, c) for c in self.templates for r in self.rows)

    def __len__(self) -> int:
        return len(self.templates) * len(self.rows)


class _AsWritten:
    """Stands for "this cell holds its expected formula" (see :class:`RowFormulas`)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "<the formula as written>"


def _expected_text(expected: Expected, key: tuple[int, int]) -> str | None:
    text = getattr(expected, "text", None)
    if text is not None:
        return text(key)
    hit = expected.get(key)
    return None if hit is None else hit[1]


class _Inflated:
    """Parts the safety gate already inflated (``safety.Checked.parts``), read like a zip by name."""

    def __init__(self, parts: Mapping[str, bytes]) -> None:
        self.parts = parts
        self.plain = getattr(parts, "plain", ())  # the parts the gate proved plain (no prefixes)

    def read(self, name: str) -> bytes:
        return self.parts[name.lower()]  # KeyError when the gate did not keep it: the caller falls back

    def __enter__(self) -> _Inflated:
        return self

    def __exit__(self, *exc: object) -> None:
        return None


def formula_cells(
    data: bytes,
    areas: Mapping[str, Area],
    expected: Mapping[str, Expected] | None = None,
    parts: Mapping[str, bytes] | None = None,
) -> dict[str, dict[tuple[int, int], str]] | None:
    """For each sheet name in ``areas``: (row, col) → formula text with a leading '=' for every formula
    cell inside that sheet's area. A sheet the workbook does not have maps to {}. None when the package
    is not written the common way (the caller then falls back to a full parser).

    ``expected`` (optional, per sheet): (row, col) → (the formula as :func:`escaped` writes it, the
    formula text with '='). A cell whose XML holds exactly those bytes maps to that text without
    decoding it again: the result is the same, the formulas of an unchanged form cost a comparison.

    ``parts`` (optional): the parts the safety gate inflated from ``data`` (``safety.inspect_and_read``),
    read instead of inflating them again; those it proved plain are not searched for prefixes again."""
    try:
        with _Inflated(parts) if parts is not None else zipfile.ZipFile(io.BytesIO(data)) as package:
            plain = getattr(package, "plain", ())
            parts = _sheet_parts(package)
            out: dict[str, dict[tuple[int, int], str]] = {}
            for name, area in areas.items():
                part = parts.get(name)
                if part is None:
                    out[name] = {}
                    continue
                unprefixed = part.lower() in plain
                cells = _scan(package.read(part), area, (expected or {}).get(name) or {}, unprefixed)
                if cells is None:
                    return None
                out[name] = cells
            return out
    except (zipfile.BadZipFile, KeyError, ValueError, ElementTree.ParseError):
        return None


@lru_cache(maxsize=256)
def _small_xml(data: bytes) -> Element:
    return ElementTree.fromstring(data)


def _xml(data: bytes) -> Element:
    """A parsed part (read only): the relationships and workbook parts of the forms of one family are
    the same bytes from file to file, so small ones are parsed once."""
    return _small_xml(data) if len(data) <= _SMALL_XML else ElementTree.fromstring(data)


def _rels_part(part: str) -> str:
    folder, name = posixpath.split(part)
    return posixpath.join(folder, "_rels", name + ".rels")


@lru_cache(maxsize=256)
def _rels(data: bytes, part: str) -> dict[str, tuple[str, str]]:
    """Relationship id → (type, target part) of ``part``, from its relationships part ``data`` (read
    only: the forms of one family have the same relationships, read once)."""
    folder = posixpath.dirname(part)
    out = {}
    for rel in _xml(data).iter(_REL):
        target = rel.get("Target", "")
        target = (
            target.lstrip("/")
            if target.startswith("/")
            else posixpath.normpath(posixpath.join(folder, target))
        )
        out[rel.get("Id", "")] = (rel.get("Type", ""), target)
    return out


def _sheet_parts(package: zipfile.ZipFile | _Inflated) -> dict[str, str]:
    """Sheet name → the zip part holding that worksheet (read only)."""
    package_rels = _rels(package.read(_rels_part("")), "")
    workbook = next(t for kind, t in package_rels.values() if kind.endswith(_OFFICE_DOCUMENT))
    return _sheets_of(workbook, package.read(workbook), package.read(_rels_part(workbook)))


@lru_cache(maxsize=256)
def _sheets_of(part: str, workbook: bytes, rels: bytes) -> dict[str, str]:
    targets = _rels(rels, part)
    out = {}
    for sheet in _xml(workbook).iter(f"{_MAIN}sheet"):
        rel = targets.get(sheet.get(_DOC_REL, ""))
        if rel is not None:
            out[sheet.get("name", "")] = rel[1]
    return out


_XML_ENTITIES = (("&lt;", "<"), ("&gt;", ">"), ("&quot;", '"'), ("&apos;", "'"), ("&amp;", "&"))
_OTHER_ENTITY = re.compile(r"&(?!(?:lt|gt|amp|quot|apos);)")


def _text(raw: bytes) -> str:
    """Element text as the XML means it: the five XML entities replaced in one pass (``html.unescape``
    for anything else, such as character references)."""
    text = raw.decode("utf-8")
    if "&" not in text:
        return text
    if _OTHER_ENTITY.search(text):
        return unescape(text)
    # '&amp;' last: any other entity left in the text before that is a real one
    for entity, char in _XML_ENTITIES:
        text = text.replace(entity, char)
    return text


@lru_cache(maxsize=4096)
def _column(letters: bytes) -> int:
    return column_index_from_string(letters.decode())


_BY_REF: dict[int, tuple[Expected, dict[bytes, tuple[bytes, str, tuple[int, int]]]]] = {}


def _by_ref(expected: Expected) -> dict[bytes, tuple[bytes, str, tuple[int, int]]]:
    """``expected`` keyed by the cell reference as the XML writes it, backwards (b"9M" for M9), with the
    formula as written backwards too (the sheet is read backwards), made once per mapping."""
    held = _BY_REF.get(id(expected))
    if held is not None and held[0] is expected:
        return held[1]
    if len(_BY_REF) > 1024:
        _BY_REF.clear()
    table = {
        f"{get_column_letter(c)}{r}".encode()[::-1]: (written[::-1], text, (r, c))
        for (r, c), (written, text) in expected.items()
    }
    _BY_REF[id(expected)] = (expected, table)  # the mapping is kept alive with its id
    return table


@lru_cache(maxsize=1024)
def _attrs(tag: bytes) -> dict[bytes, bytes]:
    """The attributes of an <f> start tag (the cells of a shared formula repeat the same few tags)."""
    return dict(_ATTR.findall(tag))


# The common writing (Excel, WPS, LibreOffice, XlsxWriter): r="A1" first in the cell's start tag, the
# formula right after it. The start tag, matched from its "<c" up to the "<f"; the <f> element.
_CELL_TAG = re.compile(rb'<c r="([A-Z]{1,3})([0-9]{1,7})"[^>]*>\s*')
_F_ELEMENT = re.compile(rb"<f(\s[^>]*?)?(?:/>|>([^<]*)</f>)")


# A cell that only points at a shared formula, <c r="A1" …><f t="shared" si="0"/> (most formulas of a
# long table), found in the part read backwards: the search then starts at the literal <f …/> instead of
# trying every cell (captured: si, the cell reference, each backwards). The start tag's attributes are
# passed over whole, then back to its reference: no '<' inside, so its "<c" is the first '<' either way.
_SHARED_CELL_REVERSED = re.compile(rb'>/"([0-9]+)"=is "derahs"=t f<\s*>[^<>]*"([0-9]{1,7}[A-Z]{1,3})"=r c<')
_F_NOT_SHARED_CELL = re.compile(rb'<f(?! t="shared" si="[0-9]+"/>)[\s>/]')
# A cell whose formula has a text, <c r="A1" …><f …>text</f>, backwards too: the search starts at each
# literal </f> (captured backwards: the text, the <f> attributes, the cell reference)
_TEXT_CELL_REVERSED = re.compile(rb'>f/<([^<]*)>((?:[^>]*?\s)?)f<\s*>[^>]*?"([0-9]{1,7}[A-Z]{1,3})"=r c<')
_SPLIT_REFERENCE = re.compile(rb"([A-Z]+)([0-9]+)")


# a cell reference backwards (b"9M") → (row, col): the same references recur in every roster
_CELLS: dict[bytes, tuple[int, int]] = {}


def _cell_at(backwards: bytes) -> tuple[int, int]:
    """(row, col) of a reference written backwards (digits first: the pattern captured 1–7 digits, then
    1–3 capital letters), kept for the next roster: its letters' column number is kept apart."""
    digits = backwards.rstrip(_CAPITALS)
    held = _CELLS[backwards] = (int(digits[::-1]), _column(backwards[len(digits) :][::-1]))
    return held


_CAPITALS = bytes(range(ord("A"), ord("Z") + 1))


class _Pointing:
    """The cells only pointing at a shared formula: those the search found ((si, cell reference), each
    backwards, the last first), then those added (((row, column), si)). :meth:`cells` gives them all in
    that order; :meth:`arrays` the found ones as arrays, read without a loop here."""

    __slots__ = ("found", "added")

    def __init__(self, found: list[tuple[bytes, bytes]]) -> None:
        self.found = found
        self.added: list[tuple[tuple[int, int], bytes]] = []

    def append(self, cell: tuple[tuple[int, int], bytes]) -> None:
        self.added.append(cell)

    def __len__(self) -> int:
        return len(self.found) + len(self.added)

    def cells(self) -> list[tuple[tuple[int, int], bytes]]:
        if len(_CELLS) > 1_000_000:
            _CELLS.clear()
        cell_at = _CELLS.get
        return [(cell_at(ref) or _cell_at(ref), index[::-1]) for index, ref in self.found] + self.added

    def arrays(self) -> tuple[np.ndarray, np.ndarray, list[bytes]]:
        """(rows, columns, si) of the found cells: each reference (1–7 digits then 1–3 capital letters,
        backwards) read as the digits' and letters' places weigh them."""
        refs = np.array([ref for _, ref in self.found], dtype="S10")
        m = refs.view(np.uint8).reshape(-1, 10).astype(np.int64)
        digit, letter = (m >= 48) & (m <= 57), (m >= 65) & (m <= 90)
        place = np.arange(10)
        rows = ((m - 48) * digit * 10**place).sum(axis=1)
        after = np.clip(place - digit.sum(axis=1)[:, None], 0, 9)  # a letter's place after the digits
        cols = ((m - 64) * letter * 26**after).sum(axis=1)
        return rows, cols, [index[::-1] for index, _ in self.found]


def _formula_elements(xml: bytes) -> tuple[list[tuple[bytes, bytes, bytes]], _Pointing] | None:
    """Every formula written the common way (right after its cell's start tag, which opens with
    r="A1"), each backwards and the last first: (formula text, <f> attributes, cell reference); and
    apart from them the cells only pointing at a shared formula (:class:`_Pointing`). None when a
    formula is written otherwise."""
    backwards = xml[::-1]
    dependents = _Pointing(_SHARED_CELL_REVERSED.findall(backwards))
    formulas = len(_F_OPEN.findall(xml))
    with_text = _TEXT_CELL_REVERSED.findall(backwards)
    if len(with_text) + len(dependents) == formulas:  # every formula one of the two
        return with_text, dependents
    out = []
    rfind, cell_tag, f_element = xml.rfind, _CELL_TAG.fullmatch, _F_ELEMENT.match
    for found in _F_NOT_SHARED_CELL.finditer(xml):
        at = found.start()
        cell = cell_tag(xml, rfind(b"<c", 0, at), at)
        f = f_element(xml, at)
        if cell is None or f is None:
            return None
        tag, body = f.groups()
        out.append(((body or b"")[::-1], (tag or b"")[::-1], (cell[1] + cell[2])[::-1]))
    if len(out) + len(dependents) != formulas:
        return None  # a pointing cell written another way
    out.reverse()
    return out, dependents


def _scan(
    xml: bytes, area: Area, expected: Expected, unprefixed: bool = False
) -> dict[tuple[int, int], str] | None:
    """``unprefixed``: the safety gate found no prefixed element in ``xml`` (not looked for again)."""
    if not unprefixed and _PREFIXED_NAME.search(xml) and _PREFIXED.search(xml):
        return None
    # None: a cell written another way, or a formula not placed right after its cell
    elements = _formula_elements(xml) or _general_elements(xml)
    if elements is None:
        return None
    cells, dependents = elements
    min_row, max_row, min_col, max_col = area
    known = _by_ref(expected) if expected and isinstance(expected, dict) else {}
    found: dict[tuple[int, int], str] = {}
    masters: dict[bytes, tuple[str, int, int]] = {}
    for body, tag, ref in reversed(cells):  # each backwards, in the order of the sheet
        if not tag:
            hit = known.get(ref)
            if hit is not None and body == hit[0]:
                found[hit[2]] = hit[1]  # the formula written, unchanged (the common case)
                continue
        tag, body = tag[::-1], body[::-1]
        letters, digits = _SPLIT_REFERENCE.fullmatch(ref[::-1]).groups()
        row, col = int(digits), _column(letters)
        if tag:
            attrs = _attrs(tag)
            if attrs.get(b"t") == b"shared":
                index = attrs.get(b"si", b"")
                text = _text(body) if body else ""
                if text:
                    masters[index] = (text, row, col)
                else:
                    dependents.append(((row, col), index))
                    continue
        if min_row <= row <= max_row and min_col <= col <= max_col:
            hit = expected.get((row, col))
            found[(row, col)] = hit[1] if hit is not None and body == hit[0] else "=" + _text(body)
    return _shared(found, masters, dependents, area, expected)


def _shared(
    found: dict[tuple[int, int], str],
    masters: dict[bytes, tuple[str, int, int]],
    dependents: _Pointing,
    area: Area,
    expected: Expected,
) -> dict[tuple[int, int], str] | None:
    """Shared formulas translated to the cells that only point at them (None: a master is missing).
    A master holding the formula ``expected`` for its cell, which moves down its column as the expected
    formulas do (tried on the next row and the last), gives the cells below it their expected text."""
    min_row, max_row, min_col, max_col = area
    moves: dict[bytes, bool] = {}
    as_written = getattr(expected, "as_written", None)
    if isinstance(expected, RowFormulas) and expected.rows.step == 1 and dependents.found:
        if _shared_rows(found, masters, dependents, area, expected, moves) is None:
            return None
        pointing = dependents.added  # the found ones are done
    else:
        pointing = dependents.cells()
    # a RowFormulas is asked here, not through its methods (a roster has thousands of such cells)
    columns, rows = (expected.templates, expected.rows) if isinstance(expected, RowFormulas) else (None, None)
    for key, index in pointing:
        row, col = key
        if not (min_row <= row <= max_row and min_col <= col <= max_col):
            continue
        if index not in masters:
            return None
        text, origin_row, origin_col = masters[index]
        if col == origin_col and (key in expected if columns is None else col in columns and row in rows):
            fits = moves.get(index)
            if fits is None:
                fits = moves[index] = _moves_as_expected(text, origin_row, col, expected)
            if fits:
                found[key] = as_written if as_written is not None else expected[key][1]
                continue
        origin = f"{get_column_letter(origin_col)}{origin_row}"
        found[(row, col)] = _translator(text, origin).translate_formula(f"{get_column_letter(col)}{row}")
    return found


def _shared_rows(
    found: dict[tuple[int, int], str],
    masters: dict[bytes, tuple[str, int, int]],
    dependents: _Pointing,
    area: Area,
    expected: RowFormulas,
    moves: dict[bytes, bool],
) -> dict[tuple[int, int], str] | None:
    """:func:`_shared`'s loop over the cells the search found, by arrays, for a :class:`RowFormulas` (a
    roster's thousands of pointing cells): a cell inside the area, in its master's column, on a row of
    the expected formulas, whose master moves as expected holds the formula as written; any other cell
    inside the area its master translated; in the same order, so a cell written twice ends the same."""
    min_row, max_row, min_col, max_col = area
    rows, cols, indexes = dependents.arrays()
    inside = (min_row <= rows) & (rows <= max_row) & (min_col <= cols) & (cols <= max_col)
    distinct = list(dict.fromkeys(indexes))
    which = np.fromiter(
        map({index: k for k, index in enumerate(distinct)}.__getitem__, indexes), np.int64, len(indexes)
    )
    missing = np.array([index not in masters for index in distinct])
    if (inside & missing[which]).any():
        return None
    origin = np.array([masters[i][2] if i in masters else 0 for i in distinct], dtype=np.int64)[which]
    templated = np.zeros(max(int(cols.max()), *expected.templates) + 1, dtype=bool)
    templated[list(expected.templates)] = True
    in_rows = (expected.rows.start <= rows) & (rows < expected.rows.stop)
    candidate = inside & (cols == origin) & templated[cols] & in_rows
    fits = np.zeros(len(distinct), dtype=bool)
    for k in sorted(set(which[candidate].tolist())):  # asked only of a master that has such a cell
        index = distinct[k]
        if index not in moves:
            text, origin_row, col = masters[index]
            moves[index] = _moves_as_expected(text, origin_row, col, expected)
        fits[k] = moves[index]
    chosen = np.flatnonzero(inside)
    keys = list(zip(rows[chosen].tolist(), cols[chosen].tolist(), strict=True))
    values: list[Any] = [expected.as_written] * len(keys)
    for n in np.flatnonzero(~(candidate & fits[which])[chosen]).tolist():  # translated, as _shared does
        row, col = keys[n]
        text, origin_row, origin_col = masters[indexes[chosen[n]]]
        origin_cell = f"{get_column_letter(origin_col)}{origin_row}"
        values[n] = _translator(text, origin_cell).translate_formula(f"{get_column_letter(col)}{row}")
    found.update(zip(keys, values, strict=True))
    return found


def _moves_as_expected(text: str, row: int, col: int, expected: Expected) -> bool:
    """Whether the shared formula ``text`` written for (row, col) is the expected formula there and,
    translated down the column (to the next row and to the last expected one), the expected one there."""
    if _expected_text(expected, (row, col)) != "=" + text:
        return False
    if isinstance(expected, RowFormulas):  # every row of its range, in each of its columns
        below = [expected.rows[-1]] if col in expected.templates and expected.rows[-1] > row else []
    else:
        below = [r for r, c in expected if c == col and r > row]
    if not below:
        return False
    for target in {row + 1, max(below)}:
        want = _expected_text(expected, (target, col))
        if want is None or not _translates_to(text, row, col, target, want):
            return False
    return True


@lru_cache(maxsize=256)
def _translates_to(text: str, row: int, col: int, target: int, want: str) -> bool:
    """Whether the formula ``text`` written for (row, col), translated to (target, col), is ``want``
    (the rosters of a family share their formulas: each is tokenized once per process, whatever the
    row it is translated to; a township's last row differs from the next one's)."""
    letter = get_column_letter(col)
    return _translator(text, f"{letter}{row}").translate_formula(f"{letter}{target}") == want


@lru_cache(maxsize=64)
def _translator(text: str, origin: str) -> Translator:
    """openpyxl's Translator of ``text`` written at ``origin``: its tokens, made once (the tokenizer is
    the slow part; ``translate_formula`` reads the tokens and changes nothing)."""
    return Translator("=" + text, origin=origin)


def _general_elements(xml: bytes) -> tuple[list[tuple[bytes, bytes, bytes]], _Pointing] | None:
    """:func:`_formula_elements` for cells with their attributes in any order (all in the first list);
    None when a formula is not right after its cell's start tag or a cell has no reference (only a full
    parser can place those)."""
    out = []
    for cell in _FORMULA_CELL.finditer(xml):
        start, tag, body = cell.groups()
        ref = _REF.search(start or b"")
        if ref is None:  # a cell without its reference: only a full parser can place it
            return None
        out.append(((body or b"")[::-1], (tag or b"")[::-1], (ref[1] + ref[2])[::-1]))
    if len(out) != len(_F_OPEN.findall(xml)):  # a formula element not placed right after its cell's start tag
        return None
    out.reverse()
    return out, _Pointing([])


# A cell of type "e" (an error value, typed, pasted or a formula's result): start tag, then its content.
_ERROR_CELL = re.compile(rb'<c(\s(?:[^>]*?\s)?t="e"[^>]*?)(?<!/)>(.*?)</c>', re.DOTALL)
_ERROR_VALUE = re.compile(rb"<v>([^<]*)</v>")


def error_cells(
    data: bytes, areas: Mapping[str, Area], parts: Mapping[str, bytes] | None = None
) -> dict[str, dict[tuple[int, int], str]] | None:
    """For each sheet name in ``areas``: (row, col) → the error code (``#N/A``) of every cell inside that
    sheet's area holding an error value, with or without a formula (python-calamine reads these cells
    as empty). None when the package cannot be read this way (a sheet written with prefixes)."""
    try:
        with _Inflated(parts) if parts is not None else zipfile.ZipFile(io.BytesIO(data)) as package:
            sheets = _sheet_parts(package)
            out: dict[str, dict[tuple[int, int], str]] = {}
            for name, (min_row, max_row, min_col, max_col) in areas.items():
                part = sheets.get(name)
                xml = package.read(part) if part is not None else b""
                found: dict[tuple[int, int], str] = {}
                if b't="e"' in xml:
                    if _PREFIXED.search(xml):
                        return None
                    for start, body in _ERROR_CELL.findall(xml):
                        ref = _REF.search(start)
                        value = _ERROR_VALUE.search(body)
                        if ref is None or value is None:
                            continue
                        row, col = int(ref.group(2)), _column(ref.group(1))
                        if min_row <= row <= max_row and min_col <= col <= max_col:
                            found[(row, col)] = _text(value.group(1)).strip().upper()
                out[name] = found
            return out
    except (zipfile.BadZipFile, KeyError, ValueError, ElementTree.ParseError):
        return None
