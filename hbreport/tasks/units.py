"""Tasks for any unit: the table's own rows, or its nearest ancestor's task split among the children.

A province that issues tasks down to the counties (the sample's ``tasks.csv``) still needs a task for
every township and village that is a row on some form. Those are split from the parent's task year by
year, pro rata to the children's baseline, in whole numbers that add up (``split.split_series``).
"""

from __future__ import annotations

from hbreport.errors import HBError
from hbreport.tasks.split import split_series
from hbreport.tasks.table import TaskTable, cumulative

#: schedule indicators whose tasks are shares of a baseline total (the weight a child's share follows)
SCHEDULE_BASES = {"SCHED_PEOPLE_EXIT": "poor_people", "SCHED_VILLAGE_EXIT": "poor_villages"}
#: counties to 摘帽: a poor county's task is 1 in its planned exit year; never split below the county
COUNTY_SCHEDULE = "SCHED_COUNTY_EXIT"
#: key projects (a plan total by a deadline) are split pro rata to this baseline total
PROJECT_WEIGHT = "poor_people"
PROJECT_FORM = "key_projects"


def project_indicators(catalog, fields=None) -> list[str]:
    """The catalog targets the key-project form (03表) measures with a summed field: the plan states a
    total by a deadline (易地搬迁户数、人口, 危房改造, 雨露计划, 小额信贷 …)."""
    from hbreport.catalog import convert
    from hbreport.spec import load_fields

    fields = fields or load_fields()
    held = _PROJECTS.get(id(catalog))
    if held is not None and held[0] is catalog and held[1] is fields:
        return list(held[2])
    out: list[str] = []
    for field in _project_fields(fields, catalog):
        indicator = catalog.indicators.get(field.indicator or "")
        if indicator is None or indicator.kind != "target" or indicator.aggregation != "sum":
            continue
        if indicator.counts == "designated" or indicator.deadline is None:
            continue  # a list the province names (243 旅游扶贫村), or a yearly amount: no total to split
        if field.aggregation != "sum" or indicator.code in out:
            continue
        try:
            convert(indicator.bound(), indicator.unit, field.unit)
        except HBError:
            continue  # a share (%) of villages is not a count to split
        out.append(indicator.code)
    _PROJECTS[id(catalog)] = (catalog, fields, tuple(out))
    return out


_PROJECTS: dict[int, tuple] = {}


def project_total(catalog, code: str, fields=None) -> tuple[int, int, str]:
    """(total in the form's unit, deadline, field key) of a key-project target."""
    from hbreport.catalog import convert
    from hbreport.spec import load_fields

    fields = fields or load_fields()
    field = next(f for f in _project_fields(fields, catalog) if f.indicator == code)
    indicator = catalog[code]
    total = convert(indicator.bound(), indicator.unit, field.unit)
    return int(round(total)), indicator.deadline or catalog.end, field.key


def _project_fields(fields, catalog):
    """The key-project form's (03表) summed input fields, as its template renders them."""
    from hbreport.spec import RowUnit, render_form

    province = RowUnit("420000000000", "")
    sheet = render_form(
        "key_projects",
        unit=province,
        level="province",
        period=catalog.start,
        rows=[],
        poor_rows=None,
        catalog=catalog,
        fields=fields,
    )
    return [c.field for c in sheet.columns if c.is_input]


def _fmt(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def project_task_note(unit_code: str, registry, catalog, baseline) -> str | None:
    """The unit's own key-project tasks as a note for its 03 form (None when it has none):
    本单位重点工程任务（上级分解下达）：易地搬迁户数6140户（到2019年）、……"""
    from hbreport.spec import load_fields

    tasks = baseline.tasks(registry)
    if not tasks:
        return None
    fields = load_fields()
    parts = []
    for code in project_indicators(catalog, fields):
        series = tasks.series(unit_code, code)
        if not series:
            continue
        _, deadline, key = project_total(catalog, code, fields)
        field = fields[key]
        parts.append(f"{field.label}{_fmt(sum(series.values()))}{field.unit}（到{max(series)}年）")
    if not parts:
        return None
    unit = registry.get(unit_code)
    return (
        f"{unit.name}重点工程任务（按任务分解，期限内累计）："
        + "、".join(parts)
        + "；表中为本年度数，各年累计与任务比较。"
    )


class UnitTasks:
    """Tasks of every unit of a registry: the table's rows where it has them, else split from above."""

    def __init__(self, table: TaskTable, registry, baseline, catalog) -> None:
        self.table = table
        self.registry = registry
        self.baseline = baseline
        self.catalog = catalog
        self._split: dict[tuple[str, str], dict[str, dict[int, int]] | None] = {}
        self._totals: dict[str, dict[str, int]] = {}
        self._projects: set[str] | None = None

    @property
    def source(self):
        return self.table.source

    def __bool__(self) -> bool:
        return bool(self.table)

    def weight_key(self, indicator: str) -> tuple[str, bool] | None:
        """(baseline total a child's share follows, whether a child's tasks are capped by it)."""
        if indicator in SCHEDULE_BASES:
            return SCHEDULE_BASES[indicator], True
        if self._projects is None:
            if self.catalog is None:
                from hbreport.catalog import load_catalog

                self.catalog = load_catalog()
            self._projects = set(project_indicators(self.catalog))
        if indicator in self._projects:
            return PROJECT_WEIGHT, False
        return None

    def totals(self, code: str) -> dict[str, int]:
        got = self._totals.get(code)
        if got is None:
            got = self._totals[code] = self.baseline.totals(self.registry, code)
        return got

    def series(self, code: str, indicator: str) -> dict[int, float] | None:
        """{period: amount} of the unit's task (None when neither the table nor an ancestor has one)."""
        code = self.registry.get(code).code
        own = self.table.series(code, indicator)
        if own is not None:
            return own
        parent = self.registry.reporting_parent(code)
        if parent is None:
            return None
        split = self._children_split(parent.code, indicator)
        return None if split is None else split.get(code)

    def cumulative(self, code: str, indicator: str, year: int) -> float | None:
        """The unit's task due by the end of ``year``."""
        return cumulative(self.series(code, indicator), year)

    def _children_split(self, parent: str, indicator: str) -> dict[str, dict[int, int]] | None:
        key = (parent, indicator)
        if key in self._split:
            return self._split[key]
        result = None
        weight = self.weight_key(indicator)
        series = self.series(parent, indicator) if weight is not None else None
        if series is not None and self.baseline.villages:
            children = self.registry.children(parent)
            weights = [self.totals(c.code)[weight[0]] for c in children]
            parts = split_series(series, weights, capped=weight[1])
            if parts is not None:
                result = {c.code: part for c, part in zip(children, parts, strict=True)}
        self._split[key] = result
        return result
