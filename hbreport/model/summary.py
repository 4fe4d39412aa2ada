"""The consolidation Summary as data: who was expected, who reported, who was returned and why,
duplicates, refused files, findings, and units counted per level.

The Summary travels as an object (between processes, into the store, into the report) and is written
into the consolidated workbook as a versioned machine-readable part (:meth:`Summary.to_part`, read back
with :meth:`Summary.from_part`) beside the 下级明细 / 汇总校验 sheets people read; nothing is ever parsed
back from those Chinese sheets.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from hbreport import timeliness as timely
from hbreport.errors import EXIT_FINDINGS, EXIT_OK
from hbreport.model.approval import CHANGED
from hbreport.model.figures import Figures
from hbreport.model.findings import Finding, count_by_importance
from hbreport.model.values import FormData
from hbreport.registry import LEVEL_ZH
from hbreport.xlsx.layout import CHECK_SHEET
from hbreport.xlsx.names import shown

ACCEPTED, MISSING, RETURNED, DUPLICATE, REJECTED = "已报", "未报", "退回", "重复", "拒收"
BLANK = "空表"  # a workbook received with nothing typed in it: not reported data
NOT_WRITTEN = (
    "未写出汇总工作簿：没有一个下级报表可以汇总（全部未报、拒收或退回），"
    "一份没有下级数据的汇总表不应作为结果上报。请按上面的原因处理后重新汇总"
)
_FINDINGS_SHOWN = 50  # findings listed in the text summary; all of them are in the workbook and the JSON

#: a child's status in the summary → the status of its values on the parent's forms
VALUE_STATUS = {
    ACCEPTED: "reported",
    RETURNED: "returned",
    MISSING: "not_reported",
    DUPLICATE: "refused",
    REJECTED: "refused",
    BLANK: "not_reported",  # a blank form: nothing reported
}

#: the machine-readable part: its format name and the version this code writes and reads
PART_FORMAT = "hbreport.summary"
PART_VERSION = 1  # optional keys (figures) come without a new version: readers skip keys they do not know


class _Record:
    """A record of the Summary part (a dataclass): its JSON form is its fields by name, tuples as lists."""

    def to_dict(self) -> dict:
        values = {f.name: getattr(self, f.name) for f in fields(self)}
        return {k: list(v) if isinstance(v, tuple) else v for k, v in values.items()}


@dataclass(frozen=True)
class Rejection(_Record):
    """A file that was not used, and why (``kind``: unusable | not_child | wrong_level | wrong_period)."""

    file: str
    reason: str
    kind: str
    unit_code: str | None = None
    unit_name: str | None = None


@dataclass(frozen=True)
class DuplicateSet(_Record):
    """Two or more files for one unit: all refused, unless byte-identical (then ``used`` is one of them)."""

    unit_code: str
    unit_name: str
    files: tuple[str, ...]
    sha256: tuple[str, ...]
    identical: bool
    used: str | None


@dataclass(frozen=True)
class ChildStatus(_Record):
    """One expected child: a row of the 下级明细 sheet."""

    code: str
    name: str
    status: str  # 已报 | 未报 | 退回 | 重复 | 拒收 | 空表
    files: tuple[str, ...] = ()
    sha256: tuple[str, ...] = ()
    errors: int = 0
    warnings: int = 0
    note: str = ""
    received_at: str = ""  # 报送时间 (Beijing time), "" when nothing arrived
    timeliness: str = ""  # 按时 | 逾期 | 未报 (against the summary's deadline)
    received_from: str = ""  # store | mtime: how the received time is known
    approval: str = ""  # 已审核 | 审核后被改动 | 未审核 (hbreport approve); "" when no file was used
    approved_by: str = ""  # who approved it (已审核)

    @property
    def approval_shown(self) -> str:
        """The 审核 cell of 下级明细: 已审核（李四）, 审核后被改动, 未审核 or blank."""
        return f"{self.approval}（{self.approved_by}）" if self.approved_by else self.approval


@dataclass(frozen=True)
class CountyExitStatus(_Record):
    """A poor county's 摘帽 status as its own consolidation judged it from its data
    (:mod:`hbreport.consolidation.county_exit`), carried up in the Summary of every workbook above it.
    ``planned_year`` is the list of poor counties' schedule, never the achievement."""

    code: str
    name: str
    status: str  # 申请摘帽 | 达到标准 | 未达到 | 未报
    planned_year: int | None = None
    applying: bool = False
    failed: tuple[str, ...] = ()  # the criteria with data that are not met

    @classmethod
    def from_dict(cls, d: dict) -> CountyExitStatus:
        year = d.get("planned_year")
        return cls(
            str(d["code"]),
            str(d["name"]),
            str(d["status"]),
            int(year) if year is not None else None,
            bool(d.get("applying")),
            tuple(str(x) for x in d.get("failed") or ()),
        )


@dataclass
class Summary:
    """What a consolidation did: who reported, who did not, what was refused or returned, and why."""

    parent_code: str
    parent_name: str
    parent_level: str
    period: int
    children: list[ChildStatus]
    rejected: list[Rejection]
    duplicates: list[DuplicateSet]
    findings: list[Finding]
    inputs: list[tuple[str, str]]  # (file, sha256) of every file scanned
    output: str | None = None
    own_file: str | None = None
    store: str | None = None  # the SQLite store the submissions and this consolidation were kept in
    annotated: list[str] = field(default_factory=list)
    data: FormData | None = None  # the parent's values as written (derived and 合计 recomputed)
    levels: list[tuple[str, int, int]] = field(default_factory=list)  # (level, expected, received) below
    # the children's rows added up by 片区, 片区外 and 革命老区 (hbreport.regions; the 片区汇总 sheet)
    regions: dict[str, dict[str, float]] = field(default_factory=dict)
    deadline: dt.date | None = None  # 报送截止日期 the children's timeliness is judged against
    # poor counties' 摘帽 statuses judged from their own data: this county's, or those carried up from
    # the children's own Summaries (a county not listed has no data: 未报)
    county_exits: list[CountyExitStatus] = field(default_factory=list)
    # the figures written into the 已报 children's rows (hbreport.model.figures; {} in older workbooks)
    figures: Figures = field(default_factory=dict)

    def timeliness(self) -> dict[str, int]:
        """How many children returned 按时, 逾期, or 未报 (nothing arrived)."""
        counts = Counter(c.timeliness for c in self.children)
        return {k: counts[k] for k in (timely.ON_TIME, timely.LATE, timely.NOT_REPORTED)}

    def received_from(self) -> str:
        """How the children's received times are known (store / file mtime), in Chinese."""
        used = sorted({c.received_from for c in self.children if c.received_from})
        return "；".join(timely.SOURCE_ZH[u] for u in used)

    def to_part(self) -> str:
        """The versioned machine-readable part written into the consolidated workbook."""
        return summary_to_part(self)

    @classmethod
    def from_part(cls, text: str) -> Summary:
        return summary_from_part(text)

    def row_statuses(self) -> dict[str, str]:
        """Each expected child's code → the status of its values on the parent's forms (reported,
        not_reported, returned, refused), for :class:`~hbreport.model.dataset.Dataset`."""
        return {c.code: VALUE_STATUS[c.status] for c in self.children}

    def absent_rows(self) -> set[str]:
        """The children whose rows on the parent's forms hold no data (every status but 已报): their
        rows show the status, no figures computed from blanks, no verdict."""
        return {c.code for c in self.children if c.status != ACCEPTED}

    def _with(self, *statuses: str) -> list[ChildStatus]:
        return [c for c in self.children if c.status in statuses]

    @property
    def expected(self) -> list[ChildStatus]:
        return list(self.children)

    @property
    def received(self) -> list[ChildStatus]:
        """Children whose workbook was accepted and consolidated."""
        return self._with(ACCEPTED)

    @property
    def returned(self) -> list[ChildStatus]:
        """Children whose workbook has findings of importance 错误: not consolidated, sent back."""
        return self._with(RETURNED)

    @property
    def missing(self) -> list[ChildStatus]:
        """Expected − accepted − returned: no usable workbook (none sent, refused, duplicates that differ,
        or a blank form)."""
        return self._with(MISSING, DUPLICATE, REJECTED, BLANK)

    @property
    def completeness(self) -> dict[str, Any]:
        n = len(self.children)
        done, back = len(self.received), len(self.returned)
        return {
            "expected": n,
            "received": done,
            "returned": back,
            "missing": len(self.missing),
            "rejected_files": len(self.rejected),
            "duplicate_sets": len(self.duplicates),
            "reporting_rate": (done + back) / n if n else 1.0,
            "consolidated_rate": done / n if n else 1.0,
        }

    @property
    def exit_code(self) -> int:
        """0 clean; 1 when any finding of importance 错误 or any child is missing."""
        if self.missing or any(f.importance == "error" for f in self.findings):
            return EXIT_FINDINGS
        return EXIT_OK

    def _unread(self) -> list[Finding]:
        # imported here: the model does not load the consolidation package when it is imported
        from hbreport.consolidation.inbox import RULE_NOT_READ

        return [f for f in self.findings if f.rule == RULE_NOT_READ]

    def to_dict(self) -> dict:
        def unit(c: ChildStatus) -> dict:
            return {"code": c.code, "name": c.name}

        return {
            "parent": {"code": self.parent_code, "name": self.parent_name, "level": self.parent_level},
            "period": self.period,
            "expected": [unit(c) for c in self.expected],
            "received": [unit(c) | {"file": c.files[0], "sha256": c.sha256[0]} for c in self.received],
            "missing": [unit(c) | {"status": c.status} for c in self.missing],
            "rejected": [r.to_dict() for r in self.rejected],
            "duplicates": [d.to_dict() for d in self.duplicates],
            "returned": [
                unit(c) | {"file": c.files[0], "errors": c.errors, "warnings": c.warnings}
                for c in self.returned
            ],
            "children": [c.to_dict() for c in self.children],
            "completeness": self.completeness,
            "deadline": self.deadline.isoformat() if self.deadline else None,
            "timeliness": self.timeliness(),
            "levels": [{"level": lv, "expected": n, "received": got} for lv, n, got in self.levels],
            "regions": self.regions,
            "county_exits": [e.to_dict() for e in self.county_exits],
            "findings": [f.to_dict() for f in self.findings],
            "inputs": [{"file": f, "sha256": s} for f, s in self.inputs],
            "own_file": self.own_file,
            "output": self.output,
            "output_not_written": None if self.output or self.received else NOT_WRITTEN,
            "store": self.store,
            "annotated": list(self.annotated),
            "exit_code": self.exit_code,
        }

    def render(self) -> str:
        """The summary in Chinese, for the office that ran the consolidation."""
        c = self.completeness
        counts = count_by_importance(self.findings)
        lines = [
            f"{self.parent_name}（{_short(self.parent_code)}）{self.period}年汇总：应报 {c['expected']} 个单位，"
            f"已汇总 {c['received']} 个，退回 {c['returned']} 个，未报 {c['missing']} 个；"
            f"拒收文件 {c['rejected_files']} 个，重复 {c['duplicate_sets']} 组。"
            f"报送率 {c['reporting_rate']:.1%}，汇总率 {c['consolidated_rate']:.1%}。",
        ]
        if self.deadline:
            t = self.timeliness()
            late = [ch for ch in self.children if ch.timeliness == timely.LATE]
            source = self.received_from()
            lines.append(
                f"报送截止 {self.deadline.year}年{self.deadline.month}月{self.deadline.day}日："
                f"按时 {t[timely.ON_TIME]} 个，逾期 {t[timely.LATE]} 个，未报 {t[timely.NOT_REPORTED]} 个"
                + (
                    "（逾期：" + "、".join(f"{ch.name} {ch.received_at}" for ch in late) + "）"
                    if late
                    else ""
                )
                + (f"；报送时间取{source}" if source else "")
                + "。"
            )
        approved = [ch for ch in self.children if ch.approved_by]
        changed = [ch.name for ch in self.children if ch.approval == CHANGED]
        if approved or changed:
            lines.append(
                f"审核：{len(approved)} 个单位的报表已审核"
                + (f"，{len(changed)} 个审核后被改动（{'、'.join(changed)}）" if changed else "")
                + "。"
            )
        if len(self.levels) > 1:  # the units below the children, as the children's workbooks say
            lines.append(
                "各级已汇总/应报："
                + "，".join(f"{LEVEL_ZH[lv]} {got}/{n}" for lv, n, got in self.levels)
                + "（下级以下的单位按各下级报表的汇总校验计）"
            )
        if self.missing:
            lines.append(
                "未报（没有可用的报表）："
                + "、".join(
                    f"{_short(m.code)} {m.name}" + ("" if m.status == MISSING else f"（{m.status}）")
                    for m in self.missing
                )
                + ("（文件夹中有没有读取的文件，见下面的“未读取”警告）" if self._unread() else "")
            )
        if self.returned:
            lines.append("退回（有错误，未汇总，请改正后重报）：")
            lines += [
                f"  {_short(r.code)} {r.name}（{r.files[0]}）：错误 {r.errors} 个，警告 {r.warnings} 个"
                for r in self.returned
            ]
        if self.rejected:
            lines.append("拒收的文件：")
            lines += [f"  {r.file}：{r.reason}" for r in self.rejected]
        if self.duplicates:
            lines.append("重复报送：")
            for d in self.duplicates:
                how = (
                    f"内容完全相同，只汇总「{d.used}」"
                    if d.identical
                    else "内容不同，全部拒收，请确认哪一份有效后只留一份"
                )
                lines.append(f"  {d.unit_name}：{'、'.join(d.files)}（{how}）")
        if self.findings:
            lines.append(
                f"问题清单（错误 {counts.get('error', 0)} 个，警告 {counts.get('warning', 0)} 个）："
            )
            lines += [f"  {f.text()}" for f in self.findings[:_FINDINGS_SHOWN]]
            if len(self.findings) > _FINDINGS_SHOWN:
                lines.append(
                    f"  …其余 {len(self.findings) - _FINDINGS_SHOWN} 条见输出工作簿「{CHECK_SHEET}」表或 --json 输出"
                )
        if self.own_file:
            lines.append(f"本级自填表取自：{self.own_file}")
        if self.output:
            lines.append(f"输出：{self.output}")
        elif not self.received:
            lines.append(NOT_WRITTEN)
        if self.store:
            lines.append(f"已入库：{self.store}")
        if self.annotated:
            lines.append(
                f"已为 {len(self.annotated)} 个有问题的报表生成批注副本：{Path(self.annotated[0]).parent}"
            )
        return "\n".join(lines)


def _short(code: str) -> str:
    """A 12-digit code as people write it: 6 digits down to the county, 9 for a township."""
    if code[6:] == "000000":
        return code[:6]
    return code[:9] if code[9:] == "000" else code


def _name(path: str | None) -> str | None:
    """A file as the part keeps it: its name (the output must not depend on where the inputs lay)."""
    return Path(path).name if path else path


def summary_to_part(summary: Summary) -> str:
    """The Summary as the versioned JSON text of the workbook's hidden part (no timestamps, no paths:
    the same inputs give the same bytes)."""
    payload = {
        "format": PART_FORMAT,
        "version": PART_VERSION,
        "parent": {"code": summary.parent_code, "name": summary.parent_name, "level": summary.parent_level},
        "period": summary.period,
        "children": [c.to_dict() for c in summary.children],
        "rejected": [r.to_dict() for r in summary.rejected],
        "duplicates": [d.to_dict() for d in summary.duplicates],
        "findings": [asdict(f) | {"file": _name(f.file)} for f in summary.findings],
        "inputs": [{"file": _name(f), "sha256": s} for f, s in summary.inputs],
        "own_file": _name(summary.own_file),
        "levels": [{"level": lv, "expected": n, "received": got} for lv, n, got in summary.levels],
        "regions": summary.regions,
        "deadline": summary.deadline.isoformat() if summary.deadline else None,
        "county_exits": [e.to_dict() for e in summary.county_exits],
        "figures": summary.figures,
    }
    # file names unpacked from a GBK zip hold undecoded bytes: shown as their characters
    return shown(json.dumps(payload, ensure_ascii=False, sort_keys=True, separators=(",", ":")))


def summary_from_part(text: str) -> Summary:
    """The Summary a workbook's hidden part holds; ValueError when it is not one this version reads."""
    try:
        d = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"not JSON: {exc}") from None
    if not isinstance(d, dict) or d.get("format") != PART_FORMAT:
        raise ValueError("not an hbreport summary")
    if d.get("version") != PART_VERSION:
        raise ValueError(f"summary version {d.get('version')!r}, this program reads {PART_VERSION}")
    try:
        parent = d["parent"]
        return Summary(
            parent_code=parent["code"],
            parent_name=parent["name"],
            parent_level=parent["level"],
            period=int(d["period"]),
            children=[
                ChildStatus(
                    c["code"],
                    c["name"],
                    c["status"],
                    tuple(c["files"]),
                    tuple(c["sha256"]),
                    int(c["errors"]),
                    int(c["warnings"]),
                    c["note"],
                    c.get("received_at", ""),
                    c.get("timeliness", ""),
                    c.get("received_from", ""),
                    c.get("approval", ""),
                    c.get("approved_by", ""),
                )
                for c in d["children"]
            ],
            rejected=[Rejection(**r) for r in d["rejected"]],
            duplicates=[
                DuplicateSet(
                    x["unit_code"],
                    x["unit_name"],
                    tuple(x["files"]),
                    tuple(x["sha256"]),
                    bool(x["identical"]),
                    x["used"],
                )
                for x in d["duplicates"]
            ],
            findings=[Finding(**f) for f in d["findings"]],
            inputs=[(i["file"], i["sha256"]) for i in d["inputs"]],
            own_file=d.get("own_file"),
            levels=[(x["level"], int(x["expected"]), int(x["received"])) for x in d["levels"]],
            regions={
                str(g): {str(k): v for k, v in f.items() if isinstance(v, (int, float))}
                for g, f in d.get("regions", {}).items()
            },
            deadline=dt.date.fromisoformat(d["deadline"]) if d.get("deadline") else None,
            county_exits=[CountyExitStatus.from_dict(e) for e in d.get("county_exits") or ()],
            figures=d["figures"] if isinstance(d.get("figures"), dict) else {},
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"incomplete summary: {type(exc).__name__} {exc}") from None
