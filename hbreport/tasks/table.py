"""The task table (任务分解): what each unit has to do in each year, by catalog indicator.

One row is (unit code, period, indicator code, value): the amount the unit is to achieve *in* that
period — people to lift out of poverty, villages to exit, counties to 摘帽, households to relocate.
The cumulative task by a year is the sum of the periods up to it. An indicator without a yearly
schedule in the plan (a key project's total) has one row, at its deadline.

``tasks.csv`` columns: ``code,period,indicator,value`` (``name`` optional, for people reading it).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from hbreport.errors import HBError, first_on_line
from hbreport.registry import decode_csv_bytes, normalize_code, read_csv_rows

TASK_COLUMNS = ("code", "period", "indicator", "value")


@dataclass
class TaskTable:
    """Tasks by unit (12-digit code), indicator and period."""

    values: dict[str, dict[str, dict[int, float]]] = field(default_factory=dict)
    source: Path | None = None

    def set(self, code: str, indicator: str, period: int, value: float) -> None:
        self.values.setdefault(code, {}).setdefault(indicator, {})[period] = value

    def series(self, code: str, indicator: str) -> dict[int, float] | None:
        """{period: amount} of a unit's task, or None when the table has none for it."""
        return self.values.get(code, {}).get(indicator)

    def units(self) -> list[str]:
        return list(self.values)

    def indicators(self) -> list[str]:
        seen: dict[str, None] = {}
        for per_unit in self.values.values():
            seen.update(dict.fromkeys(per_unit))
        return list(seen)

    def rows(self) -> Iterator[tuple[str, int, str, float]]:
        """(code, period, indicator, value) in the table's order."""
        for code, per_unit in self.values.items():
            for indicator, series in per_unit.items():
                for period in sorted(series):
                    yield code, period, indicator, series[period]

    def __len__(self) -> int:
        return sum(len(s) for per_unit in self.values.values() for s in per_unit.values())

    def __bool__(self) -> bool:
        return bool(self.values)


def cumulative(series: dict[int, float] | None, year: int) -> float | None:
    """The amount due by the end of ``year`` (sum of the periods up to it); None without a series."""
    if series is None:
        return None
    return sum(v for p, v in series.items() if p <= year)


def _number(text: str) -> float | None:
    text = text.strip()
    try:
        value = float(text)
    except ValueError:
        return None
    if value != value or value in (float("inf"), float("-inf")):
        return None
    return int(value) if value.is_integer() else value


def parse_tasks(text: str, path: Path, catalog) -> TaskTable:
    """A task CSV's text → TaskTable; every bad row a Chinese message naming the line and what to do."""
    header, reader = read_csv_rows(text, path, TASK_COLUMNS)
    index = [header.index(c) for c in TASK_COLUMNS]
    table = TaskTable(source=path)
    line_of: dict[tuple[str, str, int], int] = {}
    years = range(catalog.start, catalog.end + 1)
    for row in reader:
        line = reader.line_num
        if not any(cell.strip() for cell in row):
            continue
        row = row + [""] * (len(header) - len(row))
        code_text, period_text, indicator, value_text = (row[i].strip() for i in index)
        try:
            code = normalize_code(code_text)
        except HBError:
            raise HBError(
                f"第 {line} 行：code 列的单位代码「{code_text}」无效",
                file=path,
                hint="代码应为 6 位（省、市州、县市区）、9 位（乡镇）或 12 位（村）数字",
            ) from None
        period = _number(period_text)
        if not isinstance(period, int) or period not in years:
            raise HBError(
                f"第 {line} 行：period 列的年份「{period_text}」无效",
                file=path,
                hint=f"填规划期内的年份 {catalog.start}—{catalog.end}",
            )
        if indicator not in catalog:
            catalog[indicator]  # raises the catalog's message with close matches
        value = _number(value_text)
        if value is None or value < 0:
            raise HBError(
                f"第 {line} 行：value 列的任务数「{value_text}」不是非负数",
                file=path,
                hint="填 0 或正数（人、个、户……按指标的计量单位）",
            )
        first_on_line(
            line_of,
            (code, indicator, period),
            line,
            f"单位 {code_text} {period}年 {indicator} 的任务",
            file=path,
            hint="每个单位、年份、指标只能有一行，删除或合并重复的行",
        )
        table.set(code, indicator, period, value)
    return table


def load_tasks(path: str | Path, catalog=None) -> TaskTable:
    """Read a task table from CSV (UTF-8 or GBK, as Excel saves it)."""
    from hbreport.catalog import load_catalog

    catalog = catalog or load_catalog()
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise HBError("找不到任务分解文件", file=path, hint="检查 --tasks 给的路径") from None
    except OSError as exc:
        raise HBError(f"无法读取任务分解文件（{exc.strerror}）", file=path, hint="检查文件权限") from None
    return parse_tasks(decode_csv_bytes(data, path), path, catalog)


def _fmt(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def tasks_csv(table: TaskTable, registry=None) -> str:
    """The table as CSV text (``code,name,period,indicator,value``; short codes)."""
    import csv
    import io

    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(("code", "name", "period", "indicator", "value"))
    for code, period, indicator, value in table.rows():
        unit = registry.units.get(code) if registry is not None else None
        writer.writerow(
            (unit.short_code if unit else code, unit.name if unit else "", period, indicator, _fmt(value))
        )
    return out.getvalue()


def write_tasks(
    table: TaskTable,
    path: str | Path,
    registry=None,
    *,
    force: bool = False,
    inputs: Iterable[str | Path] = (),
) -> Path:
    """Write the table to ``path`` as UTF-8 CSV with a BOM (Excel opens it with the Chinese intact).
    An existing file is replaced only with ``force``, one of ``inputs`` never (see atomic.py)."""
    from hbreport.xlsx.atomic import atomic_output

    path = Path(path)
    with atomic_output(path, force=force, inputs=inputs, suffix=".csv") as tmp:
        tmp.write_bytes(("\ufeff" + tasks_csv(table, registry)).encode("utf-8"))
    return path


def merge(tables: Iterable[TaskTable]) -> TaskTable:
    """Several tables as one; a later table's rows replace an earlier one's."""
    out = TaskTable()
    for table in tables:
        for code, period, indicator, value in table.rows():
            out.set(code, indicator, period, value)
        out.source = table.source
    return out
