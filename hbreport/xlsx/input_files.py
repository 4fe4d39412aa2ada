"""Input files other than workbooks — unit registries, baselines, registration exports (CSV): only
regular files, and only up to a size bound, so that a device or a pipe given by mistake (``/dev/zero``)
or a runaway file is a Chinese message, not a read that fills memory or never ends."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from hbreport.errors import HBError

MiB = 1024 * 1024
MAX_TABLE_BYTES = 256 * MiB
"""Largest registry or baseline CSV: Hubei's whole division tree (31,000 units) is 1.7 MB."""
MAX_EXPORT_BYTES = 4096 * MiB
"""Largest registration export (建档立卡, one row per person): the province's 5.8 million people at
about 200 bytes a row are some 1.2 GB; an export is read row by row, never whole."""


def checked_input(path: str | Path, what: str, limit: int) -> int:
    """The size of ``path`` once it is known to be a regular file of at most ``limit`` bytes; HBError
    naming ``what`` otherwise (missing, a folder, a device or pipe, too large, unreadable)."""
    path = Path(path)
    try:
        mode, size = (lambda st: (st.st_mode, st.st_size))(os.stat(path))
    except FileNotFoundError:
        raise HBError(f"找不到{what}文件", file=path, hint="检查文件路径是否正确") from None
    except OSError as exc:
        raise HBError(
            f"无法读取{what}文件（{exc.strerror or exc}）", file=path, hint="检查文件权限"
        ) from None
    if stat.S_ISDIR(mode):
        raise HBError(f"给出的{what}是一个文件夹，不是文件", file=path, hint=f"请给出{what}文件（.csv）本身")
    if not stat.S_ISREG(mode):
        raise HBError(
            f"给出的{what}不是普通文件（是设备、管道等特殊文件），不能读取",
            file=path,
            hint=f"请给出保存在磁盘上的{what}文件（.csv）",
        )
    if size > limit:
        raise HBError(
            f"{what}文件有 {size / MiB:,.0f} MB，超过 {limit // MiB:,} MB 的上限",
            file=path,
            hint=f"请确认给出的是{what}文件（.csv），不是别的大文件",
        )
    return size


def read_input(path: str | Path, what: str, limit: int = MAX_TABLE_BYTES) -> bytes:
    """The bytes of a regular file of at most ``limit`` bytes (a file growing past it while read is refused)."""
    checked_input(path, what, limit)
    try:
        with open(path, "rb") as handle:
            data = handle.read(limit + 1)
    except OSError as exc:
        raise HBError(
            f"无法读取{what}文件（{exc.strerror or exc}）", file=path, hint="检查文件权限"
        ) from None
    if len(data) > limit:
        raise HBError(
            f"{what}文件超过 {limit // MiB:,} MB 的上限", file=path, hint=f"请确认给出的是{what}文件（.csv）"
        )
    return data
