"""Render the page images in docs/img/ from a township form of the embedded sample.

    python docs/make_form_images.py

Writes 城关镇 (421122100)'s 2017 workbook with a few villages filled in (two of them with planted
mistakes), prints it to PDF with LibreOffice (recalculating every formula) and keeps the pages of
鄂扶贫01表 and 鄂扶贫02表 as PNG at 80 dpi.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path

DOCS = Path(__file__).resolve().parent
if str(DOCS.parent) not in sys.path:
    sys.path.insert(0, str(DOCS.parent))

from hbreport import office  # noqa: E402
from hbreport.baseline import load_baseline  # noqa: E402
from hbreport.forms import prefill_values  # noqa: E402
from hbreport.registry import load_registry  # noqa: E402
from hbreport.spec import build_workbook_spec  # noqa: E402
from hbreport.xlsx.writer import write_workbook  # noqa: E402

UNIT = "421122100000"
PERIOD = 2017
PAGES = {2: "form-01-township.png", 3: "form-02-township.png"}  # page 1 is 填表说明


def example_values(spec, prefill) -> dict:
    """A clerk's half-finished entries: most villages filled, some not yet, two mistakes planted."""
    values = {form: {code: dict(row) for code, row in rows.items()} for form, rows in prefill.items()}
    progress = values["poverty_progress"]
    for i, code in enumerate(list(progress)[:12]):
        people = progress[code]["base_people"] or 0
        prior = people * (35 + 3 * (i % 5)) // 100
        exited = people * (22 + 2 * (i % 4)) // 100
        progress[code].update(
            prior_exited_people=prior,
            exited_people=exited,
            exited_households=max(exited * 10 // 27, 1 if exited else 0),
            returned_people=i % 3,
            new_people=(i % 4) // 2,
        )
    codes = list(progress)
    progress[codes[2]].update(exited_households=progress[codes[2]]["exited_people"] + 5)  # 户数 > 人数
    progress[codes[7]].update(prior_exited_people=2, exited_people=3, exited_households=1)  # far behind plan
    villages = {}
    for i, unit in enumerate(spec.sheet("village_exit").rows):
        villages[unit.code] = {
            "remaining_poor_households": 0 if i % 2 == 0 else 3 + i,
            "village_population": 900 + 137 * i,
            "village_income": 9800.0 + 650 * i,
            "collective_income": 5.5 + i,
            "infrastructure_ok": "是",
            "services_ok": "是" if i != 3 else "否",
            "exited_before": "否",
            "apply_exit": "是" if i in (0, 1) else "否",  # the second applies with poor households left
        }
    values["village_exit"] = villages
    return values


def main() -> list[Path]:
    registry, baseline = load_registry(), load_baseline()
    spec = build_workbook_spec(UNIT, PERIOD, registry=registry, baseline=baseline)
    values = example_values(spec, prefill_values(spec, registry, baseline))
    out = DOCS / "img"
    out.mkdir(exist_ok=True)
    written = []
    with tempfile.TemporaryDirectory(prefix="hb-docs-") as tmp:
        book = write_workbook(spec, Path(tmp) / spec.file_name(), values=values)
        pdf = office.to_pdf(book, Path(tmp), recalc=True)
        pages = office.pdf_to_png(pdf, Path(tmp) / "png", dpi=80)
        for number, name in PAGES.items():
            target = out / name
            shutil.copyfile(pages[number - 1], target)
            written.append(target)
    return written


if __name__ == "__main__":
    for path in main():
        print(path)
