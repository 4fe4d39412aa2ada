"""Form 04's school and kindergarten columns are this year's (本年): the report adds the years up
against the plan's totals (3861 所 by 2018, 945 所 by 2019); the other 04 columns are the state at
the period's end and are not added."""

from __future__ import annotations

from report_inputs import plan_inputs

from hbreport.baseline import load_baseline
from hbreport.catalog import load_catalog
from hbreport.model.values import FormData
from hbreport.registry import load_registry
from hbreport.report import build_context
from hbreport.report import numbers as N
from hbreport.spec import build_workbook_spec, load_fields

PROVINCE = "420000"


def test_school_and_kindergarten_counts_are_this_years_and_add_up_over_the_years() -> None:
    fields = load_fields()
    assert fields["schools_renovated"].flow and fields["schools_renovated"].label.startswith("本年")
    assert fields["kindergartens_built"].flow and fields["kindergartens_built"].label.startswith("本年")
    assert not fields["poor_people_total"].flow
    kw = {"registry": load_registry(), "catalog": load_catalog(), "baseline": load_baseline()}
    data = {}
    for year in (2016, 2017):
        spec = build_workbook_spec(PROVINCE, year, **kw)
        data[year] = FormData.from_inputs(
            spec, plan_inputs(spec, kw["registry"], kw["baseline"], kw["catalog"])
        )
    alone = {r["key"]: r for r in build_context(data[2017], **kw)["infrastructure"]}
    both = {
        r["key"]: r for r in build_context(data[2017], history={2016: data[2016]}, **kw)["infrastructure"]
    }
    schools = [data[y].totals["infrastructure"]["schools_renovated"] for y in (2016, 2017)]
    assert alone["schools_renovated"]["cumulative"] == N.BLANK
    assert both["schools_renovated"]["cumulative"] == N.with_unit(sum(schools), "所")
    target = kw["catalog"].number("SCHOOLS_RENOVATED")
    assert both["schools_renovated"]["completion"] == sum(schools) / target
    assert both["safe_water_rate"]["cumulative"] == N.BLANK  # a state, not added up
