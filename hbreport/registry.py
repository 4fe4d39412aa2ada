"""The org-unit registry: who reports to whom, from province down to village.

Loads a CSV ``code,parent,name,level[,virtual,dummy]`` — the layout of the National Bureau of
Statistics division tree (统计用区划代码) — and answers the questions the forms, the consolidator
and the reports ask: a unit's reporting children, its reporting parent, its chain up to the
province, all units of a level under it.

Two kinds of irregular rows are handled:

* placeholders (``virtual`` and not ``dummy``: 市辖区, 省直辖县级行政区划 429000) have no office
  of their own; they are skipped in the reporting tree and their children are lifted to the
  placeholder's parent (仙桃 429004 reports straight to the province);
* stand-ins (``dummy``: 区直辖村模拟镇, 虚拟社区) take the place of a missing unit at their level
  and report like any other unit there, so a county's reporting children stay township-level.
"""

from __future__ import annotations

import csv
import io
import unicodedata
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from hbreport import paths
from hbreport.errors import HBError

LEVELS = ("province", "prefecture", "county", "township", "village")
LEVEL_ZH = {"province": "省", "prefecture": "市州", "county": "县市区", "township": "乡镇", "village": "村"}

#: every spelling of a level the loader accepts -> our level name
LEVEL_ALIASES = {
    **{level: level for level in LEVELS},
    **{zh: level for level, zh in LEVEL_ZH.items()},
    "city": "prefecture",
    "town": "township",
}
_LEVEL_RANK = {level: rank for rank, level in enumerate(LEVELS)}
_SHORT_LENGTH = {"province": 6, "prefecture": 6, "county": 6, "township": 9, "village": 12}
_FLAG_VALUES = {
    "": False,
    "f": False,
    "false": False,
    "0": False,
    "n": False,
    "no": False,
    "否": False,
    "t": True,
    "true": True,
    "1": True,
    "y": True,
    "yes": True,
    "是": True,
}
MAX_NAME_CHARS = 60
"""Longest unit name (the longest in Hubei's division tree has 20 characters); a form's file name
holds it, and file names end at 255 bytes."""
REQUIRED_COLUMNS = ("code", "parent", "name", "level")
OPTIONAL_COLUMNS = ("virtual", "dummy")


def normalize_code(code: str | int) -> str:
    """Return the 12-digit statistical code: ``'421122'`` -> ``'421122000000'``.

    Accepts 6-digit administrative codes (province, prefecture, county), 9-digit township codes
    and full 12-digit codes, as text or int. Raises HBError for anything else.
    """
    text = str(code).strip()
    if not (text.isascii() and text.isdigit() and len(text) in (6, 9, 12)):
        raise HBError(
            f"单位代码「{code}」无效：应为 6 位（省、市州、县市区）、9 位（乡镇）或 12 位统计用区划代码，且只含数字",
            hint="核对代码，例如红安县写 421122 或 421122000000",
        )
    return text.ljust(12, "0")


@dataclass(frozen=True, slots=True)
class Unit:
    """One org unit: a row of the registry, with its 12-digit code and our level name."""

    code: str
    name: str
    level: str
    parent: str | None
    virtual: bool = False
    dummy: bool = False

    @property
    def short_code(self) -> str:
        """6 digits for province/prefecture/county, 9 for a township, 12 for a village."""
        return self.code[: _SHORT_LENGTH[self.level]]

    @property
    def placeholder(self) -> bool:
        """True for a grouping row with no office of its own (市辖区, 省直辖县级行政区划)."""
        return self.virtual and not self.dummy

    @property
    def level_zh(self) -> str:
        return LEVEL_ZH[self.level]


class Registry:
    """The units of one registry file, indexed by 12-digit code, with the reporting tree."""

    def __init__(self, units: Mapping[str, Unit], source: Path | None = None) -> None:
        self.source = source
        self.units = units
        self._raw_children: dict[str, list[str]] = {}
        pairs = (
            units.code_parents()
            if isinstance(units, KeptUnits)
            else ((unit.code, unit.parent) for unit in units.values())
        )
        for code, parent in pairs:
            if parent is not None:
                self._raw_children.setdefault(parent, []).append(code)
        self._children_cache: dict[str, list[Unit]] = {}

    def get(self, code: str | int) -> Unit:
        key = normalize_code(code)
        try:
            return self.units[key]
        except KeyError:
            raise HBError(
                f"代码 {code} 不在单位名册中",
                file=self.source,
                hint="核对单位代码，或在单位名册（units.csv）中补上这个单位后重试",
            ) from None

    def find(self, code: str | int) -> Unit | None:
        """The unit of ``code``; None when the registry has none (or the code is not a code)."""
        try:
            return self.get(code)
        except HBError:
            return None

    def __contains__(self, code: object) -> bool:
        try:
            return normalize_code(code) in self.units  # type: ignore[arg-type]
        except HBError:
            return False

    def __len__(self) -> int:
        return len(self.units)

    def __iter__(self) -> Iterator[Unit]:
        return iter(self.units.values())

    def _raw_child_units(self, code: str) -> Iterator[Unit]:
        for child in self._raw_children.get(code, ()):
            yield self.units[child]

    def children(self, code: str | int) -> list[Unit]:
        """The units that report to ``code``, sorted by code; placeholders are looked through."""
        key = self.get(code).code
        cached = self._children_cache.get(key)
        if cached is None:
            found: list[Unit] = []
            stack = list(self._raw_child_units(key))
            while stack:
                unit = stack.pop()
                if unit.placeholder:
                    stack.extend(self._raw_child_units(unit.code))
                else:
                    found.append(unit)
            cached = sorted(found, key=lambda unit: unit.code)
            self._children_cache[key] = cached
        return list(cached)

    def reporting_parent(self, code: str | int) -> Unit | None:
        """The unit ``code`` reports to (placeholders skipped), or None at the top."""
        parent = self.get(code).parent
        while parent is not None:
            unit = self.units[parent]
            if not unit.placeholder:
                return unit
            parent = unit.parent
        return None

    def descendants(self, code: str | int, level: str) -> list[Unit]:
        """All units of ``level`` below ``code`` (not ``code`` itself), placeholders excluded, by code."""
        level = _level_name(level)
        start = self.get(code)
        found: list[Unit] = []
        if _LEVEL_RANK[level] <= _LEVEL_RANK[start.level]:
            return found
        stack = [start.code]
        while stack:
            for unit in self._raw_child_units(stack.pop()):
                if unit.level == level:
                    if not unit.placeholder:
                        found.append(unit)
                elif _LEVEL_RANK[unit.level] < _LEVEL_RANK[level]:
                    stack.append(unit.code)
        found.sort(key=lambda unit: unit.code)
        return found

    def at_level(self, level: str) -> list[Unit]:
        """All units of a level, placeholders excluded, sorted by code."""
        level = _level_name(level)
        return sorted(
            (unit for unit in self.units.values() if unit.level == level and not unit.placeholder),
            key=lambda unit: unit.code,
        )

    def count_by_level(self) -> dict[str, int]:
        """Number of rows per level (placeholders included), in LEVELS order."""
        counts = dict.fromkeys(LEVELS, 0)
        for unit in self.units.values():
            counts[unit.level] += 1
        return counts

    def path(self, code: str | int) -> list[Unit]:
        """The reporting chain from the top (the province) down to ``code`` itself."""
        chain = [self.get(code)]
        while (parent := self.reporting_parent(chain[-1].code)) is not None:
            chain.append(parent)
        chain.reverse()
        return chain

    def roots(self) -> list[Unit]:
        """The units with no parent in the file (normally the province alone)."""
        return sorted((u for u in self.units.values() if u.parent is None), key=lambda u: u.code)


def _level_name(level: str) -> str:
    name = LEVEL_ALIASES.get(level.strip().lower() if isinstance(level, str) else level)
    if name is None:
        raise HBError(
            f"层级「{level}」无效",
            hint="层级应为 " + "、".join(f"{lv}（{zh}）" for lv, zh in LEVEL_ZH.items()),
        )
    return name


def _invisible(ch: str) -> bool:
    """A control, format or lone surrogate character: nothing a unit's name holds."""
    return unicodedata.category(ch) in ("Cc", "Cf", "Cs")


def _read_text(path: Path) -> str:
    from hbreport.xlsx.input_files import read_input

    return decode_csv_bytes(read_input(path, "单位名册"), path)


def decode_csv_bytes(data: bytes, path: Path) -> str:
    """Decode a CSV file saved as UTF-8 (with or without BOM) or as GBK/GB18030 (Excel's 'CSV' in China)."""
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise HBError("文件编码无法识别", file=path, hint="请另存为 UTF-8 编码的 CSV 文件")  # pragma: no cover


def read_csv_rows(text: str, path: Path, required: tuple[str, ...]) -> tuple[list[str], Iterator]:
    """Check the header of a CSV text; return (header, reader) with the reader positioned after it."""
    reader = csv.reader(io.StringIO(text, newline=""))
    header = next(reader, None)
    if header is None:
        raise HBError("文件是空的，没有表头行", file=path, hint="第 1 行应为表头：" + ",".join(required))
    header = [column.strip().lower() for column in header]
    missing = [column for column in required if column not in header]
    if missing:
        raise HBError(
            f"第 1 行（表头）缺少列：{', '.join(missing)}",
            file=path,
            hint="表头应包含 " + ",".join(required) + "，列名用英文",
        )
    return header, reader


def csv_records(reader, width: int) -> Iterator[tuple[int, list[str]]]:
    """The rows after the header: (line number, cells padded to ``width``), blank lines left out."""
    for row in reader:
        if "".join(row).strip():  # one join, not a strip per cell
            yield reader.line_num, row if len(row) >= width else row + [""] * (width - len(row))


def _parse_registry(text: str, path: Path) -> dict[str, Unit]:
    header, reader = read_csv_rows(text, path, REQUIRED_COLUMNS)
    index = {
        column: header.index(column) for column in REQUIRED_COLUMNS + OPTIONAL_COLUMNS if column in header
    }
    i_code, i_parent, i_name, i_level = (index[c] for c in REQUIRED_COLUMNS)
    i_virtual = index.get("virtual")
    i_dummy = index.get("dummy")
    width = len(header)

    units: dict[str, Unit] = {}
    line_of: dict[str, int] = {}
    raw_parent: dict[str, str] = {}

    def fail(line: int, message: str, hint: str) -> HBError:
        return HBError(f"第 {line} 行：{message}", file=path, hint=hint)

    def code_at(line: int, column: str, value: str) -> str:
        value = value.strip()
        if len(value) == 12 and value.isdigit() and value.isascii():
            return value
        try:
            return normalize_code(value)
        except HBError:
            raise fail(
                line,
                f"{column} 列的代码「{value}」无效",
                "代码应为 6 位（省、市州、县市区）、9 位（乡镇）或 12 位数字",
            ) from None

    def flag_at(line: int, column: str, value: str) -> bool:
        flag = _FLAG_VALUES.get(value.strip().lower())
        if flag is None:
            raise fail(line, f"{column} 列的值「{value}」无效", "填 t 或 f（也可填 是/否、1/0），空白视为 f")
        return flag

    for line, row in csv_records(reader, width):
        code = row[i_code]
        if not (len(code) == 12 and code.isdigit() and code.isascii()):
            code = code_at(line, "code", code)
        level = LEVEL_ALIASES.get(row[i_level]) or LEVEL_ALIASES.get(row[i_level].strip().lower())
        if level is None:
            raise fail(
                line,
                f"层级「{row[i_level]}」无法识别（单位 {code}）",
                "level 列应为 province/prefecture/county/township/village（或 city/town，或 省/市州/县市区/乡镇/村）",
            )
        name = row[i_name].strip()
        if not name:
            raise fail(line, f"单位 {code} 没有名称", "在 name 列填写单位名称")
        if len(name) > MAX_NAME_CHARS:
            raise fail(
                line,
                f"单位 {code} 的名称有 {len(name):,} 个字，超过 {MAX_NAME_CHARS} 个字的上限（「{name[:20]}……」）",
                "name 列只填单位名称本身（湖北最长的单位名称 20 个字）；检查是否把多列内容粘贴进了一个单元格",
            )
        control = None if name.isprintable() else next((ch for ch in name if _invisible(ch)), None)
        if control is not None:
            raise fail(
                line,
                f"单位 {code} 的名称「{name.encode('unicode_escape').decode('ascii')}」含不可见的控制字符 "
                f"U+{ord(control):04X}",
                "多为从其他系统复制时带入的换行、制表或格式符号：在 Excel 或文本编辑器中删去后另存为 CSV",
            )
        if code in units:
            raise fail(
                line,
                f"代码 {code} 重复（第 {line_of[code]} 行已有「{units[code].name}」）",
                "每个单位只能出现一次，删除或改正重复的行",
            )
        parent = row[i_parent]
        if not (len(parent) == 12 and parent.isdigit() and parent.isascii()):
            parent_text = parent.strip()
            parent = code_at(line, "parent", parent_text) if parent_text else None
        if parent == code:
            raise fail(line, f"单位 {code} 的上级是它自己", "parent 列应填上级单位的代码")
        virtual = False if i_virtual is None else _FLAG_VALUES.get(row[i_virtual])
        if virtual is None:
            virtual = flag_at(line, "virtual", row[i_virtual])
        dummy = False if i_dummy is None else _FLAG_VALUES.get(row[i_dummy])
        if dummy is None:
            dummy = flag_at(line, "dummy", row[i_dummy])
        units[code] = Unit(code, name, level, parent, virtual, dummy)
        line_of[code] = line
        if parent is not None:
            raw_parent[code] = parent

    if not units:
        raise HBError("单位名册没有数据行", file=path, hint="第 2 行起每行填写一个单位")

    # A parent outside the file is allowed only for the top level present (the province row of
    # the national tree names 100000000000 as its parent); everything else must hang in the tree.
    top_rank = min(_LEVEL_RANK[unit.level] for unit in units.values())
    for code, parent in raw_parent.items():
        unit = units[code]
        parent_unit = units.get(parent)
        if parent_unit is None:
            if _LEVEL_RANK[unit.level] == top_rank:
                units[code] = Unit(unit.code, unit.name, unit.level, None, unit.virtual, unit.dummy)
                continue
            raise HBError(
                f"第 {line_of[code]} 行：单位 {code}「{unit.name}」的上级 {parent} 不在名册中",
                file=path,
                hint="在名册中补上上级单位，或改正 parent 列的代码",
            )
        if _LEVEL_RANK[parent_unit.level] >= _LEVEL_RANK[unit.level]:
            raise HBError(
                f"第 {line_of[code]} 行：单位 {code}「{unit.name}」（{LEVEL_ZH[unit.level]}）的上级 "
                f"{parent}「{parent_unit.name}」是{LEVEL_ZH[parent_unit.level]}，层级不比它高",
                file=path,
                hint="上级单位的层级必须高于本单位，核对 parent 列和 level 列",
            )
    for code, unit in units.items():
        if unit.parent is None and _LEVEL_RANK[unit.level] != top_rank:
            raise HBError(
                f"第 {line_of[code]} 行：单位 {code}「{unit.name}」没有填上级单位",
                file=path,
                hint="在 parent 列填写上级单位的代码",
            )
    return units


_CODE, _PARENT = Unit.__slots__.index("code"), Unit.__slots__.index("parent")  # a kept copy's columns


class KeptUnits(Mapping[str, Unit]):
    """The units of a kept copy (:func:`_parse_kept`), by code, each made when it is first asked for:
    a command uses a few hundred of the 31,000 (a county's townships, a township's villages), and
    making every one costs more than reading the copy. Iterated, it yields every code in file order."""

    def __init__(self, columns: list[list]) -> None:
        if len({len(c) for c in columns}) != 1 or len(columns) != len(Unit.__slots__):
            raise ValueError("columns of unequal length")
        self._columns = columns
        self._at = dict(zip(columns[_CODE], range(len(columns[_CODE])), strict=True))
        if len(self._at) != len(columns[_CODE]):
            raise ValueError("a code twice")
        self._made: dict[str, Unit] = {}

    def __getitem__(self, code: str) -> Unit:
        unit = self._made.get(code)
        if unit is None:
            i = self._at[code]
            unit = self._made[code] = Unit(*(column[i] for column in self._columns))
        return unit

    def __contains__(self, code: object) -> bool:
        return code in self._at

    def __iter__(self) -> Iterator[str]:
        return iter(self._at)

    def __len__(self) -> int:
        return len(self._at)

    def code_parents(self) -> Iterator[tuple[str, str | None]]:
        """(code, parent) of every unit, none of them made."""
        return zip(self._columns[_CODE], self._columns[_PARENT], strict=True)


_CACHE = paths.FileCache()


def load_registry(path: str | Path | None = None) -> Registry:
    """Load an org-unit CSV (default: the embedded Hubei sample); cached per file until it changes."""
    resolved = Path(path if path is not None else paths.SAMPLE_UNITS).resolve()
    return _CACHE.get(resolved, lambda p: Registry(_parse_kept(_read_text(p), p), p))


def _parse_kept(text: str, path: Path) -> Mapping[str, Unit]:
    """The units of ``text``, parsed and checked once per text and kept between runs
    (:mod:`hbreport.kept`): the real tree's 31,000 rows take ~0.1 s to parse and check; their kept
    copy is read back in a tenth of that, each unit made when it is first asked for (:class:`KeptUnits`).
    A text with an error is never kept: it raises its message each time."""
    from hbreport.kept import kept

    return kept(
        "registry",
        text,
        lambda t: _parse_registry(t, path),
        plain=lambda units: [[getattr(u, name) for u in units.values()] for name in Unit.__slots__],
        build=KeptUnits,
    )
