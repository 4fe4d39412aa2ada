"""The registration export (建档立卡系统导出的贫困户名单) a roster is pre-filled from.

A CSV, UTF-8 or GBK, one row per household, with a header naming the columns in Chinese or English:

    户编号 household_id · 户主姓名 head_name · 证件号码 id_number · 家庭人口 household_size ·
    村代码 village_code · 所在村 village_name (optional: taken from the registry when absent)

The file's sha256 goes into every roster made from it, so a roster can be traced to its export and
refused when it claims another. Identity problems (a household twice, a village not in the registry)
stop the import; content problems (a bad ID number) are left for the roster's checks.
"""

from __future__ import annotations

import csv
import hashlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from hbreport.errors import HBError
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
        cur = self._db.execute(
            "SELECT household_id, head_name, village_code, village_name, id_number, household_size "
            "FROM export_households WHERE sha256 = ? AND township_code = ? ORDER BY position",
            (self.sha256, normalize_code(code)),
        )
        return [Household(*row) for row in cur]


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
    from hbreport.registry import load_registry

    registry = registry or load_registry()
    path = Path(path)
    sha256 = export_sha256(path)
    fh = _open_text(path)
    try:
        reader = csv.reader(fh)
        header = next(reader, None)
        if header is None:
            raise HBError("建档立卡导出文件是空的", file=path, hint="第 1 行应为表头：" + ",".join(HEADER_ZH))
        names = [h.strip().lower() for h in header]
        index: dict[str, int] = {}
        for key, aliases in COLUMNS.items():
            for alias in aliases:
                if alias.lower() in names:
                    index[key] = names.index(alias.lower())
                    break
        missing = [COLUMNS[k][0] for k in REQUIRED if k not in index]
        if missing:
            raise HBError(
                f"第 1 行（表头）缺少列：{'、'.join(missing)}",
                file=path,
                hint="表头应包含 " + "、".join(HEADER_ZH[:5]) + "（所在村可省略）",
            )
    except BaseException:
        fh.close()
        raise
    return sha256, _rows(path, fh, reader, names, index, registry)


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


def _rows(
    path: Path, fh, reader, names: list[str], index: dict[str, int], registry
) -> Iterator[tuple[str, Household]]:
    with fh:
        yield from _checked(path, reader, names, index, registry)


def _checked(
    path: Path, reader, names: list[str], index: dict[str, int], registry
) -> Iterator[tuple[str, Household]]:
    seen: dict[str, int] = {}
    villages: dict[str, tuple[str, str, str]] = {}  # village code → (township code, name, 12-digit code)
    width = len(names)
    at = {key: index.get(key) for key in ("household_id", "head_name", "village_code", "village_name")}
    at |= {key: index.get(key) for key in ("id_number", "household_size")}
    for row in reader:
        if not "".join(row).strip():
            continue
        line = reader.line_num
        if len(row) < width:
            row = row + [""] * (width - len(row))
        cells = {key: "" if i is None else row[i].strip() for key, i in at.items()}
        household_id = cells["household_id"]
        if not household_id or len(household_id) > MAX_HOUSEHOLD_ID or "," in household_id:
            raise HBError(
                f"第 {line} 行：户编号「{household_id}」无效（应为 1—{MAX_HOUSEHOLD_ID} 个字符，不含逗号）",
                file=path,
                hint="检查户编号列",
            )
        if household_id in seen:
            raise HBError(
                f"第 {line} 行：户编号 {household_id} 重复（第 {seen[household_id]} 行已有）",
                file=path,
                hint="每户只能有一行，删除或改正重复的行",
            )
        seen[household_id] = line
        code_text = cells["village_code"]
        village = villages.get(code_text)
        if village is None:
            village = villages[code_text] = (
                *_village(registry, code_text, path, line),
                normalize_code(code_text),
            )
        township, registry_name, village_code = village
        yield (
            township,
            Household(
                household_id=household_id,
                head_name=cells["head_name"],
                village_code=village_code,
                village_name=cells["village_name"] or registry_name,
                id_number=cells["id_number"] or None,
                household_size=_size(cells["household_size"]),
            ),
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
    """Write households as a registration export (UTF-8 with BOM, Chinese header) and return the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8-sig", newline="") as fh:
        out = csv.writer(fh)
        out.writerow(HEADER_ZH)
        for h in households:
            out.writerow(
                [
                    h.household_id,
                    h.head_name,
                    h.id_number or "",
                    "" if h.household_size is None else h.household_size,
                    h.village_code,
                    h.village_name,
                ]
            )
    return path
