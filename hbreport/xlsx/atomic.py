"""Writing an output file: all at once or not at all, never over what it must not replace.

Every workbook, roster, annotated copy and report goes through :func:`atomic_output`, which holds the
one rule for outputs:

- a command never writes over an existing file unless asked to (``--force``), and never over one of
  its own inputs, not even then;
- it writes only over a regular file (never a folder, device, pipe or socket), and only a name with
  the suffix of what it writes (a report is ``.docx``, a workbook ``.xlsx``);
- the file is written to a temporary file beside its target and appears there only when complete:
  without ``--force`` by a hard link of the finished file onto the target name, which fails if the
  name exists — so of two runs into one output, one succeeds and the other says so, with no window
  between looking and writing (where hard links are not supported, an exclusive ``O_EXCL``
  reservation takes their place); with ``--force`` by an atomic rename;
- the file gets the permissions a new file normally gets (``0666`` less the umask), so colleagues on
  a shared folder can open it as they can other files there.

On Windows the rename fails while the target is open in Excel, WPS or Word; that, like a full disk or
a folder without write permission, is said in Chinese with what to do, never as an internal error or a
traceback (XlsxWriter's FileCreateError, which wraps the OSError, included).

A run killed while writing (power cut, Ctrl-C twice, the system's out-of-memory killer) cannot remove
its temporary file. Each temporary name carries this machine and process (``.红安县_2017.h1a2b3cp4242-
x8k2….xlsx.tmp``, cut to fit 255 bytes); the next write into the same folder removes those of this
machine whose process is gone. Files of other programs, and of runs still going on this or another
machine, are left alone.
"""

from __future__ import annotations

import errno
import gc
import hashlib
import os
import re
import socket
import stat
import sys
import tempfile
import traceback
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from hbreport.errors import HBError

_OPENED_BY = {".docx": "Word/WPS", ".pdf": "PDF 阅读器"}
FORCE_HINT = "换一个输出文件名，或确认可以覆盖后加 --force"


def umask() -> int:
    """The process's umask, read without changing it where the system says it (Linux)."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def new_file_mode() -> int:
    """The permissions a file created now gets: ``0666`` less the umask."""
    return 0o666 & ~umask()


def _same_file(a: Path, b: Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        try:
            return a.resolve() == b.resolve()
        except OSError:
            return False


_WHY = {
    errno.ENOENT: "路径不存在或无法在此建立文件",
    errno.EACCES: "没有写权限",
    errno.EPERM: "不允许在此写文件",
    errno.EROFS: "位于只读的磁盘或文件系统上",
    errno.ENOSPC: "磁盘已满",
    errno.EDQUOT: "超出磁盘配额",
    errno.ENOTDIR: "路径中有一段是文件而不是文件夹",
    errno.ENAMETOOLONG: "文件名或路径太长",
    errno.EINVAL: "文件名中有此处不允许的字符",
    errno.EFBIG: "文件超过了系统允许的大小",
    errno.EIO: "磁盘读写出错",
}
_HOST = hashlib.sha256(socket.gethostname().encode("utf-8", "replace")).hexdigest()[:6]
_NAME_BYTES = 255  # the longest file name most file systems take
_OURS = re.compile(r"^\..*\.h([0-9a-f]{6})p([0-9]+)-[^.]*\.[^.]+\.tmp$")


def why(exc: BaseException) -> str:
    """An OSError in Chinese (the system's own words are English on most machines); also one a library
    wrapped in its own error (XlsxWriter's FileCreateError)."""
    cause = exc if isinstance(exc, OSError) else next((a for a in exc.args if isinstance(a, OSError)), None)
    if cause is None:
        return str(exc)
    return _WHY.get(cause.errno or 0, cause.strerror or str(cause))


@contextmanager
def _os_errors(path: Path, what: str, hint: str) -> Iterator[None]:
    """An OSError inside is an HBError naming ``path``: 「``what``：why」 and ``hint``."""
    try:
        yield
    except OSError as exc:
        raise HBError(f"{what}：{why(exc)}", file=path, hint=hint) from None


def _parent_ready(path: Path) -> None:
    """The folder of ``path`` exists (made if need be) and takes a new file; else HBError."""
    parent = path.parent
    for ancestor in (parent, *parent.parents):
        if ancestor.exists() or ancestor.is_symlink():
            if not ancestor.is_dir():
                raise HBError(
                    f"输出位置中的「{ancestor}」是一个文件，不是文件夹，无法在其中保存",
                    file=path,
                    hint="换一个输出位置（一个文件夹中的文件名）",
                )
            break
    with _os_errors(path, f"无法在输出文件夹「{parent}」中写文件", "换一个有写权限的普通文件夹作为输出位置"):
        parent.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(prefix=".hbreport-", suffix=".tmp", dir=parent)
        os.close(fd)
        os.unlink(probe)


def check_target(
    path: str | Path,
    *,
    suffix: str | None = None,
    force: bool = False,
    inputs: Iterable[str | Path] = (),
) -> Path:
    """Refuse (HBError) an output ``path`` the rule forbids; create its folder; return it.

    Commands call this before their work, so a forbidden output is said at once; :func:`atomic_output`
    calls it again when it writes."""
    path = Path(path)
    for source in inputs:
        source = Path(source)
        if (source.exists() or source.is_symlink()) and _same_file(path, source):
            raise HBError(
                "输出文件就是本命令的输入文件，不能覆盖它（加 --force 也不行）",
                file=path,
                hint="给输出另取一个文件名",
            )
    if suffix and path.suffix.lower() != suffix:
        raise HBError(
            f"输出文件「{path.name}」应以 {suffix} 结尾（写出的是 {suffix} 文件）",
            file=path,
            hint=f"换一个以 {suffix} 结尾的文件名",
        )
    _parent_ready(path)
    try:
        info = path.stat()
    except FileNotFoundError:
        info = None  # includes a dangling symbolic link: writing replaces the link itself
    except OSError as exc:
        raise HBError(f"无法访问输出位置：{why(exc)}", file=path, hint="换一个有写权限的输出位置") from None
    if info is not None:
        if stat.S_ISDIR(info.st_mode):
            raise HBError(
                "输出位置是一个已存在的文件夹，不能写成文件", file=path, hint="给出文件夹中的一个文件名"
            )
        if not stat.S_ISREG(info.st_mode):
            raise HBError(
                "输出位置已存在，且不是普通文件（设备、管道或套接字），不能写在它上面（加 --force 也不行）",
                file=path,
                hint="换一个普通文件名",
            )
        if not force:
            raise HBError("输出文件已存在，为防止覆盖未写入", file=path, hint=FORCE_HINT)
    return path


def refuse_existing(paths: Iterable[Path], force: bool, what: str = "文件") -> None:
    """For a command writing many files: refuse before writing any when some already exist (without
    ``--force``), naming the first and how many."""
    if force:
        return
    existing = [p for p in paths if p.exists() or p.is_symlink()]
    if existing:
        raise HBError(
            f"输出文件夹中已有 {len(existing)} 个同名{what}（如「{existing[0].name}」），"
            "为防止覆盖（其中可能有已填报的报表），一个也未写入",
            file=existing[0],
            hint="换一个空文件夹作为输出位置，或确认可以覆盖后加 --force",
        )


@contextmanager
def atomic_output(
    path: str | Path,
    *,
    force: bool = False,
    inputs: Iterable[str | Path] = (),
    suffix: str | None = None,
) -> Iterator[Path]:
    """A temporary path beside ``path`` to write to; put in place as ``path`` when the block
    completes (exclusively, or replacing a regular file with ``force``), removed in any case.

    ``inputs`` are the command's own input files, never written over; ``suffix`` (``".xlsx"``) the
    suffix ``path`` must have. Every refusal and every OSError is HBError naming ``path``."""
    path = Path(path)
    inputs = [Path(p) for p in inputs]
    check_target(path, suffix=suffix, force=force, inputs=inputs)
    mode = new_file_mode()
    with _os_errors(path, "无法在输出文件夹中写文件", "检查文件夹是否存在、是否有写权限，或换一个输出位置"):
        remove_stale_temporaries(path.parent)
        fd, name = tempfile.mkstemp(prefix=_prefix(path), suffix=f"{path.suffix}.tmp", dir=path.parent)
        os.close(fd)
    tmp = Path(name)
    failure: HBError | None = None
    try:
        yield tmp
        os.chmod(tmp, mode)  # after writing: a writer may have made the file anew
        if force:
            check_target(path, suffix=suffix, force=True, inputs=inputs)  # nothing new in the way
            os.replace(tmp, path)
        else:
            _create_exclusively(tmp, path, mode)
    except PermissionError:
        app = _OPENED_BY.get(path.suffix.lower(), "Excel/WPS")
        raise HBError(
            "文件被占用或没有写权限，未能保存（原有文件保持不变）",
            file=path,
            hint=f"先在 {app} 中关闭该文件，或换一个输出位置，然后重新运行",
        ) from None
    except Exception as exc:
        if not _write_failure(exc):
            raise
        failure = HBError(
            f"保存失败：{why(exc)}（原有文件保持不变）",
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
        todo: list[BaseException | None] = [exc]
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


_NO_LINKS = {errno.EPERM, errno.EOPNOTSUPP, errno.ENOTSUP, errno.EXDEV, errno.ENOSYS, errno.EMLINK}


def _create_exclusively(tmp: Path, path: Path, mode: int) -> None:
    """Give the finished ``tmp`` the name ``path`` only if no file has it: a hard link (one step, no
    window), or where the file system has none (FAT/exFAT sticks, some network shares) an O_EXCL
    reservation of the name and then a rename onto it."""
    try:
        os.link(tmp, path)
        return
    except FileExistsError:
        raise _exists(path) from None
    except OSError as exc:
        if exc.errno not in _NO_LINKS:
            raise
    try:
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, mode)
    except FileExistsError:
        raise _exists(path) from None
    os.close(fd)
    try:
        os.replace(tmp, path)
    except BaseException:
        path.unlink(missing_ok=True)  # the empty reservation is ours
        raise


def _exists(path: Path) -> HBError:
    return HBError(
        "输出文件在本次运行期间已被另一个程序写出（或原已存在），为防止覆盖未写入", file=path, hint=FORCE_HINT
    )
