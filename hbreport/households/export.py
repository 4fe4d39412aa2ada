"""The registration export (建档立卡系统导出的贫困户名单) a roster is pre-filled from.

A CSV (UTF-8 or GBK) or an XLSX workbook (its first sheet), one row per household, with a header
naming the columns in Chinese or English (a title above the header is skipped: the header is the
first of the first rows that names 户编号):

    户编号 household_id · 户主姓名 head_name · 证件号码 id_number · 家庭人口 household_size ·
    村代码 village_code · 所在村 village_name (optional: taken from the registry when absent)

A fuller export of the national system (全国扶贫开发信息系统) carries more of what the roster asks:
致贫原因, 贫困户属性, 劳动能力, 健康状况, 在校生情况, 低保五保, 人均纯收入 and the others of
:data:`OPTIONAL`. A column whose header is a roster column's name (or a name the system uses for it,
units in brackets ignored) fills that column of every household's row, read by
:func:`hbreport.coerce.exported`; the township checks and corrects those cells (they are not locked). A
value the roster's checks would refuse is written as the export has it, for those checks to flag.

The file's sha256 goes into every roster made from it, so a roster can be traced to its export and
refused when it claims another. Identity problems (a household twice, a village not in the registry)
stop the import; content problems (a bad ID number) are left for the roster's checks.
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from itertools import starmap
from operator import itemgetter
from pathlib import Path
from typing import Any

from hbreport.errors import HBError, first_on_line
from hbreport.households.spec import MAX_HOUSEHOLD_ID, Household
from hbreport.registry import normalize_code

COLUMNS = {
    "household_id": ("户编号", "household_id"),
    "head_name": ("户主姓名", "head_name"),
    "id_number": ("证件号码", "身份证号码", "id_number"),
    "household_size": ("家庭人口", "家庭人口数", "household_size"),
    "village_code": ("村代码", "所在村代码", "village_code"),
    "village_name": ("所在村", "village_name"),
}
REQUIRED = ("household_id", "head_name", "id_number", "household_size", "village_code")
HEADER_ZH = ("户编号", "户主姓名", "证件号码", "家庭人口", "村代码", "所在村")
HEADER_ROWS = 10  # the header is among the first rows (an export may have a title above it)

# Roster input columns an export may carry: field key → other names the system gives the column (the
# field's own label, from templates/household_fields.yaml, and its key always count).
OPTIONAL: dict[str, tuple[str, ...]] = {
    "poverty_cause": ("主要致贫原因",),
    "household_type": (),
    "labour_capacity": ("劳动技能", "家庭劳动能力"),
    "health_status": ("健康状态",),
    "school_status": ("在校生状况", "在校生"),
    "welfare_status": ("是否低保五保", "低保五保户"),
    "income_per_capita": ("家庭人均纯收入",),
    "income_previous": ("上年家庭人均纯收入",),
    "sick_members": ("患病人数",),
    "students": ("在校生人数",),
    "has_income_source": (),
    "has_skill": (),
    "dilapidated_house": ("危房户", "是否危房户"),
    "safe_water": ("饮水安全", "是否饮水安全"),
    "helper_name": (),
    "exit_status": ("脱贫属性",),
    "exit_year": (),
    "newly_identified": (),
}
# The system's words for a listed choice (compared after NFKC: full-width brackets are half-width).
VALUE_ALIASES: dict[str, dict[str, str]] = {
    "household_type": {"特困供养贫困户": "特困供养(五保)贫困户", "五保贫困户": "特困供养(五保)贫困户"},
    "labour_capacity": {
        "丧失劳动能力": "丧失劳动力",
        "无劳动能力": "无劳动力",
        "弱劳动力": "弱劳动力或半劳动力",
        "半劳动力": "弱劳动力或半劳动力",
    },
    "welfare_status": {
        "低保户": "低保",
        "五保户": "五保",
        "特困供养": "五保",
        "无": "否",
        "非低保五保": "否",
    },
}

# 贫困户属性 says whether a household is carried by 低保 or 五保: an export without a 低保五保 column gives
# it so (an export with one keeps its own)
WELFARE_FROM_TYPE = {"一般贫困户": "否", "低保贫困户": "低保", "特困供养(五保)贫困户": "五保"}


def header_name(text: Any) -> str:
    """A header cell as compared: no spaces, slashes or a unit in brackets (人均纯收入（元） → 人均纯收入,
    低保/五保 → 低保五保), half-width, lower case."""
    import re
    import unicodedata

    name = unicodedata.normalize("NFKC", "" if text is None else str(text))
    name = re.sub(r"\([^()]*\)$", "", re.sub(r"[\s/、]", "", name))
    return name.lower()


@dataclass(frozen=True)
class RosterExport:
    """The households of an export, grouped by township (registry order within the file's order)."""

    path: Path
    sha256: str
    by_township: dict[str, list[Household]]

    @property
    def households(self) -> int:
        return sum(len(v) for v in self.by_township.values())

    def township(self, code: str) -> list[Household]:
        return self.by_township.get(normalize_code(code), [])


class ExportIndex:
    """An export kept in the household store (``RosterStore.index_export``) and read one township at a
    time: what a worker process needs of a 1.3-million-row export without holding all of it."""

    def __init__(self, store_path: str | Path, sha256: str, path: str | Path) -> None:
        self.store_path = Path(store_path)
        self.sha256 = sha256
        self.path = Path(path)
        self._db = None

    def __getstate__(self) -> dict:
        return {"store_path": self.store_path, "sha256": self.sha256, "path": self.path, "_db": None}

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None

    def township(self, code: str) -> list[Household]:
        import sqlite3

        if self._db is None:
            self._db = sqlite3.connect(f"file:{self.store_path}?mode=ro", uri=True)
        rows = self._db.execute(
            "SELECT household_id, head_name, village_code, village_name, id_number, household_size, extra "
            "FROM export_households WHERE sha256 = ? AND township_code = ? ORDER BY position",
            (self.sha256, normalize_code(code)),
        ).fetchall()
        if any(row[6] for row in rows):
            return [Household(*row[:6], extra=extra_from_json(row[6])) for row in rows]
        return list(starmap(Household, map(_FIRST_SIX, rows)))  # no extra values: the six columns as they are


_FIRST_SIX = itemgetter(slice(0, 6))


def extra_to_json(household: Household) -> str | None:
    """A household's ``extra`` values as the store keeps them (None when the export gave none)."""
    return extra_json(household.extra)


def extra_json(extra: tuple[tuple[str, Any], ...]) -> str | None:
    """``extra`` values as the store keeps them (None when there are none)."""
    import json

    return json.dumps(extra, ensure_ascii=False) if extra else None


def extra_from_json(text: str | None) -> tuple[tuple[str, Any], ...]:
    import json

    return tuple((str(k), v) for k, v in json.loads(text)) if text else ()


def read_export(path: str | Path, *, registry=None) -> RosterExport:
    """Read and check a registration export; HBError naming the line for identity problems."""
    sha256, rows = iter_export(path, registry=registry)
    by_township: dict[str, list[Household]] = {}
    for township, household in rows:
        by_township.setdefault(township, []).append(household)
    return RosterExport(Path(path), sha256, by_township)


def export_sha256(path: str | Path) -> str:
    """The sha256 of an export file, read in chunks."""
    from hbreport.xlsx.input_files import MAX_EXPORT_BYTES, checked_input

    checked_input(path, "建档立卡导出", MAX_EXPORT_BYTES)
    digest = hashlib.sha256()
    try:
        with Path(path).open("rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                digest.update(chunk)
    except FileNotFoundError:
        raise HBError("找不到建档立卡导出文件", file=path, hint="检查文件路径") from None
    except OSError as exc:
        raise HBError(f"无法读取建档立卡导出文件（{exc.strerror}）", file=path, hint="检查文件权限") from None
    return digest.hexdigest()


def iter_export(path: str | Path, *, registry=None) -> tuple[str, Iterator[tuple[str, Household]]]:
    """(sha256, the checked (township code, household) pairs in file order), read as they are used; the
    header is checked at once, each row when it is reached (HBError naming the line)."""
    sha256, rows = iter_export_rows(path, registry=registry)
    return sha256, ((row[0], Household(*row[1:])) for row in rows)


ExportRow = tuple[str, str, str, str, str, str | None, int | None, tuple[tuple[str, Any], ...]]
"""A checked row of an export: township code, then :class:`Household`'s fields in their order."""


def iter_export_rows(path: str | Path, *, registry=None) -> tuple[str, Iterator[ExportRow]]:
    """:func:`iter_export` with each household as a plain tuple (:data:`ExportRow`): what the store
    keeps of a province's 1.3 million rows, read in the process that consolidates."""
    from hbreport.registry import load_registry

    registry = registry or load_registry()
    path = Path(path)
    sha256 = export_sha256(path)
    table = _table(path)
    try:
        names: list[str] = []
        for _ in range(HEADER_ROWS):
            got = next(table, None)
            if got is None:
                break
            row = [header_name(h) for h in got[1]]
            if any(alias in row for alias in COLUMNS["household_id"]):
                names = row
                break
        if not names:
            raise HBError(
                f"建档立卡导出文件的前 {HEADER_ROWS} 行中没有表头（没有“户编号”列）",
                file=path,
                hint="表头应包含 " + "、".join(HEADER_ZH[:5]) + "（所在村可省略）",
            )
        index: dict[str, int] = {}
        for key, aliases in COLUMNS.items():
            for alias in aliases:
                if alias.lower() in names:
                    index[key] = names.index(alias.lower())
                    break
        missing = [COLUMNS[k][0] for k in REQUIRED if k not in index]
        if missing:
            raise HBError(
                f"表头缺少列：{'、'.join(missing)}",
                file=path,
                hint="表头应包含 " + "、".join(HEADER_ZH[:5]) + "（所在村可省略）",
            )
        optional = _optional_columns(names, set(index.values()))
    except BaseException:
        table.close()
        raise
    return sha256, _checked(path, table, len(names), index, optional, registry)


def _optional_columns(names: list[str], taken: set[int]) -> list[tuple[int, Any, dict[str, str]]]:
    """(column index, field, value aliases) of every roster input column the export's header names."""
    from hbreport.households.spec import household_fields

    fields = household_fields()
    found = []
    for key, others in OPTIONAL.items():
        f = fields[key]
        for alias in (f.label, key, *others):
            name = header_name(alias)
            if name in names and names.index(name) not in taken:
                found.append((names.index(name), f, VALUE_ALIASES.get(key, {})))
                taken.add(names.index(name))
                break
    return found


def _table(path: Path) -> Iterator[tuple[int, list[Any]]]:
    """(line number, cells) of the export's rows: a CSV's text, or an XLSX's first sheet as its cells."""
    if path.suffix.lower() in (".xlsx", ".xlsm"):
        return _xlsx_rows(path)
    return _csv_rows(path)


def _csv_rows(path: Path) -> Iterator[tuple[int, list[Any]]]:
    with _open_text(path) as fh:
        reader = csv.reader(fh)
        for row in reader:
            yield reader.line_num, row


def _open_text(path: Path):
    """The file as text, decoded as it is read: UTF-8 (with or without BOM) when it all decodes so, else
    GB18030 (Excel's "CSV" on Chinese Windows) — the rule of ``registry.decode_csv_bytes``, in chunks."""
    import codecs

    encoding = "utf-8-sig"
    decoder = codecs.getincrementaldecoder("utf-8-sig")()
    with path.open("rb") as fh:
        try:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                decoder.decode(chunk)
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            encoding = "gb18030"
    return path.open(encoding=encoding, newline="", errors="strict")


def _xlsx_rows(path: Path) -> Iterator[tuple[int, list[Any]]]:
    from hbreport.xlsx import safety
    from hbreport.xlsx.cells import calamine_sheet, open_calamine

    checked = safety.inspect_and_read(path)
    book = open_calamine(path, checked.data)
    try:
        if not book.sheet_names:
            raise HBError("建档立卡导出工作簿没有工作表", file=path, hint="请重新从系统导出")
        ws = calamine_sheet(path, book, book.sheet_names[0], "导出文件过大，请按县分别导出")
        rows = ws.to_python(skip_empty_area=False)
    finally:
        book.close()
    for line, row in enumerate(rows, start=1):
        yield line, list(row)


def _checked(
    path: Path,
    table: Iterator[tuple[int, list[Any]]],
    width: int,
    index: dict[str, int],
    optional: list[tuple[int, Any, dict[str, str]]],
    registry,
) -> Iterator[ExportRow]:
    from hbreport.coerce import cell_text, exported

    seen: dict[str, int] = {}
    villages: dict[str, tuple[str, str, str]] = {}  # village code → (township code, name, 12-digit code)
    # the required columns are in ``index``; 所在村 may not be
    at_id, at_head, at_number, at_size, at_village = (index[key] for key in REQUIRED)
    at_name = index.get("village_name")
    given = {f.key for _, f, _ in optional}
    derive_welfare = "household_type" in given and "welfare_status" not in given
    # a CSV's cells are all text, for which cell_text is strip: the 1.3 million rows of a province's
    # export are read here, in one process, before any roster is written (and while they are read)
    texts = path.suffix.lower() not in (".xlsx", ".xlsm")
    text = str.strip if texts else cell_text
    with contextlib.closing(table):
        for line, row in table:
            if not ("".join(row) if texts else "".join(cell_text(c) for c in row)).strip():
                continue
            if len(row) < width:
                row = row + [""] * (width - len(row))
            household_id = text(row[at_id])
            if not household_id or len(household_id) > MAX_HOUSEHOLD_ID or "," in household_id:
                raise HBError(
                    f"第 {line} 行：户编号「{household_id}」无效（应为 1—{MAX_HOUSEHOLD_ID} 个字符，不含逗号）",
                    file=path,
                    hint="检查户编号列",
                )
            if household_id in seen:
                first_on_line(
                    seen,
                    household_id,
                    line,
                    f"户编号 {household_id}",
                    file=path,
                    hint="每户只能有一行，删除或改正重复的行",
                )
            seen[household_id] = line
            code_text = text(row[at_village])
            village = villages.get(code_text)
            if village is None:
                village = villages[code_text] = (
                    *_village(registry, code_text, path, line),
                    normalize_code(code_text),
                )
            township, registry_name, village_code = village
            extra = []
            for i, f, aliases in optional:
                raw = row[i]
                value, issue = exported(raw, f, aliases)
                if issue is not None:  # as the export has it, for the roster's checks to flag
                    value = raw.strip() if isinstance(raw, str) else raw
                if value is not None and value != "":
                    extra.append((f.key, value))
            if derive_welfare:
                kind = dict(extra).get("household_type")
                if kind in WELFARE_FROM_TYPE:
                    extra.append(("welfare_status", WELFARE_FROM_TYPE[kind]))
            size = text(row[at_size])
            yield (
                township,
                household_id,
                text(row[at_head]),
                village_code,
                ("" if at_name is None else text(row[at_name])) or registry_name,
                text(row[at_number]) or None,
                int(size) if size.isascii() and size.isdigit() else _size(size),
                tuple(extra),
            )


def _village(registry, code_text: str, path: Path, line: int) -> tuple[str, str]:
    unit = registry.find(code_text)
    if unit is None:
        problem = (
            f"村代码「{code_text}」不在单位名册中",
            "村代码应为 12 位统计用区划代码；核对单位名册是否为同一版本",
        )
    elif unit.level != "village":
        problem = f"代码 {code_text}（{unit.name}）不是村级单位", "村代码列应填 12 位村代码"
    else:
        return unit.parent, unit.name
    raise HBError(f"第 {line} 行：{problem[0]}", file=path, hint=problem[1])


def _size(text: str) -> int | None:
    """家庭人口 as an integer; anything else is left blank for the roster's checks to flag."""
    text = text.strip()
    if text.endswith(".0"):
        text = text[:-2]
    return int(text) if text.isascii() and text.isdigit() else None


def write_export(path: str | Path, households: Iterable[Household]) -> Path:
    """Write households as a registration export (UTF-8 with BOM, Chinese header; the columns of their
    ``extra`` values after the six of the short export) and return the path."""
    from hbreport.coerce import plain
    from hbreport.households.spec import household_fields

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    households = list(households)
    keys = [k for k in OPTIONAL if any(k in dict(h.extra) for h in households)]
    fields = household_fields()
    with path.open("w", encoding="utf-8-sig", newline="") as fh:
        out = csv.writer(fh)
        out.writerow([*HEADER_ZH, *(fields[k].label for k in keys)])
        for h in households:
            extra = dict(h.extra)
            out.writerow(
                [
                    h.household_id,
                    h.head_name,
                    h.id_number or "",
                    "" if h.household_size is None else h.household_size,
                    h.village_code,
                    h.village_name,
                    *(plain(extra.get(k)) for k in keys),
                ]
            )
    return path
