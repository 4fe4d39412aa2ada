"""Consolidating one county's folder in which every common problem occurs at once.

梁子湖区 (420702) has 7 townships. Its folder holds: a good workbook (and last year's copy of it), none
from the second township, two different files from the third, two identical copies from the fourth, text
typed into a number cell in the fifth, a formula overwritten by a number in the sixth, an old template
from the seventh, a township of another county (under a file name that looks like a formula), a file
that is not a workbook, and the county's own 04 form. Each problem must give its own clear finding while
the good children still consolidate.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import openpyxl
import pytest
from consolidation_inputs import write_filled

from hbreport.consolidation.consolidate import (
    ACCEPTED,
    CHECK_SHEET,
    DETAIL_SHEET,
    DUPLICATE,
    MISSING,
    REJECTED,
    RETURNED,
    consolidate,
)
from hbreport.errors import HBError
from hbreport.registry import load_registry
from hbreport.spec import build_workbook_spec
from hbreport.xlsx.layout import SheetLayout
from hbreport.xlsx.reader import read_workbook
from hbreport.xlsx.safety import sha256_file
from hbreport.xlsx.writer import write_workbook

PERIOD = 2017
COUNTY = "420702"  # 梁子湖区
OTHER_COUNTY = "420703"  # 华容区
PP = "poverty_progress"
VE = "village_exit"


def _edit(path: Path, change) -> None:
    book = openpyxl.load_workbook(path)
    change(book)
    book.save(path)


@pytest.fixture(scope="module")
def folder(tmp_path_factory, context):
    """The county's inbox, and what was put in it."""
    registry = context["registry"]
    inbox = tmp_path_factory.mktemp("inbox")
    t = [u.code for u in registry.children(COUNTY)]
    assert len(t) == 7
    made: dict = {"townships": t, "values": {}, "specs": {}}

    def filled(code, period=PERIOD, name=None, **kw):
        path, spec, values = write_filled(code, period, inbox, name=name, **context, **kw)
        made["values"][path.name], made["specs"][path.name] = values, spec
        return path, spec

    good, _ = filled(t[0])
    made["good"] = good.name
    made["last_year"] = filled(t[0], period=PERIOD - 1)[0].name

    first, spec2 = filled(t[2])
    second = inbox / f"{first.stem}(修改).xlsx"
    shutil.copy(first, second)
    row = SheetLayout(spec2.sheet(PP))
    _edit(
        second,
        lambda b: b[spec2.sheet(PP).sheet].__setitem__(
            row.cell(spec2.sheet(PP).rows[0].code, "new_people"), 7
        ),
    )
    made["different"] = (first.name, second.name)

    original, _ = filled(t[3])
    copy = inbox / f"{original.stem} - 副本.xlsx"
    shutil.copy(original, copy)
    made["identical"] = (original.name, copy.name)

    text_file, spec4 = filled(t[4])
    sheet4 = spec4.sheet(PP)
    text_cell = SheetLayout(sheet4).cell(sheet4.rows[0].code, "exited_people")
    _edit(text_file, lambda b: b[sheet4.sheet].__setitem__(text_cell, "12人"))
    made["text"] = (text_file.name, sheet4.sheet, text_cell)

    formula_file, spec5 = filled(t[5])
    sheet5 = spec5.sheet(PP)
    formula_cell = SheetLayout(sheet5).cell(sheet5.rows[0].code, "cum_exited_people")
    _edit(formula_file, lambda b: b[sheet5.sheet].__setitem__(formula_cell, 999))
    made["formula"] = (formula_file.name, sheet5.sheet, formula_cell)

    old_file, _ = filled(t[6])

    def old_version(book):
        meta = book["_meta"]
        for key, value in meta.iter_rows(min_col=1, max_col=2):
            if key.value == "version":
                value.value = "poverty_progress@0.9"

    _edit(old_file, old_version)
    made["old"] = old_file.name

    stranger = registry.children(OTHER_COUNTY)[0]
    made["stranger"] = filled(stranger.code, name="=1+1.xlsx")[0].name
    (inbox / "旧表.xls").write_bytes(b"\xd0\xcf\x11\xe0 this is not a workbook")
    made["garbage"] = "旧表.xls"
    made["own"] = filled(COUNTY, only=("infrastructure",))[0].name
    (inbox / "说明.txt").write_text("不是报表", encoding="utf-8")

    made["hashes"] = {p.name: sha256_file(p) for p in inbox.iterdir()}
    made["inbox"] = inbox
    return made


@pytest.fixture(scope="module")
def run(folder, context, tmp_path_factory):
    out_dir = tmp_path_factory.mktemp("out")
    out = out_dir / "梁子湖区_2017.xlsx"
    summary = consolidate(folder["inbox"], COUNTY, PERIOD, out, **context)
    return {"summary": summary, "out": out, "out_dir": out_dir}


def _status(summary) -> dict[str, str]:
    return {c.code: c.status for c in summary.children}


@pytest.mark.slow
def test_every_child_is_accounted_for(folder, run, context):
    t = folder["townships"]
    assert _status(run["summary"]) == {
        t[0]: ACCEPTED,
        t[1]: MISSING,
        t[2]: DUPLICATE,
        t[3]: ACCEPTED,
        t[4]: RETURNED,
        t[5]: RETURNED,
        t[6]: REJECTED,
    }
    s = run["summary"]
    assert [c.code for c in s.missing] == [t[1], t[2], t[6]]
    assert s.exit_code == 1
    assert s.completeness["expected"] == 7 and s.completeness["received"] == 2
    assert s.own_file and Path(s.own_file).name == folder["own"]
    # each row of the consolidated workbook says its child's status: 未报, 退回 and 拒收 apart
    sheet = build_workbook_spec(COUNTY, PERIOD, **context).sheet("poverty_progress")
    layout = SheetLayout(sheet)
    ws = openpyxl.load_workbook(run["out"], data_only=True)[sheet.sheet]
    shown = {code: ws.cell(layout.row_index[code], layout.status_col).value for code in t}
    words = ["已报", "未报", "拒收", "已报", "退回", "退回", "拒收"]
    assert shown == dict(zip(t, words, strict=True))
    for code, word in shown.items():
        if word != "已报":
            assert ws.cell(layout.row_index[code], layout.col_index["cum_exited_people"]).value is None


def _findings(summary, file_name):
    return [f for f in summary.findings if f.file and Path(f.file).name == file_name]


def test_each_problem_gives_its_own_finding(folder, run):
    s = run["summary"]
    by_kind = {Path(r.file).name: r for r in s.rejected}
    assert set(by_kind) == {folder["last_year"], folder["old"], folder["stranger"], folder["garbage"]}
    assert (
        by_kind[folder["last_year"]].kind == "wrong_period" and "2016" in by_kind[folder["last_year"]].reason
    )
    assert by_kind[folder["stranger"]].kind == "not_child" and "不属于" in by_kind[folder["stranger"]].reason
    assert by_kind[folder["old"]].kind == "unusable" and "旧版" in by_kind[folder["old"]].reason
    assert by_kind[folder["garbage"]].kind == "unusable"

    name, sheet, cell = folder["text"]
    text = _findings(s, name)
    assert any(
        f.sheet == sheet and f.cell == cell and f.importance == "error" and "12人" in f.message for f in text
    )
    name, sheet, cell = folder["formula"]
    overwritten = _findings(s, name)
    assert any(
        f.sheet == sheet and f.cell == cell and f.importance == "error" and "公式" in f.message
        for f in overwritten
    )

    first, second = folder["different"]
    for name in (first, second):
        dup = [f for f in _findings(s, name) if f.rule == "重复"]
        assert dup and dup[0].importance == "error" and first in dup[0].message and second in dup[0].message
    original, copy = folder["identical"]
    assert not [f for f in _findings(s, original) if f.rule in ("重复", "副本")]  # the original is used
    same = [f for f in _findings(s, copy) if f.rule == "副本"]
    assert same and same[0].importance == "warning" and original in same[0].message
    (identical,) = [d for d in s.duplicates if d.identical]
    assert identical.used == original and set(identical.files) == {original, copy}


def test_the_good_children_consolidate(folder, run, context):
    """The county's rows: the accepted townships carry their 合计; the others only their baseline."""
    data = read_workbook(run["out"], **context).data
    t = folder["townships"]
    for name, code in ((folder["good"], t[0]), (folder["identical"][0], t[3])):
        values = folder["values"][name][PP]
        assert data.rows[PP][code]["exited_people"] == sum(r["exited_people"] for r in values.values())
        assert data.rows[PP][code]["base_people"] == sum(r["base_people"] for r in values.values())
    for code in (t[1], t[2], t[4], t[5], t[6]):
        row = data.rows[PP][code]
        assert row["exited_people"] is None and row["prior_exited_people"] is None
        assert row["base_people"] == context["baseline"].totals(context["registry"], code)["poor_people"]
    own = folder["values"][folder["own"]]["infrastructure"]
    county = context["registry"].get(COUNTY).code
    assert data.rows["infrastructure"][county]["merged_villages"] == own[county]["merged_villages"]


def test_inputs_are_never_changed(folder, run):
    inbox = folder["inbox"]
    assert {p.name: sha256_file(p) for p in inbox.iterdir()} == folder["hashes"]
    recorded = {Path(f).name: sha for f, sha in run["summary"].inputs}
    assert "说明.txt" not in recorded
    assert recorded == {k: v for k, v in folder["hashes"].items() if k != "说明.txt"}


def test_detail_and_check_sheets(folder, run):
    book = openpyxl.load_workbook(run["out"])
    detail = list(book[DETAIL_SHEET].iter_rows(values_only=True))
    assert detail[0][:3] == ("单位代码", "单位名称", "状态")
    assert [(r[0], r[2]) for r in detail[1:]] == [(c.code[:9], c.status) for c in run["summary"].children]
    rows = list(book[CHECK_SHEET].iter_rows(values_only=True))
    counts = {r[0]: r[1] for r in rows[:12]}
    assert counts["应报单位数"] == 7 and counts["已汇总"] == 2 and counts["退回"] == 2
    assert counts["未报（无可用报表）"] == 3 and counts["拒收文件数"] == 4
    # text from inputs never becomes a formula: the file named "=1+1.xlsx" is written as text
    cells = [c for row in book[CHECK_SHEET].iter_rows() for c in row if c.value == folder["stranger"]]
    assert cells and all(c.data_type == "s" for c in cells)
    head = next(i for i, r in enumerate(rows) if r[0] == "序号")
    assert len(rows) - head - 1 == len(run["summary"].findings)
    levels = rows[rows.index(next(r for r in rows if r[0] == "层级")) + 1]  # a county: its townships
    assert levels[:4] == ("乡镇", 7, 2, 5)


def test_returned_children_get_an_annotated_copy(folder, run):
    back = run["out_dir"] / "退回"
    names = {p.name for p in back.iterdir()}
    assert {folder["text"][0], folder["formula"][0], *folder["different"]} <= names
    assert folder["good"] not in names
    name, sheet, cell = folder["text"]
    marked = openpyxl.load_workbook(back / name)[sheet][cell]
    assert marked.comment is not None and "12人" in marked.comment.text


def test_summary_for_people_and_machines(folder, run):
    s = run["summary"]
    payload = json.loads(json.dumps(s.to_dict(), ensure_ascii=False))
    assert payload["completeness"]["received"] == 2
    assert {m["code"] for m in payload["missing"]} == {c.code for c in s.missing}
    assert {Path(i["file"]).name for i in payload["inputs"]} == set(folder["hashes"]) - {"说明.txt"}
    text = s.render()
    for child in s.missing + s.returned:
        assert child.name in text
    assert folder["garbage"] in text and "退回" in text


def test_what_was_not_read_is_said(folder, context, tmp_path):
    """A township's workbook saved in a subfolder, sent zipped, or open in Excel is not silently
    missing: each is a warning saying why it was not read; the output's own folder is passed over."""
    import zipfile

    from hbreport.consolidation.inbox import RULE_NOT_READ

    inbox, t = tmp_path / "收件", folder["townships"]
    inbox.mkdir()
    good = inbox / folder["good"]
    shutil.copy(folder["inbox"] / folder["good"], good)
    (inbox / "旧文件").mkdir()
    shutil.copy(folder["inbox"] / folder["identical"][0], inbox / "旧文件" / folder["identical"][0])
    with zipfile.ZipFile(inbox / "长港镇报表.zip", "w") as z:
        z.write(folder["inbox"] / folder["different"][0], folder["different"][0])
    owner = inbox / ("~$" + good.name[2:])  # Excel's owner file of an open workbook with a long name
    owner.write_bytes(b"\x07clerk")
    (inbox / "说明.docx").write_bytes(b"PK")
    (inbox / ".DS_Store").write_bytes(b"")
    out = inbox / "汇总" / "梁子湖区.xlsx"  # the output beside the inputs, in a subfolder

    first = consolidate(inbox, COUNTY, PERIOD, out, **context)
    again = consolidate(inbox, COUNTY, PERIOD, out, force=True, **context)  # its own output is not "unread"
    assert [f.text() for f in again.findings] == [f.text() for f in first.findings]
    unread = {Path(f.file).name: f for f in first.findings if f.rule == RULE_NOT_READ}
    assert set(unread) == {"旧文件", "长港镇报表.zip", owner.name, inbox.name}
    assert all(f.importance == "warning" and f.hint for f in unread.values())
    assert "1 个报表文件" in unread["旧文件"].message
    assert "压缩包" in unread["长港镇报表.zip"].message and "解压" in unread["长港镇报表.zip"].hint
    assert good.name in unread[owner.name].message and "保存并关闭" in unread[owner.name].hint
    assert "说明.docx" in unread[inbox.name].message and ".DS_Store" not in unread[inbox.name].message
    assert _status(first)[t[3]] == MISSING  # the workbook in the subfolder was not read
    assert "见下面的“未读取”警告" in first.render()
    assert [Path(f).name for f, _ in first.inputs] == [good.name]
    listed = [
        r[8] for r in openpyxl.load_workbook(out)[CHECK_SHEET].iter_rows(values_only=True) if len(r) > 8
    ]
    assert unread["长港镇报表.zip"].message in listed


@pytest.mark.slow
def test_forms_made_from_another_registry_consolidate_with_that_registry_alone(context, tmp_path):
    """An office that loads its own registry (--units) generates forms without the sample's village
    baseline; consolidating them with that registry, and nothing else given, must use the same
    baseline, not refuse townships whose villages happen to carry sample codes."""
    from hbreport.forms import generate_forms

    sample = context["registry"]
    elsewhere = next(u for u in sample.at_level("village") if not u.code.startswith(COUNTY))
    units = tmp_path / "units.csv"
    lines = Path(sample.source).read_text(encoding="utf-8").splitlines(keepends=True)
    units.write_text("".join(line for line in lines if not line.startswith(elsewhere.code)), encoding="utf-8")
    own = load_registry(units)  # the sample's tree but one village: not the sample any more
    made = generate_forms("township", PERIOD, under=COUNTY, out_dir=tmp_path / "inbox", registry=own)
    # without a village baseline the 02 form lists every village; the clerk fills the poor ones
    first = made[0]
    spec = build_workbook_spec(first.name[:9], PERIOD, registry=own)
    villages = spec.sheet(VE)
    assert villages.count_filled_rows and len(villages.rows) == len(own.children(spec.unit_code))
    assert any("本表列出全部村" in note for note in villages.notes)
    filled = {r.code: {"remaining_poor_households": 0, "village_population": 900} for r in villages.rows[:2]}
    write_workbook(spec, first, values={VE: filled}, force=True)  # the clerk saves over it
    summary = consolidate(tmp_path / "inbox", COUNTY, PERIOD, tmp_path / "out.xlsx", registry=own)
    assert len(made) == 7 and summary.rejected == []
    # one township filled two villages; the six blank forms are 空表, not reported data
    assert len(summary.received) == 1 and [c.status for c in summary.children].count("空表") == 6
    counted = {code: row["poor_villages"] for code, row in summary.data.rows[VE].items()}
    assert counted[spec.unit_code] == 2 and sum(v or 0 for v in counted.values()) == 2  # filled rows only


def test_a_blank_form_or_an_own_form_instead_of_a_consolidation_is_warned(folder, context, tmp_path):
    """Figures never silently taken from nothing: a township's blank form, and a county's own form
    (only its 04 filled) sent to the prefecture instead of the county's consolidated workbook."""
    from hbreport.checks.blank import RULE_BLANK
    from hbreport.checks.consolidation import OWN_FORM
    from hbreport.forms import generate_forms

    t = folder["townships"]
    blank = generate_forms("township", PERIOD, under=t[1], out_dir=tmp_path / "in", **context)
    shutil.copy(folder["inbox"] / folder["good"], tmp_path / "in" / folder["good"])
    summary = consolidate(tmp_path / "in", COUNTY, PERIOD, tmp_path / "county.xlsx", **context)
    (warned,) = [f for f in summary.findings if f.rule == RULE_BLANK]
    assert Path(warned.file).name == blank[0].name and "没有填报任何数据" in warned.message
    assert warned.importance == "warning" and _status(summary)[t[1]] == "空表"
    # a blank form is not reported data: not in the 汇总率, not in the figures, its row says 空表
    assert summary.completeness["consolidated_rate"] < 1 and summary.completeness["received"] == 1
    assert t[1] not in {c.code for c in summary.received}

    own, _, _ = write_filled(COUNTY, PERIOD, tmp_path / "pref", only=("infrastructure",), **context)
    summary = consolidate(tmp_path / "pref", "420700", PERIOD, tmp_path / "prefecture.xlsx", **context)
    (warned,) = [f for f in summary.findings if f.rule == OWN_FORM]
    assert Path(warned.file).name == own.name and "不是汇总表" in warned.message
    assert "01脱贫进展" in warned.message and "04" not in warned.message and "consolidate" in warned.hint


@pytest.mark.slow
def test_same_inputs_give_byte_identical_output(folder, run, context, tmp_path):
    again = tmp_path / "again.xlsx"
    consolidate(folder["inbox"], COUNTY, PERIOD, again, workers=1, annotate_dir=tmp_path / "back", **context)
    assert again.read_bytes() == run["out"].read_bytes()


def test_existing_output_is_not_overwritten_without_force(folder, run, context, tmp_path):
    before = sha256_file(run["out"])
    with pytest.raises(HBError) as err:
        consolidate(folder["inbox"], COUNTY, PERIOD, run["out"], **context)
    assert "已存在" in str(err.value) and "--force" in str(err.value)
    assert sha256_file(run["out"]) == before
    consolidate(folder["inbox"], COUNTY, PERIOD, run["out"], force=True, annotate_dir=tmp_path, **context)
    assert sha256_file(run["out"]) == before


def test_a_township_sent_to_the_prefecture_is_the_wrong_level(folder, context, tmp_path):
    inbox = tmp_path / "prefecture"
    inbox.mkdir()
    shutil.copy(folder["inbox"] / folder["good"], inbox)
    s = consolidate(inbox, "420700", PERIOD, tmp_path / "out.xlsx", **context)
    (rejected,) = s.rejected
    assert rejected.kind == "wrong_level" and "梁子湖区" in rejected.reason
    assert len(s.missing) == 3 and s.exit_code == 1


def test_a_township_does_not_consolidate(context, tmp_path):
    with pytest.raises(HBError, match="不汇总"):
        consolidate(tmp_path, "420702001", PERIOD, tmp_path / "out" / "out.xlsx", **context)


def test_output_and_copies_stay_out_of_the_inbox(folder, context, tmp_path):
    inbox = folder["inbox"]
    with pytest.raises(HBError, match="不能放在下级报表所在的文件夹"):
        consolidate(inbox, COUNTY, PERIOD, inbox / folder["good"], force=True, **context)
    with pytest.raises(HBError, match="覆盖原件"):
        consolidate(inbox, COUNTY, PERIOD, tmp_path / "out.xlsx", annotate_dir=inbox, **context)
    assert {p.name: sha256_file(p) for p in inbox.iterdir()} == folder["hashes"]


@pytest.mark.slow
def test_command_line(folder, tmp_path, capsys):
    from hbreport.cli import run as cli

    out = tmp_path / "cli" / "梁子湖区_2017.xlsx"
    argv = ["consolidate", str(folder["inbox"]), "--parent", COUNTY, "--period", "2017", "--out", str(out)]
    assert cli([*argv, "--json"]) == 1  # units missing and files returned: findings, exit 1
    payload = json.loads(capsys.readouterr().out)
    assert payload["completeness"]["received"] == 2 and payload["output"] == str(out)
    assert cli(argv) == 2  # the output exists: refused, exit 2
    assert "--force" in capsys.readouterr().err
    assert cli([*argv, "--force"]) == 1
    assert "未报" in capsys.readouterr().out
    one = tmp_path / "one" / "梁子湖区_2017.xlsx"
    assert cli([*argv[:-1], str(one), "--workers", "1"]) == 1
    assert one.read_bytes() == out.read_bytes()  # one process or several: the same workbook
    assert cli([*argv, "--force", "--workers", "0"]) == 2  # a usage error, in Chinese
    assert "--workers" in capsys.readouterr().err


@pytest.mark.slow
def test_parallel_reading_gives_the_serial_result_even_when_a_reader_dies(
    folder, run, context, tmp_path, monkeypatch
):
    """Files are dealt between this process and a forked one; the output is byte-identical to reading
    them all here, and when the forked process dies without answering, what it took is read again."""
    import os

    import hbreport.consolidation.parallel as dealing

    serial = consolidate(
        folder["inbox"],
        COUNTY,
        PERIOD,
        tmp_path / "serial.xlsx",
        workers=1,
        annotate_dir=tmp_path / "s",
        **context,
    )
    parallel = consolidate(
        folder["inbox"],
        COUNTY,
        PERIOD,
        tmp_path / "parallel.xlsx",
        workers=2,
        annotate_dir=tmp_path / "p",
        **context,
    )
    assert (tmp_path / "serial.xlsx").read_bytes() == (tmp_path / "parallel.xlsx").read_bytes()
    assert parallel.received == serial.received
    # the annotated copies, made on two processes too, say the same (openpyxl stamps the time: not bytes)
    assert [Path(p).name for p in parallel.annotated] == [Path(p).name for p in serial.annotated]
    for name in (Path(p).name for p in serial.annotated):
        listed = [list(openpyxl.load_workbook(tmp_path / d / name)["问题清单"].values) for d in ("s", "p")]
        assert listed[0] == listed[1] and len(listed[0]) > 2

    def dies(job, shared, k, send):  # takes three files, then ends without sending anything
        ends, claimed, lock = shared
        with lock:
            ends[0] += 3
            claimed[k] += 3
        os._exit(1)

    monkeypatch.setattr(dealing, "_helper", dies)
    survived = consolidate(folder["inbox"], COUNTY, PERIOD, tmp_path / "after.xlsx", workers=2, **context)
    assert (tmp_path / "after.xlsx").read_bytes() == (tmp_path / "serial.xlsx").read_bytes()
    assert survived.received == serial.received
    assert {p.name: sha256_file(p) for p in folder["inbox"].iterdir()} == folder["hashes"]
