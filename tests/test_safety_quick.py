"""The gate's quick measure of a sheet: a bound read from the part's bytes where they are written plainly,
never below what a full parse finds; anything else is parsed, so the refusals stay exact."""

from __future__ import annotations

import zipfile
from pathlib import Path

import corpus
import pytest

from hbreport.errors import HBError
from hbreport.xlsx import safety
from hbreport.xlsx.safety import inspect_workbook


def _sheet_xml(body: str, declaration: str = '<?xml version="1.0" encoding="UTF-8"?>') -> bytes:
    return (
        f'{declaration}<worksheet xmlns="{corpus.MAIN_NS}"><sheetData>{body}</sheetData></worksheet>'.encode()
    )


def _parsed_extent(xml: bytes) -> tuple[int, int, int]:
    """(rows, columns, shared strings) as the full parse measures them."""
    measure = safety._Measure(None, None, None)  # type: ignore[arg-type]  (limits are not reached here)
    measure.feed(xml)
    measure.close()
    return measure.extent()


def _with_sheet(tmp_path: Path, xml: bytes, name: str = "sheet.xlsx") -> Path:
    parts = corpus.workbook_parts()
    parts["xl/worksheets/sheet1.xml"] = xml
    return corpus.write_zip(tmp_path / name, parts)


WITHIN_LIMITS = [
    '<row r="1"><c r="A1"><v>1</v></c><c r="C1" s="1"/></row><row r="7"><c r="AB7" t="s"><v>0</v></c></row>',
    '<row r="2"><c r="B2" s="3"></c><c r="D2" t="inlineStr"><is><t>x</t></is></c></row>',
    "<row><c><v>1</v></c><c><v>2</v></c></row>",  # no references: parsed
    '<row r="1"><c s="0" r="A1"><v>1</v></c></row>',  # reference not first: parsed
    '<row r="1"><c r="A1" t="str"><f>"a&gt;b"</f><v>a&gt;b</v></c></row>',
    '<row r="1"><c r="A1"><v>1</v></c></row><!-- <c r="ZZ900"><v>1</v></c> -->',  # a comment: bound only
    '<row r="3"><x:c xmlns:x="urn:x" r="B3"><x:v>1</x:v></x:c></row>',  # prefixed: parsed
    # at the corners of the bounds proved without reading each reference, and just past them
    '<row r="69999"><c r="AZ69999" s="1" t="s"><v>0</v></c></row>',
    '<row r="70000"><c r="AZ70000"><v>0</v></c></row>',
    '<row r="99999"><c r="Z99999"><v>0</v></c></row>',
    '<row r="4999"><c r="ZZ4999"><v>0</v></c></row>',
    '<row r="5000"><c r="ZZ5000"><v>0</v></c><c r="BA1"><v>0</v></c></row>',
    '<row r="1"><c r="A1" cm="1" vm="2" ph="1"><v>0</v></c><c r="AAA1"><v>0</v></c></row>',
]


@pytest.mark.parametrize("body", WITHIN_LIMITS)
def test_the_quick_bound_is_never_below_the_parse(body: str) -> None:
    xml = _sheet_xml(body)
    parsed = _parsed_extent(xml)
    bound = safety._plain_extent(xml)
    assert bound is None or all(b >= p for b, p in zip(bound, parsed, strict=True)), (bound, parsed)


def test_shared_strings_are_bounded_too() -> None:
    xml = f'<?xml version="1.0"?><sst xmlns="{corpus.MAIN_NS}">{"<si><t>a</t></si>" * 5}<si/></sst>'.encode()
    assert _parsed_extent(xml)[2] == 6
    bound = safety._plain_extent(xml)
    assert bound[:2] == (0, 0) and 6 <= bound[2] <= safety.MAX_SHARED_STRINGS, bound


FAR = "XFD1048576"
HOSTILE = [
    pytest.param(
        f'<row r="1"><c r="A1" t="n" x="a>b" r="{FAR}"><v>1</v></c></row>', id="second-r-after-a-quoted-gt"
    ),
    pytest.param(f'<row r="1"><c r="A1"\nr="{FAR}"><v>1</v></c></row>', id="second-r-on-a-new-line"),
    pytest.param(f'<row r="1"><c s="0" r="{FAR}"><v>1</v></c></row>', id="reference-not-first"),
    pytest.param(f'<row r="1"><c r="{FAR.lower()}"><v>1</v></c></row>', id="lower-case-reference"),
    pytest.param(f'<row r="1"><c\tr="{FAR}"><v>1</v></c></row>', id="tab-before-reference"),
    pytest.param(f'<row r="1"><c r="A1"><v>1</v></c><c r="{FAR}"><v>1</v></c></row>', id="plain-far-cell"),
    pytest.param(
        f'<row r="1"><c r="A1" s=\'1>\' r="{FAR}"><v>1</v></c></row>', id="second-r-after-a-single-quoted-gt"
    ),
    pytest.param(f'<row r="1"><c r="A1" s="1"r="{FAR}"><v>1</v></c></row>', id="second-r-without-a-space"),
    pytest.param(f'<row r="1"><c r="A1"/><c r="B2" s="1" r="{FAR}"><v>1</v></c></row>', id="second-r-later"),
]


# the parse that follows takes a prefixed attribute for another one than r; the quick bound leaves it to the parse
PREFIXED_R = pytest.param(
    f'<row r="1"><c r="A1" x:r="{FAR}" xmlns:x="urn:x"><v>1</v></c></row>', id="prefixed-second-r"
)


@pytest.mark.parametrize("body", [*HOSTILE, PREFIXED_R])
def test_the_quick_bound_does_not_clear_a_hostile_sheet(body: str) -> None:
    bound = safety._plain_extent(_sheet_xml(body))
    assert bound is None or not safety._fits(bound[0], bound[1]), bound


@pytest.mark.parametrize("body", HOSTILE)
def test_what_the_quick_bound_cannot_clear_is_still_refused(tmp_path: Path, body: str) -> None:
    with pytest.raises(HBError) as caught:
        inspect_workbook(_with_sheet(tmp_path, _sheet_xml(body)))
    assert "sheet1.xml" in caught.value.message or caught.value.cell == FAR


@pytest.mark.parametrize("encoding", ["UTF-16", "ISO-8859-1"])
def test_a_sheet_in_another_encoding_is_parsed(tmp_path: Path, encoding: str) -> None:
    """Bytes that are not plain UTF-8 are not read by the quick bound: the parse measures them."""
    body = f'<row r="1"><c r="A1"><v>1</v></c><c r="{FAR}"><v>1</v></c></row>'
    text = _sheet_xml(body, f'<?xml version="1.0" encoding="{encoding}"?>').decode()
    xml = text.encode(encoding.lower().replace("-", "_"))
    if encoding == "UTF-16":
        assert safety._plain_extent(xml) is None
    with pytest.raises(HBError) as caught:
        inspect_workbook(_with_sheet(tmp_path, xml))
    assert caught.value.cell == FAR


def test_a_far_reference_in_a_comment_is_not_refused(tmp_path: Path) -> None:
    """The bound counts it; the parse that follows sees it is no cell, and the workbook passes."""
    body = f'<row r="1"><c r="A1"><v>1</v></c></row><!-- <c r="{FAR}"><v>1</v></c> -->'
    assert inspect_workbook(_with_sheet(tmp_path, _sheet_xml(body))).sheets == corpus.SHEET_NAMES


def test_the_forms_take_the_quick_path(county_inbox: Path) -> None:
    """Every sheet and the shared strings of a generated form are written plainly: no full parse."""
    path = sorted(county_inbox.glob("*.xlsx"))[0]
    with zipfile.ZipFile(path) as archive:
        parts = [
            n for n in archive.namelist() if n.startswith("xl/worksheets/") or n.endswith("sharedStrings.xml")
        ]
        assert len(parts) > 3
        for name in parts:
            assert safety._plain_extent(archive.read(name)) is not None, name
