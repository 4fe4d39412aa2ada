"""Roll-up by the plan's areas (三(一)): what the forms collect, added up over the counties of each.

Units carry their areas as data (counties.csv ``region``, ``poor_county`` and the flags of
``baseline.AREA_FLAGS``). A consolidation adds up the rows of its children's workbooks (counties on a
prefecture's form, townships on a county's) by the groups of each row's county: the four 片区 (三(一)),
片区外 for the rest, 贫困县 (the plan's 贫困地区), 革命老区 (五(六)), 少数民族地区, 特困地区 and
插花贫困地区. A flag left blank is 未定: such a county is in no flag group, and each flag group counts the
counties with rows whose flag is 未定 (``undetermined``), so a report never reads 未定 as 否. The result is
the 片区汇总 sheet of the parent's workbook, read back by the report.

Only additive figures are summed: fields that aggregate by sum and whole-number derived counts
(累计脱贫人口, 累计出列村); rates are ratios of these sums (the report computes them).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from hbreport.baseline import AREA_FLAGS, OUTSIDE_REGIONS, POOR_AREA, REGIONS, county_code_of

REGION_SHEET = "片区汇总"
COUNTIES_KEY = "counties"  # number of counties with rows in the group
UNDETERMINED_KEY = "undetermined"  # flag groups: counties with rows whose flag is blank (未定)
AREA_GROUPS = (POOR_AREA, *(flag.group for flag in AREA_FLAGS))
GROUPS = (*REGIONS, OUTSIDE_REGIONS, *AREA_GROUPS)
_COUNTS = (COUNTIES_KEY, UNDETERMINED_KEY)


def _additive(column) -> bool:
    field = column.field
    if not field.numeric:
        return False
    return field.aggregation == "sum" or (field.aggregation == "derived" and field.type == "integer")


def roll_up(datas: Iterable[Any], baseline) -> dict[str, dict[str, float]]:
    """{group: {field: sum, "counties": n}} over the rows of the children's data (FormData).

    The rows are added up per county first, then each county's sums into its groups: a county's
    groups and flags are looked up once, not for every row (a county's form has a row per village)."""
    by_county: dict[str, dict[str, float]] = {}  # county code → field → sum over its rows
    county_of: dict[str, str] = {}  # first six digits → the county's code
    for data in datas:
        if data is None:
            continue
        for sheet in data.spec.sheets:
            keys = [c.key for c in sheet.columns if _additive(c)]
            for code, row in data.rows.get(sheet.form, {}).items():
                if len(code) != 12 or code[4:6] == "00":
                    continue  # a prefecture's (or the province's) row: in no one county
                county = county_of.get(code[:6])
                if county is None:
                    county = county_of[code[:6]] = county_code_of(code)
                into = by_county.setdefault(county, {})
                for key in keys:
                    value = row.get(key)
                    if isinstance(value, (int, float)) and not isinstance(value, bool):
                        into[key] = into.get(key, 0) + value
    sums: dict[str, dict[str, float]] = {}
    counties: dict[str, int] = {}
    undetermined: dict[str, int] = {}
    for county, totals in by_county.items():
        for flag in AREA_FLAGS:
            if baseline.area(county, flag.column) is None:
                undetermined[flag.group] = undetermined.get(flag.group, 0) + 1
        for group in baseline.groups(county):
            counties[group] = counties.get(group, 0) + 1
            into = sums.setdefault(group, {})
            for key, value in totals.items():
                into[key] = into.get(key, 0) + value
    for group, n in counties.items():
        sums[group][COUNTIES_KEY] = n
    for flag in AREA_FLAGS:
        if flag.group in sums or flag.group in undetermined:
            into = sums.setdefault(flag.group, {})
            into.setdefault(COUNTIES_KEY, 0)
            into[UNDETERMINED_KEY] = undetermined.get(flag.group, 0)
    return {g: sums[g] for g in GROUPS if g in sums}


def region_sheet(rollup: Mapping[str, Mapping[str, float]], fields) -> list[list[Any]]:
    """The 片区汇总 table: a heading row (Chinese labels), a row of field keys, one row per group."""
    keys: list[str] = []
    for values in rollup.values():
        keys.extend(k for k in values if k not in _COUNTS and k not in keys)
    heads = [
        "片区或重点区域",
        "县市区数",
        "名单未定的县市区数",
        *(fields[k].header() if k in fields else k for k in keys),
    ]
    out: list[list[Any]] = [heads, ["group", *_COUNTS, *keys]]
    for group, values in rollup.items():
        flagged = group in AREA_GROUPS and group != POOR_AREA
        out.append(
            [
                group,
                values.get(COUNTIES_KEY, 0),
                values.get(UNDETERMINED_KEY, 0) if flagged else None,  # 片区 and 贫困县: always known
                *(values.get(k, 0) if values.get(COUNTIES_KEY) else None for k in keys),
            ]
        )
    return out


def read_region_sheet(rows: list[list[Any]]) -> dict[str, dict[str, float]]:
    """The roll-up back from a 片区汇总 table (by the row of field keys, not the labels)."""
    if len(rows) < 2:
        return {}
    keys = [str(k).strip() for k in rows[1]]
    out: dict[str, dict[str, float]] = {}
    for row in rows[2:]:
        if not row or not str(row[0]).strip():
            continue
        group = str(row[0]).strip()
        out[group] = {
            key: value
            for key, value in zip(keys[1:], row[1:], strict=False)
            if isinstance(value, (int, float)) and not isinstance(value, bool)
        }
    return out
