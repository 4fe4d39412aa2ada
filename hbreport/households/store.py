"""The embedded household store: consolidated roster rows in one SQLite file (stdlib, no server).

A province holds about 1.3 million households a period; rosters stay per township in Excel, their
rows come here. Every row carries its period and the sha256 of the roster file it came from; one
township has one roster per period in the store:

- loading a file whose sha256 is already stored for that township and period changes nothing;
- loading another version of a township's roster replaces that township's rows (in one transaction)
  and records which file replaced which.

Tables: ``sources`` (one row per township and period: file, sha256, counts, when) and ``households``
(one row per household: identity, every roster column, the rule ids that fail on it). The household
table is exported to Parquet by :mod:`.parquet` (with pyarrow, an optional dependency).

A consolidation stores each township as it is read, inside a *run* (:meth:`RosterStore.run`): until the
run ends, the store records which townships await its end (``pending``, with the rows and source they
replaced in ``pending_households`` and ``pending_sources``, written in the put's own transaction). A run
that ends normally drops that record; one that fails takes its townships back at once; one that dies
on the way (killed, the power cut) is taken back by the next store opened for writing, once the
process that ran it is gone (``runs``: computer, process id and start time).
"""

from __future__ import annotations

import datetime as dt
import os
import re
import socket
import sqlite3
import threading
import uuid
from collections import defaultdict
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from itertools import repeat
from pathlib import Path
from typing import Any

import psutil

from hbreport.errors import HBError
from hbreport.households.columns import column_of
from hbreport.store.db import Connected, connect, transaction, translated
from hbreport.xlsx.layout import FIRST_DATA_ROW

SCHEMA_VERSION = 2  # 2: runs, pending, pending_households, pending_sources
IDENTITY_COLUMNS = (
    "period",
    "township_code",
    "household_id",
    "row_number",
    "head_name",
    "source_sha256",
    "problems",
)
_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
_CELL_ROW = re.compile(r"^[A-Z]+(\d+)$")


@dataclass(frozen=True)
class TakenBack:
    """A township that a run which died on the way had stored, taken back when the store was opened:
    to the rows it held before that run (``restored``), or to none."""

    period: int
    township_code: str
    township_name: str | None
    file: str | None
    restored: bool
    run_began_at: str
    run_pid: int


@dataclass(frozen=True)
class LoadResult:
    """What loading one roster did: ``status`` inserted | replaced | unchanged."""

    township_code: str
    period: int
    sha256: str
    status: str
    households: int
    replaced_sha256: str | None = None


class RosterStore(Connected):
    """An SQLite file of household rows. Use as a context manager, or call :meth:`close`."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        # the same file and the same checks as the form store (not SQLite, another program's database,
        # read-only, locked: a Chinese message); Python's implicit transactions, as this class uses them
        self._copying: threading.Thread | None = None  # checkpoint(wait=False)
        self.db = connect(self.path, write=True, isolation_level="")
        try:
            with translated(self.path):
                # no commit copies the log into the file (a township's commit would wait for it): that is
                # done between townships (:meth:`checkpoint`) and at close
                self.db.execute("PRAGMA wal_autocheckpoint=0")
                self._init_schema()
        except BaseException:
            self.db.close()
            raise

    # -- schema

    def _init_schema(self) -> None:
        with transaction(self.db):  # the write lock first: two first runs do not create tables twice
            row = self.db.execute("SELECT value FROM store_info WHERE key = 'schema_version'").fetchone()
            if row is not None and int(row[0]) > SCHEMA_VERSION:
                raise HBError(
                    f"户级数据库由更新版本的 hbreport 创建（结构版本 {row[0]}），本程序只能读写版本 {SCHEMA_VERSION}",
                    file=self.path,
                    hint="升级 hbreport 后再使用该数据库",
                )
            self.db.execute(
                """CREATE TABLE IF NOT EXISTS sources (
                    period INTEGER NOT NULL,
                    township_code TEXT NOT NULL,
                    township_name TEXT,
                    sha256 TEXT NOT NULL,
                    file TEXT,
                    households INTEGER NOT NULL,
                    errors INTEGER NOT NULL,
                    warnings INTEGER NOT NULL,
                    roster_sha256 TEXT,
                    layout_hash TEXT,
                    loaded_at TEXT NOT NULL,
                    replaced_sha256 TEXT,
                    PRIMARY KEY (period, township_code))"""
            )
            self.db.execute(
                """CREATE TABLE IF NOT EXISTS households (
                    period INTEGER NOT NULL,
                    township_code TEXT NOT NULL,
                    household_id TEXT NOT NULL,
                    row_number INTEGER NOT NULL,
                    head_name TEXT,
                    source_sha256 TEXT NOT NULL,
                    problems TEXT,
                    PRIMARY KEY (period, township_code, household_id)) WITHOUT ROWID"""
            )
            # townships stored by a run that has not ended yet, and what each replaced (version 2)
            self.db.execute(
                """CREATE TABLE IF NOT EXISTS runs (
                    run TEXT PRIMARY KEY, host TEXT NOT NULL, pid INTEGER NOT NULL, started REAL NOT NULL,
                    began_at TEXT NOT NULL)"""
            )
            self.db.execute(
                """CREATE TABLE IF NOT EXISTS pending (
                    period INTEGER NOT NULL, township_code TEXT NOT NULL, run TEXT NOT NULL,
                    put_sha256 TEXT NOT NULL, held INTEGER NOT NULL,
                    PRIMARY KEY (period, township_code))"""
            )
            self.db.execute("CREATE TABLE IF NOT EXISTS pending_sources AS SELECT * FROM sources WHERE 0")
            self.db.execute(
                "CREATE TABLE IF NOT EXISTS pending_households AS SELECT * FROM households WHERE 0"
            )
            self.db.execute(
                "CREATE INDEX IF NOT EXISTS pending_households_township "
                "ON pending_households (period, township_code)"
            )
            if row is None or int(row[0]) < SCHEMA_VERSION:
                self.db.execute(
                    "INSERT OR REPLACE INTO store_info VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),)
                )
            self._columns = {row[1] for row in self.db.execute("PRAGMA table_info(households)")}
            self.taken_back = self._take_back_dead_runs()
        # inside run(): (run, host, pid, process start time, began at), as the table runs keeps it
        self._run: tuple[str, str, int, float, str] | None = None
        self._run_recorded = False

    def _ensure_columns(self, keys: Iterable[str]) -> None:
        keys = list(keys)
        if all(key in self._columns for key in keys):
            return
        with translated(self.path), transaction(self.db):
            # another process may have added columns since they were read: read them again under the lock
            self._columns = {row[1] for row in self.db.execute("PRAGMA table_info(households)")}
            for key in keys:
                if key in self._columns:
                    continue
                if not _NAME.match(key):
                    raise HBError(
                        f"字段名「{key}」不能用作数据库列名", hint="字段名只能由小写字母、数字和下划线组成"
                    )
                self.db.execute(f'ALTER TABLE households ADD COLUMN "{key}"')
                self._columns.add(key)
            if "id_number" in self._columns:
                self.db.execute("CREATE INDEX IF NOT EXISTS households_id ON households (period, id_number)")
            if "village_code" in self._columns:
                self.db.execute(
                    "CREATE INDEX IF NOT EXISTS households_village ON households (period, village_code)"
                )

    # -- the registration export

    def index_export(
        self, path: str | Path, *, registry=None, sha256: str | None = None
    ) -> tuple[str, set[str]]:
        """Keep a registration export in the store (once per sha256, streamed, checked as it is read) for
        ExportIndex; return its sha256 and the townships it lists. ``sha256``: the file's, when known."""
        from hbreport.households.export import export_sha256, extra_json, iter_export_rows

        with self.db:
            self.db.execute(
                """CREATE TABLE IF NOT EXISTS export_households (
                    sha256 TEXT NOT NULL, township_code TEXT NOT NULL, position INTEGER NOT NULL,
                    household_id TEXT NOT NULL, head_name TEXT, village_code TEXT, village_name TEXT,
                    id_number TEXT, household_size INTEGER, extra TEXT,
                    PRIMARY KEY (sha256, township_code, position)) WITHOUT ROWID"""
            )
            listed = {row[1] for row in self.db.execute("PRAGMA table_info(export_households)")}
            if "extra" not in listed:  # a store made before exports carried more columns
                self.db.execute("ALTER TABLE export_households ADD COLUMN extra TEXT")
            self.db.execute(
                "CREATE TABLE IF NOT EXISTS exports (sha256 TEXT PRIMARY KEY, file TEXT, households INTEGER, "
                "indexed_at TEXT)"
            )
        sha256 = sha256 or export_sha256(path)
        townships: set[str] | None = None  # known without asking when kept here and now
        if not self.db.execute("SELECT 1 FROM exports WHERE sha256 = ?", (sha256,)).fetchone():
            read, rows = iter_export_rows(path, registry=registry)
            if read != sha256:
                raise HBError(
                    "建档立卡导出文件在汇总过程中被改动了", file=path, hint="等文件不再变动后重新汇总"
                )
            positions: dict[str, int] = {}

            def numbered():
                for code, *household, extra in rows:
                    at = positions[code] = positions.get(code, 0) + 1
                    yield (sha256, code, at, *household, extra_json(extra) if extra else None)

            # one transaction: an export that fails a check half way leaves nothing behind; asked again
            # under the write lock, since another run may have indexed the same export meanwhile
            with translated(self.path), transaction(self.db):
                if not self.db.execute("SELECT 1 FROM exports WHERE sha256 = ?", (sha256,)).fetchone():
                    self.db.executemany(
                        "INSERT INTO export_households VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", numbered()
                    )
                    self.db.execute(
                        "INSERT INTO exports VALUES (?, ?, ?, ?)",
                        (
                            sha256,
                            str(path),
                            sum(positions.values()),
                            dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                        ),
                    )
                    townships = set(positions)
        if townships is None:
            townships = {
                row[0]
                for row in self.db.execute(
                    "SELECT DISTINCT township_code FROM export_households WHERE sha256 = ?", (sha256,)
                )
            }
        return sha256, townships

    # -- loading

    def stored_sha256(self, period: int, township_code: str) -> str | None:
        row = self.db.execute(
            "SELECT sha256 FROM sources WHERE period = ? AND township_code = ?", (period, township_code)
        ).fetchone()
        return row[0] if row else None

    def load(self, roster) -> LoadResult:
        """Store one roster (RosterData, or its :class:`StoreRows`); idempotent for the same file,
        replacing for a new version (see :meth:`put`)."""
        return self.put(roster if isinstance(roster, StoreRows) else store_rows(roster))

    def put(self, rows: StoreRows) -> LoadResult:
        """Store a roster's rows, replacing its township's rows for its period, in one transaction and
        one ``executemany``; ``status`` inserted | replaced | unchanged (this very file is already
        stored). Inside :meth:`run`, the township awaits the run's end: the same transaction records it
        and keeps aside the rows and source it replaced (once: what the store held before the run), for
        :meth:`restore` or, should the run fail or die, for taking it back."""
        period, code, sha256 = rows.period, rows.township_code, rows.sha256
        self._ensure_columns(list(rows.keys))
        columns = list(IDENTITY_COLUMNS) + list(rows.keys)
        quoted = ", ".join(_quote(c) for c in columns)
        sql = f"INSERT INTO households ({quoted}) VALUES ({', '.join('?' for _ in columns)})"
        where = (period, code)
        with translated(self.path), transaction(self.db):
            old = self.stored_sha256(period, code)
            if old == sha256:
                return LoadResult(code, period, sha256, "unchanged", len(rows.rows))
            waiting = self.db.execute(
                "SELECT run FROM pending WHERE period = ? AND township_code = ?", where
            ).fetchone()
            if self._run is None:  # stored for good: nothing of an unfinished run's is kept for it
                if waiting is not None:
                    self._drop_pending(period, code)
            elif waiting is None:
                self._record_run()
                if old is not None:
                    self._keep(period, code)
                self.db.execute(
                    "INSERT INTO pending VALUES (?, ?, ?, ?, ?)",
                    (*where, self._run[0], sha256, old is not None),
                )
            else:  # another run's, or this run's: the rows kept aside stay what the store held before
                self._record_run()
                self.db.execute(
                    "UPDATE pending SET run = ?, put_sha256 = ? WHERE period = ? AND township_code = ?",
                    (self._run[0], sha256, *where),
                )
            self.db.execute("DELETE FROM households WHERE period = ? AND township_code = ?", where)
            self.db.executemany(sql, rows.rows)
            self.db.execute(
                "INSERT OR REPLACE INTO sources VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (*rows.source, dt.datetime.now(dt.UTC).isoformat(timespec="seconds"), old),
            )
        return LoadResult(code, period, sha256, "replaced" if old else "inserted", len(rows.rows), old)

    def restore(self, period: int, township_code: str) -> None:
        """Take a township that this run stored back to what the store held for it before the run
        (nothing, or the rows and source it replaced), in one transaction; nothing when this run
        did not store it."""
        if self._run is None:
            return
        with translated(self.path), transaction(self.db):
            row = self.db.execute(
                "SELECT run, put_sha256, held FROM pending WHERE period = ? AND township_code = ?",
                (period, township_code),
            ).fetchone()
            if row is not None and row[0] == self._run[0]:
                self._take_back(period, township_code, row[1], bool(row[2]))

    def checkpoint(self, *, wait: bool = True) -> None:
        """Copy what the write-ahead log holds into the store file now (PASSIVE: readers are not
        waited for), e.g. between two townships, rather than at the commit of a later one or at close.
        ``wait=False``: in a thread of its own, on a connection of its own, while this one goes on;
        :meth:`close` waits for it, and copies what was written since. Only where no process is forked
        meanwhile (SQLite's locks do not survive a fork)."""
        self._checkpointed()
        if wait:
            with translated(self.path):
                self.db.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
            return

        def copy() -> None:
            try:
                db = sqlite3.connect(self.path, timeout=0)
                try:
                    db.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
                finally:
                    db.close()
            except sqlite3.Error:
                pass  # only sooner than close, which copies whatever is left

        self._copying = threading.Thread(target=copy, name="hbreport-checkpoint")
        self._copying.start()

    def _checkpointed(self) -> None:
        if self._copying is not None:
            self._copying.join()
            self._copying = None

    def close(self) -> None:
        self._checkpointed()
        self.db.close()

    # -- runs

    @contextmanager
    def run(self) -> Iterator[None]:
        """A consolidation run: the townships :meth:`put` inside it await its end. Leaving the block
        keeps them (unless :meth:`finish_run` did already); leaving it by an exception takes each back
        to what the store held before the run. A run that dies on the way is taken back by the next
        store opened for writing (:attr:`taken_back`), once its process is gone."""
        pid, host = os.getpid(), socket.gethostname()
        began = dt.datetime.now(dt.UTC).astimezone().isoformat(timespec="seconds")
        self._run = (f"{host}/{pid}/{uuid.uuid4().hex}", host, pid, _started(pid), began)
        self._run_recorded = False
        try:
            yield
        except BaseException:
            if self._run is not None:
                try:
                    with translated(self.path), transaction(self.db):
                        for period, code, put, held in self.db.execute(
                            "SELECT period, township_code, put_sha256, held FROM pending WHERE run = ?",
                            (self._run[0],),
                        ).fetchall():
                            self._take_back(period, code, put, bool(held))
                        self.db.execute("DELETE FROM runs WHERE run = ?", (self._run[0],))
                except HBError:
                    pass  # the store cannot be written now: the next one opened takes the run back
                self._run = None
            raise
        self.finish_run()

    def finish_run(self) -> None:
        """End the run normally: the townships it stored stay, and what they replaced is let go."""
        if self._run is None:
            return
        if self._run_recorded:
            with translated(self.path), transaction(self.db):
                run = (self._run[0],)
                alone = not self.db.execute("SELECT 1 FROM pending WHERE run != ? LIMIT 1", run).fetchone()
                for table in ("pending_households", "pending_sources"):
                    if alone:  # emptied whole, at once (a province's rows replaced: no row by row)
                        self.db.execute(f"DELETE FROM {table}")
                    else:
                        self.db.execute(
                            f"DELETE FROM {table} WHERE (period, township_code) IN "
                            "(SELECT period, township_code FROM pending WHERE run = ?)",
                            run,
                        )
                self.db.execute("DELETE FROM pending WHERE run = ?", run)
                self.db.execute("DELETE FROM runs WHERE run = ?", run)
        self._run = None

    def _record_run(self) -> None:
        """Inside the put's transaction (rolled back with it): the run, beside the townships it stores."""
        self.db.execute("INSERT OR IGNORE INTO runs VALUES (?, ?, ?, ?, ?)", self._run)
        self._run_recorded = True

    def _take_back_dead_runs(self) -> list[TakenBack]:
        """Inside the opening transaction: every township of a run whose process is gone, back to what
        the store held before it."""
        out = []
        runs = self.db.execute("SELECT run, host, pid, started, began_at FROM runs").fetchall()
        # townships of a run not recorded beside them (none is written so): nothing says it lives
        runs += self.db.execute(
            "SELECT DISTINCT run, '', 0, 0, '' FROM pending WHERE run NOT IN (SELECT run FROM runs)"
        ).fetchall()
        for run, host, pid, started, began_at in runs:
            if host and _alive(host, pid, started):
                continue
            for period, code, put, held in self.db.execute(
                "SELECT period, township_code, put_sha256, held FROM pending WHERE run = ?", (run,)
            ).fetchall():
                source = self.db.execute(
                    "SELECT township_name, file FROM sources WHERE period = ? AND township_code = ?",
                    (period, code),
                ).fetchone()
                if self._take_back(period, code, put, bool(held)):
                    name, file = source or (None, None)
                    out.append(TakenBack(period, code, name, file, bool(held), began_at, pid))
            self.db.execute("DELETE FROM runs WHERE run = ?", (run,))
        return out

    def _take_back(self, period: int, township_code: str, put_sha256: str, held: bool) -> bool:
        """Inside a transaction: the township back to the rows and source kept aside for it (or to none),
        its record dropped; False (the record dropped alone) when a later load has replaced the rows
        that run put."""
        where = "WHERE period = ? AND township_code = ?"
        args = (period, township_code)
        current = self.stored_sha256(period, township_code)
        if current == put_sha256:
            self.db.execute(f"DELETE FROM households {where}", args)
            self.db.execute(f"DELETE FROM sources {where}", args)
            if held:
                columns = ", ".join(_quote(c) for c in self._columns_in_order("pending_households"))
                self.db.execute(
                    f"INSERT INTO households ({columns}) SELECT {columns} FROM pending_households {where}",
                    args,
                )
                self.db.execute(f"INSERT INTO sources SELECT * FROM pending_sources {where}", args)
        self._drop_pending(period, township_code)
        return current == put_sha256

    def _drop_pending(self, period: int, township_code: str) -> None:
        where = "WHERE period = ? AND township_code = ?"
        for table in ("pending_households", "pending_sources", "pending"):
            self.db.execute(f"DELETE FROM {table} {where}", (period, township_code))

    def _keep(self, period: int, township_code: str) -> None:
        """Inside the put's transaction: a township's stored rows and source copied aside."""
        have = set(self._columns_in_order("pending_households"))
        columns = self._columns_in_order()
        for column in columns:  # columns added to households since the table was made
            if column not in have:
                self.db.execute(f"ALTER TABLE pending_households ADD COLUMN {_quote(column)}")
        quoted = ", ".join(_quote(c) for c in columns)
        where = "WHERE period = ? AND township_code = ?"
        self.db.execute(
            f"INSERT INTO pending_households ({quoted}) SELECT {quoted} FROM households {where}",
            (period, township_code),
        )
        self.db.execute(f"INSERT INTO pending_sources SELECT * FROM sources {where}", (period, township_code))

    def _columns_in_order(self, table: str = "households") -> list[str]:
        return [row[1] for row in self.db.execute(f"PRAGMA main.table_info({table})")]

    def add_problem(self, period: int, places: Iterable[tuple[str, str]], rule: str) -> None:
        """Record ``rule`` on the stored households at (township code, household id), counting it once as
        an error of their township (again and again consolidating the same files changes nothing)."""
        with self.db:
            for township, household in places:
                row = self.db.execute(
                    "SELECT problems FROM households WHERE period = ? AND township_code = ? AND household_id = ?",
                    (period, township, household),
                ).fetchone()
                if row is None:
                    continue
                rules = [r for r in (row[0] or "").split(",") if r]
                if rule in rules:
                    continue
                self.db.execute(
                    "UPDATE households SET problems = ? WHERE period = ? AND township_code = ? AND household_id = ?",
                    (",".join([*rules, rule]), period, township, household),
                )
                self.db.execute(
                    "UPDATE sources SET errors = errors + 1 WHERE period = ? AND township_code = ?",
                    (period, township),
                )

    # -- reading

    def count(self, period: int | None = None, *, under: str | None = None) -> int:
        """Households stored (for a period, under a unit code prefix)."""
        where, args = _where(period, under)
        return self.db.execute(f"SELECT COUNT(*) FROM households{where}", args).fetchone()[0]

    def exit_counts(
        self, period: int, exited_statuses: Iterable[str], *, under: str | None = None
    ) -> dict[str, int]:
        """Households declared exited in ``period`` (脱贫标志 已脱贫…, 脱贫年度 = the period) and how many
        of them meet the exit standard (达到脱贫标准 = 是); people likewise."""
        statuses = list(exited_statuses)
        needed = {"exit_status", "exit_year", "meets_exit_standard", "household_size"}
        if not statuses or not needed <= self._columns:
            return dict.fromkeys(("declared", "meeting", "declared_people", "meeting_people"), 0)
        where, args = _where(period, under)
        marks = ", ".join("?" * len(statuses))
        meets = "meets_exit_standard = '是'"
        size = "CASE WHEN typeof(household_size) IN ('integer', 'real') THEN household_size ELSE 0 END"
        row = self.db.execute(
            f"SELECT COUNT(*), SUM({meets}), SUM({size}), SUM(CASE WHEN {meets} THEN {size} ELSE 0 END) "
            f"FROM households{where} AND exit_status IN ({marks}) AND exit_year = ?",
            (*args, *statuses, int(period)),
        ).fetchone()
        return {
            "declared": int(row[0] or 0),
            "meeting": int(row[1] or 0),
            "declared_people": int(row[2] or 0),
            "meeting_people": int(row[3] or 0),
        }

    def sources(self, period: int | None = None, *, under: str | None = None) -> list[dict[str, Any]]:
        where, args = _where(period, under)
        cur = self.db.execute(f"SELECT * FROM sources{where} ORDER BY period, township_code", args)
        names = [d[0] for d in cur.description]
        return [dict(zip(names, row, strict=True)) for row in cur]

    def households(self, period: int, *, under: str | None = None) -> Iterator[dict[str, Any]]:
        """Household rows as dicts (every roster column, plus the identity columns)."""
        where, args = _where(period, under)
        cur = self.db.execute(f"SELECT * FROM households{where} ORDER BY township_code, household_id", args)
        names = [d[0] for d in cur.description]
        for row in cur:
            yield dict(zip(names, row, strict=True))

    def shared_ids(self, period: int, townships: Iterable[str]) -> dict[str, list[dict[str, Any]]]:
        """ID numbers held by households of more than one township in ``period``, at least one of them in
        ``townships``: {id: [{township_code, township_name, household_id, row_number, file}, …]}."""
        if "id_number" not in self._columns:
            return {}
        batch = list(dict.fromkeys(townships))
        if not batch:
            return {}
        # the numbers held in two townships, from the index on (period, id_number) alone; those the
        # batch holds none of are left out here (a filter in SQL would read every row of the batch)
        cur = self.db.execute(
            """SELECT h.id_number, h.township_code, s.township_name, h.household_id, h.row_number, s.file
                FROM households h LEFT JOIN sources s ON s.period = h.period AND s.township_code = h.township_code
                WHERE h.period = ? AND h.id_number IN (
                    SELECT id_number FROM households WHERE period = ? AND id_number IS NOT NULL
                    GROUP BY id_number HAVING COUNT(DISTINCT township_code) > 1)
                ORDER BY h.id_number, h.township_code, h.row_number""",
            (period, period),
        )
        out: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for number, township, name, household, row, file in cur:
            out[number].append(
                {
                    "township_code": township,
                    "township_name": name,
                    "household_id": household,
                    "row_number": row,
                    "file": file or "",
                }
            )
        ours = set(batch)
        return {n: places for n, places in out.items() if any(p["township_code"] in ours for p in places)}

    def village_metrics(self, period: int, exited_statuses: Iterable[str], *, under: str | None = None):
        """Per village of ``period`` (under a unit): households, people, 家庭人口-weighted mean 人均纯收入 and
        the share of households exited — the same figures as ``plausibility.metrics_of``, in SQL."""
        from hbreport.households.plausibility import VillageMetrics

        if not {"village_code", "household_size", "income_per_capita", "exit_status"} <= self._columns:
            return {}
        statuses = list(exited_statuses)
        where, args = _where(period, under)
        number = "typeof({0}) IN ('integer', 'real')"
        sized = f"{number.format('household_size')} AND household_size > 0 AND {number.format('income_per_capita')}"
        cur = self.db.execute(
            f"""SELECT village_code, COUNT(*),
                    SUM(CASE WHEN {number.format("household_size")} THEN household_size ELSE 0 END),
                    SUM(CASE WHEN {sized} THEN income_per_capita * household_size END),
                    SUM(CASE WHEN {sized} THEN household_size END),
                    SUM(exit_status IN ({", ".join("?" for _ in statuses)}))
                FROM households{where} AND village_code IS NOT NULL AND village_code != ''
                GROUP BY village_code""",
            (*statuses, *args),
        )
        return {
            code: VillageMetrics(
                code,
                n,
                int(people or 0),
                weighted / weight if weight else None,
                (exited or 0) / n if n else None,
            )
            for code, n, people, weighted, weight, exited in cur
        }


def _started(pid: int) -> float:
    """When the process ``pid`` started (seconds since the epoch), as the operating system says."""
    return psutil.Process(pid).create_time()


def _alive(host: str, pid: int, started: float) -> bool:
    """Whether the process that began a run still runs: on this computer, process ``pid`` that started
    at ``started`` (a process id is used again once its process is gone); a run of another computer
    cannot be told and is taken to be alive."""
    if host != socket.gethostname():
        return True
    try:
        process = psutil.Process(pid)
        return abs(process.create_time() - started) < 1.0 and process.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:  # a zombie too: killed, not yet waited for
        return False
    except psutil.Error:  # not allowed to look: it may be alive
        return True


def _where(period: int | None, under: str | None) -> tuple[str, tuple]:
    clauses, args = [], []
    if period is not None:
        clauses.append("period = ?")
        args.append(int(period))
    else:
        clauses.append("1 = 1")
    if under:
        from hbreport.registry import normalize_code

        clauses.append("township_code LIKE ?")
        args.append(_prefix(normalize_code(under)) + "%")
    return " WHERE " + " AND ".join(clauses), tuple(args)


def _prefix(code: str) -> str:
    """The code prefix every descendant's code starts with (省 2, 市州 4, 县 6, 乡镇 9 digits)."""
    if code[2:] == "0" * 10:
        return code[:2]
    if code[4:] == "0" * 8:
        return code[:4]
    if code[6:] == "0" * 6:
        return code[:6]
    return code[:9] if code[9:] == "000" else code


def _quote(name: str) -> str:
    if not _NAME.match(name):
        raise HBError(f"字段名「{name}」不能用作数据库列名", hint="字段名只能由小写字母、数字和下划线组成")
    return f'"{name}"'


@dataclass(frozen=True)
class StoreRows:
    """A roster as the store takes it: the household rows as SQL parameters, in the order of
    IDENTITY_COLUMNS + ``keys``, and its ``sources`` row. Small to send from a reading process."""

    period: int
    township_code: str
    sha256: str
    keys: tuple[str, ...]
    rows: list[tuple]
    source: tuple


def store_rows(roster) -> StoreRows:
    """The rows of a roster (RosterData read from a file) for :meth:`RosterStore.stage`."""
    spec = roster.spec
    code, period = spec.unit_code, spec.period
    if not roster.sha256:
        raise HBError("台账没有文件指纹（sha256），不能入库", hint="从文件读取的台账才能入库")
    keys = tuple(spec.sheets[0].column_keys)
    problems = problems_by_household(roster)
    names = {r.code: r.name for r in spec.sheets[0].rows}
    order = {r.code: FIRST_DATA_ROW + i for i, r in enumerate(spec.sheets[0].rows)}
    hids = list(roster.rows)
    columns = []
    for key in keys:  # by column: the rows' dicts are not made (households.columns.ColumnRows)
        values = column_of(roster.rows, key)
        if not _PLAIN.issuperset(map(type, values)):
            values = [_sql_value(v) for v in values]
        columns.append(values)
    found = [problems.get(hid) for hid in hids]
    rows = list(
        zip(
            repeat(period),
            repeat(code),
            hids,
            [order[hid] for hid in hids],
            [names.get(hid) for hid in hids],
            repeat(roster.sha256),
            [",".join(f) if f else "" for f in found],
            *columns,
        )
    )
    errors = sum(1 for f in roster.findings if f.importance == "error")
    warnings = sum(1 for f in roster.findings if f.importance == "warning")
    source = (
        period,
        code,
        spec.unit_name,
        roster.sha256,
        str(roster.path) if roster.path else None,
        len(rows),
        errors,
        warnings,
        spec.roster_sha256,
        spec.layout_hash,
    )
    return StoreRows(period, code, roster.sha256, keys, rows, source)


_PLAIN = frozenset({str, int, float, type(None)})  # what SQLite takes as it is


def _sql_value(value: Any) -> Any:
    if value is None or isinstance(value, int | float | str):
        return value
    return str(value)


def problems_by_household(roster) -> dict[str, list[str]]:
    """{household id: rule ids of the findings on its row} (findings on the roster sheet with a cell)."""
    sheet = roster.spec.sheets[0]
    by_row = {FIRST_DATA_ROW + i: r.code for i, r in enumerate(sheet.rows)}
    out: dict[str, list[str]] = defaultdict(list)
    for f in roster.findings:
        if f.sheet != sheet.sheet or not f.cell:
            continue
        m = _CELL_ROW.match(f.cell)
        hid = by_row.get(int(m.group(1))) if m else None
        if hid and f.rule not in out[hid]:
            out[hid].append(f.rule)
    return out
