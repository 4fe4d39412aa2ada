"""Check a batch of returned workbooks: every problem as a Finding, for people and for machines.

A file that cannot be used at all (not a workbook, not an hbreport form, another period, an old
template, …) becomes one Finding of importance 错误 with check 文件; the other files go on.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from hbreport.checks.blank import blank_form_finding
from hbreport.checks.files import UNUSABLE, UnitFile, one_per_unit, unusable_finding
from hbreport.consolidation.inbox import scan
from hbreport.context import Context
from hbreport.errors import EXIT_FINDINGS, EXIT_OK, HBError
from hbreport.model.findings import Finding, clip, count_by_importance
from hbreport.xlsx.reader import ReadResult, read_workbook
from hbreport.xlsx.safety import crash_reason

FILE_RULE = UNUSABLE


def check_files(
    paths: Iterable[str | Path],
    *,
    registry=None,
    baseline=None,
    expect_period: int | None = None,
    workers: int | None = None,
) -> tuple[list[Finding], list[ReadResult]]:
    """Read and check each file; (all findings in file order, the results of the files that could be read).

    A folder among ``paths`` stands for the workbooks in it (:func:`hbreport.consolidation.inbox.scan`: what else
    lies there, such as subfolders, archives or files still open in Excel, gets a 未读取 warning).
    Several files of one unit and period are judged as consolidation judges them
    (:func:`hbreport.checks.files.one_per_unit`). Files are read on other processes (:func:`hbreport.consolidation.parallel.read_files`), so that a file that makes
    a parser abort is that file's finding, not the end of the check."""
    import os

    from hbreport.consolidation.parallel import read_files
    from hbreport.heap import frozen_heap

    registry, catalog, baseline = Context.of(registry, None, baseline).parts
    findings: list[Finding] = []
    results: list[ReadResult] = []
    by_file: dict[str, list[Finding]] = {}
    files = _expand(paths, findings)
    with frozen_heap():
        reading = read_files(
            [str(f) for f in files],
            _check_one,
            workers=workers or os.cpu_count() or 1,
            setup=_init_checker,
            context=(registry, catalog, baseline, expect_period),
            crashed=_crashed,
        )
    for path, result in zip(files, reading.results, strict=True):
        if isinstance(result, Finding):
            by_file[str(path)] = [result]
            continue
        by_file[str(path)] = list(result.findings)
        blank = blank_form_finding(result.data, str(path))
        if blank is not None:  # a blank form is not a clean report
            by_file[str(path)].append(blank)
        results.append(result)
    units: dict[tuple[str, int], list[ReadResult]] = {}
    for result in results:
        units.setdefault((result.data.unit_code, result.data.period), []).append(result)
    for (code, _), group in units.items():
        if len(group) > 1:
            submissions = [
                UnitFile(
                    str(r.path),
                    r.sha256,
                    r.path.name == r.spec.file_name(),
                    r.values_digest,
                    bool(r.stamp and r.stamp.valid),
                )
                for r in group
            ]
            for finding in one_per_unit(code, group[0].spec.unit_name, submissions)[1]:
                by_file[finding.file].insert(0, finding)
    for path in files:
        findings += by_file.get(str(path), [])
    return findings, results


_CONTEXT: dict[str, Any] = {}


def _init_checker(registry, catalog, baseline, expect_period) -> None:
    _CONTEXT.update(registry=registry, catalog=catalog, baseline=baseline, expect_period=expect_period)


def _check_one(name: str) -> ReadResult | Finding:
    """One file read and checked (in a reading process): its result, or why it cannot be used."""
    path = Path(name)
    try:
        return read_workbook(path, **_CONTEXT)
    except HBError as exc:
        return file_finding(path, exc)
    except Exception as exc:  # one broken file must not stop the others
        reason = f"读取时发生意外错误（{type(exc).__name__}: {exc}），该文件未检查"
        hint = "请用 Excel/WPS 打开后重新保存再试；仍不行请把该文件和这条信息反馈给维护人员"
        return unusable_finding(str(path), reason, hint)


def _crashed(name: str, exit_code: int | None) -> Finding:
    message, hint = crash_reason(exit_code)
    return unusable_finding(name, message, hint)


def _expand(paths: Iterable[str | Path], findings: list[Finding]) -> list[Path]:
    """The files to read: each folder replaced by its workbooks, what else it holds said in ``findings``."""
    files: list[Path] = []
    for path in map(Path, paths):
        if not path.exists() and not path.is_symlink():
            raise HBError(f"找不到「{path}」", file=path, hint="检查文件或文件夹的名称与位置")
        if path.is_dir():
            inbox = scan(path)
            files += inbox.files
            findings += inbox.not_read
        else:
            files.append(path)
    return files


def file_finding(path: Path, exc: HBError) -> Finding:
    """An unusable file as one Finding of importance 错误 (check 文件) carrying the HBError's text."""
    return unusable_finding(str(exc.file or path), exc.message, exc.hint, sheet=exc.sheet, cell=exc.cell)


def exit_code(findings: Iterable[Finding]) -> int:
    """0 clean (warnings allowed), 1 findings of importance 错误 — a file that cannot be used is one —
    as ``consolidate`` gives for the same folder. (2 is for a check that cannot be done at all: a path
    that does not exist, a bad argument; raised as HBError.)"""
    if any(f.importance == "error" for f in findings):
        return EXIT_FINDINGS
    return EXIT_OK


def findings_to_json(findings: Sequence[Finding], results: Sequence[ReadResult] = ()) -> str:
    """{"errors", "warnings", "unusable_files", "findings": [...], "approvals": [...]} as UTF-8 JSON
    text; ``approvals``: the stamp each file of ``results`` carries (file, by, at, note, valid)."""
    counts = count_by_importance(findings)
    payload = {
        "errors": counts.get("error", 0),
        "warnings": counts.get("warning", 0),
        "unusable_files": sorted({f.file for f in findings if f.rule == FILE_RULE and f.file}),
        "findings": [f.to_dict() for f in findings],
        "approvals": [{"file": str(r.path)} | r.stamp.to_dict() for r in results if r.stamp is not None],
    }
    return json.dumps(payload, ensure_ascii=False, indent=2)


def render_findings(findings: Sequence[Finding], results: Sequence[ReadResult] = ()) -> str:
    """Chinese text grouped by file: a heading per file with its counts, then one line per finding.

    Files are listed by name; files in ``results`` with no findings are listed as 未发现问题."""
    groups: dict[str, list[Finding]] = {}
    for result in results:
        groups.setdefault(str(result.path), [])
    for f in findings:
        groups.setdefault(f.file or "（未指明文件）", []).append(f)
    names = {str(r.path): f"（{r.spec.unit_name} {r.data.period}年）" for r in results}
    stamps = {str(r.path): r.stamp.shown() for r in results if r.stamp is not None}
    for f in findings:
        if f.file and f.unit_name:
            names.setdefault(f.file, f"（{f.unit_name}）")
    lines: list[str] = []
    for file, items in sorted(groups.items(), key=lambda item: (Path(item[0]).name, item[0])):
        counts = count_by_importance(items)
        name = Path(file).name if file != "（未指明文件）" else file
        if any(f.rule == FILE_RULE for f in items):
            status = "无法使用"
        elif not items:
            status = "未发现问题"
        else:
            status = f"错误 {counts.get('error', 0)} 项，警告 {counts.get('warning', 0)} 项"
        lines.append(f"■ {name}{names.get(file, '')}：{status}")
        if file in stamps:
            lines.append(f"  审核：{stamps[file]}")
        for f in sorted(items, key=lambda f: f.importance != "error"):
            body = f.message
            where = " ".join(p for p in (f"「{f.sheet}」" if f.sheet else "", f.cell or "") if p)
            head = f"[{f.importance_zh}]" + (f"[{f.code}]" if f.rule else "")
            line = f"  {head} {where}：{body}" if where else f"  {head} {body}"
            if f.explained:
                line += f"。已说明：{clip(f.explanation)}"
            elif f.hint:
                line += f"。处理办法：{f.hint}"
            lines.append(line)
    counts = count_by_importance(findings)
    unusable = len({f.file for f in findings if f.rule == FILE_RULE})
    total_files = len(groups)
    scope = f"共 {total_files} 个文件" if results else f"{total_files} 个文件有问题"
    summary = f"{scope}：错误 {counts.get('error', 0)} 项，警告 {counts.get('warning', 0)} 项"
    if unusable:
        summary += f"，其中 {unusable} 个文件无法使用"
    if not findings:
        summary = f"共 {total_files} 个文件，未发现问题" if total_files else "未发现问题"
    lines.append(summary)
    return "\n".join(lines)
