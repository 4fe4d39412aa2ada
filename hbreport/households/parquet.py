"""The household table of the store as Parquet, for analysts' tools (pandas, polars, DuckDB, R, Spark).

One row per stored household (period, township, household id, row number, head name, the roster
file's sha256, the rule ids failing on it, every roster column), written in batches of one SQL
cursor page, so a province's 1.3 million households never sit in memory at once. Column types come
from what the store holds: a column with any text is text, else with any fraction a double, else an
integer (a column of blanks is text). Needs pyarrow (``pip install hbreport[parquet]``).
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from hbreport.errors import HBError
from hbreport.xlsx.atomic import atomic_output

BATCH = 50_000


def _pyarrow():
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        raise HBError(
            "导出 Parquet 需要 pyarrow，当前环境没有安装",
            hint="运行 pip install pyarrow（或 pip install hbreport[parquet]）后重试，或改为导出 CSV",
        ) from None
    return pa, pq


def _prefix(code: str) -> str:
    """The digits that name a unit and its descendants: 2 (province), 4, 6, 9 (township) or 12."""
    from hbreport.registry import normalize_code

    code = normalize_code(code)
    for digits in (2, 4, 6, 9):
        if not code[digits:].strip("0"):
            return code[:digits]
    return code


def export_households_parquet(
    store_path: str | Path,
    out: str | Path,
    *,
    period: int | None = None,
    under: str | None = None,
    force: bool = False,
) -> int:
    """Write the store's households (of ``period``; of the unit ``under`` and the units below it; all
    by default) to the Parquet file ``out`` atomically; return how many rows. Rows come in the store's
    order: period, township, row on the roster sheet."""
    pa, pq = _pyarrow()
    store_path = Path(store_path)
    if not store_path.is_file():
        raise HBError("找不到户数据库", file=store_path, hint="先用 hbreport roster consolidate 汇总台账入库")
    db = sqlite3.connect(f"file:{store_path}?mode=ro", uri=True)
    try:
        columns = [row[1] for row in db.execute("PRAGMA table_info(households)")]
        if not columns:
            raise HBError("户数据库中没有户表（households）", file=store_path, hint="先汇总台账入库")
        where, params = [], []
        if period is not None:
            where.append("period = ?")
            params.append(period)
        if under:
            prefix = _prefix(under)
            where.append("substr(township_code, 1, ?) = ?")
            params += [len(prefix), prefix]
        clause = f" WHERE {' AND '.join(where)}" if where else ""
        quoted = [f'"{c}"' for c in columns]
        kinds = db.execute(
            "SELECT "
            + ", ".join(
                f"max(typeof({q}) = 'text'), max(typeof({q}) = 'real'), max(typeof({q}) = 'integer')"
                for q in quoted
            )
            + f" FROM households{clause}",
            params,
        ).fetchone()
        types = []
        for i in range(len(columns)):
            text, real, integer = (kinds[3 * i + k] for k in range(3))
            types.append(
                pa.string() if text or not (real or integer) else pa.float64() if real else pa.int64()
            )
        schema = pa.schema([pa.field(c, t) for c, t in zip(columns, types, strict=True)])
        as_text = [t == pa.string() for t in types]
        cursor = db.execute(
            f"SELECT {', '.join(quoted)} FROM households{clause} ORDER BY period, township_code, row_number",
            params,
        )
        written = 0
        with atomic_output(out, force=force, inputs=[store_path], suffix=".parquet") as tmp:
            with pq.ParquetWriter(str(tmp), schema, compression="zstd") as writer:
                while rows := cursor.fetchmany(BATCH):
                    arrays = []
                    for values, kind, text in zip(zip(*rows, strict=True), types, as_text, strict=True):
                        if text:
                            values = [v if v is None or type(v) is str else str(v) for v in values]
                        arrays.append(pa.array(values, type=kind))
                    writer.write_batch(pa.RecordBatch.from_arrays(arrays, schema=schema))
                    written += len(rows)
        return written
    finally:
        db.close()
