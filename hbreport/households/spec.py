"""The household roster (建档立卡台账) as a form spec: one row per registered poor household.

The roster is its own workbook per township. Its rows are households (``RowUnit(code=户编号,
name=户主姓名)``), its columns and rules come from templates/forms/household_roster.yaml.j2 over the
data elements of templates/household_fields.yaml, and its identity (family ``hbreport.roster``, the
registration export's sha256, the household ids) goes into ``_meta`` so a reader can refuse a roster
that is not what it claims. The template's ``config`` section holds what an office configures: the
"一有、两不愁、四保障" checklist, the exit statuses, the plausibility thresholds and the county exit
criteria.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from operator import attrgetter
from pathlib import Path
from typing import Any

import jinja2
import yaml

from hbreport import __version__, paths
from hbreport.errors import HBError
from hbreport.spec import Field, RowUnit, WorkbookSpec, load_fields, render_form, unit_heading

ROSTER_FAMILY = "hbreport.roster"
ROSTER_FORM = "household_roster"
HOUSEHOLD_FIELDS = paths.TEMPLATES / "household_fields.yaml"
MAX_HOUSEHOLD_ID = 24  # characters; ids are joined into _meta cells of at most 32,767 characters
IDS_PER_META_CELL = 1000

ROSTER_INSTRUCTIONS = (
    "一、本工作簿是乡镇的建档立卡贫困户台账，由 hbreport 按《湖北省脱贫攻坚规划(2016—2020年)》生成，每户一行。",
    "二、户编号、户主姓名、证件号码、家庭人口、村代码、所在村来自建档立卡系统，已预填并锁定；有误的请在系统中更正，由上级重新下发台账。",
    "三、只能在白色（未锁定）单元格中填写；“是/否”等栏目请从下拉列表中选择。",
    "四、“达到脱贫标准”由公式按规划的贫困户脱贫标准自动判断：收入超过当年扶贫标准、“两不愁、四保障”，有劳动能力的户还须有增收致富主业、掌握就业创业技能、收入增幅高于全省平均，无劳动能力的户须纳入低保或五保；标为已脱贫而未达到的，“校验结果”列以红色标出未达到的各项。",
    "五、“错误”必须改正后才能上报；“警告”请核实，确属实际情况的，在表下“说明”处写明原因。",
    "六、“村汇总”工作表按村自动统计户数、人数、本年脱贫、返贫、新识别和未脱贫户数，用于核对鄂扶贫01表、02表。",
    "七、请勿增删行列、调换行序、改名或删除工作表；填好后保存为 .xlsx 格式，按原文件名报送上级扶贫部门。",
)


@dataclass(frozen=True)
class Household:
    """A registered household as the registration export gives it (the roster's prefilled part)."""

    household_id: str
    head_name: str
    village_code: str
    village_name: str
    id_number: str | None = None
    household_size: int | None = None
    # what a fuller export also gives (致贫原因, 贫困户属性, 劳动能力, 人均纯收入…): (field, value) pairs
    # written into the township's input cells, which the township may correct
    extra: tuple[tuple[str, Any], ...] = field(default=(), compare=False)

    def inputs(self) -> dict[str, Any]:
        """The input cells the export fills."""
        return dict(self.extra)

    def prefill(self) -> dict[str, Any]:
        """The values of the roster's prefilled columns."""
        return {
            "id_number": self.id_number,
            "household_size": self.household_size,
            "village_code": self.village_code,
            "village_name": self.village_name,
        }


PREFILLED = ("id_number", "household_size", "village_code", "village_name")
"""The roster's prefilled columns (:meth:`Household.prefill`)."""


def prefill_columns(households: Sequence[Household]) -> dict[str, list[Any]]:
    """The prefilled values of ``households`` by column, {field: one value per household, in order}."""
    return {key: list(map(attrgetter(key), households)) for key in PREFILLED}


@dataclass(frozen=True)
class RosterConfig:
    """What an office configures in the roster template's ``config`` section."""

    checklist: tuple[str, ...]
    exited_statuses: tuple[str, ...]
    remaining_statuses: tuple[str, ...]
    returned_status: str
    not_exited_status: str
    poverty_line: float
    plausibility: Mapping[str, float] = field(hash=False)
    county_exit: tuple[Mapping[str, Any], ...] = field(hash=False)
    work_checklist: tuple[str, ...] = ()  # what 有劳动能力 households must also have (一有, 技能)
    with_labour: tuple[str, ...] = ()  # 劳动能力 values of the work route
    without_labour: tuple[str, ...] = ()  # 劳动能力 values of the welfare route (无劳动能力)
    welfare_statuses: tuple[str, ...] = ()  # 低保五保 values that count as 兜底保障

    def is_exited(self, status: Any) -> bool:
        return status in self.exited_statuses

    def is_remaining(self, status: Any) -> bool:
        return status in self.remaining_statuses


@dataclass(frozen=True)
class RosterSpec(WorkbookSpec):
    """A township's roster: a WorkbookSpec whose one sheet has a row per household."""

    roster_sha256: str = ""
    villages: tuple[RowUnit, ...] = ()
    config: RosterConfig | None = field(default=None, hash=False, compare=False)
    households: tuple[Household, ...] = field(default=(), hash=False, compare=False)

    @property
    def sheet_spec(self):
        return self.sheets[0]

    @property
    def household_ids(self) -> tuple[str, ...]:
        return tuple(r.code for r in self.sheets[0].rows)

    def households_sha256(self) -> str:
        return ids_digest(self.household_ids)

    def meta(self) -> dict[str, str]:
        meta = super().meta()
        meta.update(
            family=ROSTER_FAMILY,
            generator=f"hbreport {__version__}",
            roster_sha256=self.roster_sha256,
            households=str(len(self.household_ids)),
            households_sha256=self.households_sha256(),
            prefill_sha256=prefill_digest(self.households),
        )
        return meta

    def meta_id_chunks(self) -> list[tuple[str, str]]:
        """The household ids as (key, comma-joined ids) pairs, each fitting one Excel cell."""
        ids = self.household_ids
        return [
            (f"households.{i // IDS_PER_META_CELL + 1}", ",".join(ids[i : i + IDS_PER_META_CELL]))
            for i in range(0, len(ids), IDS_PER_META_CELL)
        ]

    def file_name(self) -> str:
        return roster_file_name(self.unit_code, self.unit_name, self.period)


def roster_file_name(code: str, name: str, period: int) -> str:
    """``<乡镇代码>_<乡镇名>_<期>_台账.xlsx`` (a name's unsafe characters become ``_``)."""
    from hbreport.spec import safe_file_part

    return f"{code[:9]}_{safe_file_part(name)}_{period}_台账.xlsx"


def ids_digest(ids: Iterable[str]) -> str:
    """sha256 of the household ids in roster order (one per line)."""
    return hashlib.sha256("\n".join(ids).encode("utf-8")).hexdigest()


def prefill_digest(households: Iterable[Household]) -> str:
    """sha256 of what the export put into the roster (户编号, 户主姓名 and the prefilled columns)."""
    lines = []
    for h in households:
        size = "" if h.household_size is None else str(h.household_size)
        parts = (h.household_id, h.head_name, h.id_number or "", size, h.village_code, h.village_name)
        lines.append("\t".join(parts))
    return hashlib.sha256("\n".join(lines).encode("utf-8")).hexdigest()


def household_fields(path: str | Path | None = None) -> dict[str, Field]:
    """The roster's data elements (templates/household_fields.yaml)."""
    return load_fields(path or HOUSEHOLD_FIELDS)


# ---------------------------------------------------------------- the template's config section


@lru_cache(maxsize=64)
def _parse(text: str) -> Any:
    """The rendered template parsed once per distinct text (shared: callers must not change it), kept
    between runs as the form specs are (``hbreport.spec._load_yaml``: a reading process's first roster
    reads JSON instead of building the YAML's objects)."""
    from hbreport.spec import _load_yaml

    return _load_yaml(text)


def roster_config(period: int, *, catalog=None, forms_dir: Path | None = None) -> RosterConfig:
    """The ``config`` section of the roster template rendered for ``period``."""
    from hbreport.catalog import load_catalog
    from hbreport.spec import _context, _jinja_env  # the same templates and context as the form specs

    catalog = catalog or load_catalog()
    forms_dir = Path(forms_dir or paths.FORMS).resolve()
    name = f"{ROSTER_FORM}.yaml.j2"
    where = forms_dir / name
    try:
        text = (
            _jinja_env(forms_dir).get_template(name).render(**_context(catalog, "township", period, None, []))
        )
        raw = _parse(text) or {}
    except jinja2.TemplateError as exc:
        raise HBError(f"台账模板渲染失败：{exc}", file=where, hint="检查模板中的变量与参数") from exc
    except yaml.YAMLError as exc:
        raise HBError(f"台账模板渲染后的 YAML 有误：{exc}", file=where) from exc
    cfg = raw.get("config")
    if not isinstance(cfg, dict):
        raise HBError("台账模板缺少 config 一节", file=where, hint="按模板说明补上 config")
    try:
        return RosterConfig(
            checklist=tuple(str(k) for k in cfg["checklist"]),
            exited_statuses=tuple(str(s) for s in cfg["exited_statuses"]),
            remaining_statuses=tuple(str(s) for s in cfg["remaining_statuses"]),
            returned_status=str(cfg["returned_status"]),
            not_exited_status=str(cfg["not_exited_status"]),
            poverty_line=float(cfg["poverty_line"]),
            plausibility={k: float(v) for k, v in (cfg.get("plausibility") or {}).items()},
            county_exit=tuple(dict(c) for c in cfg.get("county_exit") or ()),
            work_checklist=tuple(str(k) for k in cfg.get("work_checklist") or ()),
            with_labour=tuple(str(k) for k in cfg.get("with_labour") or ()),
            without_labour=tuple(str(k) for k in cfg.get("without_labour") or ()),
            welfare_statuses=tuple(str(k) for k in cfg.get("welfare_statuses") or ()),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise HBError(f"台账模板的 config 一节不完整或有误：{exc}", file=where) from None


# ---------------------------------------------------------------- building the spec


def registry_and_catalog(registry=None, catalog=None) -> tuple[Any, Any]:
    """The registry and catalog given, the missing ones loaded — without the baseline, which rosters
    do not use (Context.of loads it: a quarter of a second in every process that reads a roster)."""
    if registry is None or catalog is None:
        from hbreport.catalog import load_catalog
        from hbreport.registry import load_registry

        registry = registry or load_registry()
        catalog = catalog or load_catalog()
    return registry, catalog


def build_roster_spec(
    township_code: str,
    period: int,
    households: Sequence[Household],
    *,
    registry=None,
    catalog=None,
    roster_sha256: str = "",
    forms_dir: Path | None = None,
) -> RosterSpec:
    """The roster of one township for ``period``: a row per household, in the order given."""
    registry, catalog = registry_and_catalog(registry, catalog)
    unit = registry.get(township_code)
    if unit.level != "township":
        raise HBError(
            f"「{unit.name}」({unit.short_code}) 不是乡镇级单位，台账按乡镇生成",
            hint="给出乡镇（9 位）代码",
        )
    seen: set[str] = set()
    for h in households:
        if not h.household_id or len(h.household_id) > MAX_HOUSEHOLD_ID or "," in h.household_id:
            raise HBError(
                f"户编号「{h.household_id}」无效：应为 1—{MAX_HOUSEHOLD_ID} 个字符，不含逗号",
                hint="检查建档立卡导出文件的户编号列",
            )
        if h.household_id in seen:
            raise HBError(f"户编号「{h.household_id}」重复", hint="每户只能有一行，检查建档立卡导出文件")
        seen.add(h.household_id)
    rows = [RowUnit(h.household_id, h.head_name) for h in households]
    sheet = render_form(
        ROSTER_FORM,
        unit=unit,
        level="township",
        period=period,
        rows=rows,
        poor_rows=rows,
        catalog=catalog,
        fields=household_fields(),
        forms_dir=forms_dir,
    )
    villages = tuple(RowUnit(v.code, v.name) for v in registry.children(unit.code))
    return RosterSpec(
        **unit_heading(unit, registry),
        period=period,
        sheets=(sheet,),
        instructions=ROSTER_INSTRUCTIONS,
        roster_sha256=roster_sha256,
        villages=villages,
        config=roster_config(period, catalog=catalog, forms_dir=forms_dir),
        households=tuple(households),
    )
