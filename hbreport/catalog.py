"""The plan's catalog: every target, schedule, standard and threshold, loaded from templates/indicators.yaml."""

from __future__ import annotations

import datetime as dt
import difflib
import re
from dataclasses import dataclass, field
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from hbreport.errors import HBError
from hbreport.paths import INDICATORS

LEVELS: tuple[str, ...] = ("province", "prefecture", "county", "township", "village", "household")
KINDS: tuple[str, ...] = ("baseline", "target", "schedule", "standard", "threshold", "funding")
AGGREGATIONS: tuple[str, ...] = ("sum", "ratio", "weighted_mean", "min", "max", "count_if", "last", "none")
DIRECTIONS: tuple[str, ...] = ("higher", "lower", "equal", "none")
# what a number counts when it is not an amount to reach: a designated set of units (243 个旅游扶贫村)
COUNTS: tuple[str, ...] = ("designated",)

QUOTE_GAP = "……"
"""Separates the fragments of a quote that leaves out part of the plan's sentence."""

CATALOG_VERSION = 1

_CODE_RE = re.compile(r"^[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)*$")
_FIELDS = (
    "code",
    "name",
    "kind",
    "unit",
    "value",
    "min",
    "max",
    "values",
    "schedule",
    "deadline",
    "base_year",
    "levels",
    "aggregation",
    "direction",
    "section",
    "quote",
    "region",
    "note",
    "discrepancy_with",
    "not_collected",
    "exclusive",
    "counts",
)
_REQUIRED = ("name", "kind", "unit", "levels", "aggregation", "direction", "section", "quote")

# unit → (base unit, power of ten): 1 万人 = 10^4 人, 1 % = 10^-2 ratio
_UNIT_SCALE: dict[str, tuple[str, int]] = {
    "人": ("人", 0),
    "万人": ("人", 4),
    "户": ("户", 0),
    "万户": ("户", 4),
    "人次": ("人次", 0),
    "万人次": ("人次", 4),
    "元": ("元", 0),
    "万元": ("元", 4),
    "亿元": ("元", 8),
    "ratio": ("ratio", 0),
    "%": ("ratio", -2),
    "‰": ("ratio", -3),
}


def _fmt(number: float) -> str:
    return str(int(number)) if float(number).is_integer() else repr(float(number))


@dataclass(frozen=True)
class Indicator:
    """One statement of the plan: a baseline, target, yearly schedule, standard, threshold or funding rule."""

    code: str
    name: str
    kind: str
    unit: str
    section: str
    quote: str
    levels: tuple[str, ...]
    aggregation: str
    direction: str
    value: float | None = None
    min: float | None = None
    max: float | None = None
    values: tuple[float, ...] | None = None
    schedule: dict[int, float] | None = field(default=None, hash=False)
    deadline: int | None = None
    region: str | None = None
    note: str | None = None
    discrepancy_with: tuple[str, ...] = ()
    base_year: int | None = None
    # why no form collects it (shown by ``hbreport catalog --coverage``), when no form column does
    not_collected: str | None = None
    # the plan's bound excludes the number itself: "大于98%" (min, exclusive), "小于5.9‰" (max, exclusive)
    exclusive: bool = False
    # what the number counts when that is not a quantity to reach, e.g. "designated" (a designated set)
    counts: str | None = None

    def meets(self, actual: float, lower: float | None, upper: float | None, tol: float = 1e-9) -> bool:
        """Whether ``actual`` lies within ``lower``/``upper`` (the entry's bounds in the caller's unit):
        inclusive for "以上/不低于/不超过", exclusive where the plan says "大于/小于"."""
        if self.exclusive:
            return (lower is None or actual > lower + tol) and (upper is None or actual < upper - tol)
        return (lower is None or actual >= lower - tol) and (upper is None or actual <= upper + tol)

    def bound(self) -> float:
        """The number to compare against: value, else min, else max."""
        for number in (self.value, self.min, self.max):
            if number is not None:
                return number
        if self.schedule is not None:
            hint = "这是逐年进度，请按年份取累计进度"
        elif self.values is not None:
            hint = "这是一组允许的取值（" + "、".join(_fmt(v) for v in self.values) + "），请逐个比较"
        else:
            hint = "这是定性条目，没有可比较的数值"
        raise HBError(f"指标「{self.code}」（{self.name}）没有单一的数值", hint=hint)

    def numbers(self) -> frozenset[float]:
        """Every number the entry states: value, bounds, allowed values, schedule years and shares, years."""
        found: set[float] = set()
        for number in (self.value, self.min, self.max, self.deadline, self.base_year):
            if number is not None:
                found.add(float(number))
        found.update(self.values or ())
        for year, share in (self.schedule or {}).items():
            found.update((float(year), share))
        return frozenset(found)

    def quote_fragments(self) -> tuple[str, ...]:
        """The quote's pieces, each the plan's own words, in the plan's order."""
        return tuple(part for part in self.quote.split(QUOTE_GAP) if part)

    def value_text(self) -> str:
        """The entry's number(s) as a short text: 390, ≥3000, 3—5, 50、75、100、125, 2016年35；… or — ."""
        if self.value is not None:
            return _fmt(self.value)
        if self.min is not None and self.max is not None:
            return f"{_fmt(self.min)}—{_fmt(self.max)}"
        if self.min is not None:
            return f"{'>' if self.exclusive else '≥'}{_fmt(self.min)}"
        if self.max is not None:
            return f"{'<' if self.exclusive else '≤'}{_fmt(self.max)}"
        if self.values is not None:
            return "、".join(_fmt(v) for v in self.values)
        if self.schedule is not None:
            return "；".join(f"{year}年{_fmt(share)}" for year, share in sorted(self.schedule.items()))
        return "—"


_INDICATOR_FIELDS = tuple(Indicator.__dataclass_fields__)


def convert(number: float, from_unit: str, to_unit: str) -> float:
    """Convert between units of one family (万人→人, 亿元→万元, %→ratio, ‰→%); HBError if they differ in kind."""
    if from_unit == to_unit:
        return float(number)
    source = _UNIT_SCALE.get(from_unit)
    target = _UNIT_SCALE.get(to_unit)
    if source is None or target is None or source[0] != target[0]:
        known = "、".join(_UNIT_SCALE)
        raise HBError(
            f"单位「{from_unit}」不能换算为「{to_unit}」",
            hint=f"只能在同类单位之间换算（人/万人、户/万户、元/万元/亿元、人次/万人次、%/‰/ratio）：{known}",
        )
    return float(Decimal(repr(float(number))).scaleb(source[1] - target[1]))


@dataclass
class Catalog:
    """The loaded catalog: indicators by code, office-set parameters, and the plan's title and years."""

    indicators: dict[str, Indicator]
    parameters: dict[str, Any]
    title: str
    start: int
    end: int
    regions: tuple[str, ...] = ()
    path: Path | None = None

    def __getitem__(self, code: str) -> Indicator:
        try:
            return self.indicators[code]
        except KeyError:
            close = difflib.get_close_matches(str(code), self.indicators, n=3)
            hint = "请检查代码拼写" + (f"，是否是：{'、'.join(close)}" if close else "")
            raise HBError(f"指标目录中没有代码为「{code}」的指标", file=self.path, hint=hint) from None

    def __contains__(self, code: object) -> bool:
        return code in self.indicators

    def __iter__(self):
        return iter(self.indicators.values())

    def __len__(self) -> int:
        return len(self.indicators)

    def number(self, code: str, unit: str | None = None) -> float:
        """The indicator's bound(), converted to `unit` when given (e.g. 万人 → 人, % → ratio)."""
        indicator = self[code]
        bound = indicator.bound()
        if unit is None:
            return bound
        try:
            return convert(bound, indicator.unit, unit)
        except HBError as exc:
            raise HBError(f"指标「{code}」的{exc.message}", file=self.path, hint=exc.hint) from None

    def cumulative_share(self, code: str, year: int) -> float:
        """Share of the base expected to be done by the end of `year`, as a fraction in [0, 1]."""
        indicator = self[code]
        if indicator.schedule is None:
            raise HBError(
                f"指标「{code}」（{indicator.name}）不是年度进度，不能计算累计进度",
                file=self.path,
                hint="请使用 kind 为 schedule 的指标，如 SCHED_PEOPLE_EXIT",
            )
        done = sum(
            (Decimal(repr(share)) for y, share in indicator.schedule.items() if y <= year),
            Decimal(0),
        )
        return float(done / 100)

    def parameter(self, name: str, year: int) -> float:
        """An office-set yearly value from parameters (by_year: {年: {value: …}} or values: {年: 数}); HBError if absent."""
        return float(self._parameter_item(name, year)[0])

    def parameter_confirmed(self, name: str, year: int) -> bool:
        """Whether the office has confirmed that year's value (sample values are not)."""
        return self._parameter_item(name, year)[1]

    def county_parameter(self, name: str, code: str, year: int) -> float | None:
        """A value an office sets per county and year (``by_county: {县代码6位: {年: 数值}}``), for the
        county of ``code`` (any unit code inside it); None where none is set."""
        entry = self.parameters.get(name)
        counties = entry.get("by_county") if isinstance(entry, dict) else None
        if not isinstance(counties, dict) or len(code) < 6:
            return None
        yearly = counties.get(code[:6], counties.get(int(code[:6])) if code[:6].isdigit() else None)
        item = yearly.get(year) if isinstance(yearly, dict) else None
        value = item.get("value") if isinstance(item, dict) else item
        return float(value) if _is_number(value) and value > 0 else None

    def poverty_line(self, year: int) -> float:
        """The poverty line (元) an office set for `year`, from parameters.poverty_line."""
        return self.parameter("poverty_line", year)

    def poverty_line_confirmed(self, year: int) -> bool:
        """Whether the office has confirmed `year`'s poverty line (sample values are not)."""
        return self.parameter_confirmed("poverty_line", year)

    def setting(self, name: str, *keys: str) -> Any:
        """An office setting among the parameters that is not yearly (report_min_coverage, reporting_due):
        its ``value`` (or the given keys, as a tuple); HBError naming the catalog when it is missing."""
        entry = self.parameters.get(name)
        keys = keys or ("value",)
        if not isinstance(entry, dict) or any(not _is_number(entry.get(k)) for k in keys):
            raise HBError(
                f"指标目录的 parameters 中没有设定「{name}」（{'、'.join(keys)}）",
                file=self.path,
                hint=f"在 indicators.yaml 的 parameters 下写 {name}: {{"
                + ", ".join(f"{k}: 数值" for k in keys)
                + "}",
            )
        values = tuple(entry[k] for k in keys)
        return values[0] if len(values) == 1 else values

    def min_coverage(self) -> float:
        """The share of children that must be consolidated before a report judges the unit as a whole."""
        return convert(self.setting("report_min_coverage"), "%", "ratio")

    def reporting_due(self, year: int) -> dt.date:
        """The day a period's annual forms are due (the next year's month and day set in the catalog)."""
        month, day = self.setting("reporting_due", "month", "day")
        return dt.date(year + 1, int(month), int(day))

    def _parameter_item(self, name: str, year: int) -> tuple[float, bool]:
        entry = self.parameters.get(name)
        label = entry.get("name", name) if isinstance(entry, dict) else name
        if not isinstance(entry, dict) or not ({"by_year", "values"} & set(entry)):
            raise HBError(
                f"参数「{name}」没有设定逐年数值",
                file=self.path,
                hint=f"在 parameters 下写 {name}: {{by_year: {{{year}: {{value: 数值, confirmed: true}}}}}}",
            )
        yearly = entry.get("by_year", entry.get("values"))
        item = yearly.get(year)
        if item is None:
            have = "、".join(f"{y}年" for y in sorted(yearly)) or "无"
            raise HBError(
                f"参数「{name}」（{label}）没有{year}年的数值（已设定：{have}）",
                file=self.path,
                hint=f"在 parameters → {name} 下补上 {year} 年的数值，核实后标 confirmed: true",
            )
        if isinstance(item, dict):
            return item["value"], bool(item.get("confirmed", entry.get("confirmed", False)))
        return item, bool(entry.get("confirmed", False))

    def discrepancies(self) -> list[tuple[Indicator, Indicator]]:
        """Pairs of entries where the plan states one thing two ways; each pair once, ordered by code."""
        pairs = set()
        for indicator in self.indicators.values():
            for other in indicator.discrepancy_with:
                pairs.add(tuple(sorted((indicator.code, other))))
        return [(self.indicators[a], self.indicators[b]) for a, b in sorted(pairs)]

    def for_level(self, level: str) -> list[Indicator]:
        """Indicators that apply at `level`, in catalog order."""
        if level not in LEVELS:
            raise HBError(f"层级「{level}」无效", hint="可选：" + "、".join(LEVELS))
        return [i for i in self.indicators.values() if level in i.levels]

    def by_region(self, region: str) -> list[Indicator]:
        """A region's (片区) own targets, in catalog order."""
        if region not in self.regions:
            raise HBError(
                f"片区「{region}」不在规划中", file=self.path, hint="可选：" + "、".join(self.regions)
            )
        return [i for i in self.indicators.values() if i.region == region]


def catalog_table(cat: Catalog) -> list[dict[str, Any]]:
    """One row per indicator for printing: code, name, value text, unit, deadline, section."""
    return [
        {
            "code": i.code,
            "name": i.name,
            "value": i.value_text(),
            "unit": i.unit,
            "deadline": i.deadline,
            "section": i.section,
        }
        for i in cat
    ]


def load_catalog(path: str | Path | None = None) -> Catalog:
    """Load and validate the catalog (default templates/indicators.yaml).

    The result is cached until the file changes and shared between callers: treat it as read-only.
    """
    source = Path(path) if path is not None else INDICATORS
    try:
        resolved = source.resolve()
        stat = resolved.stat()
    except OSError:
        raise HBError(
            "找不到指标目录文件",
            file=source,
            hint="请确认路径正确；默认的指标目录在 templates/indicators.yaml",
        ) from None
    return _load_cached(resolved, stat.st_mtime_ns, stat.st_size)


@lru_cache(maxsize=16)
def _load_cached(path: Path, mtime_ns: int, size: int) -> Catalog:
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise HBError("指标目录文件不是 UTF-8 编码", file=path, hint="请用 UTF-8 编码保存该文件") from None
    return _parse_kept(text, path)


def _parse_kept(text: str, path: Path) -> Catalog:
    """The catalog of ``text``, parsed and checked once per text and kept between runs
    (:mod:`hbreport.kept`): parsing the YAML costs ~0.04 s, reading the kept copy back a tenth of that.
    A text with an error is never kept: it raises its message each time."""
    from hbreport.kept import kept

    return kept(
        "catalog",
        text,
        lambda t: parse_catalog(t, path),
        plain=_plain_catalog,
        build=lambda data: _built_catalog(data, path),
    )


def _plain_catalog(cat: Catalog) -> dict[str, Any]:
    """A parsed catalog as JSON data (:func:`_built_catalog` makes it again)."""
    indicators = []
    for indicator in cat.indicators.values():
        entry = {name: getattr(indicator, name) for name in _INDICATOR_FIELDS}
        for name in ("levels", "values", "discrepancy_with"):
            if entry[name] is not None:
                entry[name] = list(entry[name])
        if entry["schedule"] is not None:
            entry["schedule"] = [[year, share] for year, share in entry["schedule"].items()]
        indicators.append(entry)
    return {
        "indicators": indicators,
        "parameters": _plain_value(cat.parameters),
        "title": cat.title,
        "start": cat.start,
        "end": cat.end,
        "regions": list(cat.regions),
    }


def _built_catalog(data: dict[str, Any], path: Path | None) -> Catalog:
    indicators = {}
    for entry in data["indicators"]:
        entry = dict(entry)
        for name in ("levels", "values", "discrepancy_with"):
            if entry[name] is not None:
                entry[name] = tuple(entry[name])
        if entry["schedule"] is not None:
            entry["schedule"] = {year: share for year, share in entry["schedule"]}
        indicator = Indicator(**entry)
        indicators[indicator.code] = indicator
    return Catalog(
        indicators=indicators,
        parameters=_built_value(data["parameters"]),
        title=data["title"],
        start=data["start"],
        end=data["end"],
        regions=tuple(data["regions"]),
        path=path,
    )


def _plain_value(value: Any) -> Any:
    """YAML data as JSON data: a mapping (whose keys may be years) as {"d": [[key, value], …]}, so
    that every JSON object is one; anything but mappings, lists and JSON's scalars is a TypeError
    (such a catalog is not kept)."""
    if isinstance(value, dict):
        return {"d": [[_plain_value(k), _plain_value(v)] for k, v in value.items()]}
    if isinstance(value, list):
        return [_plain_value(v) for v in value]
    if value is None or isinstance(value, str | int | float):
        return value
    raise TypeError(f"not kept: {type(value).__name__}")


def _built_value(value: Any) -> Any:
    if isinstance(value, dict):
        return {_built_value(k): _built_value(v) for k, v in value["d"]}
    if isinstance(value, list):
        return [_built_value(v) for v in value]
    return value


def parse_catalog(text: str, source: str | Path | None = None) -> Catalog:
    """Parse and validate catalog YAML text; `source` names the file in error messages."""
    path = Path(source) if source is not None else None
    data, node = _read_yaml(text, path)
    return _Validator(path).catalog(data, node)


_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when present: 0.12 s → 0.02 s a load


def _read_yaml(text: str, path: Path | None) -> tuple[Any, yaml.Node | None]:
    loader = _LOADER(text)
    try:
        node = loader.get_single_node()
        if node is not None:
            _reject_duplicate_keys(node, path)
        data = loader.construct_document(node) if node is not None else None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        line = f"第{mark.line + 1}行" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise HBError(
            f"YAML 格式错误（{line}）：{problem}",
            file=path,
            hint='检查该行的缩进、冒号和引号；以 % 开头的值要加引号，如 unit: "%"',
        ) from None
    finally:
        loader.dispose()
    return data, node


def _reject_duplicate_keys(node: yaml.Node, path: Path | None, owner: str = "") -> None:
    """PyYAML keeps the last of two equal keys silently; a catalog editor must hear about it."""
    if isinstance(node, yaml.MappingNode):
        code = _child_node(node, "code")
        if isinstance(code, yaml.ScalarNode) and code.value:
            owner = f"指标「{code.value}」"
        seen: dict[str, int] = {}
        for key, value in node.value:
            if isinstance(key, yaml.ScalarNode):
                line = key.start_mark.line + 1
                if key.value in seen:
                    where = f"{owner}（第{line}行）" if owner else f"第{line}行"
                    raise HBError(
                        f"{where}的字段「{key.value}」重复（另见第{seen[key.value]}行）",
                        file=path,
                        hint="同一处每个字段只能写一次，请删去多余的一个",
                    )
                seen[key.value] = line
            _reject_duplicate_keys(value, path, owner)
    elif isinstance(node, yaml.SequenceNode):
        for item in node.value:
            _reject_duplicate_keys(item, path, owner)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _is_year(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _child_node(node: yaml.Node | None, key: str) -> yaml.Node | None:
    if isinstance(node, yaml.MappingNode):
        for k, v in node.value:
            if isinstance(k, yaml.ScalarNode) and k.value == key:
                return v
    return None


class _Validator:
    """Checks the catalog's structure and each entry, raising HBError that names the entry and field."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self.start = 0
        self.end = 0
        self.regions: tuple[str, ...] = ()

    def fail(self, message: str, hint: str | None = None) -> HBError:
        return HBError(message, file=self.path, hint=hint)

    def catalog(self, data: Any, node: yaml.Node | None) -> Catalog:
        if not isinstance(data, dict):
            raise self.fail(
                "指标目录为空或不是“字段: 值”的形式", "文件应以 version、plan、indicators 三节开头"
            )
        if data.get("version") != CATALOG_VERSION:
            raise self.fail(
                f"指标目录的 version 为「{data.get('version')}」，本程序只认 {CATALOG_VERSION}",
                f"在文件开头写 version: {CATALOG_VERSION}",
            )
        title = self.plan(data.get("plan"))
        raw_entries = data.get("indicators")
        if not isinstance(raw_entries, list) or not raw_entries:
            raise self.fail(
                "指标目录缺少 indicators 一节，或其中没有指标", "indicators: 下每条指标以 “- code:” 开头"
            )
        entry_nodes = _child_node(node, "indicators")
        lines = [item.start_mark.line + 1 for item in getattr(entry_nodes, "value", [])]
        indicators: dict[str, Indicator] = {}
        first_line: dict[str, int] = {}
        for number, raw in enumerate(raw_entries, start=1):
            line = lines[number - 1] if number - 1 < len(lines) else 0
            indicator = self.entry(raw, number, line)
            if indicator.code in indicators:
                raise self.fail(
                    f"指标代码「{indicator.code}」重复（第{first_line[indicator.code]}行和第{line}行）",
                    "每个代码只能用一次，请给其中一条改一个代码",
                )
            indicators[indicator.code] = indicator
            first_line[indicator.code] = line
        self.links(indicators)
        parameters = self.parameters(data.get("parameters"))
        unknown = sorted(set(data) - {"version", "plan", "indicators", "parameters"})
        if unknown:
            raise self.fail(
                f"指标目录有未知的一节「{unknown[0]}」", "只能有 version、plan、indicators、parameters 四节"
            )
        return Catalog(
            indicators=indicators,
            parameters=parameters,
            title=title,
            start=self.start,
            end=self.end,
            regions=self.regions,
            path=self.path,
        )

    def plan(self, plan: Any) -> str:
        if not isinstance(plan, dict):
            raise self.fail("指标目录缺少 plan 一节", "写 plan: {title: 规划名称, start: 2016, end: 2020}")
        title, start, end = plan.get("title"), plan.get("start"), plan.get("end")
        if not isinstance(title, str) or not title.strip():
            raise self.fail("plan 的 title（规划名称）为空", "填写规划全称")
        if not _is_year(start) or not _is_year(end) or start > end:
            raise self.fail(
                f"plan 的 start/end 应为起止年份，实际为「{start}」「{end}」", "如 start: 2016, end: 2020"
            )
        regions = plan.get("regions", [])
        if not isinstance(regions, list) or not all(isinstance(r, str) and r for r in regions):
            raise self.fail(
                "plan 的 regions 应为片区名称列表", "如 regions: [大别山, 武陵山, 秦巴山, 幕阜山]"
            )
        self.start, self.end, self.regions = start, end, tuple(regions)
        return title

    def entry(self, raw: Any, number: int, line: int) -> Indicator:
        at = f"第{line}行" if line else f"第{number}条"
        if not isinstance(raw, dict):
            raise self.fail(f"第{number}条指标（{at}）不是“字段: 值”的形式", "每条指标以 “- code: 代码” 开头")
        code = raw.get("code")
        if not isinstance(code, str) or not code:
            raise self.fail(
                f"第{number}条指标（{at}）缺少字段「code」", "填写唯一的英文大写代码，如 RELOC_PEOPLE"
            )
        who = f"指标「{code}」（{at}）"
        if not _CODE_RE.match(code):
            raise self.fail(
                f"{who}的字段「code」格式不对：只能用大写英文字母、数字和下划线，且以字母开头",
                "如 BASE_POOR_PEOPLE",
            )

        def bad(field_name: str, problem: str, hint: str | None = None) -> HBError:
            return self.fail(f"{who}的字段「{field_name}」{problem}", hint)

        for key in raw:
            if key not in _FIELDS:
                close = difflib.get_close_matches(str(key), _FIELDS, n=1)
                hint = f"是否应为「{close[0]}」？" if close else "可用字段：" + "、".join(_FIELDS)
                raise self.fail(f"{who}有未知字段「{key}」", hint)
        for key in _REQUIRED:
            if key not in raw or raw[key] is None:
                raise bad(key, "缺失", "每条指标都要写 " + "、".join(_REQUIRED))
        for key in ("name", "section", "quote"):
            if not isinstance(raw[key], str) or not raw[key].strip():
                raise bad(key, "应为非空文字")
        if not isinstance(raw["unit"], str):
            raise bad("unit", f"应为文字，实际为「{raw['unit']}」", '百分号要加引号：unit: "%"')
        for key, allowed in (("kind", KINDS), ("aggregation", AGGREGATIONS), ("direction", DIRECTIONS)):
            if raw[key] not in allowed:
                raise bad(key, f"的值「{raw[key]}」无效", "可选：" + "、".join(allowed))

        levels = raw["levels"]
        if not isinstance(levels, list) or not levels:
            raise bad("levels", "应为非空列表", "如 levels: [province, prefecture, county]")
        for level in levels:
            if level not in LEVELS:
                raise bad("levels", f"中的「{level}」不是有效层级", "可选：" + "、".join(LEVELS))
        if len(set(levels)) != len(levels):
            raise bad("levels", "中有重复的层级")

        forms = [k for k in ("value", "values", "schedule") if raw.get(k) is not None]
        if raw.get("min") is not None or raw.get("max") is not None:
            forms.append("min/max")
        if len(forms) > 1:
            raise bad(
                forms[1],
                f"与「{forms[0]}」不能同时使用",
                "数值只能写一种：value，或 min/max，或 values，或 schedule",
            )
        numbers: dict[str, float | None] = {}
        for key in ("value", "min", "max"):
            value = raw.get(key)
            if value is not None and not _is_number(value):
                shown = f"文字「{value}」" if isinstance(value, str) else f"「{value}」"
                raise bad(key, f"应为数字，实际为{shown}", "去掉引号和单位，只写数字，单位写在 unit")
            numbers[key] = float(value) if value is not None else None
        if numbers["min"] is not None and numbers["max"] is not None and numbers["min"] > numbers["max"]:
            raise bad(
                "min", f"（{_fmt(numbers['min'])}）大于 max（{_fmt(numbers['max'])}）", "请检查上下限是否写反"
            )

        values = raw.get("values")
        if values is not None:
            if not isinstance(values, list) or not values or not all(_is_number(v) for v in values):
                raise bad("values", "应为数字列表", "如 values: [50, 75, 100, 125]")
            if len(set(values)) != len(values):
                raise bad("values", "中有重复的数")
            values = tuple(float(v) for v in values)

        schedule = raw.get("schedule")
        if raw["kind"] == "schedule" and schedule is None:
            raise bad(
                "schedule", "缺失：kind 为 schedule 的指标要写逐年进度", "如 schedule: {2016: 35, 2017: 35}"
            )
        if schedule is not None:
            schedule = self.schedule(schedule, raw, bad)

        unit = raw["unit"]
        if forms and not unit.strip():
            raise bad("unit", "为空，但该指标有数值", "照规划原文写单位，如 万人、个、%")

        deadline = raw.get("deadline")
        if deadline is not None and (not _is_year(deadline) or not self.start <= deadline <= self.end):
            raise bad("deadline", f"应为 {self.start}—{self.end} 之间的年份，实际为「{deadline}」")
        base_year = raw.get("base_year")
        if base_year is not None and (not _is_year(base_year) or base_year > self.end):
            raise bad("base_year", f"应为不晚于 {self.end} 的年份，实际为「{base_year}」")

        region = raw.get("region")
        if region is not None and region not in self.regions:
            raise bad("region", f"的值「{region}」不是规划中的片区", "可选：" + "、".join(self.regions))
        for key in ("note", "not_collected"):
            if raw.get(key) is not None and not isinstance(raw[key], str):
                raise bad(key, "应为文字")
        note = raw.get("note")
        exclusive = raw.get("exclusive", False)
        if not isinstance(exclusive, bool):
            raise bad("exclusive", f"应为 true 或 false，实际为「{exclusive}」")
        if exclusive and numbers["min"] is None and numbers["max"] is None:
            raise bad("exclusive", "只用于有 min 或 max 的指标（原文“大于”“小于”）")
        counts = raw.get("counts")
        if counts is not None and counts not in COUNTS:
            raise bad("counts", f"的值「{counts}」无效", "可选：" + "、".join(COUNTS))
        quote = raw["quote"]
        if not [part for part in quote.split(QUOTE_GAP) if part.strip()]:
            raise bad("quote", "只有省略号，没有原文")

        links = raw.get("discrepancy_with", [])
        if isinstance(links, str):
            links = [links]
        if not isinstance(links, list) or not all(isinstance(c, str) and c for c in links):
            raise bad("discrepancy_with", "应为指标代码列表", "如 discrepancy_with: [RELOC_PEOPLE_MAIN]")
        if code in links:
            raise bad("discrepancy_with", "不能引用自己")

        return Indicator(
            code=code,
            name=raw["name"].strip(),
            kind=raw["kind"],
            unit=unit.strip(),
            section=raw["section"].strip(),
            quote=quote.strip(),
            levels=tuple(levels),
            aggregation=raw["aggregation"],
            direction=raw["direction"],
            value=numbers["value"],
            min=numbers["min"],
            max=numbers["max"],
            values=values,
            schedule=schedule,
            deadline=deadline,
            region=region,
            note=note,
            discrepancy_with=tuple(links),
            base_year=base_year,
            not_collected=raw.get("not_collected"),
            exclusive=exclusive,
            counts=counts,
        )

    def schedule(self, schedule: Any, raw: dict[str, Any], bad) -> dict[int, float]:
        if raw["kind"] != "schedule":
            raise bad("schedule", f"只能用于 kind 为 schedule 的指标（本条 kind 为 {raw['kind']}）")
        if raw["unit"] != "%":
            raise bad("unit", f"应为 %（逐年进度按占基数的百分比写），实际为「{raw['unit']}」")
        if not isinstance(schedule, dict) or not schedule:
            raise bad("schedule", "应为“年份: 百分比”的列表", "如 schedule: {2016: 35, 2017: 35}")
        result: dict[int, float] = {}
        for year, share in schedule.items():
            if not _is_year(year) or not self.start <= year <= self.end:
                raise bad("schedule", f"中的年份「{year}」应在 {self.start}—{self.end} 之间")
            if not _is_number(share) or share < 0:
                raise bad("schedule", f"中 {year} 年的值「{share}」应为不小于 0 的数字")
            result[year] = float(share)
        total = sum(Decimal(repr(v)) for v in result.values())
        if total > 100:
            raise bad(
                "schedule", f"各年合计 {_fmt(float(total))}%，超过 100%", "逐年进度写当年新增的比例，不是累计"
            )
        return dict(sorted(result.items()))

    def links(self, indicators: dict[str, Indicator]) -> None:
        for indicator in indicators.values():
            for other in indicator.discrepancy_with:
                if other not in indicators:
                    raise self.fail(
                        f"指标「{indicator.code}」的字段「discrepancy_with」引用了不存在的指标「{other}」",
                        "请写规划中与之矛盾的那一条的代码",
                    )
                if indicator.code not in indicators[other].discrepancy_with:
                    raise self.fail(
                        f"指标「{other}」的字段「discrepancy_with」缺少「{indicator.code}」"
                        f"（「{indicator.code}」已标注与它不一致）",
                        "两条互相矛盾的指标要互相引用",
                    )

    def parameters(self, parameters: Any) -> dict[str, Any]:
        if parameters is None:
            return {}
        if not isinstance(parameters, dict):
            raise self.fail("parameters 一节应为“名称: 设定”的形式")
        for name, entry in parameters.items():
            if not isinstance(entry, dict):
                continue
            if "by_year" in entry and "values" in entry:
                raise self.fail(f"参数「{name}」的 by_year 与 values 不能同时使用", "逐年数值只写一种")
            key = "by_year" if "by_year" in entry else "values" if "values" in entry else None
            if key is None:
                continue
            yearly = entry[key]
            if not isinstance(yearly, dict) or not yearly:
                raise self.fail(f"参数「{name}」的 {key} 应为“年份: 数值”的列表", f"如 {key}: {{2017: 数值}}")
            for year, item in yearly.items():
                if not _is_year(year):
                    raise self.fail(f"参数「{name}」的 {key} 中「{year}」不是年份")
                value = item.get("value") if isinstance(item, dict) else item
                if not _is_number(value) or value <= 0:
                    raise self.fail(
                        f"参数「{name}」{year}年的数值应为正数，实际为「{value}」",
                        f"写 {year}: {{value: 数值, confirmed: false}}"
                        if key == "by_year"
                        else f"写 {year}: 数值",
                    )
                confirmed = item.get("confirmed", False) if isinstance(item, dict) else False
                if not isinstance(confirmed, bool) or not isinstance(entry.get("confirmed", False), bool):
                    raise self.fail(f"参数「{name}」的 confirmed 应为 true 或 false")
        return parameters
