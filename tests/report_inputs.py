"""Deterministic consolidated data for report tests and the report page images in docs/img.

Each child unit moves along the plan's cumulative schedule at its own pace (seeded by its code), and
its key-project and infrastructure figures respect the forms' rules. The values go through the real
engine (``FormData.from_inputs``), so derived columns, 合计 and 进度状态 are the workbook's own.

    hbreport demo --out demo-out
    python tests/report_inputs.py --images docs/img --demo demo-out   # re-render the report pages
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from hbreport.baseline import load_baseline
from hbreport.catalog import load_catalog
from hbreport.forms import prefill_values
from hbreport.model.values import FormData
from hbreport.registry import load_registry
from hbreport.spec import build_workbook_spec
from hbreport.synthetic import rng_for

ISSUED = dt.date(2018, 1, 20)


def pace(code: str) -> float:
    """How fast a unit moves against the schedule: 0.8 … 1.2."""
    return 0.8 + 0.4 * rng_for("report", code).random()


def plan_inputs(spec, registry, baseline, catalog, *, drop: tuple[str, ...] = ()) -> dict[str, Any]:
    """What the children's 合计 rows would hold on ``spec``'s forms; children in ``drop`` have not reported."""
    year = spec.period
    values = prefill_values(spec, registry, baseline)

    def share(code: str, y: int) -> float:
        return catalog.cumulative_share(code, y) if y >= catalog.start else 0.0

    for sheet in spec.sheets:
        rows = values.setdefault(sheet.form, {})
        for row in sheet.rows:
            cells = rows.setdefault(row.code, {})
            if row.code in drop:
                continue
            k = pace(row.code)
            base = baseline.totals(registry, row.code)
            people, villages = base["poor_people"], base["poor_villages"]
            if sheet.form == "poverty_progress":
                cum = round(people * min(1.0, share("SCHED_PEOPLE_EXIT", year) * k))
                prior = min(cum, round(people * min(1.0, share("SCHED_PEOPLE_EXIT", year - 1) * k)))
                exited = cum - prior
                cells.update(
                    prior_exited_people=prior,
                    exited_people=exited,
                    exited_households=min(exited, (exited + 2) // 3),
                    returned_people=prior // 500,
                    new_people=people // 1000,
                )
            elif sheet.form == "village_exit":
                prior = min(villages, round(villages * share("SCHED_VILLAGE_EXIT", year - 1) * k))
                now = min(villages, round(villages * share("SCHED_VILLAGE_EXIT", year) * k))
                applying = max(0, now - prior)
                cells.update(
                    villages_exited_prior=prior,
                    villages_applying=applying,
                    villages_meeting=now + (1 if now < villages else 0),
                    villages_infrastructure_ok=now,
                    villages_services_ok=now,
                )
            elif sheet.form == "key_projects":
                moved = round(people * 0.08 * k)
                moved_households = moved // 3
                quarter = moved_households // 4
                students = people // 60
                loans = people // 20
                cells.update(
                    reloc_households=moved_households,
                    reloc_people=moved,
                    reloc_area=moved * 23.5,
                    reloc_type_50=quarter,
                    reloc_type_75=quarter,
                    reloc_type_100=quarter,
                    reloc_type_125=moved_households - 3 * quarter,
                    reloc_other=0,
                    dilapidated_renovated=people // 40,
                    yulu_students=students,
                    yulu_subsidy=students * 3200,
                    yulu_transferred=students // 2,
                    loan_households=loans,
                    loan_amount=loans * 4.5,
                    loan_max_term=3,
                    pv_households=people // 100,
                    pv_household_kw=people // 100 * 4,
                    pv_stations=villages // 3,
                    pv_station_kw=villages // 3 * 60,
                    ecommerce_eligible=villages,
                    ecommerce_villages=round(villages * min(1.0, 0.85 * k)),
                    network_villages=villages,
                    tourism_villages=villages // 20,
                    training_person_times=people,
                )
            elif sheet.form == "infrastructure":
                rural = people * 5 + 1000
                households = rural // 3
                cells.update(
                    merged_villages=40,
                    merged_villages_paved=36,
                    rural_population=rural,
                    irrigated_area=round(rural * 0.62, 2),
                    poor_people_total=people,
                    safe_water_people=round(people * 0.97),
                    ncms_people=round(people * 0.985),
                    poor_villages_total=villages,
                    power_living_villages=villages,
                    power_production_villages=villages,
                    schools_renovated=people // 1000,
                    kindergartens_built=people // 4000,
                    preschool_children=people // 20,
                    preschool_enrolled=round(people // 20 * 0.87),
                    highschool_age=people // 25,
                    highschool_enrolled=round(people // 25 * 0.9),
                    households_total=households,
                    broadcast_households=round(households * 0.95),
                )
                if "counties_highway" in sheet.column_keys:
                    cells["counties_highway"] = base["poor_counties"]
                else:
                    cells["highway_connected"] = "是"
    return values


def sample_form_data(
    code: str, year: int, *, drop: tuple[str, ...] = (), registry=None, baseline=None, catalog=None
) -> FormData:
    """A unit's consolidated data for ``year`` built by the real engine from :func:`plan_inputs`."""
    registry = registry or load_registry()
    baseline = baseline or load_baseline()
    catalog = catalog or load_catalog()
    spec = build_workbook_spec(code, year, registry=registry, catalog=catalog, baseline=baseline)
    return FormData.from_inputs(spec, plan_inputs(spec, registry, baseline, catalog, drop=drop))


def _pages(
    docx: Path, out_dir: Path, stem: str, pages: tuple[int, ...], dpi: int, scratch: Path
) -> list[Path]:
    """PNG images of ``pages`` of a report, as LibreOffice prints it."""
    from PIL import Image

    from hbreport.office import pdf_to_png
    from hbreport.report import docx_to_pdf

    pdf = docx_to_pdf(docx, scratch)
    out_dir.mkdir(parents=True, exist_ok=True)
    made = []
    for page in pages:
        (png,) = pdf_to_png(pdf, scratch, dpi=dpi, first=page, last=page)
        target = out_dir / f"{stem}-page{page}.png"
        with Image.open(png) as image:  # a 128-colour palette keeps the committed images small
            image.convert("RGB").quantize(colors=128).save(target, optimize=True)
        made.append(target)
    return made


def render_images(
    out_dir: Path, demo: Path | None = None, pages: tuple[int, ...] = (1, 2, 3), dpi: int = 80
) -> list[Path]:
    """Render report pages to PNG: a county's (红安县 2017 with 5 of its 14 townships in) and, given the
    output folder of ``hbreport demo``, the demo's province report (one prefecture of 17 consolidated)."""
    from hbreport.report import render_report

    registry, baseline, catalog = load_registry(), load_baseline(), load_catalog()
    towns = registry.children("421122")
    late = tuple(t.code for t in towns[5:])
    data = sample_form_data("421122", 2017, drop=late, registry=registry, baseline=baseline, catalog=catalog)
    earlier = sample_form_data("421122", 2016, registry=registry, baseline=baseline, catalog=catalog)
    made = []
    with tempfile.TemporaryDirectory() as scratch:
        started = time.perf_counter()
        docx = render_report(
            data,
            Path(scratch) / "report-county.docx",
            missing=list(late),
            history={2016: earlier},
            registry=registry,
            baseline=baseline,
            catalog=catalog,
        )
        print(f"render_report: {time.perf_counter() - started:.2f} s")
        made += _pages(docx, out_dir, "report-county", pages, dpi, Path(scratch))
        if demo is not None:
            (province,) = sorted((demo / "报告").glob("湖北省*.docx"))
            made += _pages(province, out_dir, "report-province", pages, dpi, Path(scratch))
    return made


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=Path, required=True, help="folder for report-<unit>-page<N>.png")
    parser.add_argument(
        "--demo", type=Path, default=None, help="output folder of hbreport demo (province pages)"
    )
    args = parser.parse_args(argv)
    for path in render_images(args.images, args.demo):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
