"""The yearly exit verification (plan 六(六)): the county's verification workbook made from the household
store and the townships' 鄂扶贫02表, the reproducible spot check, and the filled workbook read back."""

from __future__ import annotations

import json
from pathlib import Path

import openpyxl
import pytest
from consolidation_inputs import write_filled
from household_cases import PERIOD, clean_inputs, households

from hbreport.cli import run
from hbreport.households.consolidate import consolidate_rosters
from hbreport.households.roster import write_roster
from hbreport.households.spec import build_roster_spec

COUNTY = "421122"  # 红安县
TOWNSHIPS = ("421122100000", "421122101000")


@pytest.fixture(scope="module")
def sources(tmp_path_factory, registry, catalog, baseline):
    """A household store with two townships' rosters, and the two townships' filled workbooks; with
    what each holds as declared out in 2017."""
    root = tmp_path_factory.mktemp("verify")
    rosters, inbox = root / "rosters", root / "inbox"
    exiting: dict[str, str] = {}
    for k, township in enumerate(TOWNSHIPS):
        hh = households(registry, township, start=100 * k)
        values = clean_inputs(hh)
        spec = build_roster_spec(township, PERIOD, hh, registry=registry, catalog=catalog)
        write_roster(spec, rosters / spec.file_name(), values=values)
        for h in hh:
            if values[h.household_id]["exit_year"] == PERIOD and values[h.household_id][
                "exit_status"
            ].startswith("已脱贫"):
                exiting[h.household_id] = h.head_name
    store = root / "store.sqlite"
    consolidate_rosters(rosters, COUNTY, PERIOD, store, registry=registry, catalog=catalog)
    applying: set[str] = set()
    for township in TOWNSHIPS:
        _, _, values = write_filled(
            township, PERIOD, inbox, registry=registry, catalog=catalog, baseline=baseline
        )
        applying |= {
            code for code, row in values.get("village_exit", {}).items() if row.get("apply_exit") == "是"
        }
    return store, inbox, exiting, applying


def _forms(sources, out: Path, *extra: str) -> Path:
    store, inbox, _, _ = sources
    args = ["verify", "forms", "--county", COUNTY, "--period", str(PERIOD), "--store", str(store)]
    args += ["--inbox", str(inbox), "--out", str(out), *extra]
    assert run(args) == 0
    (path,) = out.glob("*_脱贫验收.xlsx")
    return path


def _rows(ws) -> dict[str, list]:
    """Data rows (row 9 on) by the code in column B, until the first row without one."""
    out = {}
    for row in ws.iter_rows(min_row=9, values_only=True):
        if not row[1]:
            break
        out[str(row[1])] = list(row)
    return out


def test_the_workbook_lists_who_is_declared_out_with_the_plans_steps_as_columns(sources, tmp_path):
    _, _, exiting, applying = sources
    assert exiting and applying  # the inputs declare some households and villages out
    path = _forms(sources, tmp_path / "out", "--share", "0.5", "--seed", "11")
    wb = openpyxl.load_workbook(path)
    households_ws, villages_ws = wb["01贫困户验收"], wb["02贫困村验收"]
    assert set(_rows(households_ws)) == set(exiting)
    assert set(_rows(villages_ws)) == {code[:12] for code in applying}
    headings = [str(c.value).replace("\n", "") for c in households_ws[6] if c.value]
    steps = [
        "村级确定脱贫名单",
        "村公示",
        "乡镇政府审核",
        "县政府抽查",
        "县级媒体公示",
        "市州政府抽查",
        "省扶贫攻坚领导小组抽查",
        "县级指导乡镇开展脱贫销号",
    ]
    assert [h for h in headings if h and h.split("(")[0] in steps] == [f"{s}(日期)" for s in steps]
    village_headings = " ".join(str(c.value) for c in villages_ws[6] if c.value)
    assert "集体经济收入证明" in village_headings and "各户签字" in village_headings
    notes = " ".join(str(c.value) for row in villages_ws.iter_rows() for c in row if c.value)
    assert "5万元以上" in notes  # the plan's threshold, from the catalog
    instructions = " ".join(str(c.value) for row in wb["填表说明"].iter_rows() for c in row if c.value)
    assert "随机种子 11" in instructions and "不放回简单随机抽取" in instructions
    drawn = [code for code, row in _rows(households_ws).items() if "是" in row]
    assert len(drawn) == -(-len(exiting) // 2)  # ⌈N × 50%⌉


def _sample(sources, seed: int) -> dict:
    store, inbox, _, _ = sources
    args = ["verify", "sample", "--county", COUNTY, "--period", str(PERIOD), "--store", str(store)]
    args += ["--inbox", str(inbox), "--share", "0.5", "--seed", str(seed), "--json"]
    import contextlib
    import io

    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        assert run(args) == 0
    return json.loads(buffer.getvalue())


def test_the_same_seed_gives_the_same_list_and_another_seed_another(sources):
    first, again, other = _sample(sources, 20171120), _sample(sources, 20171120), _sample(sources, 7)
    assert first == again
    codes = {kind: [d["code"] for d in first[kind]["drawn"]] for kind in first}
    assert codes != {kind: [d["code"] for d in other[kind]["drawn"]] for kind in other}
    assert "随机种子 20171120" in first["户"]["method"]


def test_filled_verdicts_read_back_as_statuses_with_what_is_wrong(sources, tmp_path):
    from hbreport.verification.read import FAILED, PASSED, PENDING, read_verification

    path = _forms(sources, tmp_path / "out", "--share", "0.5", "--seed", "11")
    wb = openpyxl.load_workbook(path)
    ws = wb["01贫困户验收"]
    rows = _rows(ws)
    codes = sorted(rows)
    row_of = {str(ws.cell(r, 2).value): r for r in range(9, 9 + len(rows))}
    complete, missing_evidence, refused = codes[0], codes[1], codes[2]
    for step in range(8):  # every step done for the first household, with its evidence
        ws.cell(row_of[complete], 3 + step, f"2017-11-{10 + step}")
    ws.cell(row_of[complete], 11, "有")
    ws.cell(row_of[complete], 12, "有")
    ws.cell(row_of[complete], 14, "通过")
    for step in range(5):  # the second: steps done, no signature, yet 通过
        ws.cell(row_of[missing_evidence], 3 + step, "2017-11-20")
    ws.cell(row_of[missing_evidence], 11, "有")
    ws.cell(row_of[missing_evidence], 14, "通过")
    ws.cell(row_of[refused], 14, "未通过")
    sampled = ws.cell(row_of[codes[-1]], 13)
    sampled.value = "否" if sampled.value == "是" else "是"  # the drawn list changed by hand
    filled = tmp_path / "filled.xlsx"
    wb.save(filled)

    result = read_verification(filled)
    statuses = result.statuses["verify_households"]
    assert (
        statuses[complete] == PASSED and statuses[missing_evidence] == PASSED and statuses[refused] == FAILED
    )
    assert result.counts("verify_households") == {
        "申报": len(codes),
        PASSED: 2,
        FAILED: 1,
        PENDING: len(codes) - 3,
    }
    ys02 = [f for f in result.findings if f.rule == "YS02"]
    assert len(ys02) == 1 and ys02[0].cell.endswith(str(row_of[missing_evidence]))
    assert not [
        f for f in result.findings if f.importance == "error" and f.rule not in ("YS02", "抽查名单被改动")
    ]
    tampered = [f for f in result.findings if f.rule == "抽查名单被改动"]
    assert len(tampered) == 1 and tampered[0].cell == f"M{row_of[codes[-1]]}"
    assert run(["verify", "read", str(filled)]) == 1  # an error: exit 1


def test_rows_added_to_the_workbook_are_refused(sources, tmp_path):
    path = _forms(sources, tmp_path / "out")
    wb = openpyxl.load_workbook(path)
    ws = wb["01贫困户验收"]
    last = 9 + len(_rows(ws)) - 1
    ws.cell(last, 2, "H-NOT-DECLARED")  # a household code changed by hand
    changed = tmp_path / "changed.xlsx"
    wb.save(changed)
    assert run(["verify", "read", str(changed)]) == 2
