"""Form specs: Jinja-rendered YAML (templates/forms/*.yaml.j2) → one WorkbookSpec per unit and period.

A form is written once. The same spec drives the writer (which lays it out in Excel) and the reader
(which reads it back), so a layout change cannot make them disagree. Fields (data elements) are
defined once in templates/fields.yaml; numbers from the plan come from the catalog through the
template context (``num``, ``share``, ``ind``), never from code.
"""

from __future__ import annotations

import hashlib
import json
import re
import weakref
from dataclasses import dataclass, field, replace
from functools import cache, cached_property, lru_cache
from pathlib import Path
from typing import Any

import jinja2
import yaml

from hbreport import __version__, paths
from hbreport.context import Context
from hbreport.errors import HBError
from hbreport.kept import kept
from hbreport.period import period_label
from hbreport.tasks.units import PROJECT_FORM, project_task_note

FIELD_TYPES = ("integer", "decimal", "percent", "choice", "text")
FIELD_AGGREGATIONS = ("sum", "weighted_mean", "min", "max", "count_if", "derived", "last", "none")
ROLES = ("prefill", "input", "derived")
FORM_FAMILY = "hbreport.fupin"
FORM_ORDER = (
    "poverty_progress",
    "village_exit",
    "key_projects",
    "infrastructure",
    "industry",
    "social_protection",
    "village_services",
    "county_services",
    "support",
    "funding",
    "regions",
)
# Which forms each level fills. A township reports villages; the county-level forms (infrastructure
# and public services, county services, funding, the region counties' figures) start at the county.
_TOWNSHIP_FORMS = ("poverty_progress", "village_exit", "key_projects", "industry", "social_protection")
_TOWNSHIP_FORMS += ("village_services", "support")
LEVEL_FORMS: dict[str, tuple[str, ...]] = {
    "township": _TOWNSHIP_FORMS,
    "county": FORM_ORDER,
    "prefecture": FORM_ORDER,
    "province": FORM_ORDER,
}
FORM_LEVELS = tuple(LEVEL_FORMS)
TOTAL = "TOTAL"  # row key of the 合计 row


@dataclass(frozen=True)
class Field:
    """A data element: what a value means, its type and how it aggregates to the parent."""

    key: str
    label: str
    unit: str
    type: str
    aggregation: str
    min: float | None = None
    max: float | None = None
    choices: tuple[str, ...] = ()
    weight: str | None = None
    equals: str | None = None
    rollup_to: str | None = None
    indicator: str | None = None
    # every catalog entry the field measures (``indicator`` is the first); a field such as a county's
    # 城镇化率 measures each region's own target
    indicators: tuple[str, ...] = ()
    # the column a count is a share of, when it measures a coverage target counted in units
    share_of: str | None = None
    # this year's figure (本年): added up over the years where the plan sets a total
    flow: bool = False

    @property
    def numeric(self) -> bool:
        return self.type in ("integer", "decimal", "percent")

    @property
    def parent_key(self) -> str:
        """The field that holds this field's aggregate on the parent's form."""
        return self.rollup_to or self.key

    def header(self) -> str:
        return (
            f"{self.label}({self.unit})"
            if self.unit and self.unit != "%"
            else (f"{self.label}(%)" if self.unit == "%" else self.label)
        )


@dataclass(frozen=True)
class Column:
    """A numbered data column of a sheet."""

    field: Field
    role: str
    number: int
    formula: str | None = None
    prefill: str | None = None

    @cached_property
    def key(self) -> str:
        return self.field.key

    @property
    def is_input(self) -> bool:
        return self.role == "input"


@dataclass(frozen=True)
class RowUnit:
    """A row of a sheet: a unit (a child, or the form's own unit for self-reported forms)."""

    code: str
    name: str


@dataclass(frozen=True)
class SheetSpec:
    """One form as one worksheet."""

    form: str
    version: str
    sheet: str
    title: str
    table_no: str
    authority: str
    approval: str
    valid_until: str
    measure_unit: str
    rows: tuple[RowUnit, ...]
    columns: tuple[Column, ...]
    rules: tuple[Any, ...]  # tuple[rules.Rule, ...]
    notes: tuple[str, ...]
    count_rows_as: str | None = None
    # True when the rows are every child because the baseline does not say which are poor villages:
    # the clerk fills the poor ones, and only rows with something filled count as ``count_rows_as``
    count_filled_rows: bool = False

    def column(self, key: str) -> Column:
        try:
            return self.columns[self.column_keys.index(key)]
        except ValueError:
            raise KeyError(key) from None

    @cached_property
    def column_keys(self) -> tuple[str, ...]:
        return tuple(c.key for c in self.columns)

    @cached_property
    def input_columns(self) -> tuple[Column, ...]:
        return tuple(c for c in self.columns if c.role == "input")

    @cached_property
    def number_inputs(self) -> tuple[tuple[str, str], ...]:
        """(key, label) of the input columns that take numbers: the 校验结果 says first when one holds text."""
        return tuple((c.key, c.field.label) for c in self.input_columns if c.field.numeric)

    @cached_property
    def derived_columns(self) -> tuple[Column, ...]:
        return tuple(c for c in self.columns if c.role == "derived")

    @cached_property
    def data_derived(self) -> tuple[Column, ...]:
        """The derived columns computed from what a row reports (an input column, directly or through an
        earlier derived column), not from its baseline and tasks alone: blank on a row whose data are
        not in (a consolidation's child not 已报), where the others (规划进度) still show the plan."""
        from hbreport.checks.rules import Expr

        needs = {c.key for c in self.input_columns}
        out = []
        for col in self.derived_columns:
            if Expr.parse(col.formula).fields & needs:
                needs.add(col.key)
                out.append(col)
        return tuple(out)

    @cached_property
    def given_keys(self) -> tuple[str, ...]:
        """The keys of the columns a row is given (inputs and prefill), in column order."""
        return tuple(c.key for c in self.columns if c.role != "derived")

    def structure(self) -> dict:
        """What the layout depends on (hashed into the workbook's identity)."""
        return {
            "form": self.form,
            "version": self.version,
            "sheet": self.sheet,
            "rows": [r.code for r in self.rows],
            "columns": [[c.key, c.role, c.formula or "", c.field.type] for c in self.columns],
            "rules": [[r.id, r.expr] for r in self.rules],
        }


@dataclass(frozen=True)
class WorkbookSpec:
    """All forms one unit fills for one period: the unit of generation, reading and consolidation."""

    unit_code: str
    unit_name: str
    level: str
    parent_code: str | None
    parent_name: str | None
    period: int
    sheets: tuple[SheetSpec, ...]
    instructions: tuple[str, ...] = field(default=())

    def sheet(self, form: str) -> SheetSpec:
        for s in self.sheets:
            if s.form == form:
                return s
        raise KeyError(form)

    @cached_property
    def layout_hash(self) -> str:
        blob = json.dumps([s.structure() for s in self.sheets], ensure_ascii=False, sort_keys=True)
        return hashlib.sha256(blob.encode("utf-8")).hexdigest()[:16]

    @property
    def version(self) -> str:
        return "+".join(f"{s.form}@{s.version}" for s in self.sheets)

    def meta(self) -> dict[str, str]:
        """The identity a workbook carries in its _meta sheet."""
        return {
            "family": FORM_FAMILY,
            "forms": ",".join(s.form for s in self.sheets),
            "version": self.version,
            "layout_hash": self.layout_hash,
            "unit_code": self.unit_code,
            "unit_name": self.unit_name,
            "level": self.level,
            "parent_code": self.parent_code or "",
            "parent_name": self.parent_name or "",
            "period": str(self.period),
            "generator": f"hbreport {__version__}",
        }

    def file_name(self) -> str:
        """``<code>_<name>_<period>.xlsx`` (see :func:`form_file_name`)."""
        return form_file_name(self.unit_code, self.unit_name, self.level, self.period)


def form_file_name(code: str, name: str, level: str, period: int) -> str:
    """``<code>_<name>_<period>.xlsx``; characters a file name cannot hold (``/ \\ : * ? " < > |``,
    control characters) become ``_``, so a unit name never points outside the output folder."""
    return f"{code[: _short_len(level)]}_{safe_file_part(name)}_{period}.xlsx"


def safe_file_part(name: str) -> str:
    """``name`` with the characters a file name cannot hold replaced by ``_``."""
    return "".join("_" if ch in _UNSAFE_FILE_CHARS or ord(ch) < 32 else ch for ch in name)


_UNSAFE_FILE_CHARS = frozenset('/\\:*?"<>|')


def _guarded(rule: Any, columns: list[Column]) -> Any:
    """``rule`` with its blank guard on input cells: each derived field it names stands for the fields
    its formula uses (recursively), since a formula cell is never blank and computes a blank input as
    0 — so a rule over a blank input does not fire (参合率 of a blank 参加新农合人数 is not 0%)."""
    if rule.missing == "never_skip":
        return rule
    formulas = {c.key: c.formula for c in columns if c.role == "derived" and c.formula}
    if not set(rule.compiled().cell_fields) & set(formulas):
        return rule
    from hbreport.checks.rules import Expr

    guard: dict[str, None] = {}

    def add(name: str, seen: frozenset[str]) -> None:
        if name not in formulas:
            guard[name] = None
        elif name not in seen:
            parsed = Expr.parse(formulas[name])
            for inner in sorted(parsed.cell_fields, key=formulas[name].find):
                add(inner, seen | {name})

    for name in rule._guard_fields():
        add(name, frozenset())
    return replace(rule, guard=tuple(guard))


def _short_len(level: str) -> int:
    return {"township": 9, "village": 12}.get(level, 6)


# ---------------------------------------------------------------- fields


@cache
def _load_fields(path: Path) -> dict[str, Field]:
    try:
        data = _load_yaml(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise HBError(f"无法读取字段定义：{exc}", file=path, hint="检查 YAML 语法") from exc
    fields: dict[str, Field] = {}
    for key, raw in (data or {}).get("fields", {}).items():

        def bad(what: str, key: str = key) -> HBError:
            return HBError(f"字段「{key}」{what}", file=path, hint="按文件开头的说明改正该字段")

        if not isinstance(raw, dict):
            raise bad("的定义不是映射")
        ftype = raw.get("type")
        agg = raw.get("aggregation")
        if ftype not in FIELD_TYPES:
            raise bad(f"的 type「{ftype}」无效，应为 {'、'.join(FIELD_TYPES)} 之一")
        if agg not in FIELD_AGGREGATIONS:
            raise bad(f"的 aggregation「{agg}」无效，应为 {'、'.join(FIELD_AGGREGATIONS)} 之一")
        if agg == "weighted_mean" and not raw.get("weight"):
            raise bad("按加权平均汇总，但没有给出 weight（权重字段）")
        if agg == "count_if" and (raw.get("equals") is None or not raw.get("rollup_to")):
            raise bad("按条件计数汇总，需要 equals 与 rollup_to")
        if ftype == "choice" and not raw.get("choices"):
            raise bad("是下拉选择，但没有给出 choices")
        codes = raw.get("indicator")
        codes = [codes] if isinstance(codes, str) else codes or []
        if not isinstance(codes, list) or not all(isinstance(c, str) and c for c in codes):
            raise bad("的 indicator 应为一个指标代码或代码列表")
        fields[key] = Field(
            key=key,
            label=str(raw.get("label") or key),
            unit=str(raw.get("unit") or ""),
            type=ftype,
            aggregation=agg,
            min=raw.get("min"),
            max=raw.get("max"),
            choices=tuple(str(c) for c in raw.get("choices") or ()),
            weight=raw.get("weight"),
            equals=None if raw.get("equals") is None else str(raw.get("equals")),
            rollup_to=raw.get("rollup_to"),
            indicator=codes[0] if codes else None,
            indicators=tuple(codes),
            share_of=raw.get("share_of"),
            flow=bool(raw.get("flow", False)),
        )
    for f in fields.values():
        for ref in (f.weight, f.rollup_to):
            if ref and ref not in fields:
                raise HBError(f"字段「{f.key}」引用了未定义的字段「{ref}」", file=path)
    return fields


@lru_cache(maxsize=64)
def _resolved(path: str | Path) -> Path:
    """``path`` made absolute (asked for on every form of every workbook read)."""
    return Path(path).resolve()


def load_fields(path: str | Path | None = None) -> dict[str, Field]:
    """All data elements, keyed by field name (templates/fields.yaml by default)."""
    return _load_fields(_resolved(path or paths.FIELDS))


# ---------------------------------------------------------------- rendering


@cache
def _jinja_env(forms_dir: Path) -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(forms_dir)),
        undefined=jinja2.StrictUndefined,
        autoescape=False,  # renders YAML, not HTML
        keep_trailing_newline=True,
        bytecode_cache=_bytecode_cache(),
    )


class _QuietBytecodeCache(jinja2.FileSystemBytecodeCache):
    """Jinja's compiled-template cache in the user's private temporary folder (like Python's .pyc:
    keyed by the template's source, so an edited template is compiled again). A cache that cannot be
    read or written is skipped, never an error."""

    def load_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        try:
            super().load_bytecode(bucket)
        except Exception:  # a damaged cache file: compile again
            bucket.reset()

    def dump_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        try:
            super().dump_bytecode(bucket)
        except OSError:
            pass


def _bytecode_cache() -> jinja2.BytecodeCache | None:
    """Compiling the form templates is most of the first form's cost in a new process (~11 ms)."""
    try:
        return _QuietBytecodeCache()  # a folder only this user can write, checked by Jinja
    except (OSError, RuntimeError):
        return None


def _context(catalog, level: str, period: int, unit, rows) -> dict[str, Any]:
    def num(code: str, unit_: str | None = None) -> float:
        value = catalog.number(code, unit_)
        return int(value) if float(value).is_integer() else value

    def share(code: str) -> float:
        return round(catalog.cumulative_share(code, period), 6)

    def param(name: str, year: int | None = None) -> Any:
        value = catalog.parameter(name, period if year is None else year)
        return int(value) if float(value).is_integer() else value

    def county_param(name: str) -> Any:
        """The period's value of a parameter set per county (``by_county``) for the unit's county, or
        None where the office has not set it."""
        value = catalog.county_parameter(name, unit.code if unit is not None else "", period)
        return None if value is None else int(value) if float(value).is_integer() else value

    return {
        "unit": unit,
        "level": level,
        "period": period,
        "period_label": period_label(period),
        "rows": rows,
        "num": num,
        "share": share,
        "ind": catalog.__getitem__,
        "param": param,
        "county_param": county_param,
    }


_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when present: ~10× faster


@lru_cache(maxsize=512)
def _parse_rendered(text: str) -> Any:
    """Parse a rendered form spec once per distinct text (a form renders alike for every unit of a
    level and period). The result is shared: callers must not change it."""
    return _load_yaml(text)


def _load_yaml(text: str) -> Any:
    """YAML parsed, kept between runs (:mod:`hbreport.kept`): building Python objects from YAML takes
    ~4 ms for fields.yaml in every new process, reading the JSON 0.1 ms."""
    return kept("yaml", text, lambda t: yaml.load(t, Loader=_YAML_LOADER))


def render_form(
    form: str,
    *,
    unit,
    level: str,
    period: int,
    rows: list[RowUnit],
    poor_rows: list[RowUnit] | None,
    catalog,
    fields: dict[str, Field] | None = None,
    forms_dir: Path | None = None,
) -> SheetSpec:
    """Render templates/forms/<form>.yaml.j2 for a unit and period into a SheetSpec."""
    fields = fields or load_fields()
    forms_dir = _resolved(forms_dir or paths.FORMS)
    name = f"{form}.yaml.j2"
    try:
        template = _jinja_env(forms_dir).get_template(name)  # reloaded when the file changes
    except jinja2.TemplateError as exc:
        raise HBError(
            f"表式模板渲染失败：{exc}", file=forms_dir / name, hint="检查模板中的变量与指标代码"
        ) from exc
    # A template that does not use the unit or its rows renders alike for every unit of a level and
    # period: it is rendered and checked once, and each unit gets the result with its own rows.
    per_unit = _uses_unit(template)
    # one that names county_param (a value set per county) renders once per county
    county = unit.code[:6] if unit is not None and "county_param" in _source(template) else None
    key = (
        forms_dir,
        name,
        level,
        period,
        unit.code if per_unit else county,
        tuple(rows) if per_unit else None,
    )
    held = _RENDERED.get(key)
    if held is None or held[0] is not template or held[1] is not catalog or held[2] is not fields:
        if len(_RENDERED) > 512:
            _RENDERED.clear()
        sheet, row_mode = _render_form(template, forms_dir / name, unit, level, period, rows, catalog, fields)
        held = _RENDERED[key] = (template, catalog, fields, sheet, row_mode)
    sheet, row_mode = held[3], held[4]
    if row_mode == "children":
        row_units = tuple(rows)
    elif row_mode == "poor_villages" and poor_rows is None:  # the baseline does not say which are poor
        return replace(
            sheet, rows=tuple(rows), count_filled_rows=True, notes=(*sheet.notes, EVERY_VILLAGE_NOTE)
        )
    elif row_mode == "poor_villages":
        row_units = tuple(poor_rows)
    else:
        row_units = (RowUnit(unit.code, unit.name),)
    return replace(sheet, rows=row_units)


_RENDERED: dict[tuple, tuple] = {}

EVERY_VILLAGE_NOTE = (
    "单位名册未标明哪些村是建档立卡贫困村，本表列出全部村：只填建档立卡贫困村，其他村整行留空；"
    "汇总时按填了数据的行数计贫困村个数。"
)


_COMMENT = re.compile(r"\{#.*?#\}", re.DOTALL)
_TAG = re.compile(r"\{\{.*?\}\}|\{%.*?%\}", re.DOTALL)
_UNIT_NAME = re.compile(r"(?<![\w.])(?:unit|rows)(?!\w)")


def _uses_unit(template: jinja2.Template) -> bool:
    """Whether a form template names the unit or its rows inside a tag (found once per loaded template;
    comments do not count; a quoted "unit" in a tag does, which only costs a rendering per unit)."""
    uses = _USES_UNIT.get(template)
    if uses is None:
        uses = _USES_UNIT[template] = any(_UNIT_NAME.search(tag) for tag in _TAG.findall(_source(template)))
    return uses


def _source(template: jinja2.Template) -> str:
    """The template's source without its comments (read once per loaded template)."""
    source = _SOURCES.get(template)
    if source is None:
        env = template.environment
        source = _SOURCES[template] = _COMMENT.sub("", env.loader.get_source(env, template.name)[0])
    return source


_USES_UNIT: weakref.WeakKeyDictionary[jinja2.Template, bool] = weakref.WeakKeyDictionary()
_SOURCES: weakref.WeakKeyDictionary[jinja2.Template, str] = weakref.WeakKeyDictionary()


def _render_form(
    template: jinja2.Template, where: Path, unit, level: str, period: int, rows, catalog, fields
) -> tuple[SheetSpec, str]:
    """The rendered form with no rows yet, and its row mode (children, poor_villages or self)."""
    from hbreport.checks.rules import Rule

    try:
        text = template.render(**_context(catalog, level, period, unit, rows))
        raw = _parse_rendered(text)
    except jinja2.TemplateError as exc:
        raise HBError(f"表式模板渲染失败：{exc}", file=where, hint="检查模板中的变量与指标代码") from exc
    except yaml.YAMLError as exc:
        raise HBError(f"表式模板渲染后的 YAML 有误：{exc}", file=where) from exc

    row_mode = raw.get("rows", "children")
    if row_mode not in ("children", "poor_villages", "self"):
        raise HBError(f"rows「{row_mode}」无效，应为 children、poor_villages 或 self", file=where)

    columns = []
    for number, col in enumerate(raw.get("columns") or [], start=1):
        key = col.get("field")
        if key not in fields:
            raise HBError(
                f"第 {number} 列引用了未定义的字段「{key}」",
                file=where,
                hint="先在 templates/fields.yaml 中定义",
            )
        role = col.get("role", "input")
        if role not in ROLES:
            raise HBError(f"字段「{key}」的 role「{role}」无效", file=where)
        formula = col.get("formula")
        if role == "derived" and formula is None:
            raise HBError(f"派生列「{key}」没有 formula", file=where)
        columns.append(
            Column(
                field=fields[key],
                role=role,
                number=number,
                formula=None if formula is None else str(formula),
                prefill=col.get("prefill"),
            )
        )
    keys = {c.key for c in columns}
    rules = []
    for r in raw.get("rules") or []:
        rule = Rule(
            id=str(r["id"]),
            expr=str(r["expr"]),
            message=str(r["message"]),
            importance=r.get("importance", "error"),
            missing=r.get("missing", "skip_if_any"),
        )
        unknown = set(rule.compiled().fields) - keys
        if unknown:
            raise HBError(f"规则 {rule.id} 引用了本表没有的字段：{'、'.join(sorted(unknown))}", file=where)
        rules.append(rule)
    rules = [_guarded(rule, columns) for rule in rules]
    for col in columns:
        if col.formula is not None:
            from hbreport.checks.rules import Expr

            unknown = set(Expr.parse(col.formula).fields) - keys
            if unknown:
                raise HBError(
                    f"派生列「{col.key}」的公式引用了本表没有的字段：{'、'.join(sorted(unknown))}", file=where
                )
    sheet = SheetSpec(
        form=str(raw["id"]),
        version=str(raw["version"]),
        sheet=str(raw["sheet"]),
        title=str(raw["title"]),
        table_no=str(raw.get("table_no", "")),
        authority=str(raw.get("authority", "")),
        approval=str(raw.get("approval", "")),
        valid_until=str(raw.get("valid_until", "")),
        measure_unit=str(raw.get("measure_unit", "")),
        rows=(),
        columns=tuple(columns),
        rules=tuple(rules),
        notes=tuple(str(n) for n in raw.get("notes") or ()),
        count_rows_as=raw.get("count_rows_as"),
    )
    return sheet, row_mode


INSTRUCTIONS = (
    "一、本工作簿由 hbreport 按《湖北省脱贫攻坚规划(2016—2020年)》生成，各表表号、指标与说明见各工作表。",
    "二、只能在白色（未锁定）单元格中填写；灰色单元格为预填基数或公式，已保护，不能修改。",
    "三、填写时即时校验：数据有效性限制数值范围与下拉选项；违反规则的单元格以红色（错误）或黄色（警告）标出，“校验结果”列写明原因。",
    "四、“错误”必须改正后才能上报汇总；“警告”请核实，确属实际情况的，在表下“说明”处写明原因。",
    "五、计划进度、完成率、进度状态由公式按规划年度进度自动计算，无需填写。",
    "六、请勿增删行列、改名或删除工作表，请勿在公式单元格中键入数字；否则上级汇总时将拒收。",
    "七、填好后保存为 .xlsx 格式（Excel、WPS、LibreOffice 均可），按原文件名报送上级扶贫部门。",
)


def unit_heading(unit, registry) -> dict[str, Any]:
    """A unit and the unit it reports to, as a workbook's spec names them (``unit_code`` … ``parent_name``)."""
    parent = registry.reporting_parent(unit.code)
    return {
        "unit_code": unit.code,
        "unit_name": unit.name,
        "level": unit.level,
        "parent_code": parent.code if parent else None,
        "parent_name": parent.name if parent else None,
    }


def build_workbook_spec(
    unit_code: str,
    period: int,
    *,
    registry=None,
    catalog=None,
    baseline=None,
    forms: tuple[str, ...] | None = None,
) -> WorkbookSpec:
    """The form family for one unit of a form level (township, county, prefecture, province)."""

    registry, catalog, baseline = Context.of(registry, catalog, baseline).parts
    unit = registry.get(unit_code)
    level = unit.level
    if level not in LEVEL_FORMS:
        raise HBError(
            f"单位「{unit.name}」({unit.code}) 的层级为 {level}，不填报汇总表",
            hint="表式按乡镇、县、市州、省四级生成",
        )
    children = registry.children(unit.code)
    rows = [RowUnit(c.code, c.name) for c in children]
    # Poor villages come from the baseline. A registry the baseline does not cover (e.g. the full
    # statistical tree) lists every village, and the clerk fills the poor ones (poor_rows None).
    poor_rows = None
    if level == "township":
        known = [r for r in rows if r.code in baseline.villages]
        if known:
            poor_rows = [r for r in known if baseline.villages[r.code].poor_village]
    parent = registry.reporting_parent(unit.code)
    sheets = tuple(
        render_form(f, unit=unit, level=level, period=period, rows=rows, poor_rows=poor_rows, catalog=catalog)
        for f in (forms or LEVEL_FORMS[level])
    )
    note = (
        project_task_note(unit.code, registry, catalog, baseline)
        if PROJECT_FORM in (forms or LEVEL_FORMS[level])
        else None
    )
    if note:  # the unit's own key-project tasks, beside what it reports (notes are not in the layout hash)
        sheets = tuple(replace(s, notes=(*s.notes, note)) if s.form == PROJECT_FORM else s for s in sheets)
    return WorkbookSpec(
        unit_code=unit.code,
        unit_name=unit.name,
        level=level,
        parent_code=parent.code if parent else None,
        parent_name=parent.name if parent else None,
        period=period,
        sheets=sheets,
        instructions=INSTRUCTIONS,
    )
