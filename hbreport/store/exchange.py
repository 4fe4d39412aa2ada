"""Data values in and out: ``export`` (a consolidated workbook, a folder of returns, or a store → CSV,
Parquet or DHIS2-shaped JSON) and ``import`` (such a file → filled workbooks of the form family, one
per unit).

The exported table is tidy: one row per unit × period × form × field, with the unit's code and name,
the field's code, Chinese name, measurement unit and the catalog indicator it reports on, the value,
its status (reported / not_reported / returned / refused / derived), comment and the source file's
sha256. The JSON is shaped like DHIS2's ``dataValueSets`` (``dataValues``: dataElement = form.field,
period, orgUnit, value as text, comment), so other systems can take it. Imported values are typed by
the form's own field types, so export → import → check gives the same values and no new findings.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hbreport.errors import HBError
from hbreport.model.dataset import DERIVED, REPORTED, STATUSES, Dataset, DataValue
from hbreport.model.findings import Finding
from hbreport.spec import WorkbookSpec
from hbreport.xlsx.atomic import atomic_output

FORMATS = (".csv", ".parquet", ".json")
COLUMNS = (
    "reporting_unit",
    "org_unit",
    "org_unit_name",
    "period",
    "form",
    "sheet",
    "field",
    "field_name",
    "measure_unit",
    "indicator",
    "value",
    "status",
    "comment",
    "source_sha256",
    "received",
)
NUMERIC = ("integer", "decimal", "percent")


@dataclass
class Exported:
    """What an export wrote: the file, how many values, and the files of a folder that were skipped."""

    out: Path
    values: int
    units: int
    skipped: list[Finding] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "out": str(self.out),
            "values": self.values,
            "units": self.units,
            "skipped": [f.to_dict() for f in self.skipped],
        }

    def render(self) -> str:
        lines = [f"已导出 {self.values} 个数据值（{self.units} 个单位）：{self.out}"]
        lines += [f"未导出：{f.text()}" for f in self.skipped]
        return "\n".join(lines)


def _check_out(out: Path, force: bool) -> None:
    if out.suffix.lower() not in FORMATS:
        raise HBError(
            f"输出文件「{out.name}」应以 .csv、.parquet 或 .json 结尾", hint="例如 --out 红安县_2017.csv"
        )
    if out.exists() and not force:
        raise HBError(
            "输出文件已存在，为防止覆盖未写入", file=out, hint="换一个输出文件名，或确认可以覆盖后加 --force"
        )


# ---------------------------------------------------------------- export


def load_dataset(source: str | Path, *, period: int | None = None, ctx=None) -> tuple[Dataset, list[Finding]]:
    """The data values of ``source`` (a workbook, a folder of workbooks, or a store), derived values
    included; and the files of a folder that could not be read."""
    from hbreport.context import Context
    from hbreport.store.db import SQLITE_MAGIC

    ctx = ctx or Context.of()
    source = Path(source)
    if source.is_dir():
        return _from_folder(source, ctx)
    if not source.is_file():
        raise HBError(
            "找不到要导出的文件或文件夹", file=source, hint="给出汇总工作簿、报表文件夹或数据库文件"
        )
    with source.open("rb") as fh:
        head = fh.read(len(SQLITE_MAGIC))
    if head == SQLITE_MAGIC or source.suffix.lower() in (".sqlite", ".db", ".sqlite3"):
        return _from_store(source, period, ctx), []
    return _from_workbook(source, ctx), []


def _workbook_dataset(result) -> Dataset:
    summary = result.summary
    return Dataset.from_form_data(
        result.data, row_status=summary.row_statuses() if summary else None, comments=result.notes
    )


def _from_workbook(path: Path, ctx) -> Dataset:
    from hbreport.xlsx.reader import read_workbook

    return _workbook_dataset(read_workbook(path, **ctx.keywords))


def _from_folder(folder: Path, ctx) -> tuple[Dataset, list[Finding]]:
    from hbreport.checks.check import file_finding
    from hbreport.consolidation.inbox import scan
    from hbreport.xlsx.reader import read_workbook

    inbox = scan(folder)
    values: list[DataValue] = []
    skipped = list(inbox.not_read)
    for path in inbox.files:
        try:
            result = read_workbook(path, **ctx.keywords)
        except HBError as exc:
            skipped.append(file_finding(path, exc))
            continue
        values += _workbook_dataset(result).values
    return Dataset(values), skipped


def _from_store(path: Path, period: int | None, ctx) -> Dataset:
    """The current submissions of a store, their derived values recomputed by their forms."""
    from hbreport.store.forms import FormStore

    with FormStore(path, write=False) as db:
        given = db.current_dataset(period)
    out: list[DataValue] = []
    groups: dict[tuple[str, int], list[DataValue]] = {}
    for v in given:
        groups.setdefault((v.unit, v.period), []).append(v)
    for (unit, year), values in groups.items():
        spec = ctx.spec(unit, year)
        first = values[0]
        data = Dataset(values).to_form_data(spec, sha256=first.sha256)
        out += Dataset.from_form_data(data, received=first.received).values
    return Dataset(out)


def tidy_frame(dataset: Dataset, ctx):
    """The export table (pandas): one row per data value, named as people and other systems need."""
    import pandas as pd

    specs: dict[tuple[str, int], WorkbookSpec] = {}
    names: dict[str, str] = {}
    rows = []
    for v in dataset:
        spec = specs.get((v.unit, v.period))
        if spec is None:
            spec = specs[(v.unit, v.period)] = ctx.spec(v.unit, v.period)
        sheet = spec.sheet(v.form)
        col = sheet.column(v.field)
        if v.row not in names:
            names[v.row] = ctx.registry.get(v.row).name
        rows.append(
            (
                v.unit,
                v.row,
                names[v.row],
                v.period,
                v.form,
                sheet.sheet,
                v.field,
                col.field.label,
                col.field.unit or "",
                col.field.indicator or "",
                _text(v.value),
                v.status,
                v.comment or "",
                v.sha256 or "",
                v.received or "",
            )
        )
    return pd.DataFrame.from_records(rows, columns=list(COLUMNS))


def _text(value: Any) -> str:
    """A value as text that reads back to the same value (repr for floats: exact)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and abs(value) < 2**53 else repr(value)
    return str(value)


def data_value_sets(frame) -> dict[str, Any]:
    """DHIS2's dataValueSets shape: dataElement (form.field), period, orgUnit, value (text), comment;
    hbreport's own keys (status, reportingUnit) beside them."""
    values = []
    for r in frame.itertuples(index=False):
        item = {
            "dataElement": f"{r.form}.{r.field}",
            "period": str(r.period),
            "orgUnit": r.org_unit,
            "value": r.value,
            "comment": r.comment or None,
            "status": r.status,
            "reportingUnit": r.reporting_unit,
        }
        values.append({k: v for k, v in item.items() if v is not None})
    return {"dataValues": values}


def export(
    source: str | Path, out: str | Path, *, period: int | None = None, force: bool = False, ctx=None
) -> Exported:
    """Write the data values of ``source`` to ``out`` (.csv, .parquet or .json)."""
    from hbreport.context import Context

    ctx = ctx or Context.of()
    out = Path(out)
    _check_out(out, force)
    dataset, skipped = load_dataset(source, period=period, ctx=ctx)
    frame = tidy_frame(dataset, ctx)
    kind = out.suffix.lower()
    with atomic_output(out) as tmp:
        if kind == ".csv":
            frame.to_csv(tmp, index=False, encoding="utf-8-sig")
        elif kind == ".parquet":
            frame.to_parquet(tmp, index=False)
        else:
            Path(tmp).write_text(
                json.dumps(data_value_sets(frame), ensure_ascii=False, indent=1), encoding="utf-8"
            )
    return Exported(out, len(frame), len(set(frame["reporting_unit"])), skipped)


# ---------------------------------------------------------------- import


@dataclass
class Imported:
    files: list[Path]
    values: int

    def to_dict(self) -> dict[str, Any]:
        return {"files": [str(p) for p in self.files], "values": self.values}

    def render(self) -> str:
        return f"已由 {self.values} 个数据值生成 {len(self.files)} 个工作簿：" + "、".join(
            p.name for p in self.files
        )


def _read_table(path: Path) -> list[dict[str, Any]]:
    """The rows of an export (CSV, Parquet or dataValueSets JSON) as dicts with the export's keys."""
    kind = path.suffix.lower()
    if not path.is_file():
        raise HBError(
            "找不到要导入的文件", file=path, hint="给出 hbreport export 写出的 .csv、.parquet 或 .json 文件"
        )
    try:
        if kind == ".json":
            payload = json.loads(path.read_text(encoding="utf-8-sig"))
            out = []
            for i, item in enumerate(payload["dataValues"], 1):
                form, _, key = str(item["dataElement"]).partition(".")
                out.append(
                    {
                        "reporting_unit": item.get("reportingUnit"),
                        "org_unit": str(item["orgUnit"]),
                        "period": item["period"],
                        "form": form,
                        "field": key,
                        "value": item.get("value"),
                        "status": item.get("status", REPORTED),
                        "comment": item.get("comment"),
                        "_line": f"第 {i} 个数据值",
                    }
                )
            return out
        import pandas as pd

        if kind == ".csv":
            frame = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
        elif kind == ".parquet":
            frame = pd.read_parquet(path)
        else:
            raise HBError(
                "只能导入 .csv、.parquet 或 .json 文件", file=path, hint="给出 hbreport export 写出的文件"
            )
    except HBError:
        raise
    except (ValueError, KeyError, TypeError, OSError) as exc:
        raise HBError(
            f"无法读取要导入的文件（{type(exc).__name__}: {exc}）",
            file=path,
            hint="给出 hbreport export 写出的文件，不要改动其列名",
        ) from None
    missing = [c for c in ("org_unit", "period", "form", "field", "value") if c not in frame.columns]
    if missing:
        raise HBError(
            f"缺少列：{'、'.join(missing)}", file=path, hint="给出 hbreport export 写出的文件，不要改动其列名"
        )
    rows = frame.to_dict("records")
    for i, row in enumerate(rows, 2):
        row["_line"] = f"第 {i} 行"
    return rows


def _typed(value: Any, kind: str, where: str, path: Path) -> Any:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    text = str(value).strip()
    if text == "":
        return None
    if kind not in NUMERIC:
        return text
    try:
        number = float(text)
    except ValueError:
        raise HBError(f"{where}的值「{text}」不是数字", file=path, hint="改正该值后重新导入") from None
    return int(number) if number.is_integer() and "." not in text and "e" not in text.lower() else number


def _workbook_unit(row: dict[str, Any], ctx) -> str:
    """The unit whose workbook holds a value: given, or found from the row unit and form."""
    given = row.get("reporting_unit")
    if given:
        return ctx.registry.get(str(given)).code
    unit = ctx.registry.get(str(row["org_unit"]))
    parent = ctx.registry.reporting_parent(unit.code)
    if parent is not None:
        try:
            sheet = ctx.spec(parent.code, int(row["period"])).sheet(row["form"])
            if any(r.code == unit.code for r in sheet.rows):
                return parent.code
        except (HBError, KeyError):
            pass
    return unit.code


def import_values(source: str | Path, out_dir: str | Path, *, force: bool = False, ctx=None) -> Imported:
    """Filled workbooks (one per unit and period) from an export: the values given (not derived, not
    of units that did not report) typed by each form's field types; prefilled cells as the form has them."""
    from hbreport.context import Context
    from hbreport.forms import prefill_values
    from hbreport.xlsx.writer import write_workbook

    ctx = ctx or Context.of()
    source, out_dir = Path(source), Path(out_dir)
    rows = _read_table(source)
    books: dict[tuple[str, int], dict[str, dict[str, dict[str, Any]]]] = {}
    notes: dict[tuple[str, int], dict[str, dict[str, str]]] = {}
    count = 0
    for row in rows:
        status = str(row.get("status") or REPORTED)
        if status not in STATUSES:
            raise HBError(
                f"{row['_line']}的状态「{status}」无法识别",
                file=source,
                hint=f"状态应为 {'、'.join(STATUSES)} 之一",
            )
        if status == DERIVED:
            continue
        try:
            period = int(str(row["period"]).strip())
            unit = _workbook_unit(row, ctx)
            spec = ctx.spec(unit, period)
            sheet = spec.sheet(str(row["form"]))
            col = sheet.column(str(row["field"]))
        except KeyError as exc:
            raise HBError(
                f"{row['_line']}：表式中没有「{exc.args[0]}」",
                file=source,
                hint="检查表号和字段代码是否为本版本表式的",
            ) from None
        except (ValueError, TypeError):
            raise HBError(
                f"{row['_line']}的报告期「{row['period']}」无法识别",
                file=source,
                hint="报告期写年份，如 2017",
            ) from None
        org = ctx.registry.get(str(row["org_unit"])).code
        comment = row.get("comment")
        if isinstance(comment, str) and comment.strip() and org in {r.code for r in sheet.rows}:
            notes.setdefault((unit, period), {}).setdefault(sheet.form, {})[org] = comment.strip()
        if col.role == "derived":
            continue
        value = _typed(row.get("value"), col.field.type, row["_line"], source)
        if value is None:
            continue
        if org not in {r.code for r in sheet.rows}:
            raise HBError(
                f"{row['_line']}：表「{sheet.sheet}」没有单位 {org} 这一行", file=source, hint="检查单位代码"
            )
        books.setdefault((unit, period), {}).setdefault(sheet.form, {}).setdefault(org, {})[col.key] = value
        count += 1
    targets = []
    for unit, period in books:
        spec = ctx.spec(unit, period)
        target = out_dir / spec.file_name()
        if target.exists() and not force:
            raise HBError(
                "输出文件已存在，为防止覆盖未写入",
                file=target,
                hint="换一个输出文件夹，或确认可以覆盖后加 --force",
            )
        targets.append((spec, target))
    written = []
    out_dir.mkdir(parents=True, exist_ok=True)
    for spec, target in targets:
        values = prefill_values(spec, ctx.registry, ctx.baseline)
        for form, rows_ in books[(spec.unit_code, spec.period)].items():
            for code, cells in rows_.items():
                values.setdefault(form, {}).setdefault(code, {}).update(cells)
        written.append(
            write_workbook(spec, target, values=values, notes=notes.get((spec.unit_code, spec.period)))
        )
    return Imported(written, count)
