"""Opening the SQLite store: one file for the whole office (submissions, consolidations, households),
created on first use, with every way it can fail said in Chinese.

- a file that is not SQLite, or an SQLite file that is not an hbreport store, is refused untouched;
- a read-only file (no write permission in its mode bits, even for an administrator) is refused
  for writing;
- another program holding the store waits ``HBREPORT_STORE_WAIT`` seconds (default 60), then is a
  clear message instead of a crash;
- writers take the write lock at the start of their transaction (``BEGIN IMMEDIATE``), so two
  consolidations at once on one store run their transactions one after the other.
"""

from __future__ import annotations

import os
import sqlite3
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Self

from hbreport.errors import HBError

DEFAULT_NAME = "hbreport.sqlite"
APPLICATION = "hbreport"
SQLITE_MAGIC = b"SQLite format 3\x00"
WAIT_ENV = "HBREPORT_STORE_WAIT"
_HINT_LOCKED = (
    "等另一个汇总或入库的程序结束后再运行；如果没有其他程序在用，检查是否有人用数据库工具打开了该文件"
)


def wait_seconds() -> float:
    try:
        return max(0.0, float(os.environ.get(WAIT_ENV, "60")))
    except ValueError:
        return 60.0


def default_store(out_path: str | Path) -> Path:
    """The store beside an output: ``hbreport.sqlite`` in the output's folder."""
    return Path(out_path).parent / DEFAULT_NAME


def _check_file(path: Path, write: bool) -> None:
    if path.is_dir():
        raise HBError(
            "给出的数据库是一个文件夹", file=path, hint="--store 给出一个文件，例如 hbreport.sqlite"
        )
    if not path.exists():
        if not write:
            raise HBError("找不到数据库文件", file=path, hint="检查 --store 的路径；数据库在第一次汇总时创建")
        return
    try:
        with path.open("rb") as fh:
            head = fh.read(len(SQLITE_MAGIC))
    except OSError as exc:
        raise HBError(f"无法读取数据库文件（{exc.strerror}）", file=path, hint="检查路径和读权限") from None
    if head and head != SQLITE_MAGIC:
        raise HBError(
            "该文件不是 hbreport 数据库（不是 SQLite 数据库文件），未做任何改动",
            file=path,
            hint="--store 应指向 hbreport 创建的 .sqlite 文件，或一个还不存在的新文件名",
        )
    if write and not _writable(path):
        raise HBError(
            "数据库文件是只读的，无法写入",
            file=path,
            hint="去掉该文件的只读属性，或用 --store 另给一个可写的数据库文件",
        )


def _writable(path: Path) -> bool:
    """Whether the file may be written: its mode bits say so (an administrator is held to them too)."""
    return bool(path.stat().st_mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH)) and os.access(
        path, os.W_OK
    )


def store_error(exc: sqlite3.Error, path: Path | None) -> HBError:
    """An SQLite error as the Chinese message a user can act on."""
    text = str(exc).lower()
    if "locked" in text or "busy" in text:
        return HBError(
            f"数据库正被另一个程序使用，等待 {wait_seconds():g} 秒后仍未释放", file=path, hint=_HINT_LOCKED
        )
    if "readonly" in text or "read-only" in text:
        return HBError(
            "数据库文件或其所在文件夹是只读的，无法写入",
            file=path,
            hint="去掉只读属性，或用 --store 另给一个可写位置的数据库文件",
        )
    if "not a database" in text or "malformed" in text or "corrupt" in text:
        return HBError(
            "该文件不是 hbreport 数据库，或已经损坏",
            file=path,
            hint="--store 应指向 hbreport 创建的 .sqlite 文件；损坏的数据库请从备份恢复",
        )
    if "disk" in text and "full" in text:
        return HBError("磁盘已满，数据库无法写入", file=path, hint="腾出磁盘空间后重新运行")
    if "unable to open" in text:
        return HBError("无法打开数据库文件", file=path, hint="检查路径是否存在、是否有读写权限")
    return HBError(f"数据库出错（{exc}）", file=path, hint="检查数据库文件；问题仍在时把该文件交维护人员检查")


class Connected:
    """What holds an open store connection (``self.db``): a context manager that closes it on leaving."""

    db: sqlite3.Connection

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        self.db.close()


@contextmanager
def translated(path: Path) -> Iterator[None]:
    """SQLite errors inside the block become :class:`HBError` (exit 2, Chinese)."""
    try:
        yield
    except sqlite3.Error as exc:
        raise store_error(exc, path) from None


def connect(
    path: str | Path, *, write: bool = True, isolation_level: str | None = None
) -> sqlite3.Connection:
    """Open (``write``: create when absent) the store at ``path``; HBError when it cannot be used.

    ``isolation_level=None`` leaves transactions to the caller (:func:`transaction`); the household
    store passes ``""`` for Python's implicit transactions."""
    path = Path(path)
    _check_file(path, write)
    with translated(path):
        if write:
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise HBError(
                    f"无法创建数据库所在的文件夹（{exc.strerror}）", file=path, hint="检查路径和写权限"
                ) from None
            db = sqlite3.connect(path, timeout=wait_seconds(), isolation_level=isolation_level)
        elif _writable(path):  # only read, but closed as a writer would: no -wal/-shm files left behind
            db = sqlite3.connect(path, timeout=wait_seconds(), isolation_level=isolation_level)
        else:
            uri = path.resolve().as_uri() + "?mode=ro"
            db = sqlite3.connect(uri, uri=True, timeout=wait_seconds(), isolation_level=isolation_level)
        try:
            _check_ours(db, path)
            if write:
                mode = db.execute("PRAGMA journal_mode").fetchone()[0]
                if mode != "wal":
                    db.execute("PRAGMA journal_mode=WAL")
                db.execute("PRAGMA synchronous=NORMAL")
                with transaction(db):
                    db.execute("CREATE TABLE IF NOT EXISTS store_info (key TEXT PRIMARY KEY, value TEXT)")
                    db.execute("INSERT OR IGNORE INTO store_info VALUES ('application', ?)", (APPLICATION,))
        except BaseException:
            db.close()
            raise
    return db


def check_store(path: str | Path) -> None:
    """Refuse, before any work, a store that cannot be used (not SQLite, another program's database,
    read-only); nothing is created or written here."""
    path = Path(path)
    _check_file(path, write=True)
    if path.exists() and path.stat().st_size:
        connect(path, write=False).close()


def _check_ours(db: sqlite3.Connection, path: Path) -> None:
    tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    if tables and "store_info" not in tables:
        raise HBError(
            "该文件是 SQLite 数据库，但不是 hbreport 的数据库，未做任何改动",
            file=path,
            hint="--store 应指向 hbreport 创建的 .sqlite 文件，或一个还不存在的新文件名",
        )


@contextmanager
def transaction(db: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """One write transaction that takes the write lock at once (BEGIN IMMEDIATE): a second writer
    waits for the first to finish instead of failing half-way."""
    if db.in_transaction:  # Python's implicit transaction (the household store): finish it first
        db.commit()
    db.execute("BEGIN IMMEDIATE")
    try:
        yield db
    except BaseException:
        db.rollback()
        raise
    db.commit()
