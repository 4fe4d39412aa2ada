"""What the HB_ worksheet functions compute, with no Excel in sight.

Every function here takes values the way Excel hands them to Python (2-D lists of rows, ``None`` for an
empty cell, floats for numbers, text) and returns a value a cell can show. The forms, rules and plan
numbers come from a snapshot of templates/ (see :mod:`hbreport.xl.snapshot`); derived values and checks
are computed by :mod:`hbreport.checks.engine` and :mod:`hbreport.checks.rules`, the same code that writes the native
formulas and reads returned workbooks. Nothing here imports more than the standard library and those
pure modules, so :mod:`hbreport.xl.lite_build` can bundle it for xlwings Lite (Pyodide).

Definitions (also in docs/xlwings.md):

- HB_CHECK: the 校验结果 text of one row, exactly ``engine.check_text`` on the row's inputs with the
  derived values recomputed ("" when every rule passes).
- HB_COMPLETION(code, actual, period[, expected]) = actual ÷ expected (the row's own), else cumulative_share(code, period): the share of the plan's
  cumulative schedule reached by the end of ``period``; "" when ``actual`` is empty or nothing is
  scheduled by then. ``actual`` is a fraction of the base (0.72 for 72%), like the forms' rate columns.
- HB_STATUS: 超前 / 正常 / 滞后 by the form's own 进度状态 formula (its margin lives in the form template).
- HB_EXIT_OK: "" when income is above the year's poverty line and every guarantee is met, else why not.
- HB_ID_OK: "" for a valid 18-digit resident ID number, else why not.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from hbreport.checks.engine import check_row, check_text, compute_row
from hbreport.checks.idcard import validate_id
from hbreport.checks.registry import shown_code
from hbreport.checks.rules import Expr, Rule
from hbreport.checks.xlsemantics import ERROR_CODES, XLError
from hbreport.coerce import cell_text, coerce, error_code
from hbreport.errors import HBError
from hbreport.period import parse_period

SNAPSHOT_FORMAT = 2
COLUMN_FIELDS = (
    "key",
    "role",
    "formula",
    "header",
    "label",
    "type",
    "indicator",
    "unit",
    "min",
    "max",
    "choices",
)
RULE_FIELDS = ("id", "expr", "message", "importance", "missing", "guard")
RESULTS_SHEET = "校验结果"
META_SHEET_NAME = "_meta"
CHECK_HINT = "请检查公式的参数"


# ---------------------------------------------------------------- the forms, from a snapshot


@dataclass(frozen=True)
class FormColumn:
    """A numbered column of a form variant (what :func:`hbreport.checks.engine.compute_row` reads of a Column)."""

    key: str
    role: str
    formula: str | None
    header: str
    label: str
    type: str
    indicator: str | None
    unit: str = ""
    min: float | None = None
    max: float | None = None
    choices: tuple[str, ...] = ()


@dataclass(frozen=True)
class FormVariant:
    """One form as rendered for some levels and years: columns and rules (a SheetSpec without rows)."""

    form: str
    sheet: str
    table_no: str
    levels: tuple[str, ...]
    columns: tuple[FormColumn, ...]
    rules: tuple[Rule, ...]
    status: tuple[tuple[str, str, str], ...]  # (status, rate, expected) column keys

    @property
    def keys(self) -> tuple[str, ...]:
        return tuple(c.key for c in self.columns)

    @property
    def headers(self) -> tuple[str, ...]:
        return tuple(c.header for c in self.columns)

    @property
    def given_keys(self) -> tuple[str, ...]:
        """What :func:`hbreport.checks.engine.compute_row` reads as given: the non-derived columns' keys."""
        return tuple(c.key for c in self.columns if c.role != "derived")

    @property
    def derived_columns(self) -> tuple[FormColumn, ...]:
        return tuple(c for c in self.columns if c.role == "derived")

    @property
    def number_inputs(self) -> tuple[tuple[str, str], ...]:
        """(key, label) of the input columns that take numbers (as :class:`hbreport.spec.SheetSpec`'s)."""
        return tuple(
            (c.key, c.label)
            for c in self.columns
            if c.role == "input" and c.type in ("integer", "decimal", "percent")
        )

    def column(self, key: str) -> FormColumn:
        for col in self.columns:
            if col.key == key:
                return col
        raise KeyError(key)

    def inputs(self, values: Sequence[Any]) -> dict[str, Any]:
        """Cell values in column order → the non-derived values by field (derived cells are recomputed)."""
        return {
            c.key: _cell_value(v) for c, v in zip(self.columns, values, strict=True) if c.role != "derived"
        }

    def computed(self, values: Sequence[Any]) -> dict[str, Any]:
        return compute_row(self, self.inputs(values))

    def check(self, values: Sequence[Any]) -> str:
        """The 校验结果 text of a row given as cell values in column order."""
        return check_text(self, self.computed(values))


class Forms:
    """The snapshot, indexed: form variants by form and year, schedules and poverty lines by year."""

    def __init__(self, snapshot: Mapping[str, Any]) -> None:
        if snapshot.get("version") != SNAPSHOT_FORMAT:
            raise HBError(
                f"表式数据的版本为「{snapshot.get('version')}」，本程序只认 {SNAPSHOT_FORMAT}",
                hint="请用同一版本的 hbreport 重新生成 xlwings Lite 的 main.py",
            )
        plan = snapshot["plan"]
        self.title: str = plan["title"]
        self.start: int = int(plan["start"])
        self.end: int = int(plan["end"])
        self.layout: dict[str, int] = dict(snapshot.get("layout", {}))
        self.variants = tuple(_load_variant(v) for v in snapshot["variants"])
        self.by_form: dict[str, dict[int, tuple[FormVariant, ...]]] = {
            form: {int(year): tuple(self.variants[i] for i in indexes) for year, indexes in years.items()}
            for form, years in snapshot["forms"].items()
        }
        self.schedules: dict[str, tuple[str, dict[int, float]]] = {
            code: (entry["name"], {int(y): float(s) for y, s in entry["cumulative"].items()})
            for code, entry in snapshot["schedules"].items()
        }
        self.poverty_lines: dict[int, float] = {int(y): float(v) for y, v in snapshot["poverty_line"].items()}

    @property
    def years(self) -> tuple[int, ...]:
        return tuple(range(self.start, self.end + 1))

    def year(self, value: Any) -> int:
        """A period as Excel passes it (2017.0, "2017", "2017年") → 2017, within the plan's years."""
        value = _one_cell(value, "报告期应是一个单元格")
        if value is None or value == "":
            raise HBError("没有给出报告期", hint="报告期写四位年份，例如 2017")
        if isinstance(value, bool) or isinstance(value, float) and not value.is_integer():
            raise HBError(f"报告期「{value}」无法识别", hint="报告期写四位年份，例如 2017")
        if isinstance(value, float):
            value = int(value)
        year = parse_period(value)
        if not self.start <= year <= self.end:
            raise HBError(
                f"报告期 {year} 年不在规划期（{self.start}—{self.end}年）内", hint="报告期写规划期内的年份"
            )
        return year

    def variants_of(self, form_id: Any, year: int) -> tuple[FormVariant, ...]:
        form = _text(form_id, "表式代码")
        years = self.by_form.get(form)
        if years is None:
            raise HBError(f"没有表式「{form}」", hint=f"可用的表式：{'、'.join(self.by_form)}")
        return years.get(year, ())

    def resolve(self, form_id: Any, header: Sequence[Any], year: int) -> tuple[FormVariant, int]:
        """The variant whose field keys (or column headings) the header cells spell, and where they start."""
        texts = [cell_text(h) for h in header]
        for variant in self.variants_of(form_id, year):
            for names in (variant.keys, variant.headers):
                offset = _find(texts, names)
                if offset is not None:
                    return variant, offset
        shown = "、".join(t for t in texts if t)[:60]
        raise HBError(
            f"表头「{shown}」与表式「{form_id}」{year}年的任何一种栏目都对不上",
            hint="表头区域应是 _meta 表中该表的字段行（或本表第6行的栏目名称），与数据区域取同样的列",
        )

    def cumulative_share(self, code: Any, year: int) -> float:
        key = _text(code, "指标代码")
        entry = self.schedules.get(key)
        if entry is None:
            raise HBError(
                f"指标「{key}」不是规划的年度进度指标", hint=f"可用的进度指标：{'、'.join(self.schedules)}"
            )
        return entry[1][year]

    def poverty_line(self, year: int) -> float:
        line = self.poverty_lines.get(year)
        if line is None:
            have = "、".join(f"{y}年" for y in sorted(self.poverty_lines)) or "无"
            raise HBError(
                f"没有设定{year}年的扶贫标准（已设定：{have}）",
                hint="由扶贫办在 templates/indicators.yaml 的 parameters → poverty_line 中补上该年数值",
            )
        return line

    def status_columns(self, code: Any, year: int) -> tuple[FormVariant, tuple[str, str, str]]:
        """A form variant of ``year`` with a 进度状态 column judging a rate that measures ``code``."""
        key = _text(code, "指标代码")
        for form in self.by_form.values():
            for variant in form.get(year, ()):
                for triple in variant.status:
                    if variant.column(triple[1]).indicator == key:
                        return variant, triple
        known = sorted({v.column(t[1]).indicator or "" for v in self.variants for t in v.status} - {""})
        raise HBError(f"没有按指标「{key}」判断进度状态的表式栏目", hint=f"可用的指标：{'、'.join(known)}")


def _load_variant(data: Mapping[str, Any]) -> FormVariant:
    return FormVariant(
        form=data["form"],
        sheet=data["sheet"],
        table_no=data.get("table_no", ""),
        levels=tuple(data.get("levels", ())),
        columns=tuple(_load_column(c) for c in data["columns"]),
        rules=tuple(_rule(r) for r in data["rules"]),
        status=tuple(tuple(t) for t in data.get("status", ())),
    )


def _load_column(data: Sequence[Any]) -> FormColumn:
    fields = dict(zip(COLUMN_FIELDS, data, strict=True))
    fields["choices"] = tuple(fields["choices"])
    return FormColumn(**fields)


def _rule(fields: Sequence[Any]) -> Rule:
    """A rule from its snapshot list (``guard``: a list of field names, or None)."""
    data = dict(zip(RULE_FIELDS, fields, strict=True))
    data["guard"] = None if data["guard"] is None else tuple(data["guard"])
    return Rule(**data)


def _find(texts: Sequence[str], names: Sequence[str]) -> int | None:
    n = len(names)
    for offset in range(len(texts) - n + 1):
        if tuple(texts[offset : offset + n]) == tuple(names):
            return offset
    return None


# ---------------------------------------------------------------- where the snapshot comes from

_loader: Callable[[], Mapping[str, Any]] | None = None
_forms: Forms | None = None


def use_snapshot(loader: Callable[[], Mapping[str, Any]]) -> None:
    """Set where the forms come from (called on first use, then kept)."""
    global _loader, _forms
    _loader, _forms = loader, None


def current_forms() -> Forms:
    global _forms
    if _forms is None:
        if _loader is None:
            raise HBError("表式数据尚未加载", hint="先调用 use_snapshot")
        _forms = Forms(_loader())
    return _forms


def run(function: Callable[..., Any], *args: Any, needs_forms: bool = True) -> Any:
    """Call ``function(current_forms(), *args)`` (``function(*args)`` without forms) so that nothing raises
    into a cell: a user error shows as its Chinese message, anything else as a short note to report."""
    try:
        return function(current_forms(), *args) if needs_forms else function(*args)
    except HBError as exc:
        return str(exc)
    except Exception as exc:  # a cell must never show a Python traceback
        return f"计算出错（{type(exc).__name__}：{exc}）；请把本单元格的公式和所用数据报给维护人员"


# ---------------------------------------------------------------- values as Excel passes them


def _range_cells(value: Any) -> list[Any]:
    """A scalar, a row (list) or a 2-D range (list of rows) → its cells in reading order."""
    if isinstance(value, list | tuple):
        out: list[Any] = []
        for item in value:
            out.extend(item if isinstance(item, list | tuple) else [item])
        return out
    return [value]


def _range_rows(value: Any) -> list[list[Any]]:
    """A scalar, a row or a 2-D range → a list of rows."""
    if isinstance(value, list | tuple):
        if value and all(isinstance(item, list | tuple) for item in value):
            return [list(item) for item in value]
        return [list(value)]
    return [[value]]


def _cell_value(value: Any) -> Any:
    """What the engine takes: a number, text, bool, date or None (Excel's empty cell)."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _one_cell(value: Any, expected: str) -> Any:
    """An argument Excel may pass as a range: the value of its one cell; HBError (``expected``: what
    it should have been) for a range of more cells."""
    if isinstance(value, list | tuple):
        cells = _range_cells(value)
        if len(cells) != 1:
            raise HBError(f"{expected}，这里给了 {len(cells)} 个单元格", hint=CHECK_HINT)
        return cells[0]
    return value


def _text(value: Any, what: str) -> str:
    value = _one_cell(value, f"{what}应是一个单元格或一段文字")
    if not isinstance(value, str) or not value.strip():
        raise HBError(f"{what}应是一段文字，这里是「{'' if value is None else value}」", hint=CHECK_HINT)
    return value.strip()


def _number(value: Any, what: str) -> float | None:
    """A number argument: None for an empty cell or "", a Chinese HBError for text or a logical value."""
    value = _one_cell(value, f"{what}应是一个单元格")
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise HBError(f"{what}应为数字，这里是逻辑值 {'TRUE' if value else 'FALSE'}", hint=CHECK_HINT)
    if isinstance(value, int | float):
        if not math.isfinite(value):
            raise HBError(f"{what}不是有效的数字", hint=CHECK_HINT)
        return float(value)
    if isinstance(value, dt.date | dt.datetime | dt.time):
        raise HBError(f"{what}应为数字，这里是日期或时间", hint="把单元格格式改为“常规”或“数值”后重新输入")
    raise HBError(f"{what}应为数字，这里是文字「{value}」", hint="请填写数字；文字格式的数字须改为数值格式")


def _cell_error(value: Any) -> XLError | None:
    """A spreadsheet error the argument carries (xlwings passes ``#VALUE!`` as text with err_to_str)."""
    if isinstance(value, list | tuple):
        cells = _range_cells(value)
        value = cells[0] if len(cells) == 1 else None
    if isinstance(value, XLError):
        return value
    if isinstance(value, str) and value.strip().upper() in ERROR_CODES:
        return XLError(value.strip().upper())
    return None


def _number_text(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


# ---------------------------------------------------------------- the functions


def check_row_text(forms: Forms, form_id: Any, row: Any, header: Any, period: Any = None) -> str:
    """HB_CHECK: the 校验结果 text of one row ("" when every rule passes)."""
    header_cells = _range_cells(header)
    texts = {text for text in _row_texts(forms, form_id, [_range_cells(row)], header_cells, period)[0]}
    if len(texts) > 1:
        raise HBError(
            "本表的校验结果与报告期有关，但公式没有给出报告期",
            hint="在 HB_CHECK 的第4个参数给出报告期（年份），例如 2017",
        )
    return texts.pop()


def check_rows_text(
    forms: Forms, form_id: Any, rows: Any, header: Any, period: Any = None
) -> list[list[str]]:
    """HB_CHECK_ROWS: one 校验结果 text per row of ``rows``, as a column (one array formula per table)."""
    table = _range_rows(rows)
    results = _row_texts(forms, form_id, table, _range_cells(header), period)
    out = []
    for texts in results:
        if len(set(texts)) > 1:
            raise HBError(
                "本表的校验结果与报告期有关，但公式没有给出报告期",
                hint="在 HB_CHECK_ROWS 的第4个参数给出报告期（年份），例如 2017",
            )
        out.append([texts[0]])
    return out


def _row_texts(
    forms: Forms, form_id: Any, rows: list[list[Any]], header: list[Any], period: Any
) -> list[list[str]]:
    """For every row, its check text under each candidate year (one year when ``period`` is given)."""
    for number, row in enumerate(rows, start=1):
        if len(row) != len(header):
            where = f"第 {number} 行" if len(rows) > 1 else "数据区域"
            raise HBError(
                f"{where}有 {len(row)} 个单元格，表头区域有 {len(header)} 个，应一样多",
                hint="数据区域与表头区域应取同样的列",
            )
    years = [forms.year(period)] if period not in (None, "") else list(forms.years)
    resolved = [forms.resolve(form_id, header, year) for year in years]
    out = []
    for row in rows:
        texts = []
        for variant, offset in resolved:
            texts.append(variant.check(row[offset : offset + len(variant.columns)]))
        out.append(texts)
    return out


def completion(forms: Forms, code: Any, actual: Any, period: Any, expected: Any = None) -> float | str:
    """HB_COMPLETION: actual ÷ the expected cumulative share by the end of ``period``: the row's own
    (``expected``, its 规划进度 cell: the unit's own task) when given, else the plan's.

    An error value in ``actual`` gives "" as the native formula does (ISNUMBER is FALSE for it)."""
    year = forms.year(period)
    share = forms.cumulative_share(code, year)
    if expected is not None and expected != "" and _cell_error(expected) is None:
        share = _number(expected, "计划进度")
    if _cell_error(actual) is not None:
        return ""
    value = _number(actual, "实际完成比例")
    if value is None or share is None or share <= 0:
        return ""
    return value / share


def status(forms: Forms, code: Any, actual: Any, period: Any, expected: Any = None) -> str:
    """HB_STATUS: 超前 / 正常 / 滞后 ("" for an empty rate), by the form's own status formula, against
    ``expected`` (the row's 规划进度 cell: its own task) when given, else the form's plan share.

    An error value in ``actual`` (``#VALUE!``) comes back as its text, as the native formula shows it."""
    year = forms.year(period)
    variant, (status_key, rate_key, expected_key) = forms.status_columns(code, year)
    error = _cell_error(actual)
    value = error if error is not None else _number(actual, "实际完成比例")
    env: dict[str, Any] = {rate_key: "" if value is None else value}
    if expected is not None and expected != "" and _cell_error(expected) is None:
        env[expected_key] = _number(expected, "计划进度")
    else:  # no task given: the form's formula without one is the plan's share
        env[expected_key] = Expr.parse(variant.column(expected_key).formula).evaluate({})
    result = Expr.parse(variant.column(status_key).formula).evaluate(env)
    return result if isinstance(result, str) else str(result)


_YES = ("是", "TRUE", "Y", "YES")
_NO = ("否", "FALSE", "N", "NO")


def _guarantee(value: Any) -> bool | None:
    """是/TRUE/1 → True, 否/FALSE/0 → False, empty → None; anything else an HBError."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.strip().upper() in _YES:
        return True
    if isinstance(value, str) and value.strip().upper() in _NO:
        return False
    raise ValueError(value)


def exit_ok(forms: Forms, income: Any, period: Any, *checks: Any) -> str:
    """HB_EXIT_OK: "" when the household meets the exit standard, else every reason it does not."""
    year = forms.year(period)
    line = forms.poverty_line(year)
    reasons = []
    try:
        amount = _number(income, "人均纯收入")
    except HBError as exc:
        reasons.append(exc.message)
        amount = None
    else:
        if amount is None:
            reasons.append("人均纯收入未填写")
        elif not amount > line:
            reasons.append(f"人均纯收入{_number_text(amount)}元未超过{year}年扶贫标准{_number_text(line)}元")
    for number, value in enumerate((cell for check in checks for cell in _range_cells(check)), start=1):
        try:
            met = _guarantee(value)
        except ValueError:
            reasons.append(f"第{number}项保障的值「{value}」应为“是”或“否”")
            continue
        if met is None:
            reasons.append(f"第{number}项保障未填写")
        elif not met:
            reasons.append(f"第{number}项保障未达到")
    return "；".join(reasons)


def id_ok(value: Any) -> str | list[list[str]]:
    """HB_ID_OK: "" for a valid resident ID number, else the reason; a range gives one result per cell."""
    if isinstance(value, list | tuple):
        table = _range_rows(value)
        if len(table) == 1 and len(table[0]) == 1:
            return validate_id(table[0][0]) or ""
        return [[validate_id(cell) or "" for cell in row] for row in table]
    return validate_id(value) or ""


# ---------------------------------------------------------------- a whole workbook (the Lite script)


@dataclass(frozen=True)
class Problem:
    """A rule a row breaks, located on its sheet."""

    sheet: str
    cell: str
    unit: str
    rule: str
    importance: str
    message: str

    def as_row(self, number: int) -> list[Any]:
        return [
            number,
            "错误" if self.importance == "error" else "警告",
            shown_code(self.rule),
            self.sheet,
            self.cell,
            self.unit,
            self.message,
        ]


RESULT_HEADINGS = ("序号", "重要性", "规则", "工作表", "单元格", "单位", "问题")


def column_letter(number: int) -> str:
    """1 → A, 27 → AA."""
    letters = ""
    while number:
        number, rest = divmod(number - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def read_meta(rows: Sequence[Sequence[Any]]) -> dict[str, list[str]]:
    """The _meta sheet's rows → key (column A) → the texts after it (trailing blanks dropped)."""
    meta: dict[str, list[str]] = {}
    for row in _range_rows(list(rows)):
        if not row or row[0] in (None, ""):
            continue
        rest = [cell_text(v) for v in row[1:]]
        while rest and not rest[-1]:
            rest.pop()
        meta[cell_text(row[0])] = rest
    return meta


def meta_value(meta: Mapping[str, list[str]], key: str) -> str:
    values = meta.get(key)
    if not values:
        raise HBError(
            f"工作簿的 _meta 表中没有「{key}」",
            hint="本工作簿不是 hbreport 生成的填报表，或 _meta 表已被改动",
        )
    return values[0]


def workbook_problems(
    forms: Forms, meta: Mapping[str, list[str]], grids: Mapping[str, Sequence[Sequence[Any]]]
) -> list[Problem]:
    """Every broken rule on every form sheet of a workbook.

    ``meta`` comes from :func:`read_meta`; ``grids[sheet]`` holds that sheet's cells from A1 (rows of
    values, as a range's ``.value``)."""
    year = forms.year(meta_value(meta, "period"))
    first_row = forms.layout.get("first_data_row", 9)
    first_col = forms.layout.get("first_field_col", 3)
    problems: list[Problem] = []
    for form in meta_value(meta, "forms").split(","):
        sheet = meta_value(meta, f"sheet.{form}")
        keys = meta.get(f"header.{form}") or []
        codes = (
            [c for c in meta_value(meta, f"rows.{form}").split(",") if c] if meta.get(f"rows.{form}") else []
        )
        grid = _range_rows(list(grids.get(sheet) or []))
        variant, offset = forms.resolve(form, keys, year)
        for i, code in enumerate(codes):
            r = first_row + i
            line = grid[r - 1] if r - 1 < len(grid) else []
            cells = [
                line[c] if c < len(line) else None for c in range(first_col - 1, first_col - 1 + len(keys))
            ]
            given = cells[offset : offset + len(variant.columns)]
            computed = variant.computed(given)
            unit = cell_text(line[0]) if line else code
            problems += _value_problems(sheet, r, first_col + offset, variant, given, unit or code, code)
            for rule, outcome in check_row(variant, computed):
                fields = [k for k in variant.keys if k in rule.compiled().fields]
                col = first_col + offset + variant.keys.index(fields[0]) if fields else first_col
                text = rule.fail_text if outcome == "fail" else rule.invalid_text
                problems.append(
                    Problem(
                        sheet,
                        f"{column_letter(col)}{r}",
                        unit or code,
                        rule.id,
                        rule.importance,
                        text.rstrip("；"),
                    )
                )
    return problems


def _value_problems(
    sheet: str, r: int, first_col: int, variant: FormVariant, given: Sequence[Any], unit: str, code: str
) -> list[Problem]:
    """What the reader says of each input and prefilled cell of a row (:func:`hbreport.coerce.coerce`,
    the same checks and messages); an error value comes from xlwings as its text (``#N/A``)."""
    out = []
    for number, (column, raw) in enumerate(zip(variant.columns, given, strict=False)):
        if column.role == "derived":
            continue
        error = error_code(raw)
        _, issue = coerce(XLError(error) if error is not None else raw, column)
        if issue is not None:
            what = f"「{unit}」（{code}）行的「{column.label}」"
            cell = f"{column_letter(first_col + number)}{r}"
            out.append(Problem(sheet, cell, unit, issue.code, issue.importance, issue.message(what)))
    return out


def problems_table(problems: Sequence[Problem]) -> list[list[Any]]:
    """The 校验结果 sheet's rows: headings, then one row per problem (errors first), or 未发现问题."""
    ordered = sorted(problems, key=lambda p: p.importance != "error")
    rows = [list(RESULT_HEADINGS)] + [p.as_row(i) for i, p in enumerate(ordered, start=1)]
    if not problems:
        rows.append(["", "", "", "", "", "", "未发现问题"])
    return rows
