"""Approvals in the store: who approved which workbook (by its sha256) and when.

A file changed after it was approved has another sha256 and so is no longer approved; consolidation
with ``require_approved`` returns (退回) the children whose file has no approval.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from hbreport.store.db import connect, transaction, translated

_SCHEMA = """CREATE TABLE IF NOT EXISTS approvals (
    id INTEGER PRIMARY KEY,
    sha256 TEXT NOT NULL,
    file TEXT NOT NULL,
    unit_code TEXT NOT NULL,
    unit_name TEXT,
    period INTEGER NOT NULL,
    approved_by TEXT NOT NULL,
    note TEXT NOT NULL DEFAULT '',
    approved_at TEXT NOT NULL)"""


def approve(
    store: str | Path,
    *,
    sha256: str,
    file: str,
    unit_code: str,
    unit_name: str,
    period: int,
    by: str,
    note: str = "",
    at: str | None = None,
) -> dict[str, Any]:
    """Record that ``by`` approved the file with ``sha256``; return the approval as recorded."""
    at = at or dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    db = connect(Path(store))
    try:
        with translated(Path(store)), transaction(db):
            db.execute(_SCHEMA)
            db.execute(
                "INSERT INTO approvals (sha256, file, unit_code, unit_name, period, approved_by, note,"
                " approved_at) VALUES (?,?,?,?,?,?,?,?)",
                (sha256, file, unit_code, unit_name, period, by, note, at),
            )
    finally:
        db.close()
    return {"sha256": sha256, "file": file, "unit_code": unit_code, "by": by, "note": note, "at": at}


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
            cur = db.execute(
                "SELECT file, sha256, approved_by, approved_at, note FROM approvals"
                " WHERE unit_code = ? AND period = ? ORDER BY id",
                (unit_code, period),
            )
            return [dict(zip(("file", "sha256", "by", "at", "note"), r, strict=True)) for r in cur]
    finally:
        db.close()
