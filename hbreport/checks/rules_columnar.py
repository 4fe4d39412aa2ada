"""The rule language's third backend: one expression evaluated over a whole column of rows at once.

:mod:`hbreport.checks.rules` compiles an expression to Excel formula text and to a Python closure run row by
row. Here the same tree is compiled to operations on numpy arrays over every row of a table (a
township's households): each node's value is a :class:`Column` — per row a kind (blank, number,
boolean, text, error), the number, the text or error, and whether it is a cell (a field read as its
cell, as a :class:`~hbreport.checks.xlsemantics.Ref`, which decides which error wins).

Rows whose operands are plain (numbers, booleans, blanks; text against text for ``=``/``<>``; the
kinds the roster's rules meet) are computed by whole arrays, with LibreOffice's number tolerance
(``approx_equal``) and error rules written out for arrays. Every other row — text in a number cell,
an error value, ordering text, the functions not written for arrays (ROUND, INT, MOD, LEN, MIN, MAX,
SUM, COUNT, COUNTIF) — is computed by the very functions of :mod:`hbreport.checks.xlsemantics` the Python
backend calls, on that row's values. So the three backends give the same result on every row
(tests/test_rules_columnar.py holds them equal on the random expressions of the LibreOffice
agreement test and on the roster's own rules).

numpy was chosen over polars: a spreadsheet column holds numbers, text and errors side by side,
which a polars column cannot type without falling back to Python objects; numpy is already installed
(pandas needs it), so there is no new dependency.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from itertools import repeat
from typing import Any

import numpy as np

from hbreport.checks.idcard import CHECK_CHARS, WEIGHTS
from hbreport.checks.rules import (
    FUNCTIONS,
    Expr,
    Node,
    Rule,
    _arith,
    _as_cell_value,
    _call,
    _compare,
    _negative,
)
from hbreport.checks.xlsemantics import _E48, ARITHMETIC, COMPARISONS, DIV0, NUM, VALUE, Ref, XLError, to_bool

__all__ = [
    "FAIL",
    "INVALID",
    "PASS",
    "SKIP",
    "Column",
    "evaluate_columns",
    "rule_statuses",
    "STATUS_NAMES",
]

BLANK, NUMBER, BOOL, TEXT, ERROR = 0, 1, 2, 3, 4
_OTHER = 5  # while loading: a value to look at one by one (int, date, Ref, NaN, infinite)
_KINDS = {type(None): BLANK, float: NUMBER, int: NUMBER, bool: BOOL, str: TEXT, XLError: ERROR}
PASS, FAIL, SKIP, INVALID = 0, 1, 2, 3
STATUS_NAMES = ("pass", "fail", "skip", "invalid")
_WHOLE_LIMIT = 2.0**53


class NotColumnar(Exception):
    """A field stands for a column (a list given for SUM / COUNT / COUNTIF): evaluated row by row."""


class Column:
    """The values of one expression node over ``n`` rows."""

    __slots__ = ("kind", "num", "obj", "cell", "_lower", "_bools", "_texts")

    def __init__(self, kind: np.ndarray, num: np.ndarray, obj: np.ndarray | None, cell: np.ndarray) -> None:
        self.kind = kind  # int8: BLANK, NUMBER, BOOL, TEXT, ERROR
        self.num = num  # float64: the number (a boolean as 1/0), 0 where none
        self.obj = obj  # object: the text or XLError where kind is TEXT or ERROR (None when there is none)
        self.cell = cell  # bool: the value is a cell's (a Ref of one cell)
        self._lower: np.ndarray | None = None
        self._bools: bool | None = None  # see all_bools, all_texts
        self._texts: bool | None = None

    def __len__(self) -> int:
        return len(self.kind)

    def all_bools(self) -> bool:
        """Every row a boolean, none of them a cell's (kept once found, as a column is not changed once
        made): AND, OR and IF over such columns are computed on the booleans alone."""
        if self._bools is None:
            self._bools = bool((self.kind == BOOL).all()) and not self.cell.any()
        return self._bools

    def all_texts(self) -> bool:
        """Every row a text or a blank (kept once found): ``=`` and ``<>`` between such columns compare
        the texts alone."""
        if self._texts is None:
            self._texts = bool(((self.kind == TEXT) | (self.kind == BLANK)).all())
        return self._texts

    @classmethod
    def constant(cls, n: int, value: Any) -> Column:
        kind, number, other = _classify(value)
        obj = None
        if other is not None:
            obj = _objects(n, other)
        col = cls(
            np.full(n, kind, dtype=np.int8), np.full(n, number, dtype=float), obj, np.zeros(n, dtype=bool)
        )
        if kind == TEXT:
            col._lower = _objects(n, other.lower())
        return col

    @classmethod
    def from_values(cls, values: Sequence[Any], *, cell: bool = False) -> Column:
        """Values as a field holds them (None, NaN, numbers, text, booleans, dates, XLError; ``cell``)
        or as a function returns them (a Ref of one cell is that cell)."""
        n = len(values)
        kinds = {_KINDS.get(t, _OTHER) for t in set(map(type, values))}
        only = kinds.pop() if len(kinds) == 1 else None
        if only is not None:  # a column of one kind (texts, numbers): its kind once
            kind = np.full(n, only, dtype=np.int8)
        else:
            kind = np.fromiter(map(_KINDS.get, map(type, values), repeat(_OTHER, n)), dtype=np.int8, count=n)
        num = np.zeros(n, dtype=float)
        cells = np.full(n, cell, dtype=bool)
        obj = None
        if n and (kind >= TEXT).any():
            obj = np.empty(n, dtype=object)
        others = np.flatnonzero(kind == _OTHER).tolist() if n and (kind == _OTHER).any() else []
        numbers = np.flatnonzero((kind == NUMBER) | (kind == BOOL)) if n else []
        if len(numbers):
            picked = list(values) if len(numbers) == n else [values[i] for i in numbers.tolist()]
            try:
                num[numbers] = picked
            except OverflowError:  # an integer past the largest number: one by one
                for i, v in zip(numbers.tolist(), picked, strict=True):
                    try:
                        num[i] = v
                    except OverflowError:
                        kind[i] = _OTHER
            bad = ~np.isfinite(num[numbers]) | (kind[numbers] == _OTHER)
            if bad.any():  # NaN (a blank in a cell), an infinite number, a huge integer
                kind[numbers[bad]] = _OTHER
                num[numbers[bad]] = 0.0
                others = sorted({*others, *numbers[bad].tolist()})
        if obj is not None and (only == TEXT or only == ERROR):
            obj[:] = values  # every row a text (or every row an error)
        elif obj is not None:
            texts = np.flatnonzero((kind == TEXT) | (kind == ERROR)).tolist()
            obj[texts] = list(map(values.__getitem__, texts))
        for i in others:
            raw = values[i]
            if type(raw) is Ref:
                if len(raw.cells) != 1:
                    raise NotColumnar
                cells[i] = True
                raw = raw.cells[0]
            elif cell:
                if isinstance(raw, list | tuple):
                    raise NotColumnar
                try:
                    raw = _as_cell_value(raw)
                except TypeError:
                    from hbreport.errors import HBError

                    raise HBError(
                        f"值 {raw!r} 不是表格能保存的值", hint="只能是数字、文字、日期或空"
                    ) from None
            k, number, other = _classify(raw)
            kind[i] = k
            num[i] = number
            if other is not None:
                if obj is None:
                    obj = np.empty(n, dtype=object)
                obj[i] = other
        return cls(kind, num, obj, cells)

    def value(self, i: int) -> Any:
        """Row ``i`` as the Python backend holds it: a value, or a Ref when it is a cell."""
        k = self.kind[i]
        if k == NUMBER:
            v: Any = float(self.num[i])
        elif k == BLANK:
            v = None
        elif k == BOOL:
            v = bool(self.num[i])
        else:
            v = self.obj[i]
        return Ref((v,)) if self.cell[i] else v

    def lower(self) -> np.ndarray:
        """Text rows lower-cased ('' for a blank), for equality of text (kept once made)."""
        if self._lower is None:
            out = np.empty(len(self.kind), dtype=object)
            out[:] = ""
            if self.obj is not None:
                rows = np.flatnonzero(self.kind == TEXT)
                texts = self.obj[rows]
                distinct = set(texts.tolist())
                if len(distinct) * 4 > len(rows) or any(t != t.lower() for t in distinct):
                    texts = list(map(str.lower, texts.tolist()))
                out[rows] = texts  # a column of a few texts, none with a capital letter, as it is
            self._lower = out
        return self._lower

    def python(self) -> list[Any]:
        """What :meth:`Expr.evaluate` gives on each row: whole numbers as int, a blank as 0."""
        if self.obj is not None and (self.kind >= TEXT).all():  # texts and errors alone: as they are
            return self.obj.tolist()
        if self.all_bools():
            return (self.num != 0.0).tolist()
        out: list[Any] = []
        kinds = self.kind.tolist()
        nums = self.num.tolist()
        for i, k in enumerate(kinds):
            if k == NUMBER:
                x = nums[i]
                if x - x != 0.0:
                    out.append(NUM)
                elif x.is_integer() and -_WHOLE_LIMIT < x < _WHOLE_LIMIT:
                    out.append(int(x))
                else:
                    out.append(x)
            elif k == BOOL:
                out.append(nums[i] != 0.0)
            elif k == BLANK:
                out.append(0)
            else:
                out.append(self.obj[i])
        return out


def _objects(n: int, value: Any) -> np.ndarray:
    """``n`` times ``value`` in an object array (``fill``: a tenth of ``np.full``'s time for objects)."""
    out = np.empty(n, dtype=object)
    out.fill(value)
    return out


def _classify(value: Any) -> tuple[int, float, Any]:
    if value is None:
        return BLANK, 0.0, None
    kind = type(value)
    if kind is bool:
        return BOOL, 1.0 if value else 0.0, None
    if kind is float:
        return NUMBER, value, None
    if kind is str:
        return TEXT, 0.0, value
    if isinstance(value, XLError):
        return ERROR, 0.0, value
    if isinstance(value, int | float):
        return NUMBER, float(value), None
    raise TypeError(f"not a cell value: {value!r}")


def _merge(n: int, parts: Sequence[tuple[np.ndarray, Column]]) -> Column:
    """Rows taken from several columns by masks (disjoint, covering every row)."""
    kind = np.zeros(n, dtype=np.int8)
    num = np.zeros(n, dtype=float)
    cell = np.zeros(n, dtype=bool)
    obj = None
    for mask, col in parts:
        kind[mask] = col.kind[mask]
        num[mask] = col.num[mask]
        cell[mask] = col.cell[mask]
        if col.obj is not None:
            if obj is None:
                obj = np.empty(n, dtype=object)
            obj[mask] = col.obj[mask]
    return Column(kind, num, obj, cell)


def _with_rows(base: Column, rows: np.ndarray, values: list[Any]) -> Column:
    """``base`` with ``rows`` replaced by values computed one by one."""
    if not len(rows):
        return base
    patch = Column.from_values(values)
    kind, num, cell = base.kind, base.num, base.cell
    kind[rows] = patch.kind
    num[rows] = patch.num
    cell[rows] = patch.cell
    obj = base.obj
    if patch.obj is not None:
        if obj is None:
            obj = np.empty(len(kind), dtype=object)
        obj[rows] = patch.obj
    elif obj is not None:
        obj[rows] = None
    return Column(kind, num, obj, cell)


def _numbers(n: int, values: np.ndarray, errors: dict[XLError, np.ndarray] | None = None) -> Column:
    kind = np.full(n, NUMBER, dtype=np.int8)
    obj = None
    for error, mask in (errors or {}).items():
        if mask.any():
            kind[mask] = ERROR
            if obj is None:
                obj = np.empty(n, dtype=object)
            obj[mask] = error
    return Column(kind, np.where(kind == NUMBER, values, 0.0), obj, np.zeros(n, dtype=bool))


def _booleans(truth: np.ndarray) -> Column:
    n = len(truth)
    out = Column(np.full(n, BOOL, dtype=np.int8), truth.astype(float), None, np.zeros(n, dtype=bool))
    out._bools = True  # (a column given to _with_rows is let go: the column it gives is another)
    return out


def _plain(col: Column) -> np.ndarray:
    """Rows that hold a number, a boolean or a blank (0 in arithmetic and comparison)."""
    return col.kind <= BOOL


def approx_equal(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """:func:`hbreport.checks.xlsemantics.approx_equal` of two arrays."""
    with np.errstate(all="ignore"):
        same = a == b
        diff = np.abs(a - b)
        aa, ab = np.abs(a), np.abs(b)
        near = (
            ~same
            & (a != 0.0)
            & (b != 0.0)
            & (np.signbit(a) == np.signbit(b))
            & np.isfinite(diff)
            & (diff < aa * _E48)
            & (diff < ab * _E48)
        )
        whole = (aa < _WHOLE_LIMIT) & (aa == np.floor(aa)) & (ab < _WHOLE_LIMIT) & (ab == np.floor(ab))
    return same | (near & ~whole)


# --- compiling -----------------------------------------------------------------------

Program = Callable[["Table"], Column]


class Table:
    """The rows expressions run over: {field: one value per row}; each field's column is made once,
    however many expressions read it (pass one Table to several calls)."""

    def __init__(self, columns: Mapping[str, Sequence[Any]], n: int | None = None) -> None:
        self.columns = columns
        self.n = _length(columns, n)
        self.made: dict[str, Column] = {}
        self.made_constants: dict[tuple[type, Any], Column] = {}
        self.results: dict[int, Column] = {}  # a node's value, by :data:`_NODE_KEYS`: shared subexpressions

    def constant(self, value: Any) -> Column:
        """A constant over every row, made once per table (operations never change their operands)."""
        key = (type(value), value)
        col = self.made_constants.get(key)
        if col is None:
            col = self.made_constants[key] = Column.constant(self.n, value)
        return col

    def field(self, name: str) -> Column:
        col = self.made.get(name)
        if col is None:
            raw = self.columns.get(name)
            col = Column.from_values([None] * self.n if raw is None else raw, cell=True)
            if len(col) != self.n:
                raise ValueError(f"column {name} has {len(col)} rows, not {self.n}")
            self.made[name] = col
        return col


def _row_by_row(n: int, function: Callable[..., Any], args: Sequence[Column], rows: np.ndarray) -> list:
    return [function(*(a.value(i) for a in args)) for i in rows.tolist()]


_NODE_KEYS: dict[Node, int] = {}
"""Every compiled node (other than a constant or a field) by its number: the same subexpression in
several expressions (a criterion of the exit standard in 达到脱贫标准 and in the rule that names it)
is computed once per table."""


def _compile(node: Node) -> Program:
    made = _compile_node(node)
    if node.kind in ("num", "text", "bool", "field"):
        return made
    key = _NODE_KEYS.setdefault(node, len(_NODE_KEYS))

    def shared(t: Table) -> Column:  # a node's value is never changed once made, as constants
        found = t.results.get(key)
        if found is None:
            found = t.results[key] = made(t)
        return found

    return shared


def _compile_node(node: Node) -> Program:
    kind = node.kind
    if kind in ("num", "text", "bool"):
        value = node.value
        return lambda t: t.constant(value)
    if kind == "field":
        name = node.value
        return lambda t: t.field(name)
    if kind == "neg":
        return _compile_neg(_compile(node.args[0]))
    if kind == "arith":
        return _compile_arith(node.value, _compile(node.args[0]), _compile(node.args[1]))
    if kind == "compare":
        return _compile_compare(node.value, _compile(node.args[0]), _compile(node.args[1]))
    name = node.value
    args = [_compile(a) for a in node.args]
    if name == "IF":
        return _compile_if(*args)
    if name == "IFERROR":
        return _compile_iferror(*args)
    if name in ("AND", "OR"):
        return _compile_logical(name, args)
    if name == "NOT":
        return _compile_not(args[0])
    if name in ("ISBLANK", "ISNUMBER"):
        return _compile_is(name, args[0])
    if name == "IDCHECK":
        return _compile_idcheck(args[0])
    return _compile_function(name, args)


def _compile_neg(operand: Program) -> Program:
    def neg(t: Table) -> Column:
        x = operand(t)
        plain = _plain(x)
        out = _numbers(t.n, -x.num)
        return _with_rows(
            out, np.flatnonzero(~plain), _row_by_row(t.n, _negative, [x], np.flatnonzero(~plain))
        )

    return neg


def _compile_arith(op: str, left: Program, right: Program) -> Program:
    apply = ARITHMETIC[op]

    def arith(t: Table) -> Column:
        a, b = left(t), right(t)
        x, y = a.num, b.num
        with np.errstate(all="ignore"):
            if op == "+":
                result = np.where(((x < 0) & (y > 0) | (y < 0) & (x > 0)) & approx_equal(x, -y), 0.0, x + y)
                errors = {}
            elif op == "-":
                result = np.where(((x < 0) & (y < 0) | (x > 0) & (y > 0)) & approx_equal(x, y), 0.0, x - y)
                errors = {}
            elif op == "*":
                result = x * y
                errors = {}
            else:
                zero = y == 0.0
                result = np.where(zero, 0.0, x / np.where(zero, 1.0, y))
                errors = {DIV0: zero}
        errors[NUM] = ~np.isfinite(result)
        out = _numbers(t.n, result, errors)
        slow = np.flatnonzero(~(_plain(a) & _plain(b)))
        values = [_arith(apply, a.value(i), b.value(i), False, False) for i in slow.tolist()]
        return _with_rows(out, slow, values)

    return arith


def _compile_compare(op: str, left: Program, right: Program) -> Program:
    test = COMPARISONS[op]
    equality = op in ("=", "<>")
    equal, less, greater = test(0), test(-1), test(1)

    def comparison(t: Table) -> Column:
        a, b = left(t), right(t)
        if equality and a.all_texts() and b.all_texts():  # texts and blanks only (a blank is "")
            same_text = (a.lower() == b.lower()).astype(bool)
            return _booleans(same_text if equal else ~same_text)
        numeric = _plain(a) & _plain(b)
        same = approx_equal(a.num, b.num)
        truth = np.where(same, equal, np.where(a.num < b.num, less, greater))
        done = numeric
        if equality:
            texts = ((a.kind == TEXT) | (a.kind == BLANK)) & ((b.kind == TEXT) | (b.kind == BLANK))
            texts &= ~numeric
            if texts.any():
                rows = np.flatnonzero(texts)
                equal_text = a.lower()[rows] == b.lower()[rows]
                truth[rows] = np.where(equal_text.astype(bool), equal, not equal)
                done = numeric | texts
        out = _booleans(truth)
        slow = np.flatnonzero(~done)
        values = [_compare(test, equality, a.value(i), b.value(i), False, False) for i in slow.tolist()]
        return _with_rows(out, slow, values)

    return comparison


def _truth(t: Table, test: Column) -> tuple[np.ndarray, Column | None, np.ndarray]:
    """IF's condition per row: (true?, the errors, rows where it is an error), as :func:`to_bool`."""
    truth = test.num != 0.0
    wrong = np.zeros(t.n, dtype=bool)
    slow = np.flatnonzero(~_plain(test)).tolist()
    if not slow:
        return truth, None, wrong
    found = [to_bool(test.value(i)) for i in slow]
    for i, v in zip(slow, found, strict=True):
        if isinstance(v, XLError):
            wrong[i] = True
        else:
            truth[i] = v
    if not wrong.any():
        return truth, None, wrong
    errors = [v if isinstance(v, XLError) else None for v in found]
    return truth, _with_rows(Column.constant(t.n, None), np.array(slow), errors), wrong


def _compile_if(test: Program, yes: Program, no: Program | None = None) -> Program:
    def if_(t: Table) -> Column:
        condition = test(t)
        if condition.all_bools():  # booleans, each chosen between booleans: no error, no cell
            yes_value = yes(t)
            otherwise = no(t) if no is not None else t.constant(False)
            if yes_value.all_bools() and otherwise.all_bools():
                return _booleans(np.where(condition.num != 0.0, yes_value.num, otherwise.num) != 0.0)
        truth, errors, wrong = _truth(t, condition)
        chosen_yes = truth & ~wrong
        chosen_no = ~truth & ~wrong
        otherwise = no(t) if no is not None else t.constant(False)
        parts = [(chosen_yes, yes(t)), (chosen_no, otherwise)]
        if errors is not None:
            parts.append((wrong, errors))
        return _merge(t.n, parts)

    return if_


def _compile_iferror(first: Program, fallback: Program) -> Program:
    def iferror(t: Table) -> Column:
        value = first(t)
        failed = value.kind == ERROR
        if not failed.any():
            return value
        return _merge(t.n, [(~failed, value), (failed, fallback(t))])

    return iferror


def _compile_logical(name: str, args: list[Program]) -> Program:
    function = FUNCTIONS[name][0]
    conjunction = name == "AND"

    def logical(t: Table) -> Column:
        values = [a(t) for a in args]
        if values and all(v.all_bools() for v in values):  # every argument a boolean on every row
            truths = [v.num != 0.0 for v in values]
            return _booleans(np.logical_and.reduce(truths) if conjunction else np.logical_or.reduce(truths))
        plain = np.ones(t.n, dtype=bool)
        counted = np.zeros(t.n, dtype=np.int64)
        if conjunction:
            truth = np.ones(t.n, dtype=bool)
        else:
            truth = np.zeros(t.n, dtype=bool)
        for v in values:
            plain &= _plain(v)
            present = v.kind != BLANK
            counted += present
            if conjunction:
                truth &= ~present | (v.num != 0.0)
            else:
                truth |= present & (v.num != 0.0)
        out = _booleans(truth)
        none = plain & (counted == 0)
        if none.any():
            out = _with_rows(out, np.flatnonzero(none), [VALUE] * int(none.sum()))
        slow = np.flatnonzero(~plain)
        return _with_rows(out, slow, [_call(function, [v.value(i) for v in values]) for i in slow.tolist()])

    return logical


def _compile_not(arg: Program) -> Program:
    function = FUNCTIONS["NOT"][0]

    def not_(t: Table) -> Column:
        v = arg(t)
        plain = _plain(v)
        out = _booleans(v.num == 0.0)
        slow = np.flatnonzero(~plain)
        return _with_rows(out, slow, [_call(function, [v.value(i)]) for i in slow.tolist()])

    return not_


def _compile_is(name: str, arg: Program) -> Program:
    blank = name == "ISBLANK"

    def is_(t: Table) -> Column:
        v = arg(t)
        return _booleans(v.kind == BLANK if blank else (v.kind == NUMBER) | (v.kind == BOOL))

    return is_


_WEIGHTS = np.array(WEIGHTS, dtype=np.int64)
_CHECK = np.frombuffer(CHECK_CHARS.encode("ascii"), dtype=np.uint8)


def idcheck(texts: list[str]) -> np.ndarray:
    """:func:`hbreport.checks.rules.fn_idcheck` of many texts: 18 ASCII characters, 17 digits and the right
    check character (a character outside ASCII can never be a digit or the check character)."""
    truth = np.zeros(len(texts), dtype=bool)
    shaped = [i for i, s in enumerate(texts) if len(s) == 18 and s.isascii()]
    if not shaped:
        return truth
    raw = np.frombuffer("".join(texts[i] for i in shaped).encode("ascii"), dtype=np.uint8).reshape(-1, 18)
    digits = raw[:, :17].astype(np.int64) - 48
    ok = ((digits >= 0) & (digits <= 9)).all(axis=1)
    check = _CHECK[(digits.clip(0, 9) @ _WEIGHTS) % 11]
    truth[np.array(shaped)] = ok & (check == raw[:, 17])
    return truth


def _compile_idcheck(arg: Program) -> Program:
    def idcheck_(t: Table) -> Column:
        v = arg(t)
        truth = np.zeros(t.n, dtype=bool)
        rows = np.flatnonzero(v.kind == TEXT)
        if len(rows):
            truth[rows] = idcheck(v.obj[rows].tolist())
        return _booleans(truth)

    return idcheck_


def _compile_function(name: str, args: list[Program]) -> Program:
    """Functions not written for arrays: the Python backend's own call on every row."""
    function, _, _, errors_pass = FUNCTIONS[name]

    def call(t: Table) -> Column:
        values = [a(t) for a in args]
        rows = np.arange(t.n)
        if errors_pass:
            results = [_call(function, [v.value(i) for v in values]) for i in rows.tolist()]
        else:
            results = [function(*(v.value(i) for v in values)) for i in rows.tolist()]
        return Column.from_values(results)

    return call


_PROGRAMS: dict[str, Program] = {}


def program(expr: Expr) -> Program:
    """The expression compiled once to array operations."""
    found = _PROGRAMS.get(expr.text)
    if found is None:
        found = _PROGRAMS[expr.text] = _compile(expr.root)
    return found


# --- public API ------------------------------------------------------------------------


def _length(columns: Mapping[str, Sequence[Any]], n: int | None) -> int:
    if n is not None:
        return n
    lengths = {len(v) for v in columns.values()}
    if len(lengths) != 1:
        raise ValueError("columns of different lengths: give n")
    return lengths.pop()


def _table(columns: Table | Mapping[str, Sequence[Any]], n: int | None) -> Table:
    return columns if isinstance(columns, Table) else Table(columns, n)


def _row(table: Table, i: int) -> dict[str, Any]:
    return {k: v[i] for k, v in table.columns.items()}


def evaluate_columns(
    expr: Expr, columns: Table | Mapping[str, Sequence[Any]], n: int | None = None
) -> list[Any]:
    """:meth:`Expr.evaluate` on every row of ``columns`` ({field: one value per row}, or a
    :class:`Table`) at once.

    A field missing from ``columns`` is blank on every row. A field whose values are lists (columns for
    SUM / COUNT / COUNTIF) makes the expression run row by row through the Python backend."""
    table = _table(columns, n)
    try:
        return program(expr)(table).python()
    except NotColumnar:
        return [expr.evaluate(_row(table, i)) for i in range(table.n)]


def rule_statuses(
    rule: Rule, columns: Table | Mapping[str, Sequence[Any]], n: int | None = None
) -> np.ndarray:
    """:meth:`Rule.check` on every row at once: an array of PASS, FAIL, SKIP or INVALID."""
    table = _table(columns, n)
    n = table.n
    try:
        guard = rule._guard_fields()  # the form's guard when it has one (derived fields as their inputs)
        status = np.full(n, PASS, dtype=np.int8)
        skip = np.zeros(n, dtype=bool)
        if guard:
            blanks = [table.field(name).kind == BLANK for name in guard]
            if rule.missing == "skip_if_any":
                skip = np.logical_or.reduce(blanks)
            else:
                skip = np.logical_and.reduce(blanks)
        result = program(rule.compiled())(table)
    except NotColumnar:
        codes = {name: i for i, name in enumerate(STATUS_NAMES)}
        return np.array([codes[rule.check(_row(table, i))] for i in range(n)], dtype=np.int8)
    boolean = result.kind == BOOL
    status[boolean & (result.num == 0.0)] = FAIL
    status[~boolean] = INVALID
    status[skip] = SKIP
    return status
