"""Approvals: who approved which workbook, when — in the store (by sha256) and in the workbook itself.

``approve_file`` reads a workbook, writes an approved copy beside it whose identity carries the stamp
(:mod:`hbreport.model.approval`: approver, time, note, digest of the values), and records in the store
both the input's and the copy's sha256. The stamp travels with the file: a county consolidating on
another machine, with another store, accepts a child whose stamp is valid (its digest equals the digest
of the values read now). A file changed after it was approved has another sha256 and, when its values
changed, a stamp that no longer holds: consolidation with ``require_approved`` returns (退回) it.

The store is ``hbreport.sqlite`` beside the file approved unless given (:func:`hbreport.store.db.default_store`).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from hbreport.errors import HBError
from hbreport.store.db import check_store, connect, default_store, transaction, translated

BEIJING = dt.timezone(dt.timedelta(hours=8))
APPROVED_SUFFIX = "（已审核）"
FROM_APPROVE, FROM_STAMP = "approve", "stamp"  # recorded by hbreport approve / read from a file's stamp
SOURCE_ZH = {FROM_APPROVE: "", FROM_STAMP: "（据文件内的审核标记）"}

_SCHEMA = """CREATE TABLE IF NOT EXISTS approvals (
    id INTEGER PRIMARY KEY,
    sha256 TEXT NOT NULL,
    file TEXT NOT NULL,
    unit_code TEXT NOT NULL,
    unit_name TEXT,
    period INTEGER NOT NULL,
    approved_by TEXT NOT NULL,
    note TEXT NOT NULL DEFAULT '',
    approved_at TEXT NOT NULL,
    source TEXT NOT NULL DEFAULT 'approve')"""


def approved_copy_path(path: Path) -> Path:
    """Where the approved copy of ``path`` goes by default: ``<stem>（已审核）.xlsx`` beside it (a file
    already so named gives its own name, which is refused: give ``--out``)."""
    stem = path.stem.removesuffix(APPROVED_SUFFIX)
    return path.with_name(f"{stem}{APPROVED_SUFFIX}.xlsx")


def approve_file(
    path: str | Path,
    *,
    by: str,
    note: str = "",
    out: str | Path | None = None,
    store: str | Path | None = None,
    force: bool = False,
    registry=None,
    at: dt.datetime | None = None,
) -> dict[str, Any]:
    """Approve the workbook ``path``: write the approved copy (``out``, else :func:`approved_copy_path`;
    never over the input, over an existing file only with ``force``) carrying the stamp, and record
    the approval of both files in ``store`` (else ``hbreport.sqlite`` beside ``path``)."""
    from hbreport.model.approval import Stamp, content_digest
    from hbreport.xlsx.atomic import check_target
    from hbreport.xlsx.reader import read_workbook
    from hbreport.xlsx.safety import sha256_file
    from hbreport.xlsx.stamp import write_with_meta_rows

    path = Path(path)
    by, note = by.strip(), note.strip()
    if not by:
        raise HBError("审核人不能为空", hint="用 --by 写审核人的姓名")
    out = Path(out) if out else approved_copy_path(path)
    store = Path(store) if store else default_store(path)
    check_target(out, suffix=".xlsx", force=force, inputs=[path])  # refused before any work
    check_store(store)
    result = read_workbook(path, registry=registry)
    raw = path.read_bytes()  # the bytes copied are the bytes read: else refused
    if hashlib.sha256(raw).hexdigest() != result.sha256:
        raise HBError("文件在审核过程中被改动，未审核", file=path, hint="等文件保存完毕、关闭后重新审核")
    when = (at or dt.datetime.now(BEIJING)).astimezone(BEIJING).isoformat(timespec="seconds")
    stamp = Stamp(by, when, note, content_digest(result.data, result.notes))
    write_with_meta_rows(raw, path, out, stamp.rows(), force=force)
    data = result.data
    unit = {"unit_code": data.unit_code, "unit_name": data.spec.unit_name, "period": data.period}
    copy_sha = sha256_file(out)
    record(
        store,
        [
            {"sha256": result.sha256, "file": path.name, **unit, "by": by, "note": note, "at": when},
            {"sha256": copy_sha, "file": out.name, **unit, "by": by, "note": note, "at": when},
        ],
    )
    return {
        **unit,
        "file": str(path),
        "sha256": result.sha256,
        "copy": str(out),
        "copy_sha256": copy_sha,
        "by": by,
        "note": note,
        "at": when,
        "store": str(store),
    }


def record(store: str | Path, entries: Sequence[dict[str, Any]], source: str = FROM_APPROVE) -> None:
    """Record approvals (each with sha256, file, unit_code, unit_name, period, by, note, at) in one
    transaction; the store is created on first use."""
    path = Path(store)
    db = connect(path)
    try:
        with translated(path), transaction(db):
            _ensure_table(db)
            db.executemany(
                "INSERT INTO approvals (sha256, file, unit_code, unit_name, period, approved_by, note,"
                " approved_at, source) VALUES (?,?,?,?,?,?,?,?,?)",
                [
                    (
                        e["sha256"],
                        e["file"],
                        e["unit_code"],
                        e["unit_name"],
                        e["period"],
                        e["by"],
                        e.get("note", ""),
                        e["at"],
                        source,
                    )
                    for e in entries
                ],
            )
    finally:
        db.close()


def _ensure_table(db) -> None:
    """The approvals table, with the ``source`` column a store made before it lacks."""
    db.execute(_SCHEMA)
    if "source" not in {row[1] for row in db.execute("PRAGMA table_info(approvals)")}:
        db.execute("ALTER TABLE approvals ADD COLUMN source TEXT NOT NULL DEFAULT 'approve'")


def approved(store: str | Path | None, shas: Iterable[str]) -> dict[str, dict[str, str]]:
    """sha256 → its first approval (by, at, note) among ``shas``; {} without a store or approvals."""
    path = Path(store) if store else None
    if path is None or not path.is_file():
        return {}
    wanted = sorted({s for s in shas if s})
    db = connect(path, write=False)
    try:
        with translated(path):
            if not db.execute("SELECT 1 FROM sqlite_master WHERE name = 'approvals'").fetchone():
                return {}
            out: dict[str, dict[str, str]] = {}
            for sha in wanted:
                row = db.execute(
                    "SELECT approved_by, approved_at, note FROM approvals WHERE sha256 = ? ORDER BY id LIMIT 1",
                    (sha,),
                ).fetchone()
                if row:
                    out[sha] = {"by": row[0], "at": row[1], "note": row[2]}
            return out
    finally:
        db.close()


def approvals_of(store: str | Path, unit_code: str, period: int) -> list[dict[str, Any]]:
    """Every approval of a unit's workbooks for a period, oldest first."""
    path = Path(store)
    db = connect(path, write=False)
    try:
        with translated(path):
            if not db.execute("SELECT 1 FROM sqlite_master WHERE name = 'approvals'").fetchone():
                return []
            has_source = "source" in {row[1] for row in db.execute("PRAGMA table_info(approvals)")}
            cur = db.execute(
                "SELECT file, sha256, approved_by, approved_at, note, "
                + ("source" if has_source else f"'{FROM_APPROVE}'")
                + " FROM approvals WHERE unit_code = ? AND period = ? ORDER BY id",
                (unit_code, period),
            )
            return [dict(zip(("file", "sha256", "by", "at", "note", "source"), r, strict=True)) for r in cur]
    finally:
        db.close()
