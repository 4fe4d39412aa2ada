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
a folder without write permission, is said in Chinese with what to do, never as an internal error.
"""

from __future__ import annotations

import errno
import os
import stat
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from .errors import HBError

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
}


def why(exc: OSError) -> str:
    """An OSError in Chinese (the system's own words are English on most machines)."""
    return _WHY.get(exc.errno or 0, exc.strerror or str(exc))


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
    try:
        parent.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(prefix=".hbreport-", suffix=".tmp", dir=parent)
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise HBError(
            f"无法在输出文件夹「{parent}」中写文件：{why(exc)}",
            file=path,
            hint="换一个有写权限的普通文件夹作为输出位置",
        ) from None


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
    try:
        fd, name = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=f"{path.suffix}.tmp", dir=path.parent)
        os.close(fd)
    except OSError as exc:
        raise HBError(
            f"无法在输出文件夹中写文件：{why(exc)}",
            file=path,
            hint="检查文件夹是否存在、是否有写权限，或换一个输出位置",
        ) from None
    tmp = Path(name)
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
    except OSError as exc:
        raise HBError(
            f"保存失败：{why(exc)}（原有文件保持不变）", file=path, hint="检查磁盘空间与写权限"
        ) from None
    finally:
        tmp.unlink(missing_ok=True)


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
