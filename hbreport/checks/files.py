"""Checks of the files of a batch (``check``, ``consolidate`` and roster consolidation): a file that
cannot be used, and several files for one unit — byte-identical copies (one is used) or files that
differ (all are refused). The three commands decide the same way, through :func:`one_per_unit`."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from hbreport.checks.finding import finding
from hbreport.checks.registry import ERROR, WARNING, register, registered
from hbreport.model.findings import Finding

UNUSABLE = register(
    "文件",
    ERROR,
    "{reason}",
    "{hint}",
    "文件无法使用（不是工作簿、不是本系统的报表、报告期或单位不对、旧版表式、结构被改动……），原因见问题说明",
)
COPY = register(
    "副本",
    WARNING,
    "与「{used}」内容完全相同（逐字节一致），是同一份报表的副本，只采用「{used}」",
    "删去多余的副本",
    "同一单位报送了几份内容完全相同的文件：只用其中一份，其余是副本",
)
ORIGINAL = register(
    "原件",
    WARNING,
    "与审核件「{used}」的数据完全相同，是它审核前的原件，只采用审核件「{used}」",
    "报送审核件即可，删去原件",
    "同一单位既有审核件（hbreport approve 写出的、带审核标记的副本）又有数据相同的原件：只用审核件",
)
DIFFERING = register(
    "重复",
    ERROR,
    "「{unit}」报送了 {count} 份内容不同的文件（{files}），全部拒收",
    "与报送单位确认哪一份有效，只在文件夹中保留那一份后重新汇总",
    "同一单位同一报告期有几份内容不同的文件：无法判断哪一份有效，全部拒收",
)


@dataclass(frozen=True)
class UnitFile:
    """One readable file of a unit: where it is, its sha256, whether it carries the name the form was
    issued with, the digest of its data values and whether it carries a valid approval stamp
    (:mod:`hbreport.model.approval`)."""

    path: str
    sha256: str
    issued_name: bool = False
    values: str = ""
    stamped: bool = False


def unusable_finding(file: str, reason: str, hint: str | None, **where: str | None) -> Finding:
    """A file that cannot be used at all, as one finding of importance 错误 (``where``: sheet, cell,
    unit_code, unit_name)."""
    return Finding(
        message=reason,
        importance=registered(UNUSABLE).importance,
        rule=UNUSABLE,
        file=file,
        hint=hint,
        **where,
    )


def copy_finding(copy: str, used: str, unit_code: str, unit_name: str) -> Finding:
    """``copy`` is a byte-identical copy of ``used``, which is the one taken."""
    return finding(COPY, file=copy, unit_code=unit_code, unit_name=unit_name, used=Path(used).name)


def original_finding(original: str, used: str, unit_code: str, unit_name: str) -> Finding:
    """``original`` holds the same data values as the approved copy ``used``, which is the one taken."""
    return finding(ORIGINAL, file=original, unit_code=unit_code, unit_name=unit_name, used=Path(used).name)


def differing_findings(files: Sequence[str], unit_code: str, unit_name: str) -> list[Finding]:
    """Files of one unit that differ: each refused, each saying which others there are."""
    names = "、".join(Path(f).name for f in files)
    return [
        finding(
            DIFFERING,
            file=file,
            unit_code=unit_code,
            unit_name=unit_name,
            unit=unit_name,
            count=len(files),
            files=names,
        )
        for file in files
    ]


def original_first(files: Sequence[UnitFile]) -> list[UnitFile]:
    """The files in the order they are preferred: the one named as issued, then the shortest name (a
    copy is named 'x (1).xlsx' or 'x - 副本.xlsx'), then by name."""
    return sorted(files, key=lambda s: (not s.issued_name, len(Path(s.path).name), Path(s.path).name))


def one_per_unit(
    unit_code: str, unit_name: str, files: Sequence[UnitFile]
) -> tuple[UnitFile | None, list[Finding]]:
    """The file to use of a unit's files, and the findings about the others: byte-identical copies give
    the original (:func:`original_first`) and a 副本 warning on each copy; files of the same data values
    of which one carries a valid approval stamp give that approved copy and a 原件 warning on each
    other; files that differ give None and a 重复 error on each."""
    ordered = original_first(files)
    if len(ordered) == 1:
        return ordered[0], []
    if len({s.sha256 for s in ordered}) == 1:
        used = ordered[0]
        return used, [copy_finding(s.path, used.path, unit_code, unit_name) for s in ordered[1:]]
    stamped = [s for s in ordered if s.stamped]
    if stamped and all(s.values and s.values == stamped[0].values for s in ordered):
        used = stamped[0]
        return used, [
            (copy_finding if s.sha256 == used.sha256 else original_finding)(
                s.path, used.path, unit_code, unit_name
            )
            for s in ordered
            if s is not used
        ]
    return None, differing_findings([s.path for s in ordered], unit_code, unit_name)
