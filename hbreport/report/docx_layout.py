"""Official document layout (党政机关公文格式, GB/T 9704-2012) for python-docx documents.

A4 paper, margins top 37 mm / bottom 35 mm / left (binding) 28 mm / right 26 mm; body 仿宋_GB2312
三号 (16 pt) on a fixed 28.95 pt line (22 lines a page); title 方正小标宋简体 二号 (22 pt); headings
"一、" in 黑体 and "（一）" in 楷体_GB2312; page numbers "— 1 —" in 宋体 四号, odd pages on the
right and even pages on the left.

python-docx sets only the Latin font with ``font.name``; a Chinese font must go on the East Asian
slot (``w:eastAsia`` of ``w:rFonts``), and the theme attributes (``w:eastAsiaTheme`` …) must go, or
Word and LibreOffice take the theme font instead. Its default template also declares the East Asian
language ja-JP, which makes Word pick Japanese glyph forms; reports are zh-CN.
"""

from __future__ import annotations

from docx.enum.section import WD_ORIENT
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_LINE_SPACING
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Mm, Pt, Twips

# ---------------------------------------------------------------- GB/T 9704-2012

PAGE_WIDTH_MM = 210
PAGE_HEIGHT_MM = 297
MARGIN_TOP_MM = 37
MARGIN_BOTTOM_MM = 35
MARGIN_LEFT_MM = 28
MARGIN_RIGHT_MM = 26
FOOTER_DISTANCE_MM = 21  # page number about 7 mm below the text block

BODY_FONT = "仿宋_GB2312"
TITLE_FONT = "方正小标宋简体"
HEADING1_FONT = "黑体"
HEADING2_FONT = "楷体_GB2312"
PAGE_NUMBER_FONT = "宋体"
LATIN_FONT = "Times New Roman"

BODY_SIZE = Pt(16)  # 三号
TITLE_SIZE = Pt(22)  # 二号
PAGE_NUMBER_SIZE = Pt(14)  # 四号
TABLE_SIZE = Pt(12)  # 小四, tables and captions
LINE_PITCH = Pt(28.95)  # 22 lines in the 225 mm text block
TABLE_LINE = Pt(20)
LANGUAGE = "zh-CN"

_THEME_ATTRS = ("w:asciiTheme", "w:hAnsiTheme", "w:eastAsiaTheme", "w:cstheme")


def twips_of_mm(mm: float) -> int:
    """Millimetres → twentieths of a point, as Word stores page sizes and margins."""
    return int(round(mm / 25.4 * 1440))


# ---------------------------------------------------------------- fonts and language


def set_fonts(element, east_asia: str, latin: str | None = LATIN_FONT) -> None:
    """Put ``east_asia`` on the East Asian slot of a style's or run's ``w:rFonts`` (theme fonts removed)."""
    fonts = element.get_or_add_rPr().get_or_add_rFonts()
    for attr in _THEME_ATTRS:
        fonts.attrib.pop(qn(attr), None)
    fonts.set(qn("w:eastAsia"), east_asia)
    latin = latin or east_asia
    for attr in ("w:ascii", "w:hAnsi", "w:cs"):
        fonts.set(qn(attr), latin)


def strip_theme_fonts(styles_element) -> int:
    """Remove every theme-font attribute from the styles part; returns how many were removed."""
    removed = 0
    for fonts in styles_element.iter(qn("w:rFonts")):
        for attr in _THEME_ATTRS:
            if fonts.attrib.pop(qn(attr), None) is not None:
                removed += 1
    return removed


def set_language(document, east_asia: str = LANGUAGE) -> None:
    """Declare the document's East Asian language (docDefaults and the theme font language)."""
    styles = document.styles.element
    rpr_default = styles.find(qn("w:docDefaults"))
    rpr = rpr_default.find(qn("w:rPrDefault")).find(qn("w:rPr"))
    _set_languages(rpr, "w:lang", east_asia)
    for element in styles.iter(qn("w:lang")):
        if element.get(qn("w:eastAsia")) is not None:
            element.set(qn("w:eastAsia"), east_asia)
    _set_languages(document.settings.element, "w:themeFontLang", east_asia)


def _set_languages(parent, tag: str, east_asia: str) -> None:
    """The ``tag`` child of ``parent`` (added when missing) naming en-US and ``east_asia``."""
    element = parent.find(qn(tag))
    if element is None:
        element = OxmlElement(tag)
        parent.append(element)
    element.set(qn("w:val"), "en-US")
    element.set(qn("w:eastAsia"), east_asia)


def set_default_fonts(document, east_asia: str = BODY_FONT, size: Pt = BODY_SIZE) -> None:
    """The document defaults (docDefaults): East Asian font and size every style starts from."""
    rpr = document.styles.element.find(qn("w:docDefaults")).find(qn("w:rPrDefault")).find(qn("w:rPr"))
    fonts = rpr.get_or_add_rFonts()
    for attr in _THEME_ATTRS:
        fonts.attrib.pop(qn(attr), None)
    fonts.set(qn("w:eastAsia"), east_asia)
    for attr in ("w:ascii", "w:hAnsi", "w:cs"):
        fonts.set(qn(attr), LATIN_FONT)
    half_points = str(int(size.pt * 2))
    rpr.get_or_add_sz().set(qn("w:val"), half_points)
    size_cs = rpr.find(qn("w:szCs"))
    if size_cs is not None:
        size_cs.set(qn("w:val"), half_points)


def reset_format(style, keep: tuple[str, ...] = ("w:outlineLvl",)) -> None:
    """Drop a built-in style's colours, theme fonts, sizes, spacing and borders so it starts plain.

    Paragraph properties named in ``keep`` stay (a heading keeps its outline level)."""
    rpr = style.element.get_or_add_rPr()
    for child in list(rpr):
        rpr.remove(child)
    ppr = style.element.get_or_add_pPr()
    kept = {qn(tag) for tag in keep}
    for child in list(ppr):
        if child.tag not in kept:
            ppr.remove(child)


# ---------------------------------------------------------------- paragraphs


def style_paragraph(
    style,
    *,
    east_asia: str,
    size: Pt,
    bold: bool = False,
    align: WD_ALIGN_PARAGRAPH | None = WD_ALIGN_PARAGRAPH.JUSTIFY,
    first_line_chars: float = 0,
    line: Pt | None = LINE_PITCH,
    latin: str | None = LATIN_FONT,
    keep_with_next: bool = False,
) -> None:
    """Give a paragraph style the official look: font on the East Asian slot, fixed line, indent in characters."""
    reset_format(style)
    set_fonts(style.element, east_asia, latin)
    font = style.font
    font.size = size
    font.bold = bold
    font.italic = False
    pf = style.paragraph_format
    pf.alignment = align
    pf.space_before = Pt(0)
    pf.space_after = Pt(0)
    if line is not None:
        pf.line_spacing_rule = WD_LINE_SPACING.EXACTLY
        pf.line_spacing = line
    pf.keep_with_next = keep_with_next
    pf.widow_control = True
    pf.left_indent = Twips(0)
    pf.right_indent = Twips(0)
    set_first_line_chars(style.element, first_line_chars, size)


def set_first_line_chars(element, chars: float, size: Pt) -> None:
    """First-line indent in characters (w:firstLineChars, with a twips fallback for older readers)."""
    ind = element.get_or_add_pPr().get_or_add_ind()
    for attr in ("w:firstLine", "w:firstLineChars", "w:hanging", "w:hangingChars"):
        ind.attrib.pop(qn(attr), None)
    # written even when 0, so a style does not inherit its base style's indent
    ind.set(qn("w:firstLineChars"), str(int(round(chars * 100))))
    ind.set(qn("w:firstLine"), str(int(round(chars * size.pt * 20))))


# ---------------------------------------------------------------- page


def page_setup(section) -> None:
    """A4 portrait with the GB/T 9704 margins."""
    section.orientation = WD_ORIENT.PORTRAIT
    section.page_width = Twips(twips_of_mm(PAGE_WIDTH_MM))
    section.page_height = Twips(twips_of_mm(PAGE_HEIGHT_MM))
    section.top_margin = Twips(twips_of_mm(MARGIN_TOP_MM))
    section.bottom_margin = Twips(twips_of_mm(MARGIN_BOTTOM_MM))
    section.left_margin = Twips(twips_of_mm(MARGIN_LEFT_MM))
    section.right_margin = Twips(twips_of_mm(MARGIN_RIGHT_MM))
    section.header_distance = Mm(15)
    section.footer_distance = Twips(twips_of_mm(FOOTER_DISTANCE_MM))
    section.gutter = Twips(0)
    sect = section._sectPr
    grid = sect.find(qn("w:docGrid"))
    if grid is None:
        grid = OxmlElement("w:docGrid")
        sect.append(grid)
    # the line pitch is recorded, but no grid is imposed: a "lines" grid makes LibreOffice lay CJK
    # characters out on the body's character grid, which widens table text; fixed line spacing already
    # gives the 22 lines a page
    grid.attrib.pop(qn("w:type"), None)
    grid.set(qn("w:linePitch"), str(int(round(LINE_PITCH.pt * 20))))


def add_page_field(paragraph) -> None:
    """A PAGE field (raw field XML: begin, instruction, separate, placeholder, end)."""

    def run_with(*children):
        run = paragraph.add_run()
        for child in children:
            run._r.append(child)
        return run

    begin = OxmlElement("w:fldChar")
    begin.set(qn("w:fldCharType"), "begin")
    run_with(begin)
    instr = OxmlElement("w:instrText")
    instr.set(qn("xml:space"), "preserve")
    instr.text = " PAGE "
    run_with(instr)
    separate = OxmlElement("w:fldChar")
    separate.set(qn("w:fldCharType"), "separate")
    run_with(separate)
    paragraph.add_run("1")
    end = OxmlElement("w:fldChar")
    end.set(qn("w:fldCharType"), "end")
    run_with(end)


def page_number_paragraph(paragraph, *, odd: bool) -> None:
    """ "— n —" in 宋体 四号: odd pages at the right, even pages at the left, one character in from the edge."""
    paragraph.text = ""
    paragraph.alignment = WD_ALIGN_PARAGRAPH.RIGHT if odd else WD_ALIGN_PARAGRAPH.LEFT
    pf = paragraph.paragraph_format
    pf.space_before = Pt(0)
    pf.space_after = Pt(0)
    one_char = Twips(int(PAGE_NUMBER_SIZE.pt * 20))
    if odd:
        pf.right_indent = one_char
    else:
        pf.left_indent = one_char
    paragraph.add_run("— ")
    add_page_field(paragraph)
    paragraph.add_run(" —")
    for run in paragraph.runs:
        set_fonts(run._r, PAGE_NUMBER_FONT, PAGE_NUMBER_FONT)
        run.font.size = PAGE_NUMBER_SIZE


def page_number_footers(document, section) -> None:
    """Different footers for odd and even pages (w:evenAndOddHeaders), each with the page number."""
    document.settings.odd_and_even_pages_header_footer = True
    section.different_first_page_header_footer = False
    page_number_paragraph(section.footer.paragraphs[0], odd=True)
    page_number_paragraph(section.even_page_footer.paragraphs[0], odd=False)
