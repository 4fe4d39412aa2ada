"""Where everything sits on a form's worksheet. The writer and the reader both ask this module.

    row 1        title (merged)
    rows 2–5     填报单位 / 报告期 / 计量单位 on the left; 表号 / 制定机关 / 批准文号 / 有效期至 on the right
    row 6        column headings (指标名称 … with units)
    row 7        column codes: 甲 乙 1 2 3 …
    row 8        合计
    rows 9…      one row per RowUnit, in spec order
    then         a blank row, the signature line (单位负责人 …), 说明, and the 校验汇总 block

Column A holds the unit name (甲), B the code (乙), then the numbered data columns, then 校验结果.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from openpyxl.utils import get_column_letter

from hbreport.spec import TOTAL, SheetSpec

TITLE_ROW = 1
INFO_ROWS = (2, 3, 4, 5)
HEADER_ROW = 6
CODE_ROW = 7
TOTAL_ROW = 8
FIRST_DATA_ROW = 9
NAME_COL = 1
CODE_COL = 2
FIRST_FIELD_COL = 3
LETTER_CODES = ("甲", "乙")


@dataclass(frozen=True)
class SheetLayout:
    """Cell positions of one SheetSpec."""

    spec: SheetSpec

    @cached_property
    def col_index(self) -> dict[str, int]:
        return {c.key: FIRST_FIELD_COL + i for i, c in enumerate(self.spec.columns)}

    @cached_property
    def row_index(self) -> dict[str, int]:
        rows = {r.code: FIRST_DATA_ROW + i for i, r in enumerate(self.spec.rows)}
        rows[TOTAL] = TOTAL_ROW
        return rows

    @property
    def check_col(self) -> int:
        return FIRST_FIELD_COL + len(self.spec.columns)

    @property
    def last_col(self) -> int:
        return self.check_col

    @property
    def severity_col(self) -> int:
        """A hidden column right of 校验结果: per row 2 when it names an error rule, plus 1 when it names
        a warning rule; the 校验汇总 counts are COUNTIFs over it, which every spreadsheet engine computes
        alike (array formulas over FIND are not: Gnumeric gives 0). Outside the print area and outside
        what the reader checks, so forms issued without it read as before."""
        return self.check_col + 1

    @property
    def note_col(self) -> int:
        """The 说明 column: a clerk's explanation of a row (why a 警告 is right), an unlocked text cell
        right of the hidden severity column. Outside the form's table, like the severity column: the
        rules do not see it, and forms issued without it read as before (no explanations)."""
        return self.check_col + 2

    @property
    def status_col(self) -> int:
        """The 填报状态 column of a consolidated workbook (each child's 已报 / 未报 / 退回 / 拒收)."""
        return self.check_col + 3

    @property
    def severity_letter(self) -> str:
        return get_column_letter(self.severity_col)

    @property
    def last_data_row(self) -> int:
        """The last data row (TOTAL_ROW when the sheet has no data rows)."""
        return FIRST_DATA_ROW + len(self.spec.rows) - 1 if self.spec.rows else TOTAL_ROW

    @property
    def footer_row(self) -> int:
        return self.last_data_row + 2

    @property
    def notes_row(self) -> int:
        return self.footer_row + 2

    @property
    def summary_row(self) -> int:
        """First row of the 校验汇总 block (after the 说明 lines)."""
        return self.notes_row + len(self.spec.notes) + 2

    def col_letter(self, key: str) -> str:
        return get_column_letter(self.col_index[key])

    def cell(self, row_key: str, key: str) -> str:
        """A1 reference of field `key` on row `row_key` (a unit code or TOTAL)."""
        return f"{self.col_letter(key)}{self.row_index[row_key]}"

    def data_range(self, key: str, *, absolute: bool = False) -> str:
        """The data rows of one column, e.g. C9:C30 (empty sheets give the 合计 row's own cell range)."""
        letter = self.col_letter(key)
        first, last = FIRST_DATA_ROW, max(self.last_data_row, FIRST_DATA_ROW)
        if absolute:
            return f"${letter}${first}:${letter}${last}"
        return f"{letter}{first}:{letter}{last}"

    def row_ref(self, row_number: int):
        """A ref function for the rule compiler: field key → cell on `row_number`."""
        return lambda key: f"{self.col_letter(key)}{row_number}"

    @property
    def check_letter(self) -> str:
        return get_column_letter(self.check_col)

    @property
    def print_area(self) -> str:
        return f"A1:{get_column_letter(self.note_col)}{self.summary_row + 3}"


# the sheets a consolidation writes beside the forms (the next level up reads 汇总校验 too)
DETAIL_SHEET = "下级明细"
CHECK_SHEET = "汇总校验"
#: the very hidden sheet holding the consolidation Summary as versioned JSON (column A, in pieces)
SUMMARY_SHEET = "_summary"
SUMMARY_PIECE = 30000  # characters per cell (a cell holds at most 32767)
