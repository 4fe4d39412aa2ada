"""The checks of a task table: each year, the children's tasks add up to their parent's; a county is
given at most one 摘帽 year."""

from __future__ import annotations

from hbreport.tasks.table import TaskTable


def _fmt(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def check_sums(table: TaskTable, registry, catalog) -> list[str]:
    """One Chinese message per parent, indicator and year whose children do not add up (naming them),
    and per county given more than one county to 摘帽; parents none of whose children are in the table
    are not checked (their split is derived)."""
    from hbreport.tasks.units import COUNTY_SCHEDULE

    problems: list[str] = []
    for code in table.units():
        series = table.series(code, COUNTY_SCHEDULE)
        if series and code in registry and registry.get(code).level == "county" and sum(series.values()) > 1:
            unit = registry.get(code)
            years = "、".join(f"{y}年 {_fmt(v)}" for y, v in sorted(series.items()) if v)
            problems.append(
                f"{unit.name}（{unit.short_code}）的摘帽任务为 {years}：一个县只能在一年摘帽，且只计 1 个"
            )
    for code in table.units():
        if code not in registry:
            continue
        parent = registry.get(code)
        children = registry.children(code)
        for indicator, series in table.values[code].items():
            listed = [c for c in children if table.series(c.code, indicator) is not None]
            if not listed:
                continue
            name = catalog[indicator].name if indicator in catalog else indicator
            absent = [c for c in children if c not in listed]
            if absent:
                problems.append(
                    f"{parent.name}（{parent.short_code}）的「{name}」任务已分解到下级，但缺少 "
                    + "、".join(f"{c.name}（{c.short_code}）" for c in absent)
                )
                continue
            years = sorted(set(series).union(*(table.series(c.code, indicator) for c in listed)))
            for year in years:
                own = series.get(year, 0)
                parts = [(c, table.series(c.code, indicator).get(year, 0)) for c in listed]
                total = sum(v for _, v in parts)
                if abs(total - own) > 1e-9:
                    detail = "、".join(f"{c.name} {_fmt(v)}" for c, v in parts if v)
                    problems.append(
                        f"{parent.name}（{parent.short_code}）{year}年「{name}」任务 {_fmt(own)}，"
                        f"下级合计 {_fmt(total)}（{detail or '均为 0'}），相差 {_fmt(total - own)}"
                    )
    return problems
