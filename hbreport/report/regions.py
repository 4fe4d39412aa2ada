"""The report's 片区进展 section and 老区 paragraph, from a consolidation's 片区汇总 (hbreport.regions).

Each of the plan's four 片区 (三(一)): its counties' poor people and villages against their own tasks,
and the region's own targets (三(三), in templates/indicators.yaml with ``region``), each with what the
forms collect for it or 未采集 where no form collects it yet. 革命老区 (五(六)): the plan's numbers and
the 老区 counties' figures. The plan's five key areas (三(一): 贫困地区 as the poor counties, 革命老区,
少数民族地区, 自然条件恶劣的特困地区, 重点插花贫困地区): each area's figures where the unit registry marks its
counties, and how many counties it leaves 未定 (a blank flag is not read as 否).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from hbreport.baseline import AREA_FLAGS, OLD_AREA, POOR_AREA
from hbreport.regions import COUNTIES_KEY, UNDETERMINED_KEY

#: the plan's five key areas (三(一)) in its order: (roll-up group, the plan's name)
KEY_AREAS = ((POOR_AREA, "贫困地区（贫困县）"), *((f.group, f.plan_name) for f in AREA_FLAGS))

NOT_COLLECTED = "未采集"
ROWS_ONLY = "已采集（见各县报表，未按片区汇总）"


def _ratio(part: Any, whole: Any) -> float | None:
    if not isinstance(part, (int, float)) or not isinstance(whole, (int, float)) or whole <= 0:
        return None
    return part / whole


def _figures(values: Mapping[str, float]) -> dict[str, Any]:
    base, cum, task = values.get("base_people"), values.get("cum_exited_people"), values.get("task_people")
    poor_villages, exited = values.get("poor_villages"), values.get("villages_exited_cum")
    return {
        "counties": int(values.get(COUNTIES_KEY, 0)),
        "base": base,
        "cum": cum,
        "task": task,
        "rate": _ratio(cum, base),
        "expected": _ratio(task, base),
        "completion": _ratio(cum, task),
        "poor_villages": poor_villages,
        "villages_exited": exited,
        "village_rate": _ratio(exited, poor_villages),
        "village_expected": _ratio(values.get("task_villages"), poor_villages),
    }


def region_section(rollup: Mapping[str, Mapping[str, float]], catalog, fields) -> dict[str, Any]:
    """{"regions": [...per 片区...], "targets": [...], "collected", "total", "old_area": {...}|None}."""
    measured: dict[str, list[str]] = {}
    for field in fields.values():
        for code in dict.fromkeys((field.indicator, *getattr(field, "indicators", ()))):
            if code:
                measured.setdefault(code, []).append(field.key)
    regions, targets = [], []
    for region in catalog.regions:
        values = rollup.get(region, {})
        own = []
        for indicator in catalog.by_region(region):
            fields_of = measured.get(indicator.code, [])
            keys = [k for k in fields_of if k in values]
            if keys:  # an additive figure: the region's sum
                actual: Any = values[keys[0]]
            elif fields_of:  # a rate or mean the forms collect per unit: not added up by region
                actual = ROWS_ONLY
            else:
                actual = NOT_COLLECTED
            row = {
                "region": region,
                "code": indicator.code,
                "name": indicator.name,
                "target": indicator.value_text() + indicator.unit,
                "deadline": indicator.deadline,
                "section": indicator.section,
                "collected": bool(fields_of),
                "actual": actual,
            }
            own.append(row)
            targets.append(row)
        regions.append(
            {
                "name": region,
                "reported": bool(values),
                "targets": len(own),
                "collected": sum(r["collected"] for r in own),
                **_figures(values),
            }
        )
    old = rollup.get(OLD_AREA)
    old_area = None
    if old is not None:
        old_area = {
            "plan_counties": catalog.number("BASE_OLD_AREA_COUNTIES", "个"),
            "plan_townships": catalog.number("BASE_OLD_AREA_TOWNSHIPS", "个"),
            "plan_key_townships": catalog.number("BASE_OLD_AREA_KEY_TOWNSHIPS", "个"),
            **_figures(old),
        }
    areas = []
    for group, plan_name in KEY_AREAS:
        values = rollup.get(group)
        if values is None:
            continue
        undetermined = int(values.get(UNDETERMINED_KEY, 0))
        figures = _figures(values)
        areas.append(
            {
                "name": group,
                "plan_name": plan_name,
                "undetermined": undetermined,
                # 未定 throughout: no county marked, every county with rows left blank
                "unknown": figures["counties"] == 0 and undetermined > 0,
                **figures,
            }
        )
    return {
        "regions": regions,
        "targets": targets,
        "collected": sum(r["collected"] for r in targets),
        "total": len(targets),
        "old_area": old_area,
        "areas": areas,
    }
