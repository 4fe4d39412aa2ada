"""Cell-level reading of a roster sheet: structure, formulas, values (typed and validated), rules.

Same contract as the form reader (``hbreport.reader``): only input and prefilled cells are read,
every value that cannot be used becomes a Finding naming the household, the cell and what to do, and
every rule runs on every row in Python. Kept lean because a province reads 1.3 million rows.
"""

from __future__ import annotations

import datetime as dt
import math
import re
import unicodedata
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from openpyxl.utils import get_column_letter

from ..cells import at, cell_text, fields_in_order, normal_formula, plain
from ..engine import ROW_MARK, check_template, derived_template, total_formula
from ..errors import HBError
from ..findings import Finding
from ..layout import (
    CODE_COL,
    CODE_ROW,
    FIRST_DATA_ROW,
    HEADER_ROW,
    LETTER_CODES,
    NAME_COL,
    TOTAL_ROW,
    SheetLayout,
)
from ..spec import TOTAL, Column, SheetSpec
from .columns import failures

# rule ids of content problems found while reading (the same ids the form reader uses)
TEXT_IN_NUMBER = "VALUE_TEXT"
DATE_IN_NUMBER = "VALUE_DATE"
NEGATIVE = "VALUE_NEGATIVE"
NOT_INTEGER = "VALUE_DECIMAL"
OUT_OF_RANGE = "VALUE_RANGE"
BAD_CHOICE = "VALUE_CHOICE"
BLANK_TEXT = "VALUE_SPACES"
PREFILL_CHANGED = "PREFILL_CHANGED"
FORMULA_OVERWRITTEN = "FORMULA_OVERWRITTEN"
FORMULA_CHANGED = "FORMULA_CHANGED"
RULE_HINTS = {
    "error": "请核对该户数据并改正后重新报送",
    "warning": "请核实；确属实际情况的，在表下“说明”处写明原因",
}
# roster messages write every whole float in digits, however large (``plain`` stops at 2**53)
ANY_SIZE = math.inf
_CHOICE, _TEXT, _NUMBER = 0, 1, 2  # how read_values takes a column's common cells
STRUCTURE_HINT = "请勿增删行列、调换行序；请使用上级下发的原台账重新填报，或把改动恢复原样"


class RosterSheetReader:
    """Reads the roster sheet of one workbook and collects findings."""

    def __init__(self, path: Path, sheet: SheetSpec, unit_code: str, unit_name: str) -> None:
        self.path = path
        self.sheet = sheet
        self.unit_code = unit_code
        self.unit_name = unit_name
        self.layout = SheetLayout(sheet)
        self.names = {r.code: r.name for r in sheet.rows}
        self.findings: list[Finding] = []

    def add(self, cell: str | None, message: str, rule: str, hint: str, importance: str = "error") -> None:
        self.findings.append(
            Finding(
                message=message,
                importance=importance,
                rule=rule,
                file=str(self.path),
                unit_code=self.unit_code,
                unit_name=self.unit_name,
                sheet=self.sheet.sheet,
                cell=cell,
                hint=hint,
            )
        )

    def fail(self, cell: str | None, message: str, hint: str = STRUCTURE_HINT) -> HBError:
        return HBError(message, file=self.path, sheet=self.sheet.sheet, cell=cell, hint=hint)

    def row_label(self, household_id: str) -> str:
        if household_id == TOTAL:
            return "合计行"
        return f"「{self.names.get(household_id, '')}」户（户编号 {household_id}）"

    # -- structure

    def check_structure(self, values: list[list[Any]]) -> None:
        """Headings, column codes and household ids where the spec puts them; HBError at the first difference."""
        L = self.layout
        for col, code in ((NAME_COL, LETTER_CODES[0]), (CODE_COL, LETTER_CODES[1])):
            found = cell_text(at(values, CODE_ROW, col))
            if found != code:
                cell = f"{get_column_letter(col)}{CODE_ROW}"
                raise self.fail(cell, f"栏目代码应为「{code}」，表中为「{found}」：表头被改动或插入了列")
        for column in self.sheet.columns:
            c = L.col_index[column.key]
            found = cell_text(at(values, CODE_ROW, c))
            if found != str(column.number):
                raise self.fail(
                    f"{get_column_letter(c)}{CODE_ROW}",
                    f"栏目代码应为「{column.number}」（{column.field.label}），表中为「{found}」：插入、删除或移动了列",
                )
            heading = cell_text(at(values, HEADER_ROW, c))
            if column.field.label not in heading:
                raise self.fail(
                    f"{get_column_letter(c)}{HEADER_ROW}",
                    f"栏目名称应为「{column.field.header()}」，表中为「{heading}」：表头被改动",
                )
        total = cell_text(at(values, TOTAL_ROW, NAME_COL))
        if "合计" not in total.replace(" ", "").replace("\u3000", ""):
            raise self.fail(f"A{TOTAL_ROW}", f"第 {TOTAL_ROW} 行应为「合计」，表中为「{total}」")
        for i, row in enumerate(self.sheet.rows):
            r = FIRST_DATA_ROW + i
            found = cell_text(at(values, r, CODE_COL))
            if found != row.code:
                raise self.fail(
                    f"B{r}",
                    f"第 {r} 行应为户编号 {row.code}（{row.name}），表中为「{found or '空'}」：台账中插入、删除或调换了行",
                )
        after = L.last_data_row + 1
        extra = cell_text(at(values, after, CODE_COL)) or cell_text(at(values, after, NAME_COL))
        if extra:
            raise self.fail(
                f"B{after}",
                f"台账最后一户之后多出一行「{extra}」：插入了行",
                "请删除多出的行；新识别的户须先录入建档立卡系统，由上级重新下发台账",
            )

    def check_formulas(
        self,
        cells: Mapping[tuple[int, int], Any],
        written: Mapping[tuple[int, int], tuple[bytes, str]] | None = None,
    ) -> None:
        """Derived, 合计 and 校验结果 cells must still hold their formulas. ``written``: (row, col) →
        (bytes, '=' + formula) given to ``sheet_formulas.formula_cells``, which hands back that very
        text object for a cell holding those bytes: such a cell is passed without comparing texts."""
        L = self.layout
        names = {L.col_index[c.key]: c.field.label for c in self.sheet.columns}
        names[L.check_col] = "校验结果"
        rows = range(FIRST_DATA_ROW, L.last_data_row + 1)
        written = written or {}

        def add_row_formulas(c: int, template: str) -> None:
            for r in rows:
                known = written.get((r, c))
                if known is not None and cells.get((r, c)) is known[1]:
                    continue  # the formula written, unchanged (the common case)
                expected[(r, c)] = template.replace(ROW_MARK, str(r))

        expected: dict[tuple[int, int], str] = {}
        for col in self.sheet.columns:
            c = L.col_index[col.key]
            expected[(TOTAL_ROW, c)] = total_formula(L, col)
            if col.role == "derived":
                add_row_formulas(c, derived_template(L, col))
        add_row_formulas(L.check_col, check_template(L))
        for (r, c), formula in expected.items():
            held = cells.get((r, c))
            if (
                type(held) is str
                and held[:1] == "="
                and len(held) == len(formula) + 1
                and held.endswith(formula)
            ):
                continue  # the formula written, unchanged (the common case)
            cell = f"{get_column_letter(c)}{r}"
            who = "合计行" if r == TOTAL_ROW else self.row_label(self.sheet.rows[r - FIRST_DATA_ROW].code)
            what = f"{who}的「{names[c]}」"
            if isinstance(held, str) and held.startswith("="):
                if held[1:] != formula and normal_formula(formula) != normal_formula(held):
                    self.add(
                        cell,
                        f"{what}是公式单元格，公式被改动（应为 ={formula}，表中为 {held}）",
                        FORMULA_CHANGED,
                        "请使用上级下发的原台账重新填报，不要修改公式",
                    )
                continue
            shown = "删除" if held in (None, "") else f"改成了直接键入的「{cell_text(held)}」"
            self.add(
                cell,
                f"{what}应由公式自动计算，公式却被{shown}（汇总时按公式重新计算）",
                FORMULA_OVERWRITTEN,
                "请使用上级下发的原台账重新填报，或从相邻行复制该公式恢复",
            )

    # -- values

    def read_values(
        self, values: list[list[Any]], prefill: Mapping[str, Mapping[str, Any]]
    ) -> dict[str, dict[str, Any]]:
        """Input and prefilled cells of each household, typed; unusable values become None.

        The common cells (an option of the list, text, a number in range, blank) are taken here; every
        other goes through :meth:`value`, which says what is wrong with it."""
        L = self.layout
        plan = []
        for column in self.sheet.columns:
            if column.role == "derived":
                continue
            f = column.field
            c = L.col_index[column.key]
            kind = _CHOICE if f.type == "choice" else _TEXT if f.type == "text" else _NUMBER
            plan.append(
                (
                    column,
                    c - 1,
                    get_column_letter(c),
                    column.key,
                    kind,
                    frozenset(f.choices or ()),
                    -math.inf if f.min is None else f.min,
                    math.inf if f.max is None else f.max,
                    f.type == "integer",
                    column.role == "prefill",
                )
            )
        out: dict[str, dict[str, Any]] = {}
        for i, household in enumerate(self.sheet.rows):
            r = FIRST_DATA_ROW + i
            line = values[r - 1] if r - 1 < len(values) else []
            width = len(line)
            row: dict[str, Any] = {}
            expected_row = prefill.get(household.code)
            for column, c0, letter, key, kind, choices, low, high, integer, prefilled in plan:
                raw = line[c0] if c0 < width else None
                t = type(raw)
                if raw is None or raw == "":
                    value = None
                elif t is str and kind == _CHOICE and raw in choices:
                    value = raw
                elif t is str and kind == _TEXT and raw.strip():
                    value = raw.strip()
                elif t is float and kind == _NUMBER and raw - raw == 0.0:
                    value = int(raw) if raw.is_integer() and abs(raw) < 2**53 else raw
                    if not (low <= value <= high) or (integer and type(value) is float):
                        value = self.value(household.code, column, letter, r, raw)
                else:
                    value = self.value(household.code, column, letter, r, raw)
                if prefilled and expected_row is not None:
                    want = expected_row.get(key)
                    if value != want or type(value) is not type(want):
                        value = self.check_prefill(household.code, column, f"{letter}{r}", value, want)
                    else:
                        value = want
                row[key] = value
            out[household.code] = row
        return out

    def value(self, household_id: str, column: Column, letter: str, r: int, raw: Any) -> Any:
        """One cell's value as the field's type, or None (with a finding) when it cannot be used."""
        if raw is None:
            return None
        f = column.field
        if f.type == "choice" and isinstance(raw, str) and raw in f.choices:
            return raw  # the common case, first
        cell = f"{letter}{r}"
        what = f"{self.row_label(household_id)}的「{f.label}」"
        if isinstance(raw, str) and not raw.strip():
            self.add(
                cell, f"{what}只有空格，按空白处理", BLANK_TEXT, "请清除该单元格（按 Delete 键）", "warning"
            )
            return None
        if f.type == "text":
            return cell_text(raw)
        if f.type == "choice":
            text = cell_text(raw) if not isinstance(raw, bool) else str(raw).upper()
            if text in f.choices:
                return text
            self.add(
                cell,
                f"{what}填了「{text}」，不在可选项（{'、'.join(f.choices)}）之中，该值未被采用",
                BAD_CHOICE,
                "请从下拉列表中选择",
            )
            return None
        unit = f"（{f.unit}）" if f.unit else ""
        if isinstance(raw, bool):
            self.add(
                cell, f"{what}应填数字{unit}，表中是逻辑值，该值未被采用", TEXT_IN_NUMBER, "请删除后填写数字"
            )
            return None
        if isinstance(raw, dt.date | dt.datetime | dt.time | dt.timedelta):
            self.add(
                cell,
                f"{what}应填数字{unit}，表中是日期/时间（单元格格式被设成了日期），该值未被采用",
                DATE_IN_NUMBER,
                "请把单元格格式改为“常规”或“数值”后重新输入数字",
            )
            return None
        if isinstance(raw, str):
            text = raw.strip()
            ascii_text = unicodedata.normalize("NFKC", text).replace(",", "")
            if re.fullmatch(r"[+-]?(\d+(\.\d*)?|\.\d+)", ascii_text):
                self.add(
                    cell,
                    f"{what}的「{text}」是以文本形式存储的数字（或全角数字），该值未被采用",
                    TEXT_IN_NUMBER,
                    "请删除后用半角数字重新输入（数字前不要加撇号 '）",
                )
            else:
                self.add(
                    cell,
                    f"{what}应填数字{unit}，表中是文本「{text}」，该值未被采用",
                    TEXT_IN_NUMBER,
                    "请只填数字",
                )
            return None
        value = int(raw) if isinstance(raw, float) and raw.is_integer() and abs(raw) < 2**53 else raw
        if f.min is not None and f.min >= 0 and value < 0:
            self.add(cell, f"{what}是负数 {plain(value, ANY_SIZE)}，不能为负", NEGATIVE, "请核对后改正")
        elif f.type == "integer" and isinstance(value, float):
            self.add(cell, f"{what}应为整数，表中是小数 {value}", NOT_INTEGER, "请填整数")
        elif (f.min is not None and value < f.min) or (f.max is not None and value > f.max):
            low = "" if f.min is None else plain(f.min, ANY_SIZE)
            high = "" if f.max is None else plain(f.max, ANY_SIZE)
            self.add(
                cell,
                f"{what}为 {plain(value, ANY_SIZE)}，超出允许范围（{low}—{high}{f.unit}）",
                OUT_OF_RANGE,
                "请核对数值和计量单位后改正",
            )
        return value

    def check_prefill(self, household_id: str, column: Column, cell: str, value: Any, expected: Any) -> Any:
        """A prefilled cell must still hold what the export gave; the export is what counts."""
        if plain(value, ANY_SIZE) == plain(expected, ANY_SIZE):
            return expected
        shown = "空白" if value is None else plain(value, ANY_SIZE)
        self.add(
            cell,
            f"{self.row_label(household_id)}的「{column.field.label}」是预填的「{plain(expected, ANY_SIZE) or '空白'}」，"
            f"表中被改成了「{shown}」（该单元格已锁定）；汇总按预填值计算",
            PREFILL_CHANGED,
            "请恢复预填值；确有错误的，请在建档立卡系统中更正后由上级重新下发台账",
        )
        return expected

    def check_names(self, values: list[list[Any]], expected: Mapping[str, str]) -> None:
        for i, row in enumerate(self.sheet.rows):
            r = FIRST_DATA_ROW + i
            shown = cell_text(at(values, r, NAME_COL))
            want = expected.get(row.code)
            if want is not None and shown != want:
                self.add(
                    f"A{r}",
                    f"户编号 {row.code} 的户主姓名是预填的「{want}」，表中被改成了「{shown}」",
                    PREFILL_CHANGED,
                    "请恢复预填的户主姓名；确有错误的，请在建档立卡系统中更正",
                )

    # -- rules

    def check_rules(self, rows: Mapping[str, Mapping[str, Any]], table=None) -> None:
        """Every rule by column over the households (``table``: their columns, when already made)."""
        L = self.layout
        order = {rule.id: fields_in_order(rule) for rule in self.sheet.rules}
        for i, rule, status in failures(self.sheet, rows, table):
            household = self.sheet.rows[i]
            r = FIRST_DATA_ROW + i
            cells = [f"{L.col_letter(k)}{r}" for k in order[rule.id] if k in L.col_index]
            text = rule.message.rstrip("。；;")
            if status == "invalid":
                message = f"{self.row_label(household.code)}：{text}——无法判断（涉及单元格的数据无效），涉及 {'、'.join(cells)}"
            else:
                message = f"{self.row_label(household.code)}：{text}（涉及 {'、'.join(cells)}）"
            self.add(
                cells[0] if cells else None,
                message,
                rule.id,
                RULE_HINTS[rule.importance],
                rule.importance,
            )
