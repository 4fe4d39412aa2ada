"""Consolidating rosters: a folder of townships' 台账 → the household store, with every check.

A county (prefecture, province) office drops the rosters it received in a folder and runs
:func:`consolidate_rosters`. Each file is read and checked (:func:`.roster.read_roster`), refused
with its reason when it cannot be used (not a roster, another period, a township outside the unit,
two different files for one township), checked across files (the same ID in two townships, also
against what the store already holds for the period), checked for plausibility (villages exiting
just above the line, identical incomes, jumps since the previous period in the store), and loaded
into the store. Every readable roster is stored, errors and all, so the province sees every
household; each row keeps the rule ids that fail on it (``problems``) and each township its error
count, and a roster with errors is listed as 退回 (to be corrected and sent again — loading the
corrected file replaces the township's rows).
"""

from __future__ import annotations

import contextlib
import multiprocessing
import time
from collections import defaultdict, deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hbreport.checks import finding, registered
from hbreport.checks.files import copy_finding, differing_findings, unusable_finding
from hbreport.checks.households import DUPLICATE_ACROSS
from hbreport.consolidation.inbox import scan
from hbreport.consolidation.parallel import portable, read_alone, restore
from hbreport.errors import EXIT_FINDINGS, EXIT_OK, HBError
from hbreport.heap import frozen_heap
from hbreport.households.plausibility import RULE_JUMP, period_jumps, plausibility_findings
from hbreport.households.roster import read_roster
from hbreport.households.spec import registry_and_catalog, roster_config
from hbreport.households.store import RosterStore, StoreRows, TakenBack, store_rows
from hbreport.model.findings import Finding, count_by_importance
from hbreport.xlsx.safety import crash_reason, sha256_file

Progress = Callable[[int, int], None]
LOADED, RETURNED, REJECTED, DUPLICATE, MISSING = "已入库", "退回", "拒收", "重复", "未报"
_SHOWN = 50


@dataclass
class RosterFile:
    """One file of the folder and what became of it."""

    file: str
    sha256: str
    status: str  # 已入库 | 退回 (stored, has errors) | 拒收 | 重复
    township_code: str | None = None
    township_name: str | None = None
    households: int = 0
    errors: int = 0
    warnings: int = 0
    stored: str | None = None  # inserted | replaced | unchanged
    reason: str = ""

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class RosterSummary:
    """What a roster consolidation did."""

    parent_code: str
    parent_name: str
    period: int
    store_path: str
    files: list[RosterFile]
    missing: list[tuple[str, str]]
    findings: list[Finding]
    households_loaded: int = 0
    households_in_store: int = 0
    # of the households in the store for the period: declared exited this period, and meeting the
    # plan's exit standard (达到脱贫标准 = 是), households and people (RosterStore.exit_counts)
    exits: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)
    # townships that an earlier run which did not end (killed, the power cut) had stored, taken back
    # when this run opened the store (RosterStore.taken_back)
    taken_back: list[TakenBack] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        """0 clean (warnings allowed); 1 when any 错误, refused file or missing township."""
        if self.missing or any(f.importance == "error" for f in self.findings):
            return EXIT_FINDINGS
        if any(f.status in (REJECTED, DUPLICATE) for f in self.files):
            return EXIT_FINDINGS
        return EXIT_OK

    def by_status(self, status: str) -> list[RosterFile]:
        return [f for f in self.files if f.status == status]

    def to_dict(self) -> dict[str, Any]:
        counts = count_by_importance(self.findings)
        return {
            "parent": {"code": self.parent_code, "name": self.parent_name},
            "period": self.period,
            "store": self.store_path,
            "files": [f.to_dict() for f in self.files],
            "missing": [{"code": c, "name": n} for c, n in self.missing],
            "errors": counts.get("error", 0),
            "warnings": counts.get("warning", 0),
            "findings": [f.to_dict() for f in self.findings],
            "households_loaded": self.households_loaded,
            "households_in_store": self.households_in_store,
            "exits": dict(self.exits),
            "taken_back": [dict(t.__dict__) for t in self.taken_back],
            "seconds": round(self.seconds, 3),
            "exit_code": self.exit_code,
        }

    def render(self) -> str:
        """The summary in Chinese for the office that ran it."""
        counts = count_by_importance(self.findings)
        loaded, back = self.by_status(LOADED), self.by_status(RETURNED)
        lines = [
            f"{self.parent_name}{self.period}年建档立卡台账汇总：收到 {len(self.files)} 个文件，入库 "
            f"{len(loaded) + len(back)} 个乡镇（其中有错误需退回 {len(back)} 个），拒收 {len(self.by_status(REJECTED))} 个，"
            f"重复 {len(self.by_status(DUPLICATE))} 个，未报 {len(self.missing)} 个乡镇；"
            f"本次入库 {self.households_loaded} 户，库中本期共 {self.households_in_store} 户；"
            f"错误 {counts.get('error', 0)} 项，警告 {counts.get('warning', 0)} 项。用时 {self.seconds:.1f} 秒。",
        ]
        if self.exits:
            e = self.exits
            lines.append(
                f"本期申报脱贫 {e['declared']} 户 {e['declared_people']} 人，其中达到脱贫标准 {e['meeting']} 户 "
                f"{e['meeting_people']} 人，未达到 {e['declared'] - e['meeting']} 户"
                "（收入、两不愁四保障，有劳动能力户的一有、技能、增幅，无劳动能力户的低保五保兜底）。"
            )
        if self.taken_back:
            lines.append(
                f"上次汇总没有正常结束（被中断），它存入的 {len(self.taken_back)} 个乡镇台账已撤回，不算入库；"
                "这些乡镇以本次汇总的结果为准，不在本次文件夹中的请重新汇总："
            )
            for t in self.taken_back:
                what = "库中恢复为此前入库的版本" if t.restored else "库中此前没有该乡镇本期的数据，已删除"
                began = f"，{t.run_began_at} 开始的汇总" if t.run_began_at else ""
                lines.append(
                    f"  撤回 {t.township_name or t.township_code}（{t.period}年，{Path(t.file or '').name}"
                    f"{began}）：{what}"
                )
        if self.missing:
            lines.append("未报：" + "、".join(f"{c[:9]} {n}" for c, n in self.missing))
        for f in back:
            lines.append(
                f"  退回 {Path(f.file).name}（{f.township_name}）：错误 {f.errors} 项，警告 {f.warnings} 项"
            )
        for f in self.files:
            if f.status in (REJECTED, DUPLICATE):
                lines.append(f"  {f.status} {Path(f.file).name}：{f.reason}")
        if self.findings:
            lines.append("问题清单：")
            lines += [f"  {f.text()}" for f in self.findings[:_SHOWN]]
            if len(self.findings) > _SHOWN:
                lines.append(f"  …其余 {len(self.findings) - _SHOWN} 条见 JSON 输出")
        lines.append(f"户数据库：{self.store_path}")
        return "\n".join(lines)


# ---------------------------------------------------------------- reading (possibly in worker processes)

_CONTEXT: dict[str, Any] = {}


@dataclass
class _Read:
    """What a reading process sends back of a roster: who, its findings, its rows for the store."""

    code: str
    name: str
    findings: list[Finding]
    households: int
    rows: StoreRows
    sheet: str  # the roster sheet's name (its columns are ``rows.keys``)


class _Awaited:
    """The export as a reading process sees it while this process is still keeping it in the store
    (:meth:`RosterStore.index_export`): its sha256 at once, a township's households once the store
    holds them. Reading starts at once: the safety gate and the parse come before the export is needed."""

    def __init__(self, index, ready, failed) -> None:
        self.index, self.ready, self.failed = index, ready, failed

    @property
    def sha256(self) -> str:
        return self.index.sha256

    def township(self, code: str):
        self.ready.wait()
        if self.failed.value:
            raise HBError("建档立卡导出文件未能读入，台账未核对", hint="按导出文件的报错改正后重新汇总")
        return self.index.township(code)


def _init(registry, catalog, export, check_formulas: bool, period: int) -> None:
    """``export``: None, or an ExportIndex (one township read at a time from the store). A spawned
    worker gets the registry and catalog as where to load them (:func:`hbreport.consolidation.parallel.portable`)."""
    _CONTEXT.update(
        registry=restore(registry),
        catalog=restore(catalog),
        export=export,
        check_formulas=check_formulas,
        period=period,
    )


def _read(path: str):
    try:
        roster = read_roster(
            path,
            registry=_CONTEXT["registry"],
            catalog=_CONTEXT["catalog"],
            export=_CONTEXT["export"],
            expect_period=_CONTEXT["period"],
            check_formulas=_CONTEXT["check_formulas"],
        )
        roster.findings.extend(plausibility_findings(roster))
        spec = roster.spec
        read = _Read(
            spec.unit_code,
            spec.unit_name,
            roster.findings,
            len(roster.rows),
            store_rows(roster),
            spec.sheets[0].sheet,
        )
        return path, roster.sha256, read, None
    except HBError as exc:
        error = exc.to_dict()
    except Exception as exc:  # one bad file must not stop the others
        error = HBError(f"读取时发生意外错误（{type(exc).__name__}: {exc}），该文件未汇总").to_dict()
    try:
        digest = sha256_file(path)
    except (OSError, HBError):
        digest = ""
    return path, digest, None, error  # the error as a dict: HBError's keyword fields do not pickle


def _read_all(
    files: list[Path],
    workers: int,
    context: tuple,
    progress: Progress | None,
    meanwhile: Callable[[], None] = lambda: None,
) -> Iterator[tuple]:
    """Read every file (in worker processes when ``workers`` > 1), yielding results in file order;
    ``meanwhile()`` runs here once the workers have their first files (alone: before the first file).
    At most two files a worker are in flight, and a result is let go once yielded: what a reading
    process sends back (a township's rows for the store) never piles up, whatever the province."""
    if progress:
        progress(0, len(files))
    if workers <= 1 or len(files) <= 1:
        meanwhile()
        _init(*context)
        for i, f in enumerate(files, 1):
            yield _read(str(f))
            if progress:
                progress(i, len(files))
        return
    workers = min(workers, len(files))
    # workers are forked with what is loaded (registry, catalog, specs) frozen out of the collector's way
    with (
        frozen_heap(),
        ProcessPoolExecutor(workers, initializer=_init, initargs=_sent(context)) as pool,
    ):
        waiting = iter(files)
        pending: deque[tuple[Path, Future | None]] = deque()
        broken = False

        def fill() -> None:
            nonlocal broken
            while len(pending) < 2 * workers:
                f = next(waiting, None)
                if f is None:
                    return
                future = None
                if not broken:
                    try:
                        future = pool.submit(_read, str(f))
                    except BrokenProcessPool:
                        broken = True
                pending.append((f, future))

        fill()
        try:
            meanwhile()
        except BaseException:
            pool.shutdown(wait=True, cancel_futures=True)
            raise
        for i in range(1, len(files) + 1):
            f, future = pending.popleft()
            try:
                if future is None:
                    raise BrokenProcessPool
                result = future.result()
            except BrokenProcessPool:  # a reader died in native code: this file and the rest, each alone
                broken = True
                _init(*context)
                result = read_alone(str(f), _read, crashed=_crashed, setup=_init, context=_portable(context))
            del future
            fill()
            if not pending:  # the last result: the workers exit while it is stored
                pool.shutdown(wait=False)
            yield result
            del result
            if progress:
                progress(i, len(files))


def _crashed(path: str, exit_code: int | None) -> tuple:
    """A file whose reading killed its process: refused with the reason (see ``safety.crash_reason``)."""
    message, hint = crash_reason(exit_code)
    try:
        digest = sha256_file(path)
    except (OSError, HBError):
        digest = ""
    return path, digest, None, HBError(message, file=path, hint=hint).to_dict()


def _portable(context: tuple) -> tuple:
    return tuple(portable(v) for v in context)


def _sent(context: tuple) -> tuple:
    """What the pool's processes start with: forked, they have the context already (nothing is
    pickled); spawned, they load the registry and catalog from their files (:func:`_portable`)."""
    return context if multiprocessing.get_start_method() == "fork" else _portable(context)


# ---------------------------------------------------------------- consolidate


def consolidate_rosters(
    folder: str | Path,
    parent: str,
    period: int,
    store_path: str | Path,
    *,
    roster_csv: str | Path | None = None,
    registry=None,
    catalog=None,
    baseline=None,
    workers: int = 1,
    check_formulas: bool = True,
    progress: Progress | None = None,
) -> RosterSummary:
    """Check the rosters in ``folder`` for ``parent``'s townships and ``period`` and load them into
    the SQLite store at ``store_path``; return what happened.

    ``roster_csv`` (the registration export the rosters were made from) lets the reader hold every
    prefilled cell to it; ``workers`` > 1 reads files in parallel processes. HBError only when the job
    cannot be done (no folder, no such unit)."""

    started = time.perf_counter()
    folder = Path(folder)
    if not folder.is_dir():
        raise HBError(f"找不到存放台账的文件夹「{folder}」", hint="给出收到的乡镇台账所在的文件夹")
    registry, catalog = registry_and_catalog(registry, catalog)  # the baseline only without an export
    top = registry.get(parent)
    townships = [top] if top.level == "township" else registry.descendants(top.code, "township")
    inside = {t.code: t for t in townships}

    export, expected, ready, failed = None, None, None, None
    if roster_csv:  # readers take one township at a time from the store, once it is kept there
        from hbreport.households.export import ExportIndex, export_sha256

        sha256 = export_sha256(roster_csv)
        ready, failed = multiprocessing.Event(), multiprocessing.RawValue("b", 0)
        export = _Awaited(ExportIndex(store_path, sha256, roster_csv), ready, failed)

    store, config = None, None
    closing = contextlib.ExitStack()

    def meanwhile() -> None:
        """While the workers start reading: the store opened, the export kept in it (once per sha256),
        the roster template's settings the end of the run needs."""
        nonlocal store, expected, config
        try:
            store = closing.enter_context(RosterStore(store_path))  # a dead run's townships taken back
            closing.enter_context(store.run())  # what is stored awaits the run's end
            if ready is not None:
                _, expected = store.index_export(roster_csv, registry=registry, sha256=sha256)
        except BaseException:
            if failed is not None:
                failed.value = 1
            raise
        finally:
            if ready is not None:
                ready.set()
        config = roster_config(period, catalog=catalog)

    store_files = [Path(f"{store_path}{end}") for end in ("", "-wal", "-shm", "-journal")]
    inbox = scan(folder, exclude=[*store_files, *([roster_csv] if roster_csv else [])])
    files = inbox.files
    results: list[RosterFile] = []
    findings: list[Finding] = list(inbox.not_read)
    staged: dict[str, list[tuple[str, str, Any]]] = defaultdict(list)  # township → (file, sha256, summary)
    layout: tuple[str, tuple[str, ...]] | None = None  # the roster sheet's name and columns
    with closing:
        # 1. read and check every file; store each usable roster as it comes (memory freed at once)
        coming = len(files)
        for path, digest, roster, error in _read_all(
            files, workers, (registry, catalog, export, check_formulas, period), progress, meanwhile
        ):
            coming -= 1
            if roster is None:
                error = HBError(
                    error["message"],
                    file=error["file"],
                    sheet=error["sheet"],
                    cell=error["cell"],
                    hint=error["hint"],
                )
                results.append(RosterFile(path, digest, REJECTED, reason=error.message))
                findings.append(_file_finding(path, error))
                continue
            code, name = roster.code, roster.name
            if code not in inside:
                reason = f"「{name}」不是{top.name}所辖的乡镇"
                results.append(RosterFile(path, digest, REJECTED, code, name, reason=reason))
                findings.append(_file_finding(path, HBError(reason, hint="检查文件是否放错了文件夹")))
                continue
            if any(d == digest for _, d, _ in staged[code]):  # the same file twice: keep one
                first = next(p for p, d, _ in staged[code] if d == digest)
                findings.append(copy_finding(str(path), first, code, name))
                results.append(
                    RosterFile(
                        path,
                        digest,
                        DUPLICATE,
                        code,
                        name,
                        reason=f"与「{Path(first).name}」内容完全相同，只入库一份",
                    )
                )
                continue
            counts = count_by_importance(roster.findings)
            layout = layout or (roster.sheet, roster.rows.keys)
            if staged[code]:  # a second, different file for the township: none of them is stored
                store.restore(roster.rows.period, code)
                status = None
            else:  # stored at once, in its own transaction; taken back if another file turns up
                status = store.put(roster.rows).status
                if coming:  # the log copied into the file while the readers read, not after the last
                    store.checkpoint()
            entry = RosterFile(
                path,
                digest,
                RETURNED if counts.get("error", 0) else LOADED,
                code,
                name,
                households=roster.households,
                errors=counts.get("error", 0),
                warnings=counts.get("warning", 0),
                stored=status,
            )
            staged[code].append((path, digest, (entry, roster.findings)))
            del roster

        # 2. one roster per township: different files for one township are all refused
        loaded = 0
        batch = []
        for code, items in staged.items():
            if len(items) > 1:
                names = "、".join(Path(p).name for p, _, _ in items)
                for _path, _digest, (entry, _) in items:
                    entry.status, entry.stored = DUPLICATE, None
                    entry.reason = (
                        f"{entry.township_name}有 {len(items)} 份内容不同的台账（{names}），全部拒收"
                    )
                    results.append(entry)
                findings += differing_findings([p for p, _, _ in items], code, items[0][2][0].township_name)
                continue
            _path, _digest, (entry, own) = items[0]
            if entry.stored != "unchanged":
                loaded += entry.households
            results.append(entry)
            findings.extend(own)
            batch.append(entry)

        # 3. across files, in the store: one person in two townships; jumps since the previous period
        by_code = {e.township_code: e for e in batch}
        for f in _shared_ids(store, period, list(by_code), layout):
            entry = by_code.get(f.unit_code)
            if entry is not None:
                entry.errors += 1
                entry.status = RETURNED
            findings.append(f)
        store.finish_run()  # the townships stored stay: a run killed before here is taken back
        store.checkpoint(wait=False)  # the last township's log copied while the rest is counted
        findings.extend(_jumps(store, period, top, by_code, registry, config))
        in_store = store.count(period, under=top.code)
        exits = store.exit_counts(period, config.exited_statuses, under=top.code)
        stored_townships = {s["township_code"] for s in store.sources(period, under=top.code)}

    if expected is None:
        from hbreport.baseline import baseline_for

        # only without an export does the baseline say who must report (as the forms were made)
        expected = _expected(townships, baseline or baseline_for(registry), registry)
    missing = [(t.code, t.name) for t in townships if t.code in expected and t.code not in stored_townships]
    results.sort(key=lambda f: (f.township_code or "", f.file))
    return RosterSummary(
        parent_code=top.code,
        parent_name=top.name,
        period=period,
        store_path=str(store_path),
        files=results,
        missing=missing,
        findings=findings,
        households_loaded=loaded,
        households_in_store=in_store,
        exits=exits,
        seconds=time.perf_counter() - started,
        taken_back=list(store.taken_back),
    )


def _shared_ids(
    store: RosterStore, period: int, townships: list[str], layout: tuple[str, tuple[str, ...]] | None
) -> list[Finding]:
    """The same ID number in two townships (this batch against itself and the store): one finding per
    household of the batch that holds it, naming every place, file and cell; rows marked in the store.
    ``layout``: the roster sheet's name and column keys, as read from this batch's files."""
    from openpyxl.utils import get_column_letter

    from hbreport.xlsx.layout import FIRST_FIELD_COL

    if not townships or layout is None:
        return []
    sheet, keys = layout
    letter = get_column_letter(FIRST_FIELD_COL + keys.index("id_number"))
    ours = set(townships)
    findings, marks = [], []
    for number, places in store.shared_ids(period, townships).items():
        described = "；".join(
            f"{Path(p['file']).name} {letter}{p['row_number']}（{p['township_name']}，户编号 {p['household_id']}"
            + ("）" if p["township_code"] in ours else "，已入库）")
            for p in places
        )
        for p in places:
            if p["township_code"] not in ours:
                continue
            marks.append((p["township_code"], p["household_id"]))
            findings.append(
                Finding(
                    message=registered(DUPLICATE_ACROSS).message(
                        number=number, times=len(places), places=described
                    ),
                    importance=registered(DUPLICATE_ACROSS).importance,
                    rule=DUPLICATE_ACROSS,
                    file=p["file"],
                    unit_code=p["township_code"],
                    unit_name=p["township_name"],
                    sheet=sheet,
                    cell=f"{letter}{p['row_number']}",
                    hint=registered(DUPLICATE_ACROSS).hint,
                )
            )
    store.add_problem(period, marks, DUPLICATE_ACROSS)
    return findings


def _jumps(
    store: RosterStore, period: int, top, by_code: dict[str, RosterFile], registry, config
) -> list[Finding]:
    """Villages of this batch whose figures jumped since the previous period, among all villages compared."""
    from openpyxl.utils import get_column_letter

    from hbreport.households.summary import FIRST_COL, FIRST_ROW, SUMMARY_COLUMNS, SUMMARY_SHEET

    if not by_code:
        return []
    previous = store.village_metrics(period - 1, config.exited_statuses, under=top.code)
    if not previous:
        return []
    current = store.village_metrics(period, config.exited_statuses, under=top.code)
    p = config.plausibility
    bound = p["outlier_z"]
    column = {"mean_income": "households", "exited_share": "exited_households"}
    findings = []
    for jump in period_jumps(current, previous, bound=bound, least=p["outlier_min_villages"]):
        village = registry.get(jump.village_code)
        entry = by_code.get(village.parent)
        if entry is None:
            continue  # a village of a township not in this batch
        siblings = [v.code for v in registry.children(village.parent)]
        col = FIRST_COL + [c.key for c in SUMMARY_COLUMNS].index(column[jump.metric])
        findings.append(
            finding(
                RULE_JUMP,
                file=entry.file,
                unit_code=entry.township_code,
                unit_name=entry.township_name,
                sheet=SUMMARY_SHEET,
                cell=f"{get_column_letter(col)}{FIRST_ROW + siblings.index(village.code)}",
                **jump.fields(village.name, bound),
            )
        )
        entry.warnings += 1
    return findings


def _expected(townships, baseline, registry) -> set[str]:
    """Without an export: the townships with poor households in the baseline must send a roster."""
    out = set()
    for t in townships:
        villages = registry.children(t.code)
        if any((b := baseline.villages.get(v.code)) is not None and b.poor_households for v in villages):
            out.add(t.code)
    return out


def _file_finding(path: str, exc: HBError) -> Finding:
    return unusable_finding(str(exc.file or path), exc.message, exc.hint, sheet=exc.sheet, cell=exc.cell)
