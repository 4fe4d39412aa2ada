"""Consolidation: a folder of the children's workbooks → the parent's workbook, losing nothing.

A county office drops its townships' workbooks in a folder and runs one command. Every file is
classified — accepted, rejected with its reason (unusable, not a child of this unit, wrong level,
wrong period, old version), duplicate, or 退回 (returned: findings of importance 错误 block it, as
in DHIS2) — and every expected child is accounted for (已报 / 未报 / 退回 / 重复 / 拒收). The accepted
children's 合计 rows become their rows on the parent's form (``engine.parent_values``: sums for
counts, count_if columns counted, max kept, ratios recomputed from the sums), the parent's baseline
columns come from the baseline, and the parent's workbook is written in the SAME form family, so the
next level up consolidates it the same way. Two extra sheets say what happened: 下级明细 and 汇总校验.

Inputs are only read (never changed); the output is written to a temporary file and renamed, is
never overwritten without ``force``, and is byte-identical when the same inputs are consolidated again.
Forms a unit reports for itself (the county's 04 form has one row, the county) are taken from the
unit's own workbook when it lies in the folder.
"""

from __future__ import annotations

import datetime as dt
import os
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from hbreport import timeliness
from hbreport.checks import finding
from hbreport.checks.blank import blank_form_finding, blank_sheets
from hbreport.checks.consolidation import (
    APPROVAL,
    BASELINE,
    OWN_ERRORS,
    OWN_FORM,
    OWN_MISSING,
    PERIOD,
    RETURN_COPY,
    UNIT,
)
from hbreport.checks.engine import parent_values, row_filled
from hbreport.checks.files import (
    COPY,
    DIFFERING,
    ORIGINAL,
    UNUSABLE,
    UnitFile,
    one_per_unit,
    original_first,
    unusable_finding,
)
from hbreport.consolidation.county_exit import SHEET as COUNTY_EXIT_SHEET
from hbreport.consolidation.county_exit import assess as assess_county
from hbreport.consolidation.county_exit import carried_table
from hbreport.consolidation.inbox import scan
from hbreport.consolidation.parallel import read_files
from hbreport.context import Context
from hbreport.errors import HBError
from hbreport.forms import prefill_values
from hbreport.heap import frozen_heap
from hbreport.model.approval import APPROVED, CHANGED, NOT_APPROVED, Stamp, content_digest
from hbreport.model.figures import record_figures
from hbreport.model.findings import Finding, count_by_importance
from hbreport.model.summary import (
    ACCEPTED,
    BLANK,
    DUPLICATE,
    MISSING,
    NOT_WRITTEN,  # noqa: F401  (the callers' name for it)
    REJECTED,
    RETURNED,
    ChildStatus,
    CountyExitStatus,
    DuplicateSet,
    Rejection,
    Summary,
    _short,
)
from hbreport.model.values import FormData
from hbreport.regions import REGION_SHEET, region_sheet, roll_up
from hbreport.registry import LEVEL_ZH
from hbreport.spec import LEVEL_FORMS, TOTAL, SheetSpec, WorkbookSpec, build_workbook_spec
from hbreport.store import forms as kept
from hbreport.store.approvals import FROM_STAMP, approved
from hbreport.store.approvals import record as record_approvals
from hbreport.store.db import check_store
from hbreport.store.forms import FormStore, Submission
from hbreport.xlsx.atomic import check_target
from hbreport.xlsx.layout import CHECK_SHEET, DETAIL_SHEET, SheetLayout
from hbreport.xlsx.reader import read_workbook
from hbreport.xlsx.safety import crash_reason, sha256_file
from hbreport.xlsx.trace import traced_cells
from hbreport.xlsx.writer import write_workbook

RETURN_DIR = "退回"
RULE_APPROVAL = APPROVAL

#: rule ids of the findings consolidation itself raises (the reader's findings carry the form's rule ids)
RULE_FILE, RULE_DUPLICATE, RULE_COPY = UNUSABLE, DIFFERING, COPY
RULE_UNIT, RULE_PERIOD, RULE_BASELINE = UNIT, PERIOD, BASELINE
RULE_RETURN_COPY = RETURN_COPY
_TOLERANCE = 1e-6

Progress = Callable[[int, int], None]


# ---------------------------------------------------------------- reading (in worker processes)


@dataclass
class _Read:
    """What one worker returns for one file (picklable)."""

    path: str
    sha256: str
    data: FormData | None
    findings: list[Finding]
    error: str | None = None  # why the file cannot be used (HBError message) …
    hint: str | None = None  # … and what to do
    sheet: str | None = None  # … and where, when the HBError says
    cell: str | None = None
    levels: dict[str, int] = field(default_factory=dict)  # a consolidated child's 各级报送: level → received
    county_exits: tuple[CountyExitStatus, ...] = ()  # a consolidated child's poor counties' 摘帽 statuses
    consolidated: bool = False  # the workbook is a consolidation's output (it has 汇总校验)
    stamp: Stamp | None = None  # the approval the workbook carries, checked against its values
    notes: dict[str, dict[str, str]] = field(default_factory=dict)  # form → row → 说明 (for its digest)
    sums: dict[str, ChildSums] = field(default_factory=dict)  # form → its 合计 as the parent's cells


_CONTEXT: dict[str, Any] = {}


def _init_worker(registry, catalog, baseline) -> None:
    _CONTEXT.update(registry=registry, catalog=catalog, baseline=baseline)


def _read_one(path: str) -> _Read:
    try:
        result = read_workbook(
            Path(path),
            registry=_CONTEXT["registry"],
            catalog=_CONTEXT["catalog"],
            baseline=_CONTEXT["baseline"],
        )
    except HBError as exc:
        return _Read(
            path, _hash_or_blank(path, sha256_file), None, [], exc.message, exc.hint, exc.sheet, exc.cell
        )
    except Exception as exc:  # a file must not stop the others: report it, keep going
        return _Read(
            path,
            _hash_or_blank(path, sha256_file),
            None,
            [],
            f"读取时发生意外错误（{type(exc).__name__}: {exc}），该文件未汇总",
            "请报送单位重新保存为 .xlsx 后再报；问题仍在时把该文件交维护人员检查",
        )
    summary = result.summary  # a consolidation's output: units received per level, from its hidden part
    try:  # worked out here, on the reading processes, rather than after every file is read
        sums = child_sums(result.data)
    except Exception:  # noqa: BLE001  (then worked out, and said, where the values are rolled up)
        sums = {}
    levels = {level: got for level, _n, got in summary.levels} if summary is not None else {}
    return _Read(
        path,
        result.sha256,
        result.data,
        list(result.findings),
        levels=levels,
        county_exits=tuple(summary.county_exits) if summary is not None else (),
        consolidated=result.consolidated,
        stamp=result.stamp,
        notes=result.notes,
        sums=sums,
    )


def _crashed_read(path: str, exit_code: int | None) -> _Read:
    """A file whose reading killed the reading process (native code aborted on it): refused."""
    return _Read(path, _hash_or_blank(path, sha256_file), None, [], *crash_reason(exit_code))


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:  # gone since the folder was listed: its reading will say so
        return 0


def _hash_or_blank(path: str, sha256_file) -> str:
    try:
        return sha256_file(path)
    except OSError:
        return ""


# ---------------------------------------------------------------- consolidate


def consolidate(
    folder: str | Path,
    parent_code: str,
    period: int,
    out_path: str | Path,
    *,
    registry=None,
    catalog=None,
    baseline=None,
    force: bool = False,
    workers: int | None = None,
    annotate_dir: str | Path | None = None,
    progress: Progress | None = None,
    store: str | Path | None = None,
    deadline: dt.date | None = None,
    require_approved: bool = False,
) -> Summary:
    """Consolidate the children's workbooks in ``folder`` into ``parent_code``'s workbook at ``out_path``.

    Returns a :class:`Summary`; raises HBError only when the job itself cannot be done (no such folder
    or unit, a unit that does not consolidate, an output that exists without ``force``, a ``store``
    that cannot be used). With ``store`` (an SQLite file, created on first use), every submission
    received and the consolidation are kept there, in one transaction after the workbook is written.
    ``deadline`` (else the catalog's ``reporting_due``) judges each child 按时 / 逾期 / 未报 by its
    received time: when ``store`` first saw the file's sha256, else its mtime (the earlier of the two).
    ``require_approved`` returns (退回) every child whose file (by sha256) has no approval in ``store``.
    """

    folder, out_path = Path(folder), Path(out_path)
    if not folder.is_dir():
        raise HBError(f"找不到存放下级报表的文件夹「{folder}」", hint="给出收到的下级报表所在的文件夹")
    inputs_dir = folder.resolve()
    if out_path.resolve().parent == inputs_dir:
        raise HBError(
            f"输出文件「{out_path.name}」不能放在下级报表所在的文件夹中（会被当作报表读入，或覆盖下级报表）",
            hint="把输出写到另一个文件夹，例如上一级文件夹",
        )
    check_target(out_path, suffix=".xlsx", force=force)  # said now; written exclusively at the end
    registry, catalog, baseline = Context.of(registry, catalog, baseline).parts  # as the forms were made
    parent = registry.get(parent_code)
    if parent.level not in LEVEL_FORMS or parent.level == "township":
        raise HBError(
            f"「{parent.name}」({parent.code}) 是{parent.level_zh}级单位，不汇总下级报表",
            hint="乡镇表由乡镇直接填报；汇总对县、市州、省进行",
        )
    annotate_dir = Path(annotate_dir) if annotate_dir else out_path.parent / RETURN_DIR
    if annotate_dir.resolve() == inputs_dir:
        raise HBError(
            "批注副本不能写回下级报表所在的文件夹（会覆盖原件）",
            hint="另给一个文件夹，或不指定（默认写到输出文件旁的「退回」文件夹）",
        )
    if store is not None:
        store = Path(store)
        check_store(store)  # refused before any work when it cannot be used; written at the end
    skip = [store, Path(f"{store}-wal"), Path(f"{store}-shm"), Path(f"{store}-journal")] if store else []
    inbox = scan(folder, exclude=[out_path, annotate_dir, *skip])

    def parent_spec() -> WorkbookSpec:  # built while the forked processes start reading
        return build_workbook_spec(parent.code, period, registry=registry, catalog=catalog, baseline=baseline)

    with frozen_heap():
        workers = workers or os.cpu_count() or 1
        reading = read_files(
            [str(f) for f in inbox.files],
            _read_one,
            workers=workers,
            setup=_init_worker,
            context=(registry, catalog, baseline),
            progress=progress,
            meanwhile=parent_spec,
            crashed=_crashed_read,
            weights=[_size(f) for f in inbox.files],  # the larger the workbook, the longer it takes
        )
        job = _Job(
            spec=reading.meanwhile,
            registry=registry,
            catalog=catalog,
            period=period,
            not_read=inbox.not_read,
            force=force,
            inputs=list(inbox.files),
            deadline=deadline or catalog.reporting_due(period),
            require_approved=require_approved,
        )
        return _run(job, reading.results, out_path, annotate_dir, baseline, workers, store)


def _run(
    job: _Job,
    reads: list[_Read],
    out_path: Path,
    annotate_dir: Path,
    baseline,
    workers: int,
    store: Path | None = None,
) -> Summary:
    spec, period = job.spec, job.period
    job.prefill = prefill_values(spec, job.registry, baseline)
    job.approvals = approved(store, [r.sha256 for r in reads])
    job.classify(reads)
    job.first_seen = _first_seen(store, [r.sha256 for r in reads])
    values = job.parent_values()

    summary = job.summary()
    summary.data = FormData.from_inputs(spec, values, absent=summary.absent_rows())
    summary.regions = roll_up((r.data for r in job.accepted.values()), baseline)
    if not summary.received:  # nothing to add up: a workbook of blanks must not be forwarded as a result
        summary.annotated, not_annotated = _annotate(job, annotate_dir, workers)
        summary.findings += not_annotated
        _keep(job, summary, store, None)  # what was received is kept all the same
        return summary
    # the document date is the end of the reporting period, not the clock: the same inputs give the same bytes
    as_of = datetime(period, 12, 31, tzinfo=UTC)
    county_exit = assess_county(summary.data, registry=job.registry, catalog=job.catalog, baseline=baseline)
    # 摘帽 statuses carried up from the children's own Summaries (only from children whose data are in)
    exits = {e.code: e for r in job.accepted.values() for e in r.county_exits}
    if county_exit is not None:
        exits[county_exit.code] = county_exit.carried()
    summary.county_exits = sorted(exits.values(), key=lambda e: e.code)
    summary.figures = record_figures(spec, values, (c.code for c in summary.received))
    extra = _extra_sheets(summary)
    if county_exit is not None:  # a poor county: its exit assessed on its own consolidated figures
        extra.append((COUNTY_EXIT_SHEET, county_exit.table()))
    elif spec.level in ("prefecture", "province"):
        table = carried_table(
            spec.unit_code, period, summary.county_exits, registry=job.registry, baseline=baseline
        )
        if table is not None:
            extra.append((COUNTY_EXIT_SHEET, table))
    written = write_workbook(
        spec,
        out_path,
        values=values,
        extra_sheets=extra,
        created=as_of,
        data=summary.data,
        summary_part=summary.to_part(),
        # differing duplicates are all refused: the row says 拒收, as for any refused file
        row_status={c.code: REJECTED if c.status == DUPLICATE else c.status for c in summary.children},
        force=job.force,
        inputs=job.inputs,
    )
    summary.output = str(written)
    summary.annotated, not_annotated = _annotate(job, annotate_dir, workers)
    summary.findings += not_annotated  # after the workbook: about this run's outputs, not the inputs
    _keep(job, summary, store, written)
    return summary


def _first_seen(store: Path | None, shas: list[str]) -> dict[str, str]:
    """When an earlier consolidation kept each of these files (by sha256) in the store; {} without one."""
    if store is None or not store.is_file():
        return {}
    with FormStore(store) as db:
        return db.first_seen(shas)


def _keep(job: _Job, summary: Summary, store: Path | None, written: Path | None) -> None:
    """Every submission received and this consolidation into the store: one transaction, after the
    workbook (a store that cannot be used was said before any work began)."""
    if store is None:
        return
    try:
        with FormStore(store) as db:
            db.record_consolidation(
                summary,
                job.submissions(),
                output=str(written) if written else None,
                output_sha256=sha256_file(written) if written else None,
            )
        stamped = job.stamped_approvals()
        if stamped:  # approvals that came inside the files: kept, so history shows them
            record_approvals(store, stamped, FROM_STAMP)
    except HBError as exc:
        done = f"汇总工作簿已写出（{written.name}），但" if written else ""
        raise HBError(f"{done}未能存入数据库：{exc.message}", file=exc.file, hint=exc.hint) from None
    summary.store = str(store)


@dataclass
class _Job:
    """The state of one consolidation while files are classified and values aggregated."""

    spec: WorkbookSpec
    registry: Any
    period: int
    catalog: Any = None
    prefill: Mapping[str, Mapping[str, Mapping[str, Any]]] = field(default_factory=dict)
    not_read: list[Finding] = field(default_factory=list)  # what lay in the folder besides submissions
    accepted: dict[str, _Read] = field(default_factory=dict)
    returned: dict[str, _Read] = field(default_factory=dict)
    blank: dict[str, _Read] = field(default_factory=dict)  # 空表
    own: _Read | None = None
    rejected: list[Rejection] = field(default_factory=list)
    duplicates: list[DuplicateSet] = field(default_factory=list)
    findings_by_file: dict[str, list[Finding]] = field(default_factory=dict)
    reads: list[_Read] = field(default_factory=list)
    read_names: list[str] = field(default_factory=list)  # the file name of each of ``reads``
    rolled: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)  # child → form → cells
    force: bool = False  # the output (and return copies) may replace existing files
    inputs: list[Path] = field(default_factory=list)  # the files scanned: never written over
    deadline: dt.date | None = None  # 报送截止日期
    first_seen: dict[str, str] = field(default_factory=dict)  # sha256 → when the store first kept it
    require_approved: bool = False  # children whose file is not approved (store or stamp) are returned
    approvals: dict[str, dict[str, str]] = field(default_factory=dict)  # sha256 → its approval in the store
    unapproved: dict[str, str] = field(default_factory=dict)  # child returned for want of an approval → why

    @property
    def expected(self) -> dict[str, Any]:
        return {u.code: u for u in self.registry.children(self.spec.unit_code)}

    def submissions(self) -> list[Submission]:
        """Every file read as a workbook of a unit, as the store keeps it (identical copies once)."""
        status = {id(r): kept.ACCEPTED for r in self.accepted.values()}
        status.update({id(r): kept.RETURNED for r in self.returned.values()})
        if self.own is not None:
            status[id(self.own)] = kept.ACCEPTED
        out: dict[tuple[str, int, str], Submission] = {}
        for r in sorted(self.reads, key=lambda r: id(r) not in status):
            if r.data is None:
                continue
            key = (r.data.unit_code, r.data.period, r.sha256)
            if key not in out:
                findings = self.findings_by_file.get(r.path, [])
                out[key] = Submission(r.data, r.sha256, r.path, status.get(id(r), kept.REFUSED), findings)
        return list(out.values())

    def _reject(
        self, r: _Read, reason: str, kind: str, rule: str, unit=None, hint: str | None = None
    ) -> None:
        """``r`` refused: a Rejection, and a finding of check ``rule`` (文件, 单位 or 报告期)."""
        name = Path(r.path).name
        code, unit_name = (unit.code, unit.name) if unit else (None, None)
        self.rejected.append(Rejection(name, reason, kind, code, unit_name))
        if rule == RULE_FILE:
            made = unusable_finding(
                r.path, reason, hint, sheet=r.sheet, cell=r.cell, unit_code=code, unit_name=unit_name
            )
        elif rule == RULE_PERIOD:
            made = finding(
                rule,
                file=r.path,
                unit_code=code,
                unit_name=unit_name,
                found=r.data.period,
                period=self.period,
                unit=unit_name,
            )
        else:
            made = finding(
                rule, file=r.path, unit_code=code, unit_name=unit_name, reason=reason, hint=hint or ""
            )
        self._add(r, made)

    def _add(self, r: _Read, finding: Finding) -> None:
        self.findings_by_file.setdefault(r.path, []).append(finding)

    def classify(self, reads: list[_Read]) -> None:
        """Sort every file into accepted / returned / rejected / duplicate, and keep its findings."""
        self.reads = reads
        self.read_names = [Path(r.path).name for r in reads]
        expected = self.expected
        parent = self.spec
        candidates: dict[str, list[_Read]] = {}
        for r in reads:
            self.findings_by_file[r.path] = list(r.findings)
            if r.data is None:
                self._reject(
                    r, r.error or "无法读取", "unusable", RULE_FILE, self._named(r.path, expected), r.hint
                )
                continue
            unit = self.registry.get(r.data.unit_code)
            if r.data.period != self.period:
                self._reject(
                    r,
                    f"这是 {r.data.period} 年的报表，本次汇总 {self.period} 年",
                    "wrong_period",
                    RULE_PERIOD,
                    unit,
                    f"请{unit.name}报送 {self.period} 年的报表；往年的文件不要放在本次汇总的文件夹里",
                )
                continue
            if unit.code != parent.unit_code and unit.code not in expected:
                if self._is_below(unit.code):
                    via = self.registry.reporting_parent(unit.code)
                    reason = (
                        f"这是{unit.level_zh}「{unit.name}」的报表，层级不对：应先由{via.level_zh}「{via.name}」"
                        f"汇总后，以{via.name}的汇总表报送{parent.unit_name}"
                    )
                    self._reject(r, reason, "wrong_level", RULE_UNIT, unit, f"把该文件转给{via.name}")
                else:
                    up = self.registry.reporting_parent(unit.code)
                    where = f"（它属于「{up.name}」）" if up else ""
                    self._reject(
                        r,
                        f"该单位「{unit.name}」不属于 {parent.unit_name}{where}，不汇总",
                        "not_child",
                        RULE_UNIT,
                        unit,
                        f"核对文件是否放错了文件夹；应报送给「{up.name}」"
                        if up
                        else "核对文件是否放错了文件夹",
                    )
                continue
            candidates.setdefault(unit.code, []).append(r)

        for code, group in candidates.items():
            chosen = self._one_of(code, group)
            if chosen is None:
                continue
            if code == parent.unit_code and self._self_sheets():
                self._take_own(chosen)
                continue
            if code == parent.unit_code:
                reason = f"这是{parent.unit_name}本级自己的报表，不是下级报表；本级没有自填的表，不汇总"
                hint = "汇总结果请写到另一个文件夹，不要放在下级报表中"
                self._reject(chosen, reason, "not_child", RULE_UNIT, self.registry.get(code), hint)
                continue
            if self._blank_check(chosen):
                self.blank[code] = chosen  # 空表: not reported data, not rolled up
                continue
            self.rolled[code] = self._roll_up(chosen)
            if self.require_approved and not self.approved_by(chosen):
                self._unapproved(code, chosen)
            errors = [f for f in self.findings_by_file[chosen.path] if f.importance == "error"]
            (self.returned if errors else self.accepted)[code] = chosen

    def approved_by(self, r: _Read) -> str:
        """Who approved the file ``r``: by the store's record of its sha256, else by the stamp it carries
        when that stamp holds for its values now; "" when it is not approved."""
        if r.sha256 in self.approvals:
            return self.approvals[r.sha256]["by"]
        return r.stamp.by if r.stamp is not None and r.stamp.valid else ""

    def approval(self, r: _Read) -> str:
        """已审核, 审核后被改动 (its stamp no longer holds) or 未审核."""
        if self.approved_by(r):
            return APPROVED
        return CHANGED if r.stamp is not None else NOT_APPROVED

    def _unapproved(self, code: str, r: _Read) -> None:
        """A child's file that is not approved (never approved, or changed since): 退回, with the reason."""
        unit = self.registry.get(code)
        name = Path(r.path).name
        if r.stamp is not None:  # approved once, its values changed since
            when = r.stamp.at.replace("T", " ")[:16]
            self.unapproved[code] = f"{CHANGED}（{r.stamp.by} {when} 审核）"
            message = (
                f"「{unit.name}」的报表「{name}」在审核后被改动：{r.stamp.by} 于 {when} 审核时的数据"
                "与文件中现在的数据不同，审核已失效"
            )
            hint = "请填报单位核实改动，由审核人重新审核（hbreport approve 文件 --by 姓名）后报送审核件，再重新汇总"
        else:
            self.unapproved[code] = "未经审核"
            message = (
                f"「{unit.name}」的报表「{name}」未经审核：文件中没有审核标记，数据库中也没有这份文件"
                f"（SHA-256 {r.sha256[:12]}…）的审核记录（没有审核，或审核后文件被改动）"
            )
            hint = "审核人核对后运行 hbreport approve 文件 --by 姓名，报送写出的审核件（或用同一数据库汇总），再重新汇总"
        self._add(
            r,
            finding(
                RULE_APPROVAL,
                file=r.path,
                unit_code=unit.code,
                unit_name=unit.name,
                reason=message,
                hint=hint,
            ),
        )

    def stamped_approvals(self) -> list[dict[str, Any]]:
        """The accepted children approved by the stamp they carry that the store does not know yet."""
        out = []
        for r in self.accepted.values():
            if r.sha256 not in self.approvals and r.stamp is not None and r.stamp.valid:
                data = r.data
                out.append(
                    {
                        "sha256": r.sha256,
                        "file": Path(r.path).name,
                        "unit_code": data.unit_code,
                        "unit_name": data.spec.unit_name,
                        "period": data.period,
                        "by": r.stamp.by,
                        "note": r.stamp.note,
                        "at": r.stamp.at,
                    }
                )
        return out

    def _blank_check(self, r: _Read) -> bool:
        """A child's workbook with nothing typed in it (a blank form sent by mistake): 空表, True — never
        taken as reported figures. Above the township, a unit's own form sent instead of its
        consolidation is warned (its empty forms named) and still consolidated."""
        found = blank_form_finding(r.data, r.path)
        if found is not None:
            self.findings_by_file[r.path].append(found)
            return True
        spec = r.data.spec
        blank = blank_sheets(r.data)
        if not blank or spec.level == "township" or r.consolidated:
            return False
        name = spec.unit_name
        sheets = "、".join(f"「{s.sheet}」" for s in blank)
        self.findings_by_file[r.path].append(
            finding(
                OWN_FORM,
                file=r.path,
                unit_code=r.data.unit_code,
                unit_name=name,
                unit=name,
                sheets=sheets,
            )
        )
        return False

    def _named(self, path: str, expected: Mapping[str, Any]):
        """The expected child a file's name points to (``<code>_<name>_<year>.xlsx``), if any: an unusable
        file is then shown against that child as 拒收 rather than 未报."""
        head = Path(path).name.split("_", 1)[0]
        if head.isdigit() and len(head) in (6, 9, 12):
            return expected.get(head.ljust(12, "0"))
        return None

    def _is_below(self, code: str) -> bool:
        up = self.registry.reporting_parent(code)
        while up is not None:
            if up.code == self.spec.unit_code:
                return True
            up = self.registry.reporting_parent(up.code)
        return False

    def _one_of(self, code: str, group: list[_Read]) -> _Read | None:
        """The one file of a unit (:func:`hbreport.checks.files.one_per_unit`, as ``check`` decides):
        byte-identical copies give the original, files that differ are all refused."""
        if len(group) == 1:
            return group[0]
        unit = self.registry.get(code)
        by_path = {r.path: r for r in group}
        files = [
            UnitFile(
                r.path,
                r.sha256,
                Path(r.path).name == r.data.spec.file_name(),
                content_digest(r.data, r.notes),
                bool(r.stamp and r.stamp.valid),
            )
            for r in group
        ]
        used, found = one_per_unit(unit.code, unit.name, files)
        if used is not None and all(f.rule == ORIGINAL for f in found):  # an approved copy and its original
            for f in found:
                self._add(by_path[f.file], f)
            return by_path[used.path]
        ordered = [by_path[s.path] for s in original_first(files)]
        names = tuple(Path(r.path).name for r in ordered)
        self.duplicates.append(
            DuplicateSet(
                unit.code,
                unit.name,
                names,
                tuple(r.sha256 for r in ordered),
                used is not None,
                Path(used.path).name if used is not None else None,
            )
        )
        for f in found:
            self._add(by_path[f.file], f)
        return by_path[used.path] if used is not None else None

    def _self_sheets(self) -> list[SheetSpec]:
        code = self.spec.unit_code
        return [s for s in self.spec.sheets if len(s.rows) == 1 and s.rows[0].code == code]

    def _take_own(self, r: _Read) -> None:
        """The parent's own workbook supplies the forms it reports for itself (e.g. the county's 04 form)."""
        own_sheets = {s.sheet for s in self._self_sheets()}
        # Only findings on the self-reported sheets matter; the rest of the file is not used.
        kept = [f for f in self.findings_by_file[r.path] if f.sheet is None or f.sheet in own_sheets]
        self.findings_by_file[r.path] = kept
        if any(f.importance == "error" for f in kept):
            self._add(
                r,
                finding(
                    OWN_ERRORS, file=r.path, unit_code=self.spec.unit_code, unit_name=self.spec.unit_name
                ),
            )
            return
        self.own = r

    # ------------------------------------------------------------ aggregation

    def _prefill(self, form: str, code: str) -> dict[str, Any]:
        return dict(self.prefill.get(form, {}).get(code) or {})

    def _roll_up(self, r: _Read) -> dict[str, dict[str, Any]]:
        """A child's 合计 rows as its cells on the parent's forms (baseline columns checked, not taken)."""
        self_forms = {s.form for s in self._self_sheets()}
        return {
            sheet.form: self._child_cells(sheet, r, self._prefill(sheet.form, r.data.unit_code))
            for sheet in self.spec.sheets
            if sheet.form not in self_forms
        }

    def parent_values(self) -> dict[str, dict[str, dict[str, Any]]]:
        """values[form][row_code][field] for the parent's workbook: prefill, then the accepted children's 合计."""
        values: dict[str, dict[str, dict[str, Any]]] = {}
        self_forms = {s.form for s in self._self_sheets()}
        for sheet in self.spec.sheets:
            form_values: dict[str, dict[str, Any]] = {}
            for row in sheet.rows:
                cells = self._prefill(sheet.form, row.code)
                if sheet.form in self_forms:
                    cells.update(self._own_cells(sheet, row.code, cells))
                elif row.code in self.accepted:
                    cells.update(self.rolled[row.code].get(sheet.form, {}))
                form_values[row.code] = cells
            values[sheet.form] = form_values
        return values

    def _own_cells(self, sheet: SheetSpec, code: str, prefill: Mapping[str, Any]) -> dict[str, Any]:
        if self.own is None or sheet.form not in self.own.data.rows:
            return {}
        row = self.own.data.rows[sheet.form].get(code, {})
        return {
            c.key: _plain(row.get(c.key))
            for c in sheet.columns
            if c.role == "input" or (c.role == "prefill" and prefill.get(c.key) is None)
        }

    def _child_cells(self, sheet: SheetSpec, r: _Read, prefill: Mapping[str, Any]) -> dict[str, Any]:
        data = r.data
        if sheet.form not in data.totals:
            return {}
        child_sheet = data.spec.sheet(sheet.form)
        rolled, unfilled = r.sums.get(sheet.form) or _sums(child_sheet, data)
        source = {c.field.parent_key: c.key for c in child_sheet.columns}
        cells: dict[str, Any] = {}
        for col in sheet.columns:
            if col.role == "derived" or col.key not in rolled:
                continue
            value = None if col.key in unfilled else _plain(rolled[col.key])
            base = prefill.get(col.key)
            if col.role == "prefill" and base is not None:
                if not _same(value, base):
                    self._baseline_mismatch(r, child_sheet, col, source.get(col.key), value, base)
                continue
            cells[col.key] = value
        return cells

    def _baseline_mismatch(self, r: _Read, child_sheet: SheetSpec, col, child_key, value, base) -> None:
        cell = SheetLayout(child_sheet).cell(TOTAL, child_key) if child_key else None
        where = f"合计 {cell}" if cell else f"{child_sheet.sheet}的行数"
        self._add(
            r,
            finding(
                RULE_BASELINE,
                file=r.path,
                unit_code=r.data.unit_code,
                unit_name=r.data.spec.unit_name,
                sheet=child_sheet.sheet,
                cell=cell,
                label=col.field.label,
                value=value,
                base=base,
                where=where,
            ),
        )

    # ------------------------------------------------------------ summary

    def summary(self) -> Summary:
        children = []
        named = {}
        for rej in self.rejected:
            if rej.unit_code:
                named.setdefault(rej.unit_code, []).append(rej)
        dup_by_unit = {d.unit_code: d for d in self.duplicates}
        for code, unit in self.expected.items():
            child = self._child_status(code, unit.name, named.get(code, []), dup_by_unit.get(code))
            children.append(self._timed(child))
        findings = [f for r in self.reads for f in self.findings_by_file.get(r.path, [])]
        findings += self._own_missing() + self.not_read
        received: Counter[str] = Counter()
        for r in self.accepted.values():
            received[self.registry.get(r.data.unit_code).level] += 1
            received.update(r.levels)
        expected = expected_by_level(self.registry, self.spec.unit_code)
        levels = [(lv, expected[lv], received[lv]) for lv in LEVEL_ORDER if expected[lv]]
        return Summary(
            parent_code=self.spec.unit_code,
            parent_name=self.spec.unit_name,
            parent_level=self.spec.level,
            period=self.period,
            children=children,
            rejected=list(self.rejected),
            duplicates=list(self.duplicates),
            findings=findings,
            inputs=[(r.path, r.sha256) for r in self.reads],
            own_file=self.own.path if self.own else None,
            levels=levels,
            deadline=self.deadline,
        )

    def _own_missing(self) -> list[Finding]:
        sheets = self._self_sheets()
        if not sheets or self.own is not None:
            return []
        names = "、".join(f"「{s.sheet}」" for s in sheets)
        return [
            finding(
                OWN_MISSING,
                unit_code=self.spec.unit_code,
                unit_name=self.spec.unit_name,
                sheets=names,
                unit=self.spec.unit_name,
                prefix=self.spec.unit_code[:6],
            )
        ]

    def _child_status(
        self, code: str, name: str, rejections: list[Rejection], dup: DuplicateSet | None
    ) -> ChildStatus:
        def counts(r: _Read) -> tuple[int, int, int]:
            """Errors, open warnings and explained (已说明) warnings of a file."""
            found = self.findings_by_file.get(r.path, [])
            c = count_by_importance(f for f in found if not f.explained)
            return c.get("error", 0), c.get("warning", 0), sum(f.explained for f in found)

        for status, pool in ((ACCEPTED, self.accepted), (RETURNED, self.returned), (BLANK, self.blank)):
            if code in pool:
                r = pool[code]
                errors, warnings, explained = counts(r)
                notes = [f"与{'、'.join(dup.files[1:])}完全相同"] if dup else []
                notes += [self.unapproved[code]] if code in self.unapproved else []
                notes += [f"另有 {explained} 个警告已说明"] if explained else []
                note = "；".join(notes)
                return ChildStatus(
                    code,
                    name,
                    status,
                    (Path(r.path).name,),
                    (r.sha256,),
                    errors,
                    warnings,
                    note,
                    approval=self.approval(r),
                    approved_by=self.approved_by(r),
                )
        if dup:
            return ChildStatus(
                code,
                name,
                DUPLICATE,
                dup.files,
                dup.sha256,
                len(dup.files),
                0,
                "多份内容不同的文件，全部拒收",
            )
        if rejections:
            files = tuple(r.file for r in rejections)
            shas = tuple(self._sha(f) for f in files)
            return ChildStatus(
                code, name, REJECTED, files, shas, len(files), 0, "；".join(r.reason for r in rejections)
            )
        return ChildStatus(code, name, MISSING)

    def _timed(self, child: ChildStatus) -> ChildStatus:
        """The child with its 报送时间 (the earliest of its files') and 按时 / 逾期 / 未报."""
        if child.status == MISSING:
            return replace(child, timeliness=timeliness.NOT_REPORTED)
        times = [
            timeliness.received_time(r.path, r.sha256, self.first_seen)
            for r, name in zip(self.reads, self.read_names, strict=True)
            if name in child.files
        ]
        known = [t for t in times if t[0] is not None]
        if self.deadline is None or not known:
            return child
        when, source = min(known, key=lambda t: t[0])
        return replace(
            child,
            received_at=timeliness.shown(when),
            timeliness=timeliness.judge(when, self.deadline),
            received_from=source,
        )

    def _sha(self, name: str) -> str:
        return next((r.sha256 for r, n in zip(self.reads, self.read_names, strict=True) if n == name), "")


# ---------------------------------------------------------------- helpers


LEVEL_ORDER = ("prefecture", "county", "township")
LEVEL_HEADINGS = ("层级", "应报（按名册）", "已汇总", "未汇总")


def expected_by_level(registry, code: str) -> Counter[str]:
    """How many units at each level report, directly or through others, to ``code`` (by the registry)."""
    counts: Counter[str] = Counter()
    stack = [code]
    while stack:
        for child in registry.children(stack.pop()):
            if child.level in LEVEL_ORDER:
                counts[child.level] += 1
                if child.level != "township":
                    stack.append(child.code)
    return counts


ChildSums = tuple[dict[str, Any], frozenset[str]]


def child_sums(data: FormData) -> dict[str, ChildSums]:
    """Per form of a child's workbook: its 合计 as the cells of its row on the parent's form
    (:func:`hbreport.checks.engine.parent_values`), and the parent's keys of the input columns it left
    blank in every row."""
    return {sheet.form: _sums(sheet, data) for sheet in data.spec.sheets if sheet.form in data.totals}


def _sums(sheet: SheetSpec, data: FormData) -> ChildSums:
    rolled = parent_values(sheet, data.totals[sheet.form], _rows_counted(sheet, data))
    rows = data.rows.get(sheet.form, {}).values()
    # a column the child left blank in every one of its rows stays blank above it (its 合计 shows
    # SUM's 0); a form without rows (no poor villages) holds true zeros
    unfilled = frozenset(
        c.field.parent_key
        for c in sheet.input_columns
        if rows and not any(row.get(c.key) not in (None, "") for row in rows)
    ) - {sheet.count_rows_as}
    return rolled, unfilled


def _rows_counted(sheet: SheetSpec, data: FormData) -> int:
    """How many of a child's rows count (as poor villages, say): all of them, or, where the form lists
    every village because the baseline does not say which are poor, those with something filled."""
    if not sheet.count_filled_rows:
        return len(sheet.rows)
    rows = data.rows.get(sheet.form, {})
    return sum(1 for r in sheet.rows if row_filled(sheet, rows.get(r.code)))


def _plain(value: Any) -> Any:
    """A value for the parent's input cell: blanks and engine '' as None."""
    return None if value == "" else value


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, int | float) and isinstance(b, int | float):
        return abs(float(a) - float(b)) <= _TOLERANCE * max(1.0, abs(float(b)))
    return a == b


def _extra_sheets(summary: Summary) -> list[tuple[str, list[list[Any]]]]:
    """The 下级明细 and 汇总校验 tables (first row: headings). No clock times (the output must be reproducible):
    the 报送时间 come from the inputs (the store's first sight of a file, else its mtime)."""
    detail: list[list[Any]] = [
        [
            "单位代码",
            "单位名称",
            "状态",
            "文件",
            "SHA-256",
            "错误数",
            "警告数",
            "说明",
            "报送时间",
            "按时报送",
            "审核",
        ]
    ]
    for c in summary.children:
        detail.append(
            [
                _short(c.code),
                c.name,
                c.status,
                "；".join(c.files),
                "；".join(c.sha256),
                c.errors,
                c.warnings,
                c.note,
                c.received_at,
                c.timeliness,
                c.approval_shown,
            ]
        )
    comp = summary.completeness
    check: list[list[Any]] = [
        ["项目", "数值"],
        ["汇总单位", f"{summary.parent_name}（{_short(summary.parent_code)}）"],
        ["报告期", f"{summary.period}年"],
        ["应报单位数", comp["expected"]],
        ["已汇总", comp["received"]],
        ["退回", comp["returned"]],
        ["未报（无可用报表）", comp["missing"]],
        ["拒收文件数", comp["rejected_files"]],
        ["重复报送（组）", comp["duplicate_sets"]],
        ["报送率", f"{comp['reporting_rate']:.1%}"],
        ["汇总率", f"{comp['consolidated_rate']:.1%}"],
        ["未报单位", "、".join(f"{_short(m.code)} {m.name}" for m in summary.missing)],
        ["报送截止日期", f"{summary.deadline:%Y-%m-%d}" if summary.deadline else ""],
        *([f"{k}单位数", n] for k, n in summary.timeliness().items()),
        ["报送时间取自", summary.received_from()],
        [],
        [*LEVEL_HEADINGS],
        *([LEVEL_ZH[lv], n, got, n - got] for lv, n, got in summary.levels),
        [],
        ["已说明的警告", sum(f.explained for f in summary.findings)],
        [],
        [
            "序号",
            "文件",
            "单位代码",
            "单位名称",
            "工作表",
            "单元格",
            "规则",
            "重要性",
            "问题",
            "处理办法",
            "填报单位的说明",
        ],
    ]
    for i, f in enumerate(summary.findings, 1):
        check.append(
            [
                i,
                Path(f.file).name if f.file else "",
                _short(f.unit_code) if f.unit_code else "",
                f.unit_name or "",
                f.sheet or "",
                f.cell or "",
                f.code,
                f.importance_zh,
                f.message,
                f.hint or "",
                f.explanation,
            ]
        )
    sheets = [(DETAIL_SHEET, detail), (CHECK_SHEET, check)]
    if summary.regions:
        from hbreport.spec import load_fields

        sheets.append((REGION_SHEET, region_sheet(summary.regions, load_fields())))
    return sheets


def _annotate(job: _Job, annotate_dir: Path, workers: int) -> tuple[list[str], list[Finding]]:
    """An annotated copy of every readable file with findings, for return to sender, made on several
    processes as the files were read (openpyxl loads and saves each, ~0.1 s for a county workbook); a
    copy that cannot be made (the source not readable by openpyxl, the old copy open in Excel, no room)
    is a warning saying why — the findings themselves are in the summary and 汇总校验 all the same."""
    todo = [r for r in job.reads if r.data is not None and job.findings_by_file.get(r.path)]
    if not todo:
        return [], []
    findings = {r.path: job.findings_by_file[r.path] for r in todo}
    traced = {r.path: traced_cells(r.data.spec, findings[r.path]) for r in todo}
    made = read_files(
        [r.path for r in todo],
        _copy_one,
        workers=workers,
        setup=_init_copier,
        context=(findings, str(annotate_dir), job.force, [str(p) for p in job.inputs], traced),
        crashed=_copy_crashed,
    )
    out: list[str] = []
    problems: list[Finding] = []
    for r, (written, message, hint) in zip(todo, made.results, strict=True):
        if written is not None:
            out.append(written)
            continue
        name = Path(r.path).name
        problems.append(
            finding(
                RULE_RETURN_COPY,
                file=str(annotate_dir / name),
                unit_code=r.data.unit_code,
                unit_name=r.data.spec.unit_name,
                name=name,
                reason=message,
                hint=hint or "问题清单见汇总输出的“汇总校验”表，可据此通知报送单位",
            )
        )
    return out, problems


_COPIES: dict[str, Any] = {}


def _init_copier(
    findings: dict[str, list[Finding]],
    annotate_dir: str,
    force: bool,
    inputs: list[str],
    traced: dict[str, dict] | None = None,
) -> None:
    _COPIES.update(
        findings=findings, folder=Path(annotate_dir), force=force, inputs=inputs, traced=traced or {}
    )


def _copy_crashed(path: str, exit_code: int | None) -> tuple[None, str, None]:
    return None, f"生成批注件的进程异常终止（退出代码 {exit_code}）", None


def _copy_one(path: str) -> tuple[str | None, str | None, str | None]:
    """(the annotated copy of ``path``, None, None), or (None, why not, what to do)."""
    from hbreport.xlsx.annotate import annotate_copy  # openpyxl's writer: loaded only when a copy is made

    try:
        return (
            str(
                annotate_copy(
                    Path(path),
                    _COPIES["findings"][path],
                    _COPIES["folder"] / Path(path).name,
                    force=_COPIES["force"],
                    inputs=_COPIES["inputs"],
                    traced=_COPIES["traced"].get(path),
                )
            ),
            None,
            None,
        )
    except HBError as exc:
        return None, exc.message, exc.hint
    except Exception as exc:  # one copy must not stop the others, nor the consolidation
        return None, f"意外错误（{type(exc).__name__}: {exc}）", None
