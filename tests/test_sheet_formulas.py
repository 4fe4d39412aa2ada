"""Formula cells read from the sheet XML must be exactly what openpyxl (a full parser) finds."""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

import openpyxl
import pytest

from hbreport.xlsx.sheet_formulas import formula_cells

AREA = (1, 60, 1, 40)


def by_openpyxl(path: Path, names: list[str]) -> dict[str, dict[tuple[int, int], str]]:
    book = openpyxl.load_workbook(path, read_only=True)
    out = {}
    for name in names:
        cells = {}
        for r, row in enumerate(book[name].iter_rows(max_row=AREA[1], max_col=AREA[3], values_only=True), 1):
            for c, value in enumerate(row, 1):
                if isinstance(value, str) and value.startswith("="):
                    cells[(r, c)] = value
        out[name] = cells
    book.close()
    return out


def rewrite_part(path: Path, out: Path, part: str, change) -> Path:
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            data = src.read(info)
            dst.writestr(info, change(data) if info.filename == part else data)
    return out


@pytest.fixture
def small(tmp_path) -> Path:
    """Formulas with text, comparisons and quotes (XML-escaped in the file), next to plain values."""
    book = openpyxl.Workbook()
    ws = book.active
    ws.title = "表一"
    for r in range(1, 6):
        ws.cell(r, 1, r)
        ws.cell(r, 2, f"文本{r}")
        ws.cell(r, 3, f'=IF(A{r}>2,"大于<2>","A&B")')
        ws.cell(r, 4, f"=A{r}*2")
    book.create_sheet("表二")["B2"] = "=SUM(表一!A1:A5)"
    path = tmp_path / "small.xlsx"
    book.save(path)
    return path


def test_same_as_openpyxl_on_a_plain_workbook(small):
    names = ["表一", "表二"]
    got = formula_cells(small.read_bytes(), dict.fromkeys(names, AREA))
    assert got == by_openpyxl(small, names)
    assert got["表一"][(3, 3)] == '=IF(A3>2,"大于<2>","A&B")'
    assert (3, 1) not in got["表一"]


def test_area_and_missing_sheets(small):
    got = formula_cells(small.read_bytes(), {"表一": (2, 3, 4, 4), "不存在": AREA})
    assert got == {"表一": {(2, 4): "=A2*2", (3, 4): "=A3*2"}, "不存在": {}}


def test_shared_formulas_are_translated_like_openpyxl(small, tmp_path):
    """Excel writes a formula filled down a column once, with <f t="shared" si="0"/> in the other cells."""

    def share(xml: bytes) -> bytes:
        xml = re.sub(rb"<f>A1\*2</f>", b'<f t="shared" ref="D1:D5" si="0">A1*2</f>', xml)
        return re.sub(rb"<f>A[2-5]\*2</f>", b'<f t="shared" si="0"/>', xml)

    shared = rewrite_part(small, tmp_path / "shared.xlsx", "xl/worksheets/sheet1.xml", share)
    assert b'si="0"/>' in zipfile.ZipFile(shared).read("xl/worksheets/sheet1.xml")
    got = formula_cells(shared.read_bytes(), {"表一": AREA})
    assert got == by_openpyxl(shared, ["表一"])
    assert got["表一"][(5, 4)] == "=A5*2"


@pytest.mark.parametrize(
    "change",
    [
        lambda xml: xml.replace(b"<worksheet", b"<x:worksheet").replace(b"</worksheet>", b"</x:worksheet>"),
        lambda xml: re.sub(rb'<c r="C2"', b"<c", xml),
        lambda xml: re.sub(rb'(<c r="D1"[^>]*>)(<f>)', rb"\1<v>0</v>\2", xml),
    ],
    ids=["prefixed-xml", "cell-without-reference", "formula-not-first-in-its-cell"],
)
def test_unusual_packages_are_left_to_the_full_parser(small, tmp_path, change):
    odd = rewrite_part(small, tmp_path / "odd.xlsx", "xl/worksheets/sheet1.xml", change)
    assert formula_cells(odd.read_bytes(), {"表一": AREA}) is None


def test_a_generated_form_and_its_overwritten_copy(tmp_path):
    from hbreport.forms import generate_forms
    from hbreport.spec import build_workbook_spec
    from hbreport.xlsx.layout import SheetLayout

    (path,) = generate_forms("township", 2017, under="420702001", out_dir=tmp_path)
    spec = build_workbook_spec("420702001", 2017)
    names = [s.sheet for s in spec.sheets]
    assert formula_cells(path.read_bytes(), dict.fromkeys(names, AREA)) == by_openpyxl(path, names)

    sheet = spec.sheets[0]
    cell = SheetLayout(sheet).cell(sheet.rows[0].code, sheet.derived_columns[0].key)
    book = openpyxl.load_workbook(path)
    book[sheet.sheet][cell] = 999
    typed = tmp_path / "typed.xlsx"
    book.save(typed)
    got = formula_cells(typed.read_bytes(), dict.fromkeys(names, AREA))
    assert got == by_openpyxl(typed, names)
    row, col = openpyxl.utils.cell.coordinate_to_tuple(cell)
    assert (row, col) not in got[sheet.sheet] and (row + 1, col) in got[sheet.sheet]


@pytest.mark.libreoffice
def test_a_form_saved_by_libreoffice(tmp_path):
    from hbreport import office
    from hbreport.forms import generate_forms
    from hbreport.spec import build_workbook_spec

    (path,) = generate_forms("township", 2017, under="420702001", out_dir=tmp_path / "in")
    saved = office.convert(path, "xlsx", tmp_path / "out")
    names = [s.sheet for s in build_workbook_spec("420702001", 2017).sheets]
    got = formula_cells(saved.read_bytes(), dict.fromkeys(names, AREA))
    assert got is not None and got == by_openpyxl(saved, names)
    assert sum(len(v) for v in got.values()) > 100


@pytest.mark.parametrize("shared", [False, True], ids=["plain", "shared"])
def test_cells_with_their_attributes_in_another_order_are_read_alike(small, tmp_path, shared):
    """The reference after the style (<c s="1" r="D2">) is not the common writing: read all the same."""

    def reorder(xml: bytes) -> bytes:
        if shared:
            xml = re.sub(rb"<f>A1\*2</f>", b'<f t="shared" ref="D1:D5" si="0">A1*2</f>', xml)
            xml = re.sub(rb"<f>A[2-5]\*2</f>", b'<f t="shared" si="0"/>', xml)
        return re.sub(rb'<c r="([A-Z]+[0-9]+)"([^>]*)>', rb'<c\2 ph="0" r="\1">', xml)

    odd = rewrite_part(small, tmp_path / "reordered.xlsx", "xl/worksheets/sheet1.xml", reorder)
    assert b'<c r="' not in zipfile.ZipFile(odd).read("xl/worksheets/sheet1.xml")
    got = formula_cells(odd.read_bytes(), {"表一": AREA})
    assert got == by_openpyxl(odd, ["表一"]) and got["表一"][(5, 4)] == "=A5*2"


def test_the_formulas_expected_give_the_same_cells(tmp_path):
    """Cells holding the formula written are taken by comparing bytes: the result is the one read without."""
    from hbreport.forms import generate_forms
    from hbreport.spec import build_workbook_spec
    from hbreport.xlsx import reader

    (path,) = generate_forms("township", 2017, under="420702001", out_dir=tmp_path)
    spec = build_workbook_spec("420702001", 2017)
    areas = reader._table_areas(spec)
    expected = {sheet.sheet: reader._formulas_as_written(sheet) for sheet in spec.sheets}
    book = openpyxl.load_workbook(path)
    sheet = spec.sheets[0]
    (row, col), (_, text) = next(iter(expected[sheet.sheet].items()))
    book[sheet.sheet].cell(row, col).value = text + "+1"  # edited: no longer the formula written
    edited = tmp_path / "edited.xlsx"
    book.save(edited)
    for workbook in (path, edited):
        got = formula_cells(workbook.read_bytes(), areas, expected)
        assert got == formula_cells(workbook.read_bytes(), areas)
        assert sum(len(v) for v in got.values()) > 100
    assert got[sheet.sheet][(row, col)] == text + "+1"


def test_the_parts_the_gate_proved_plain_are_not_searched_for_prefixes_again(small, tmp_path):
    """The gate names the sheets it cleared from their bytes alone; a sheet with a prefixed formula element
    is not among them, and the scan of the parts the gate kept still leaves it to the full parser."""
    from hbreport.xlsx import safety

    checked = safety.inspect_and_read(small)
    assert "xl/worksheets/sheet1.xml" in checked.parts.plain
    assert formula_cells(checked.data, {"表一": AREA}, parts=checked.parts) == by_openpyxl(small, ["表一"])

    def prefix(xml: bytes) -> bytes:
        xml = xml.replace(
            b"<worksheet ", b'<worksheet xmlns:x="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
        )
        return xml.replace(b"<f>A2*2</f>", b"<x:f>A2*2</x:f>")

    odd = rewrite_part(small, tmp_path / "prefixed.xlsx", "xl/worksheets/sheet1.xml", prefix)
    checked = safety.inspect_and_read(odd)
    assert b"<x:f>" in checked.parts["xl/worksheets/sheet1.xml"]
    assert "xl/worksheets/sheet1.xml" not in checked.parts.plain
    assert formula_cells(checked.data, {"表一": AREA}, parts=checked.parts) is None
