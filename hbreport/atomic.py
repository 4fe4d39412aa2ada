"""Writing an output file all at once or not at all.

Every workbook, roster, annotated copy and report is written to a temporary file beside its target
and renamed onto it only when complete, so a reader never sees half a file and a failed run leaves
the previous one in place. On Windows the rename fails while the target is open in Excel, WPS or
Word; that, like a full disk or a folder without write permission, is said in Chinese with what to
do, never as an internal error.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from .errors import HBError

_OPENED_BY = {".docx": "Word/WPS", ".pdf": "PDF 阅读器"}


@contextmanager
def atomic_output(path: Path) -> Iterator[Path]:
    """A temporary path beside ``path`` to write to; renamed onto ``path`` when the block completes,
    removed in any case. OSError while writing or renaming becomes HBError naming ``path``."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=f"{path.suffix}.tmp", dir=path.parent)
        os.close(fd)
    except OSError as exc:
        raise HBError(
            f"无法在输出文件夹中写文件：{exc.strerror or exc}",
            file=path,
            hint="检查文件夹是否存在、是否有写权限，或换一个输出位置",
        ) from None
    tmp = Path(name)
    try:
        yield tmp
        os.replace(tmp, path)
    except PermissionError:
        app = _OPENED_BY.get(path.suffix.lower(), "Excel/WPS")
        raise HBError(
            "文件被占用或没有写权限，未能保存（原有文件保持不变）",
            file=path,
            hint=f"先在 {app} 中关闭该文件，或换一个输出位置，然后重新运行",
        ) from None
    except OSError as exc:
        raise HBError(
            f"保存失败：{exc.strerror or exc}（原有文件保持不变）", file=path, hint="检查磁盘空间与写权限"
        ) from None
    finally:
        tmp.unlink(missing_ok=True)
