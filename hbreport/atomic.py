"""Writing an output file all at once or not at all.

Every workbook, roster, annotated copy and report is written to a temporary file beside its target
and renamed onto it only when complete, so a reader never sees half a file and a failed run leaves
the previous one in place. On Windows the rename fails while the target is open in Excel, WPS or
Word; that, like a full disk or a folder without write permission, is said in Chinese with what to
do, never as an internal error or a traceback.

A run killed while writing (power cut, Ctrl-C twice, the system's out-of-memory killer) cannot remove
its temporary file. Each temporary name carries this machine and process (``.红安县_2017.h1a2b3cp4242-
x8k2….xlsx.tmp``); the next write into the same folder removes those of this machine whose process is
gone. Files of other programs, and of runs still going on this or another machine, are left alone.
"""

from __future__ import annotations

import errno
import gc
import hashlib
import os
import re
import socket
import sys
import tempfile
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from .errors import HBError

_OPENED_BY = {".docx": "Word/WPS", ".pdf": "PDF 阅读器"}
_REASONS = {
    errno.ENOSPC: "磁盘空间已满",
    errno.EDQUOT: "磁盘配额已用完",
    errno.EFBIG: "文件超过了系统允许的大小",
    errno.EROFS: "磁盘或文件夹是只读的",
    errno.EACCES: "没有写权限",
    errno.EPERM: "没有写权限",
    errno.ENAMETOOLONG: "文件名或路径太长",
    errno.EIO: "磁盘读写出错",
}
_HOST = hashlib.sha256(socket.gethostname().encode("utf-8", "replace")).hexdigest()[:6]
_NAME_BYTES = 255  # the longest file name most file systems take
_OURS = re.compile(r"^\..*\.h([0-9a-f]{6})p([0-9]+)-[^.]*\.[^.]+\.tmp$")


def reason(exc: BaseException) -> str:
    """Why a write failed, in Chinese where the cause is a common one."""
    cause = exc if isinstance(exc, OSError) else next((a for a in exc.args if isinstance(a, OSError)), None)
    if cause is not None and cause.errno in _REASONS:
        return _REASONS[cause.errno]
    return getattr(cause, "strerror", None) or str(cause or exc)


@contextmanager
def atomic_output(path: Path) -> Iterator[Path]:
    """A temporary path beside ``path`` to write to; renamed onto ``path`` when the block completes,
    removed in any case. A failure to write or rename (OSError, or XlsxWriter's FileCreateError that
    wraps one) becomes HBError naming ``path``."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        remove_stale_temporaries(path.parent)
        fd, name = tempfile.mkstemp(prefix=_prefix(path), suffix=f"{path.suffix}.tmp", dir=path.parent)
        os.close(fd)
    except OSError as exc:
        raise HBError(
            f"无法在输出文件夹中写文件：{reason(exc)}",
            file=path,
            hint="检查文件夹是否存在、是否有写权限，或换一个输出位置",
        ) from None
    tmp = Path(name)
    failure: HBError | None = None
    try:
        yield tmp
        os.replace(tmp, path)
    except PermissionError:
        app = _OPENED_BY.get(path.suffix.lower(), "Excel/WPS")
        failure = HBError(
            "文件被占用或没有写权限，未能保存（原有文件保持不变）",
            file=path,
            hint=f"先在 {app} 中关闭该文件，或换一个输出位置，然后重新运行",
        )
    except Exception as exc:
        if not _write_failure(exc):
            raise
        failure = HBError(
            f"保存失败：{reason(exc)}（原有文件保持不变）",
            file=path,
            hint="请清理磁盘空间、检查写权限，或换一个输出位置，然后重新运行",
        )
        _release_quietly(exc)
    finally:
        tmp.unlink(missing_ok=True)
    if failure is not None:
        raise failure


def _prefix(path: Path) -> str:
    """The temporary name's start: the target's stem cut so that the whole name fits in 255 bytes (a
    legal target name of up to 255 bytes must not fail for its temporary file's sake)."""
    tail = f".h{_HOST}p{os.getpid()}-"
    room = _NAME_BYTES - len(tail) - 1 - 8 - len(f"{path.suffix}.tmp".encode("utf-8", "surrogateescape"))
    stem = path.stem.encode("utf-8", "surrogateescape")[: max(room, 0)]
    return "." + stem.decode("utf-8", "ignore") + tail


def _write_failure(exc: Exception) -> bool:
    """An OSError, or a library's error that wraps one (XlsxWriter's FileCreateError is not an OSError)."""
    return isinstance(exc, OSError) or any(isinstance(a, OSError) for a in exc.args)


def _release_quietly(exc: BaseException) -> None:
    """Release what the failed write left (a zip writer still holding the temporary file flushes it
    again when collected, printing a traceback at exit) without printing anything: the frames the
    error went through are cleared and collected at once."""
    hook = sys.unraisablehook
    sys.unraisablehook = lambda _unraisable: None
    try:
        seen: set[int] = set()
        todo = [exc]
        while todo:  # the error, what it wraps, and what it was raised from
            error = todo.pop()
            if error is None or id(error) in seen:
                continue
            seen.add(id(error))
            traceback.clear_frames(error.__traceback__)
            todo += [
                error.__context__,
                error.__cause__,
                *(a for a in error.args if isinstance(a, BaseException)),
            ]
        gc.collect()
    finally:
        sys.unraisablehook = hook


def remove_stale_temporaries(folder: Path) -> int:
    """Remove this machine's temporary files in ``folder`` left by runs that ended while writing
    (their process is gone); how many were removed."""
    removed = 0
    try:
        names = [n for n in os.listdir(folder) if n.startswith(".") and n.endswith(".tmp")]
    except OSError:
        return 0
    for name in names:
        match = _OURS.match(name)
        if match is None or match[1] != _HOST or _alive(int(match[2])):
            continue
        try:
            (folder / name).unlink()
            removed += 1
        except OSError:
            pass
    return removed


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    if os.name == "nt":  # no signal 0 on Windows: ask the process table
        import ctypes

        handle = ctypes.windll.kernel32.OpenProcess(0x1000, False, pid)  # PROCESS_QUERY_LIMITED_INFORMATION
        if handle:
            ctypes.windll.kernel32.CloseHandle(handle)
        return bool(handle)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True  # it exists, under another user
    return True
