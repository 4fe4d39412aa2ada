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

import time
from collections import defaultdict
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import EXIT_FINDINGS, EXIT_OK, HBError
from ..findings import Finding, count_by_importance
from .checks import duplicates_across
from .plausibility import period_jumps, plausibility_findings
from .store import RosterStore, metrics_from_store

Progress = Callable[[int, int], None]
LOADED, RETURNED, REJECTED, DUPLICATE, MISSING = "已入库", "退回", "拒收", "重复", "未报"
RULE_FILE = "FILE"
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
    seconds: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)

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


def _init(registry, catalog, export, check_formulas: bool, period: int) -> None:
    """``export``: a RosterExport, or the path of one (read here, once per worker process)."""
    from .export import read_export

    if isinstance(export, str):
        export = read_export(export, registry=registry)
    _CONTEXT.update(
        registry=registry, catalog=catalog, export=export, check_formulas=check_formulas, period=period
    )


def _read(path: str):
    from ..safety import sha256_file
    from .roster import read_roster

    try:
        roster = read_roster(
            path,
            registry=_CONTEXT["registry"],
            catalog=_CONTEXT["catalog"],
            export=_CONTEXT["export"],
            expect_period=_CONTEXT["period"],
            check_formulas=_CONTEXT["check_formulas"],
        )
        return path, roster.sha256, roster, None
    except HBError as exc:
        error = exc.to_dict()
    except Exception as exc:  # one bad file must not stop the others
        error = HBError(f"读取时发生意外错误（{type(exc).__name__}: {exc}），该文件未汇总").to_dict()
    try:
        digest = sha256_file(path)
    except (OSError, HBError):
        digest = ""
    return path, digest, None, error  # the error as a dict: HBError's keyword fields do not pickle


def _read_all(files: list[Path], workers: int, context: tuple, progress: Progress | None) -> list[tuple]:
    if progress:
        progress(0, len(files))
    registry, catalog, export, check_formulas, period = context
    if workers <= 1 or len(files) <= 1:
        _init(*context)
        out = []
        for i, f in enumerate(files, 1):
            out.append(_read(str(f)))
            if progress:
                progress(i, len(files))
        return out
    if export is not None:
        context = (registry, catalog, str(export.path), check_formulas, period)
    with ProcessPoolExecutor(min(workers, len(files)), initializer=_init, initargs=context) as pool:
        out = []
        for i, item in enumerate(pool.map(_read, [str(f) for f in files], chunksize=1), 1):
            out.append(item)
            if progress:
                progress(i, len(files))
        return out


def _scan(folder: Path) -> list[Path]:
    return sorted(
        p
        for p in folder.iterdir()
        if p.is_file()
        and p.suffix.lower() in (".xlsx", ".xlsm", ".xls", ".et", ".ods")
        and not p.name.startswith(("~$", "."))
    )


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
    from ..baseline import load_baseline
    from ..catalog import load_catalog
    from ..registry import load_registry

    started = time.perf_counter()
    folder = Path(folder)
    if not folder.is_dir():
        raise HBError(f"找不到存放台账的文件夹「{folder}」", hint="给出收到的乡镇台账所在的文件夹")
    registry = registry or load_registry()
    catalog = catalog or load_catalog()
    baseline = baseline or load_baseline()
    top = registry.get(parent)
    townships = [top] if top.level == "township" else registry.descendants(top.code, "township")
    inside = {t.code: t for t in townships}

    export = None
    if roster_csv:
        from .export import read_export

        export = read_export(roster_csv, registry=registry)
    files = _scan(folder)
    reads = _read_all(files, workers, (registry, catalog, export, check_formulas, period), progress)

    results: list[RosterFile] = []
    findings: list[Finding] = []
    candidates: dict[str, list[tuple[str, str, Any]]] = defaultdict(list)
    for path, digest, roster, error in reads:
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
        code = roster.spec.unit_code
        if code not in inside:
            reason = f"「{roster.spec.unit_name}」不是{top.name}所辖的乡镇"
            results.append(RosterFile(path, digest, REJECTED, code, roster.spec.unit_name, reason=reason))
            findings.append(_file_finding(path, HBError(reason, hint="检查文件是否放错了文件夹")))
            continue
        candidates[code].append((path, digest, roster))

    accepted = []
    for code, items in candidates.items():
        digests = {d for _, d, _ in items}
        if len(items) > 1 and len(digests) > 1:
            names = "、".join(Path(p).name for p, _, _ in items)
            for path, digest, roster in items:
                reason = f"{roster.spec.unit_name}有 {len(items)} 份内容不同的台账（{names}），全部拒收"
                results.append(
                    RosterFile(path, digest, DUPLICATE, code, roster.spec.unit_name, reason=reason)
                )
            findings.append(
                Finding(
                    message=f"{items[0][2].spec.unit_name}报送了 {len(items)} 份内容不同的台账：{names}",
                    importance="error",
                    rule="DUPLICATE",
                    unit_code=code,
                    unit_name=items[0][2].spec.unit_name,
                    hint="请确认哪一份是最终版本，只保留那一份",
                )
            )
            continue
        for path, digest, roster in items[1:]:
            results.append(
                RosterFile(
                    path,
                    digest,
                    DUPLICATE,
                    code,
                    roster.spec.unit_name,
                    reason=f"与「{Path(items[0][0]).name}」内容完全相同，只入库一份",
                )
            )
        accepted.append(items[0][2])
    accepted.sort(key=lambda r: r.spec.unit_code)

    with RosterStore(store_path) as store:
        # the same person in two townships: across this batch, and against the store's other townships
        numbers = [row.get("id_number") for r in accepted for row in r.rows.values()]
        stored = store.id_places(period, numbers, exclude_townships=[r.spec.unit_code for r in accepted])
        by_file = {r.file_label: r for r in accepted}
        for f in duplicates_across(accepted, stored):
            by_file[f.file].findings.append(f)
        # plausibility: this period's villages, and their change since the previous period
        for roster in accepted:
            roster.findings.extend(plausibility_findings(roster))
        if accepted:
            previous = metrics_from_store(store, period - 1, accepted[0].spec.config, under=top.code)
            for f in period_jumps(accepted, previous):
                by_file[f.file].findings.append(f)
        loaded = 0
        for roster in accepted:
            result = store.load(roster)
            counts = count_by_importance(roster.findings)
            status = RETURNED if counts.get("error", 0) else LOADED
            results.append(
                RosterFile(
                    str(roster.path),
                    roster.sha256,
                    status,
                    roster.spec.unit_code,
                    roster.spec.unit_name,
                    households=len(roster.rows),
                    errors=counts.get("error", 0),
                    warnings=counts.get("warning", 0),
                    stored=result.status,
                )
            )
            if result.status != "unchanged":
                loaded += result.households
            findings.extend(roster.findings)
        in_store = store.count(period, under=top.code)
        stored_townships = {s["township_code"] for s in store.sources(period, under=top.code)}

    expected = _expected(townships, baseline, export, registry)
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
        seconds=time.perf_counter() - started,
    )


def _expected(townships, baseline, export, registry) -> set[str]:
    """Townships that must send a roster: those with households in the export, else in the baseline."""
    if export is not None:
        return set(export.by_township)
    out = set()
    for t in townships:
        villages = registry.children(t.code)
        if any((b := baseline.villages.get(v.code)) is not None and b.poor_households for v in villages):
            out.add(t.code)
    return out


def _file_finding(path: str, exc: HBError) -> Finding:
    return Finding(
        message=exc.message,
        importance="error",
        rule=RULE_FILE,
        file=str(exc.file or path),
        sheet=exc.sheet,
        cell=exc.cell,
        hint=exc.hint,
    )
