"""What lies in the folder of received files: the files to read, and what is left unread and why.

Only the folder's own files are read, not its subfolders (they tend to hold last year's files or an
earlier consolidation). Whatever is not read is still accounted for, as a warning, so that a unit
shown as 未报 is not missing only because its workbook came zipped, was saved into a subfolder, or
is still open in Excel:

* a subfolder holding workbooks — how many, and that they were not read;
* an archive (.zip, .rar, .7z …) — to be unpacked first;
* an Excel/WPS owner file ``~$…`` — its workbook is open in Excel/WPS, unsaved edits are not read;
* any other file — listed together, once;
* what cannot be read as a file at all — a shortcut (symbolic link) whose target is gone, a pipe or a
  device, a subfolder that cannot be opened — each by name.

Hidden files (a leading dot: .DS_Store and the like) are passed over in silence.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from hbreport.errors import HBError
from hbreport.model.findings import Finding
from hbreport.store.db import DEFAULT_NAME

SUBMISSION_SUFFIXES = (".xlsx", ".xlsm", ".xls", ".et", ".ods")
"""File types a clerk may send; all but .xlsx are refused by the reader with its reason."""
ARCHIVE_SUFFIXES = (".zip", ".rar", ".7z", ".tar", ".gz", ".tgz", ".bz2", ".xz")
RULE_NOT_READ = "未读取"
OWNER_PREFIX = "~$"  # Excel and WPS: the "owner file" of a workbook that is open for editing
_LOOK_AT_MOST = 10_000  # entries looked at inside one subfolder (a whole drive dropped in is not walked)
_NAMES_SHOWN = 10


@dataclass
class Inbox:
    folder: Path
    files: list[Path]  # the submissions to read, sorted by name
    not_read: list[Finding] = field(default_factory=list)


STORE_NAMES = frozenset(DEFAULT_NAME + tail for tail in ("", "-wal", "-shm", "-journal"))
"""The store ``approve`` keeps beside the files it approved (:func:`hbreport.store.db.default_store`)."""


def scan(folder: Path, exclude: Iterable[Path] = ()) -> Inbox:
    """The submissions in ``folder`` and a warning for everything else in it (``exclude``: this run's
    own outputs — files, or folders holding them — which are passed over)."""
    skip = _names_to_skip(folder, exclude)
    files: list[Path] = []
    archives: list[Path] = []
    owners: list[Path] = []
    others: list[Path] = []
    subfolders: list[tuple[Path, int]] = []
    odd: list[Finding] = []
    try:
        entries = sorted(folder.iterdir(), key=lambda p: p.name)
    except OSError as exc:
        raise HBError(
            f"无法打开文件夹（{exc.strerror or exc}）",
            file=folder,
            hint="请检查文件夹的访问权限，或把报表拷贝到有权限的文件夹后再运行",
        ) from None
    for p in entries:
        name = p.name
        if name.startswith("."):
            continue
        if name in skip or name in STORE_NAMES:
            continue  # this run's output, the folder it is written to, or the store approve keeps there
        try:
            mode = p.stat().st_mode  # through a symbolic link, to what it points at
        except OSError as exc:
            odd.append(_unreachable(p, exc))
            continue
        if stat.S_ISDIR(mode):
            count = _workbooks_under(p)
            if count is None:
                odd.append(_closed_folder(p))
            elif count:
                subfolders.append((p, count))
        elif not stat.S_ISREG(mode):
            odd.append(_special(p, mode))
        elif name.startswith(OWNER_PREFIX):
            owners.append(p)
        elif p.suffix.lower() in SUBMISSION_SUFFIXES:
            files.append(p)
        elif p.suffix.lower() in ARCHIVE_SUFFIXES or name.lower().endswith(".tar.gz"):
            archives.append(p)
        else:
            others.append(p)
    inbox = Inbox(folder, files)
    inbox.not_read += [_subfolder(folder, d, n) for d, n in subfolders]
    inbox.not_read += [_archive(p) for p in archives]
    inbox.not_read += [_owner(p, files) for p in owners]
    if others:
        inbox.not_read.append(_others(folder, others))
    inbox.not_read += odd
    return inbox


def _names_to_skip(folder: Path, exclude: Iterable[Path]) -> set[str]:
    """The names in ``folder`` that are, or hold, one of ``exclude`` (one path resolved per exclusion,
    not one per file)."""
    here = folder.resolve()
    names = set()
    for path in exclude:
        target = Path(path).resolve()
        if target.parent == here or here in target.parents:
            names.add(target.relative_to(here).parts[0])
    return names


def _unread(message: str, file: Path, hint: str) -> Finding:
    return Finding(message, importance="warning", rule=RULE_NOT_READ, file=str(file), hint=hint)


def _workbooks_under(directory: Path) -> int | None:
    """How many submissions lie under ``directory`` (None when it cannot be opened)."""
    try:
        os.listdir(directory)
    except OSError:
        return None
    count = looked = 0
    for _root, _dirs, names in os.walk(directory):
        for name in names:
            looked += 1
            if not name.startswith((".", OWNER_PREFIX)) and Path(name).suffix.lower() in SUBMISSION_SUFFIXES:
                count += 1
        if looked >= _LOOK_AT_MOST:
            break
    return count


def _unreachable(path: Path, exc: OSError) -> Finding:
    if path.is_symlink():
        target = os.readlink(path)
        return _unread(
            f"「{path.name}」是快捷方式（符号链接），它指向的「{target}」不存在或无法访问，没有读取",
            path,
            "请把报表文件本身放到本文件夹，或修正这个链接后重新运行",
        )
    return _unread(
        f"「{path.name}」无法访问（{exc.strerror or exc}），没有读取",
        path,
        "请检查它的访问权限，或把报表拷贝到本文件夹后重新运行",
    )


def _special(path: Path, mode: int) -> Finding:
    what = (
        "管道（FIFO）"
        if stat.S_ISFIFO(mode)
        else "设备"
        if stat.S_ISCHR(mode) or stat.S_ISBLK(mode)
        else "特殊文件"
    )
    via = "是指向" if path.is_symlink() else "是"
    return _unread(
        f"「{path.name}」{via}{what}，不是普通文件，没有读取",
        path,
        "报表须是保存在磁盘上的 .xlsx 文件；请把它删除或移走，需要汇总的报表请拷贝到本文件夹",
    )


def _closed_folder(directory: Path) -> Finding:
    return _unread(
        f"子文件夹「{directory.name}」无法打开（没有访问权限），其中的文件没有读取",
        directory,
        "请检查该文件夹的访问权限；要汇总的报表请移到上一层文件夹",
    )


def _subfolder(folder: Path, directory: Path, count: int) -> Finding:
    return _unread(
        f"子文件夹「{directory.name}」中有 {count} 个报表文件，没有读取",
        directory,
        f"汇总只读取「{folder.name}」这一层的文件；要汇总的报表请移到这一层，往年或已汇总的文件请放在别处",
    )


def _archive(path: Path) -> Finding:
    return _unread(
        f"「{path.name}」是压缩包，其中的报表没有读取",
        path,
        "请解压，把其中的 .xlsx 报表放到本文件夹后重新汇总",
    )


def _owner(path: Path, files: list[Path]) -> Finding:
    """Excel names the owner file ``~$`` + the workbook's name, or puts ``~$`` over its first two
    characters when the name is long; WPS does the former."""
    tail = path.name[len(OWNER_PREFIX) :]
    open_one = next((f for f in files if f.name == tail or f.name[2:] == tail), None)
    which = f"「{open_one.name}」" if open_one else "某个报表"
    return _unread(
        f"「{path.name}」是 Excel/WPS 打开报表时留下的临时文件：{which}可能正在编辑，未保存的修改不会被汇总",
        path,
        "请在 Excel/WPS 中保存并关闭该报表后重新汇总；若报表早已关闭，可删去这个临时文件",
    )


def _others(folder: Path, paths: list[Path]) -> Finding:
    names = "、".join(p.name for p in paths[:_NAMES_SHOWN])
    more = f"等 {len(paths)} 个" if len(paths) > _NAMES_SHOWN else ""
    return _unread(
        f"文件夹「{folder.name}」中另有 {len(paths)} 个不是报表的文件，没有读取：{names}{more}",
        folder,
        "报表须是 .xlsx 工作簿；若其中有报表被存成了别的格式，请在 Excel/WPS 中另存为 .xlsx",
    )
