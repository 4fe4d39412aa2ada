"""The store of form submissions: every workbook a consolidation received, each version kept.

Tables (beside the household store's, in the same file):

- ``submissions``: one row per (unit, period, sha256): the file, form family and version, when it was
  received, its status (accepted 已报 / returned 退回 / refused 拒收), its counts of findings, its
  version number for the unit and period, and whether it is the current one (the newest accepted);
- ``submission_values``: its data values (the cells it was given: inputs and prefill; blanks left out);
- ``submission_findings``: what was found in it;
- ``consolidations``: every consolidation run: the unit, period, output file and its sha256, the
  Summary (the same versioned JSON the workbook's hidden part holds);
- ``consolidation_inputs`` and ``consolidation_values``: which submissions it used, and the values
  of the workbook it wrote, each with its status.

The same file read twice adds nothing; a consolidation is written in one transaction after its
workbook, with ``executemany``.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hbreport.errors import HBError
from hbreport.model.dataset import REPORTED, Dataset, DataValue
from hbreport.model.findings import Finding
from hbreport.model.summary import Summary
from hbreport.model.values import FormData, OfWorkbook
from hbreport.spec import FORM_FAMILY, WorkbookSpec
from hbreport.store.db import Connected, connect, transaction, translated
from hbreport.xlsx.names import shown

SCHEMA_VERSION = 1
ACCEPTED, RETURNED, REFUSED = "accepted", "returned", "refused"
STATUS_ZH = {ACCEPTED: "已报", RETURNED: "退回", REFUSED: "拒收"}

_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS submissions (
        id INTEGER PRIMARY KEY,
        unit_code TEXT NOT NULL,
        unit_name TEXT,
        period INTEGER NOT NULL,
        sha256 TEXT NOT NULL,
        family TEXT NOT NULL,
        form_version TEXT,
        layout_hash TEXT,
        file TEXT,
        received_at TEXT NOT NULL,
        status TEXT NOT NULL,
        errors INTEGER NOT NULL,
        warnings INTEGER NOT NULL,
        version INTEGER NOT NULL,
        current INTEGER NOT NULL DEFAULT 0,
        UNIQUE (unit_code, period, sha256))""",
    """CREATE TABLE IF NOT EXISTS submission_values (
        submission_id INTEGER NOT NULL REFERENCES submissions (id),
        form TEXT NOT NULL,
        row_unit TEXT NOT NULL,
        field TEXT NOT NULL,
        value,
        status TEXT NOT NULL,
        comment TEXT,
        PRIMARY KEY (submission_id, form, row_unit, field)) WITHOUT ROWID""",
    """CREATE TABLE IF NOT EXISTS submission_findings (
        submission_id INTEGER NOT NULL REFERENCES submissions (id),
        seq INTEGER NOT NULL,
        importance TEXT NOT NULL,
        rule TEXT,
        sheet TEXT,
        cell TEXT,
        message TEXT NOT NULL,
        hint TEXT,
        PRIMARY KEY (submission_id, seq)) WITHOUT ROWID""",
    """CREATE TABLE IF NOT EXISTS consolidations (
        id INTEGER PRIMARY KEY,
        unit_code TEXT NOT NULL,
        period INTEGER NOT NULL,
        run_at TEXT NOT NULL,
        output TEXT,
        output_sha256 TEXT,
        summary TEXT NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS consolidation_inputs (
        consolidation_id INTEGER NOT NULL REFERENCES consolidations (id),
        submission_id INTEGER NOT NULL REFERENCES submissions (id),
        status TEXT NOT NULL,
        PRIMARY KEY (consolidation_id, submission_id)) WITHOUT ROWID""",
    """CREATE TABLE IF NOT EXISTS consolidation_values (
        consolidation_id INTEGER NOT NULL REFERENCES consolidations (id),
        form TEXT NOT NULL,
        row_unit TEXT NOT NULL,
        field TEXT NOT NULL,
        value,
        status TEXT NOT NULL,
        PRIMARY KEY (consolidation_id, form, row_unit, field)) WITHOUT ROWID""",
    "CREATE INDEX IF NOT EXISTS submissions_unit ON submissions (unit_code, period, version)",
    "CREATE INDEX IF NOT EXISTS consolidations_unit ON consolidations (unit_code, period, id)",
)


@dataclass
class Submission(OfWorkbook):
    """One workbook a consolidation received, as the store keeps it."""

    data: FormData
    sha256: str
    file: str
    status: str  # accepted | returned | refused
    findings: list[Finding] = field(default_factory=list)
    form_version: str = ""
    layout_hash: str = ""

    @property
    def spec(self) -> WorkbookSpec:
        return self.data.spec


def now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def _sql(value: Any) -> Any:
    if value is None or isinstance(value, int):
        return value
    if isinstance(value, str):
        return shown(value)
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    return shown(str(value))


def given_rows(data: FormData, row_status: dict[str, str] | None = None) -> Iterator[tuple]:
    """(form, row unit, field, value, status) of every given (input or prefill) non-blank cell."""
    row_status = row_status or {}
    for sheet in data.spec.sheets:
        rows = data.rows.get(sheet.form, {})
        keys = sheet.given_keys
        for row in sheet.rows:
            cells = rows.get(row.code)
            if not cells:
                continue
            status = row_status.get(row.code, REPORTED)
            for key in keys:
                value = cells.get(key)
                if value is not None and value != "":
                    yield sheet.form, row.code, key, _sql(value), status


class FormStore(Connected):
    """The submissions and consolidations in the store file. Use as a context manager."""

    def __init__(self, path: str | Path, *, write: bool = True) -> None:
        self.path = Path(path)
        self.db = connect(self.path, write=write)
        with translated(self.path):
            if write:
                self._init_schema()
            else:
                self._check_schema()

    def _init_schema(self) -> None:
        with transaction(self.db):
            self._check_schema()
            for ddl in _SCHEMA:
                self.db.execute(ddl)
            self.db.execute(
                "INSERT OR IGNORE INTO store_info VALUES ('forms_schema', ?)", (str(SCHEMA_VERSION),)
            )

    def _check_schema(self) -> None:
        row = self.db.execute("SELECT value FROM store_info WHERE key = 'forms_schema'").fetchone()
        if row is not None and int(row[0]) > SCHEMA_VERSION:
            raise HBError(
                f"数据库由更新版本的 hbreport 创建（结构版本 {row[0]}），本程序只能读写版本 {SCHEMA_VERSION}",
                file=self.path,
                hint="升级 hbreport 后再使用该数据库",
            )

    # ------------------------------------------------------------ writing

    def record_consolidation(
        self,
        summary: Summary,
        submissions: Iterable[Submission],
        *,
        output: str | None,
        output_sha256: str | None,
        received_at: str | None = None,
    ) -> int:
        """Keep a consolidation and every submission it received, in one transaction; return its id."""
        received_at = received_at or now()
        with translated(self.path), transaction(self.db):
            db = self.db
            cur = db.execute(
                "INSERT INTO consolidations (unit_code, period, run_at, output, output_sha256, summary) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (summary.parent_code, summary.period, received_at, output, output_sha256, summary.to_part()),
            )
            cid = cur.lastrowid
            links = []
            touched: set[tuple[str, int]] = set()
            for sub in submissions:
                sid = self._submission(sub, received_at)
                links.append((cid, sid, sub.status))
                touched.add((sub.unit_code, sub.period))
            db.executemany("INSERT OR IGNORE INTO consolidation_inputs VALUES (?, ?, ?)", links)
            for unit, period in touched:
                self._set_current(unit, period)
            if summary.data is not None:
                statuses = summary.row_statuses()
                db.executemany(
                    "INSERT INTO consolidation_values VALUES (?, ?, ?, ?, ?, ?)",
                    ((cid, *row) for row in given_rows(summary.data, statuses)),
                )
        return cid

    def _submission(self, sub: Submission, received_at: str) -> int:
        db = self.db
        row = db.execute(
            "SELECT id, status FROM submissions WHERE unit_code = ? AND period = ? AND sha256 = ?",
            (sub.unit_code, sub.period, sub.sha256),
        ).fetchone()
        errors = sum(f.importance == "error" for f in sub.findings)
        warnings = sum(f.importance == "warning" for f in sub.findings)
        if row is not None:  # the same file again: nothing added; its newest classification kept
            if row[1] != sub.status:
                db.execute("UPDATE submissions SET status = ? WHERE id = ?", (sub.status, row[0]))
            return row[0]
        (version,) = db.execute(
            "SELECT COALESCE(MAX(version), 0) + 1 FROM submissions WHERE unit_code = ? AND period = ?",
            (sub.unit_code, sub.period),
        ).fetchone()
        sid = db.execute(
            "INSERT INTO submissions (unit_code, unit_name, period, sha256, family, form_version, layout_hash,"
            " file, received_at, status, errors, warnings, version) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
            (
                sub.unit_code,
                sub.data.spec.unit_name,
                sub.period,
                sub.sha256,
                FORM_FAMILY,
                sub.form_version or sub.data.spec.version,
                sub.layout_hash or sub.data.spec.layout_hash,
                shown(Path(sub.file).name),
                received_at,
                sub.status,
                errors,
                warnings,
                version,
            ),
        ).lastrowid
        db.executemany(
            "INSERT INTO submission_values VALUES (?, ?, ?, ?, ?, ?, NULL)",
            ((sid, *row) for row in given_rows(sub.data)),
        )
        db.executemany(
            "INSERT INTO submission_findings VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                (sid, i, f.importance, f.rule, f.sheet, f.cell, shown(f.message), shown(f.hint or "") or None)
                for i, f in enumerate(sub.findings)
            ),
        )
        return sid

    def _set_current(self, unit: str, period: int) -> None:
        self.db.execute(
            "UPDATE submissions SET current = (id IS (SELECT id FROM submissions WHERE unit_code = ?1 AND "
            "period = ?2 AND status = 'accepted' ORDER BY version DESC LIMIT 1)) "
            "WHERE unit_code = ?1 AND period = ?2",
            (unit, period),
        )

    # ------------------------------------------------------------ reading

    def versions(self, unit: str, period: int) -> list[dict[str, Any]]:
        """Every version received for a unit and period, oldest first."""
        with translated(self.path):
            cur = self.db.execute(
                "SELECT id, version, unit_code, unit_name, period, sha256, file, received_at, status, errors,"
                " warnings, current, form_version FROM submissions WHERE unit_code = ? AND period = ?"
                " ORDER BY version",
                (unit, period),
            )
            names = [d[0] for d in cur.description]
            return [dict(zip(names, row, strict=True)) | {"current": bool(row[11])} for row in cur]

    def first_seen(self, shas: Iterable[str]) -> dict[str, str]:
        """sha256 → when the store first received a file with those bytes (ISO time), for the known ones."""
        wanted = sorted({s for s in shas if s})
        out: dict[str, str] = {}
        with translated(self.path):
            for i in range(0, len(wanted), 500):
                part = wanted[i : i + 500]
                cur = self.db.execute(
                    "SELECT sha256, MIN(received_at) FROM submissions WHERE sha256 IN"
                    f" ({','.join('?' * len(part))}) GROUP BY sha256",
                    part,
                )
                out.update({sha: when for sha, when in cur})
        return out

    def submission_values(self, submission_id: int) -> dict[tuple[str, str, str], Any]:
        """{(form, row unit, field): value} of one submission."""
        with translated(self.path):
            return {
                (form, row, key): value
                for form, row, key, value in self.db.execute(
                    "SELECT form, row_unit, field, value FROM submission_values WHERE submission_id = ?",
                    (submission_id,),
                )
            }

    def current_dataset(self, period: int | None = None, units: Iterable[str] | None = None) -> Dataset:
        """The data values of every current submission (the newest accepted per unit and period)."""
        sql = (
            "SELECT s.unit_code, s.period, v.form, v.row_unit, v.field, v.value, v.status, v.comment,"
            " s.sha256, s.received_at FROM submissions s JOIN submission_values v ON v.submission_id = s.id"
            " WHERE s.current = 1"
        )
        args: list[Any] = []
        if period is not None:
            sql += " AND s.period = ?"
            args.append(period)
        wanted = set(units) if units is not None else None
        sql += " ORDER BY s.unit_code, s.period"
        with translated(self.path):
            rows = self.db.execute(sql, args).fetchall()
        return Dataset(DataValue(*r) for r in rows if wanted is None or r[0] in wanted)

    def latest_consolidation(self, unit: str, period: int) -> tuple[Dataset, Summary] | None:
        """The values and Summary of the newest consolidation of a unit and period, or None."""
        with translated(self.path):
            row = self.db.execute(
                "SELECT id, summary, output_sha256, run_at FROM consolidations WHERE unit_code = ? AND period = ?"
                " ORDER BY id DESC LIMIT 1",
                (unit, period),
            ).fetchone()
            if row is None:
                return None
            cid, part, sha, run_at = row
            values = self.db.execute(
                "SELECT form, row_unit, field, value, status FROM consolidation_values WHERE consolidation_id = ?",
                (cid,),
            ).fetchall()
        dataset = Dataset(
            DataValue(unit, period, form, r, key, value, status, None, sha, run_at)
            for form, r, key, value, status in values
        )
        return dataset, Summary.from_part(part)

    def counts(self) -> dict[str, int]:
        with translated(self.path):
            return {
                t: self.db.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0]
                for t in ("submissions", "submission_values", "consolidations")
            }
