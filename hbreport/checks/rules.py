"""The rule language: short expressions over field names, compiled to Python evaluation and Excel formulas.

An expression such as ``exited_people <= poor_people`` or ``IF(poor_people > 0,
exited_people / poor_people, "")`` is parsed with :mod:`ast` (never evaluated by Python) into a
small tree of :class:`Node` values. The same tree gives

- :meth:`Expr.evaluate`: the value a spreadsheet would compute (see :mod:`hbreport.checks.xlsemantics`),
  through a chain of Python closures made once from the tree (no text is ever executed),
- :meth:`Expr.to_excel`: the formula text, using only functions that Excel 2010, WPS and
  LibreOffice all have.

The language: numbers, "text" (double or single quotes), TRUE/FALSE, field names, ``+ - * /``,
unary ``-``, comparisons (chains such as ``0 <= x <= 100`` too), ``and``/``or``/``not``,
``x in ("是", "否")``, and the functions in :data:`FUNCTION_NAMES` written in upper case. One of
them is a domain primitive: ``IDCHECK(x)``, the resident ID check digit, compiled to a native
MID/SUMPRODUCT formula and evaluated in Python through :mod:`hbreport.checks.idcard`.
"""

from __future__ import annotations

import ast
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from functools import cached_property, lru_cache
from typing import Any, NamedTuple

from hbreport.checks.xlsemantics import (
    _E48,
    ARITHMETIC,
    COMPARISONS,
    DIV0,
    FUNCTIONS,
    NUM,
    Ref,
    Value,
    XLError,
    approx_equal,
    compare,
    convert_numbers,
    from_python,
    scalar,
    text_to_number,
    to_bool,
    to_number,
    to_python,
)
from hbreport.errors import HBError

__all__ = [
    "IMPORTANCE",
    "MISSING",
    "Expr",
    "Rule",
    "XLError",
    "row_check_formula",
    "row_check_python",
]


def fn_idcheck(value: Value | Ref) -> bool:
    """IDCHECK(x): TRUE when x is text of 18 characters, 17 digits and the ISO 7064 MOD 11-2 check
    character (uppercase X for 10), as the native formula of :func:`idcheck_excel` computes it."""
    from hbreport.checks.idcard import check_char

    text = scalar(value)
    if not isinstance(text, str) or len(text.encode("utf-16-le")) // 2 != 18:
        return False
    body = text[:17]
    return all(c in "0123456789" for c in body) and check_char(body) == text[17]


def idcheck_excel(x: str) -> str:
    """IDCHECK(x) as a native formula: MID over the 17 digits, SUMPRODUCT with the weights, EXACT."""
    from hbreport.checks.idcard import CHECK_CHARS, WEIGHTS

    places = "{" + ",".join(str(i) for i in range(1, 18)) + "}"
    weights = "{" + ",".join(str(w) for w in WEIGHTS) + "}"
    digits = f'SUMPRODUCT(--ISNUMBER(FIND(MID({x},{places},1),"0123456789")))=17'
    total = f"SUMPRODUCT(--MID({x},{places},1),{weights})"
    check = f'EXACT(MID("{CHECK_CHARS}",MOD({total},11)+1,1),RIGHT({x},1))'
    return f"IF(ISTEXT({x}),IF(LEN({x})=18,IF({digits},{check},FALSE),FALSE),FALSE)"


# IDCHECK: the one domain primitive (resident ID check digit); errors in its argument give FALSE.
FUNCTIONS = {**FUNCTIONS, "IDCHECK": (fn_idcheck, 1, 1, False)}
FUNCTION_NAMES = (*FUNCTIONS, "IF", "IFERROR")
AGGREGATES = ("SUM", "COUNT", "COUNTIF")  # field names given to these may stand for a column
CONDITION_FUNCTIONS = ("AND", "OR", "NOT", "ISBLANK", "ISNUMBER", "IDCHECK")
MAX_TEXT_LENGTH = 2000
MAX_DEPTH = 100  # nested operations, well inside what Python and the spreadsheets handle
MAX_STRING = 255  # longest text constant a formula may hold
MAX_FORMULA = 8192  # longest formula Excel accepts
IMPORTANCE = {"error": "错误", "warning": "警告"}
MISSING = ("skip_if_any", "skip_if_all", "never_skip")

_LANGUAGE_HINT = (
    "表达式只能由数字、带引号的文字、字段名、+ - * /、比较（< <= > >= == !=）、and / or / not、"
    'x in ("是", "否") 以及大写函数 ' + "、".join(FUNCTION_NAMES) + " 组成"
)
_SYNTAX_HINT = "比较相等用 ==，不等用 !=；括号、逗号、引号须用半角符号；文字须用引号括起"

# --- the tree ------------------------------------------------------------------------


class Node(NamedTuple):
    """One node of a parsed expression.

    kind: "num" | "text" | "bool" (value), "field" (value = name), "neg" (args = operand),
    "arith" / "compare" (value = operator in Excel spelling, args = left, right),
    "call" (value = function name, args = arguments).
    """

    kind: str
    value: Any = None
    args: tuple[Node, ...] = ()


_ARITH_OPS = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/"}
_COMPARE_OPS = {ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">=", ast.Eq: "=", ast.NotEq: "<>"}
_FORBIDDEN = {
    ast.Attribute: "属性访问（.）",
    ast.Subscript: "下标（[...]）",
    ast.Lambda: "lambda 函数",
    ast.ListComp: "推导式",
    ast.SetComp: "推导式",
    ast.DictComp: "推导式",
    ast.GeneratorExp: "推导式",
    ast.IfExp: "Python 的 if ... else（请用 IF(条件, 是, 否)）",
    ast.NamedExpr: "赋值（:=）",
    ast.Starred: "星号展开",
    ast.JoinedStr: "f 字符串",
    ast.Dict: "字典",
    ast.Set: "集合",
    ast.Await: "await",
    ast.Slice: "切片",
}
_FORBIDDEN_OPS = {
    ast.Mod: "%（取余请用 MOD(a, b)）",
    ast.Pow: "**（乘方不支持）",
    ast.FloorDiv: "//（取整请用 INT(a / b)）",
    ast.BitAnd: "&",
    ast.BitOr: "|",
    ast.BitXor: "^",
    ast.LShift: "<<",
    ast.RShift: ">>",
    ast.MatMult: "@",
    ast.Invert: "~",
    ast.Is: "is（请用 ==）",
    ast.IsNot: "is not（请用 !=）",
}


class _Parser:
    """Turns a Python ``ast`` of the expression into a :class:`Node` tree, refusing everything else."""

    def __init__(self, text: str, condition: bool) -> None:
        self.text = text
        self.condition = condition
        self.depth = 0

    def fail(self, message: str, hint: str | None = None) -> HBError:
        return HBError(f"表达式「{self.text}」{message}", hint=hint or _LANGUAGE_HINT)

    def snippet(self, node: ast.AST) -> str:
        return ast.get_source_segment(self.text, node) or type(node).__name__

    def forbidden(self, node: ast.AST, what: str) -> HBError:
        return self.fail(f"中的「{self.snippet(node)}」不允许使用：{what}")

    def node(self, node: ast.AST) -> Node:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise self.fail(f"太复杂（运算嵌套超过 {MAX_DEPTH} 层）", hint="请简化表达式，或拆成几列")
        try:
            return self.translate(node)
        finally:
            self.depth -= 1

    def translate(self, node: ast.AST) -> Node:
        if isinstance(node, ast.Constant):
            return self.constant(node)
        if isinstance(node, ast.Name):
            return self.name(node)
        if isinstance(node, ast.UnaryOp):
            operand = self.node(node.operand)
            if isinstance(node.op, ast.USub):
                return Node("neg", args=(operand,))
            if isinstance(node.op, ast.UAdd):
                return operand
            if isinstance(node.op, ast.Not):
                return Node("call", "NOT", (operand,))
        if isinstance(node, ast.BinOp) and type(node.op) in _ARITH_OPS:
            return Node("arith", _ARITH_OPS[type(node.op)], (self.node(node.left), self.node(node.right)))
        if isinstance(node, ast.BoolOp):
            return Node("call", "AND" if isinstance(node.op, ast.And) else "OR", self.nodes(node.values))
        if isinstance(node, ast.Compare):
            return self.comparison(node)
        if isinstance(node, ast.Call):
            return self.call(node)
        operator = getattr(node, "op", None)
        if type(operator) in _FORBIDDEN_OPS:
            raise self.forbidden(node, f"运算符 {_FORBIDDEN_OPS[type(operator)]}")
        if isinstance(node, ast.Tuple | ast.List):
            raise self.forbidden(node, "括号里的一组值只能出现在 in 的右边")
        raise self.forbidden(node, _FORBIDDEN.get(type(node), f"{type(node).__name__} 结构"))

    def nodes(self, nodes: Iterable[ast.AST]) -> tuple[Node, ...]:
        return tuple(self.node(n) for n in nodes)

    def constant(self, node: ast.Constant) -> Node:
        value = node.value
        if isinstance(value, bool):
            return Node("bool", value)
        if isinstance(value, int | float):
            try:
                as_float = float(value)
            except OverflowError:
                as_float = math.inf
            if not math.isfinite(as_float):
                raise self.forbidden(node, "数字超出表格能表示的范围")
            return Node("num", as_float)
        if isinstance(value, str):
            if len(value) > MAX_STRING:
                raise self.forbidden(node, f"文字常量最长 {MAX_STRING} 个字符")
            return Node("text", value)
        raise self.forbidden(node, "只能使用数字或带引号的文字作为常量")

    def name(self, node: ast.Name) -> Node:
        if node.id in ("TRUE", "FALSE"):
            return Node("bool", node.id == "TRUE")
        if node.id.startswith("__"):
            raise self.forbidden(node, "以双下划线开头的名字")
        return Node("field", node.id)

    def comparison(self, node: ast.Compare) -> Node:
        if any(isinstance(op, ast.In | ast.NotIn) for op in node.ops):
            if len(node.ops) > 1:
                raise self.forbidden(node, "in 不能和其他比较连写")
            return self.membership(node)
        for op in node.ops:
            if type(op) not in _COMPARE_OPS:
                raise self.forbidden(node, f"运算符 {_FORBIDDEN_OPS.get(type(op), type(op).__name__)}")
        operands = self.nodes([node.left, *node.comparators])
        parts = tuple(
            Node("compare", _COMPARE_OPS[type(op)], (operands[i], operands[i + 1]))
            for i, op in enumerate(node.ops)
        )
        return parts[0] if len(parts) == 1 else Node("call", "AND", parts)

    def membership(self, node: ast.Compare) -> Node:
        choices = node.comparators[0]
        if not isinstance(choices, ast.Tuple | ast.List) or not choices.elts:
            raise self.forbidden(choices, 'in 的右边须是括号里的一组常量，如 ("是", "否")')
        item = self.node(node.left)
        options = []
        for element in choices.elts:
            option = self.node(element)
            if option.kind not in ("num", "text", "bool") and not (
                option.kind == "neg" and option.args[0].kind == "num"
            ):
                raise self.forbidden(element, "in 的右边只能是常量")
            options.append(Node("compare", "=", (item, option)))
        found = Node("call", "OR", tuple(options))
        return Node("call", "NOT", (found,)) if isinstance(node.ops[0], ast.NotIn) else found

    def call(self, node: ast.Call) -> Node:
        if not isinstance(node.func, ast.Name):
            raise self.forbidden(node.func, "只能调用函数名")
        name = node.func.id
        if name not in FUNCTION_NAMES:
            hint = f"函数名须大写，请写 {name.upper()}" if name.upper() in FUNCTION_NAMES else None
            raise self.fail(f"中的函数「{name}」不可用", hint=hint)
        if node.keywords or any(isinstance(a, ast.Starred) for a in node.args):
            raise self.forbidden(node, "函数参数只能按位置给出")
        if name == "IFERROR" and self.condition:
            raise self.fail("是一条检查规则，不能使用 IFERROR（它会掩盖数据错误）")
        fewest, most = (2, 3) if name == "IF" else (2, 2) if name == "IFERROR" else FUNCTIONS[name][1:3]
        count = len(node.args)
        if count < fewest or (most is not None and count > most):
            if most is None:
                wanted = f"至少需要 {fewest} 个"
            else:
                wanted = f"需要 {fewest} 个" if fewest == most else f"需要 {fewest} 至 {most} 个"
            raise self.fail(f"中的函数 {name} {wanted}参数，这里给了 {count} 个")
        args = self.nodes(node.args)
        if name == "COUNTIF":
            self.countif(node, args)
        return Node("call", name, args)

    def countif(self, node: ast.Call, args: tuple[Node, ...]) -> None:
        cells, criterion = args
        if cells.kind != "field":
            raise self.forbidden(node.args[0], "COUNTIF 的第一个参数须是字段名")
        if criterion.kind == "text":
            text = criterion.value
            plain = text and not any(c in text for c in "*?~") and text[0] not in "<>="
            if not plain or text_to_number(text) is not None:
                raise self.forbidden(
                    node.args[1],
                    "COUNTIF 的条件须是数字或普通文字（不能为空，不能含 * ? ~，不能以 < > = 开头，不能是数字样的文字）",
                )
        elif criterion.kind != "num":
            raise self.forbidden(node.args[1], "COUNTIF 的条件须是数字或带引号的文字常量")


def _is_condition(node: Node) -> bool:
    """True when the expression can only yield TRUE, FALSE or an error."""
    if node.kind in ("compare", "bool"):
        return True
    if node.kind == "call" and node.value in CONDITION_FUNCTIONS:
        return True
    return node.kind == "call" and node.value == "IF" and all(_is_condition(a) for a in node.args[1:])


def _walk(node: Node) -> Iterable[Node]:
    yield node
    for child in node.args:
        yield from _walk(child)


def _parse(text: str, condition: bool) -> Node:
    if not isinstance(text, str) or not text.strip():
        raise HBError(f"表达式「{text}」是空的", hint="请写出要检查或计算的表达式")
    if len(text) > MAX_TEXT_LENGTH:
        raise HBError(f"表达式「{text[:40]}…」太长（超过 {MAX_TEXT_LENGTH} 个字符）", hint="请拆成几条")
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError as exc:
        where = f"第 {exc.offset} 个字符附近" if exc.offset else ""
        raise HBError(f"表达式「{text}」写法有误：{where}无法解析", hint=_SYNTAX_HINT) from None
    except (RecursionError, MemoryError, ValueError):
        raise HBError(f"表达式「{text}」嵌套太深或含有无法识别的字符", hint="请简化表达式") from None
    parser = _Parser(text.strip(), condition)
    try:
        root = parser.node(tree.body)
    except RecursionError:
        raise HBError(f"表达式「{text}」嵌套太深", hint="请简化表达式") from None
    if condition and not _is_condition(root):
        raise HBError(
            f"规则「{text}」不是一个条件",
            hint="规则写出必须成立的条件，如 exited_people <= poor_people（比较、and / or / not、ISBLANK 等）",
        )
    return root


# --- evaluation ----------------------------------------------------------------------


# Each node is compiled once into a Python closure (no text is ever executed): evaluating an expression
# on a row is then a chain of calls, not a walk over the tree deciding what every node is. An operator
# reads a field's cell or a constant operand in place (no closure call for it) and handles two plain
# numbers itself; everything else goes to the general semantics of :mod:`hbreport.checks.xlsemantics`.

Program = Callable[[Mapping[str, Any]], Value | Ref]
_BLANK = Ref((None,))
_CELL_TYPES = (str, bool, XLError)
_INT_LOW, _INT_HIGH = -(2**1023), 2**1023  # integers inside these convert to float without overflowing
_WHOLE_LIMIT = 2.0**53  # to_python: whole numbers inside this come back as int


def _as_cell_value(raw: Any) -> Value:
    """One value given for a field as a cell value (:func:`from_python`, with the common types first)."""
    kind = type(raw)
    if kind is float:
        return raw if raw - raw == 0.0 else (None if raw != raw else from_python(raw))
    if kind in _CELL_TYPES:
        return raw
    if kind is int:
        try:
            return float(raw)
        except OverflowError:
            return NUM
    return from_python(raw)


def _field_ref(raw: Any, name: str) -> Ref:
    """A field given a value (not None) as its cell, or its column for a list: a :class:`Ref`."""
    try:
        if isinstance(raw, list | tuple):
            return Ref(tuple(_as_cell_value(v) for v in raw))
        return Ref((_as_cell_value(raw),))
    except TypeError:
        raise HBError(
            f"字段「{name}」的值 {raw!r} 不是表格能保存的值", hint="只能是数字、文字、日期或空"
        ) from None


def _cell(raw: Any, name: str) -> Value | Ref:
    """A field's value as an operand of an operator: a plain number, text, boolean or blank as that
    value (no Ref is built), anything else as its Ref."""
    kind = type(raw)
    if kind is float:
        if raw - raw == 0.0:
            return raw
    elif raw is None or kind is str or kind is bool:
        return raw
    elif kind is int:
        try:
            return float(raw)
        except OverflowError:
            pass  # past the largest number: its Ref holds #NUM!
    return _field_ref(raw, name)


def _as_cell(value: Value | Ref, is_cell: bool) -> Value | Ref:
    return Ref((value,)) if is_cell and not isinstance(value, Ref) else value


def _arith(apply: Callable, a: Value | Ref, b: Value | Ref, left_cell: bool, right_cell: bool) -> Value:
    """An operator on operands that are not both plain numbers."""
    a, b = _as_cell(a, left_cell), _as_cell(b, right_cell)
    if isinstance(a, XLError):
        return a
    if isinstance(b, XLError):
        return b
    numbers = convert_numbers((a, b))
    return numbers if isinstance(numbers, XLError) else apply(*numbers)


def _compare(
    test: Callable[[int], bool],
    equality: bool,
    a: Value | Ref,
    b: Value | Ref,
    left_cell: bool,
    right_cell: bool,
) -> Value:
    """A comparison of operands that are not both plain numbers."""
    if not left_cell and isinstance(a, XLError):
        return a  # computed errors pass through; an error read from a cell is compare's to return
    if not right_cell and isinstance(b, XLError):
        return b
    order = compare(scalar(a), scalar(b), equality=equality)
    return order if isinstance(order, XLError) else test(order)


def _call(function: Callable, values: Sequence[Value | Ref]) -> Value:
    """A function that errors pass through: the first error computed inside an argument wins over one
    read from a cell."""
    for value in values:
        if isinstance(value, XLError):
            return value
    return function(*values)


# How a node reads an operand (or an IF branch, a function argument) without calling a closure for it:
# a field's cell by name, a constant's value; anything else is computed by its closure.
_CELL, _CONSTANT, _COMPUTED = 0, 1, 2


def _operand(node: Node) -> tuple[int, Any]:
    """An operand of an operator: a field's cell (by name), a constant (a negated number folded) or
    its closure."""
    if node.kind == "field":
        return _CELL, node.value
    return _argument(node)


def _argument(node: Node) -> tuple[int, Any]:
    """A function argument or an IF branch: a constant, or its closure (a field gives its Ref)."""
    if node.kind in ("num", "text", "bool"):
        return _CONSTANT, node.value
    if node.kind == "neg" and node.args[0].kind == "num":
        return _CONSTANT, -node.args[0].value
    return _COMPUTED, _compile(node)


def _compile_field(name: str) -> Program:
    """A field as its cell (or column): a :class:`Ref`, as functions and IF receive it."""

    def field(env: Mapping[str, Any]) -> Ref:
        raw = env.get(name)
        return _BLANK if raw is None else _field_ref(raw, name)

    return field


def _compile_constant(value: Value) -> Program:
    def constant(env: Mapping[str, Any]) -> Value:
        return value

    return constant


def _negative(value: Value | Ref) -> Value:
    """Unary minus of a value (a field's cell as :func:`_cell` gives it)."""
    if type(value) is float:
        return -value
    value = to_number(value)
    return value if isinstance(value, XLError) else -value


def _compile_neg(node: Node) -> Program:
    kind, operand = _operand(node.args[0])
    if kind == _CONSTANT:
        return _compile_constant(_negative(operand))
    if kind == _CELL:
        return lambda env: _negative(_cell(env.get(operand), operand))
    return lambda env: _negative(operand(env))


def _read(node: Node) -> tuple[bool, bool, Any]:
    """How an operator reads an operand: whether it is a cell, whether a constant, and the field's
    name, the constant or the closure."""
    kind, operand = _operand(node)
    return kind == _CELL, kind == _CONSTANT, operand


def _operand_reader(cell: bool, constant: bool, operand: Any) -> Program:
    """What reads an operator's operand from a row: a field's cell as a float where it holds a finite
    number (a whole number too, as its cell holds it), else as :func:`_cell` gives it; a constant;
    or the operand's own closure."""
    if constant:
        return lambda env: operand
    if not cell:
        return operand
    name = operand

    def read(env: Mapping[str, Any]) -> Value | Ref:
        a = env.get(name)
        kind = type(a)
        if kind is int:
            try:
                return float(a)
            except OverflowError:
                return _cell(a, name)  # past the largest number
        if kind is float:
            return a if a - a == 0.0 else _cell(a, name)
        if a is None or kind is str or kind is bool:
            return a
        return _cell(a, name)

    return read


def _compile_compare(node: Node) -> Program:
    """A comparison. It reads its operands (a field as its cell, see :func:`_cell`; a whole number as
    float, as its cell holds it) and compares two plain numbers itself, as :func:`compare` does
    (tests/test_rules.py checks that they agree); anything else goes to :func:`_compare`."""
    op = node.value
    test = COMPARISONS[op]
    equality = op in ("=", "<>")
    left_cell, left_constant, left = _read(node.args[0])
    right_cell, right_constant, right = _read(node.args[1])
    read_left = _operand_reader(left_cell, left_constant, left)
    read_right = _operand_reader(right_cell, right_constant, right)
    constants = [v for v, constant in ((left, left_constant), (right, right_constant)) if constant]
    if equality and len(constants) == 1 and type(constants[0]) is str:
        return _compile_text_equality(node, constants[0])
    equal, less, greater = test(0), test(-1), test(1)  # what compare()'s orders 0, -1 and 1 give
    less_sure, greater_sure = less == equal, greater == equal  # approx_equal does not matter
    # approx_equal(a, b) is called only for numbers within its tolerance of both: of a constant's,
    # worked out here when there is one (none for 0: no other number is approximately equal to it)
    bound = abs(constants[0]) * _E48 if constants and type(constants[0]) is float else None

    def comparison(env: Mapping[str, Any]) -> Value:
        a, b = read_left(env), read_right(env)
        if type(a) is not float or type(b) is not float:
            return _compare(test, equality, a, b, left_cell, right_cell)
        if a < b:
            if less_sure:
                return less
        elif a > b:
            if greater_sure:
                return greater
        else:
            return equal if a == b else greater  # NaN is neither less nor approximately equal
        if bound != 0.0 and abs(a - b) < (_E48 * abs(a) if bound is None else bound) and approx_equal(a, b):
            return equal
        return less if a < b else greater

    return comparison


def _compile_arith(node: Node) -> Program:
    """An arithmetic operator. It reads its operands as :func:`_compile_compare` does and works on two
    plain numbers itself: xlsemantics' add, subtract, multiply and divide written out
    (tests/test_rules.py checks that they agree); anything else goes to :func:`_arith`."""
    op = node.value
    apply = ARITHMETIC[op]
    add, subtract, multiply = op == "+", op == "-", op == "*"
    left_cell, left_constant, left = _read(node.args[0])
    right_cell, right_constant, right = _read(node.args[1])
    read_left = _operand_reader(left_cell, left_constant, left)
    read_right = _operand_reader(right_cell, right_constant, right)
    constants = [v for v, constant in ((left, left_constant), (right, right_constant)) if constant]
    bound = abs(constants[0]) * _E48 if constants and type(constants[0]) is float else None  # as above

    def arith(env: Mapping[str, Any]) -> Value:
        a, b = read_left(env), read_right(env)
        if type(a) is not float or type(b) is not float:
            return _arith(apply, a, b, left_cell, right_cell)
        if add:
            if (a < 0.0 < b or b < 0.0 < a) and (
                a == -b or abs(a + b) < (_E48 * abs(a) if bound is None else bound) and approx_equal(a, -b)
            ):
                return 0.0
            result = a + b
        elif subtract:
            if (a < 0.0 and b < 0.0 or a > 0.0 and b > 0.0) and (
                a == b or abs(a - b) < (_E48 * abs(a) if bound is None else bound) and approx_equal(a, b)
            ):
                return 0.0
            result = a - b
        elif multiply:
            result = a * b
        elif b == 0.0:
            return DIV0
        else:
            result = a / b
        return result if result - result == 0.0 else NUM

    return arith


def _compile_text_equality(node: Node, text: str) -> Program:
    """``x = "text"`` or ``<>`` (either side): equal text but for case; a number or a boolean is never
    equal to text, a blank is equal to the empty text; anything else goes to :func:`_compare`."""
    op = node.value
    test = COMPARISONS[op]
    text_left = node.args[0].kind == "text"
    kind, other = _operand(node.args[1] if text_left else node.args[0])
    cell = kind == _CELL
    lower, is_equal = text.lower(), op == "="
    blank = (text == "") == is_equal

    def text_equality(env: Mapping[str, Any]) -> Value:
        x = env.get(other) if cell else other(env)
        kind_of_x = type(x)
        if kind_of_x is str:
            return (x.lower() == lower) == is_equal
        if x is None:
            return blank
        if kind_of_x is bool or kind_of_x is float and x - x == 0.0 or cell and kind_of_x is int:
            if kind_of_x is not int or _INT_LOW < x < _INT_HIGH:
                return not is_equal
        if cell:
            x = _cell(x, other)
        if text_left:
            return _compare(test, True, text, x, False, cell)
        return _compare(test, True, x, text, cell, False)

    return text_equality


def _compile_if(node: Node) -> Program:
    test = _compile(node.args[0])
    yes_kind, yes = _argument(node.args[1])
    no_kind, no = _argument(node.args[2]) if len(node.args) == 3 else (_CONSTANT, False)
    yes_constant, no_constant = yes_kind == _CONSTANT, no_kind == _CONSTANT

    def if_(env: Mapping[str, Any]) -> Value | Ref:
        truth = test(env)
        if type(truth) is not bool:
            truth = to_bool(truth)
            if isinstance(truth, XLError):
                return truth
        if truth:
            return yes if yes_constant else yes(env)
        return no if no_constant else no(env)

    return if_


def _compile_iferror(first: Program, fallback: Program) -> Program:
    def iferror(env: Mapping[str, Any]) -> Value | Ref:
        value = first(env)
        return fallback(env) if type(value) is not float and isinstance(scalar(value), XLError) else value

    return iferror


def _compile_cell_test(name: str, field: str) -> Program:
    """ISBLANK or ISNUMBER of a field: what the function finds in its one cell."""
    function = FUNCTIONS[name][0]
    blank = name == "ISBLANK"

    def cell_test(env: Mapping[str, Any]) -> bool:
        value = env.get(field)
        kind = type(value)
        if kind is float or kind is str or kind is bool or value is None:
            if kind is not float or value - value == 0.0:
                return value is None if blank else kind is float or kind is bool
        elif kind is int and _INT_LOW < value < _INT_HIGH:
            return not blank
        return function(_BLANK if value is None else _field_ref(value, field))

    return cell_test


def _compile_call(node: Node) -> Program:
    name = node.value
    function, _, _, errors_pass = FUNCTIONS[name]
    if name in ("ISBLANK", "ISNUMBER") and node.args[0].kind == "field":
        return _compile_cell_test(name, node.args[0].value)
    args = tuple(_compile(arg) for arg in node.args)
    if not errors_pass:
        if len(args) == 1:
            (only,) = args
            return lambda env: function(only(env))
        return lambda env: function(*[arg(env) for arg in args])
    if name in ("AND", "OR", "NOT"):
        return _compile_logical(name, function, args)
    if name in ("ABS", "INT", "ROUND"):
        return _compile_numeric(node, function)

    def call(env: Mapping[str, Any]) -> Value:
        values = []
        for arg in args:
            values.append(arg(env))
        return _call(function, values)

    return call


def _compile_logical(name: str, function: Callable, args: tuple[Program, ...]) -> Program:
    """AND, OR and NOT: plainly on booleans, else by the function."""
    if name == "NOT":
        (only,) = args

        def not_(env: Mapping[str, Any]) -> Value:
            value = only(env)
            if type(value) is bool:
                return not value
            return value if isinstance(value, XLError) else function(value)

        return not_
    conjunction = name == "AND"
    if len(args) == 2:
        first, second = args

        def logical(env: Mapping[str, Any]) -> Value:
            a, b = first(env), second(env)
            if type(a) is bool and type(b) is bool:
                return (a and b) if conjunction else (a or b)
            return _call(function, (a, b))

        return logical

    def logical_n(env: Mapping[str, Any]) -> Value:
        values = []
        plain = True
        for arg in args:
            value = arg(env)
            values.append(value)
            if type(value) is not bool:
                plain = False
        if plain:
            return all(values) if conjunction else any(values)
        return _call(function, values)

    return logical_n


def _compile_numeric(node: Node, function: Callable) -> Program:
    """ABS, INT, ROUND: on plain numbers the function itself, else with its arguments converted."""
    plain = function.__wrapped__
    (first_kind, first), *rest = (_argument(arg) for arg in node.args)
    if not rest:

        def numeric(env: Mapping[str, Any]) -> Value:
            x = first if first_kind == _CONSTANT else first(env)
            return plain(x) if type(x) is float else _call(function, (x,))

        return numeric
    ((second_kind, second),) = rest

    def numeric2(env: Mapping[str, Any]) -> Value:
        x = first if first_kind == _CONSTANT else first(env)
        y = second if second_kind == _CONSTANT else second(env)
        return plain(x, y) if type(x) is float and type(y) is float else _call(function, (x, y))

    return numeric2


def _compile(node: Node) -> Program:
    """The closure computing ``node`` from a row's values, as the spreadsheet would."""
    kind = node.kind
    if kind in ("num", "text", "bool"):
        return _compile_constant(node.value)
    if kind == "field":
        return _compile_field(node.value)
    if kind == "arith":
        return _compile_arith(node)
    if kind == "compare":
        return _compile_compare(node)
    if kind == "neg":
        return _compile_neg(node)
    if node.value == "IF":
        return _compile_if(node)
    if node.value == "IFERROR":
        return _compile_iferror(*(_compile(arg) for arg in node.args))
    return _compile_call(node)


# --- Excel formula text ----------------------------------------------------------------

_PRECEDENCE = {"compare": 1, "+": 2, "-": 2, "*": 3, "/": 3, "neg": 4}


def _precedence(node: Node) -> int:
    if node.kind == "arith":
        return _PRECEDENCE[node.value]
    return _PRECEDENCE.get(node.kind, 5)


def excel_number(value: float) -> str:
    """A number in plain notation, never ``1e-05``."""
    if value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    text = format(Decimal(repr(value)), "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def excel_text(value: str) -> str:
    """A text constant in double quotes, embedded quotes doubled."""
    return '"' + value.replace('"', '""') + '"'


def _excel(node: Node, ref: Callable[[str], str]) -> str:
    kind = node.kind
    if kind == "num":
        return excel_number(node.value)
    if kind == "text":
        return excel_text(node.value)
    if kind == "bool":
        return "TRUE" if node.value else "FALSE"
    if kind == "field":
        return ref(node.value)
    if kind == "call" and node.value == "IDCHECK":
        return idcheck_excel(_excel(node.args[0], ref))
    if kind == "call":
        return f"{node.value}({','.join(_excel(arg, ref) for arg in node.args)})"
    own = _precedence(node)
    if kind == "neg":
        operand = _excel(node.args[0], ref)
        return f"-({operand})" if _precedence(node.args[0]) <= own else f"-{operand}"
    left, right = node.args
    left_text, right_text = _excel(left, ref), _excel(right, ref)
    if _precedence(left) < own or (kind == "compare" and left.kind == "compare"):
        left_text = f"({left_text})"
    if _precedence(right) <= own or right.kind == "neg":
        right_text = f"({right_text})"
    return f"{left_text}{node.value}{right_text}"


# --- public API ------------------------------------------------------------------------


@dataclass(frozen=True)
class Expr:
    """A parsed expression: evaluate it in Python or write it as an Excel formula."""

    text: str
    root: Node

    @classmethod
    def parse(cls, text: str, *, allowed: Iterable[str] | None = None, condition: bool = False) -> Expr:
        """Parse ``text``; HBError on bad syntax, a forbidden construct or (given ``allowed``) an unknown field.

        ``condition=True`` is for rules: the expression must be a condition and may not use IFERROR.
        """
        if cls is Expr and isinstance(text, str):
            expr = _parsed(text, condition)  # an expression is immutable: parsed (and compiled) once
        else:
            expr = cls(text.strip() if isinstance(text, str) else text, _parse(text, condition))
        if allowed is not None:
            expr.check_fields(allowed)
        return expr

    @cached_property
    def fields(self) -> frozenset[str]:
        """All field names the expression refers to."""
        return frozenset(n.value for n in _walk(self.root) if n.kind == "field")

    @cached_property
    def cell_fields(self) -> frozenset[str]:
        """Field names used as single cells (not only inside SUM / COUNT / COUNTIF)."""
        aggregated = {
            id(arg)
            for n in _walk(self.root)
            if n.kind == "call" and n.value in AGGREGATES
            for arg in n.args
            if arg.kind == "field"
        }
        return frozenset(n.value for n in _walk(self.root) if n.kind == "field" and id(n) not in aggregated)

    def check_fields(self, allowed: Iterable[str]) -> None:
        """HBError naming the first field not in ``allowed``."""
        known = set(allowed)
        unknown = sorted(self.fields - known)
        if unknown:
            listed = "、".join(sorted(known)[:30]) + ("…" if len(known) > 30 else "")
            raise HBError(
                f"表达式「{self.text}」引用了不存在的字段「{unknown[0]}」",
                hint=f"检查字段名的拼写；可用的字段：{listed or '（无）'}",
            )

    def evaluate(self, env: Mapping[str, Any]) -> Any:
        """The value the formula cell would show: a number, text, bool or :class:`XLError`.

        ``env`` maps field names to cell values (None, NaN or a missing key is a blank cell); a list
        stands for a column (for SUM / COUNT / COUNTIF). A blank result shows as 0, whole numbers
        come back as ``int``.
        """
        value = self.program(env)
        kind = type(value)
        if kind is float and value - value == 0.0:
            return int(value) if value.is_integer() and -_WHOLE_LIMIT < value < _WHOLE_LIMIT else value
        if kind is str or kind is bool:
            return value
        return to_python(scalar(value))  # a blank, an error, a Ref, a number that is not finite

    @cached_property
    def program(self) -> Program:
        """The expression compiled once into a closure: ``program(env)`` is the value, a Ref for a field."""
        return _compile(self.root)

    def __reduce__(self) -> tuple:
        return (Expr, (self.text, self.root))  # the compiled closure is made again where it is needed

    def to_excel(self, ref: Callable[[str], str]) -> str:
        """Formula text without the leading ``=``; ``ref`` maps a field name to a cell or range."""
        return _excel(self.root, ref)

    def __str__(self) -> str:
        return self.text


@lru_cache(maxsize=4096)
def _parsed(text: str, condition: bool) -> Expr:
    return Expr(text.strip(), _parse(text, condition))


@lru_cache(maxsize=4096)
def _compiled(text: str) -> Expr:
    return Expr.parse(text, condition=True)


@lru_cache(maxsize=4096)
def _guard_fields(expr: str, missing: str) -> tuple[str, ...]:
    """A rule's guard fields, worked out once per rule text (rules are checked on every row of every file)."""
    if missing == "never_skip":
        return ()
    compiled = _compiled(expr)
    cells = compiled.cell_fields
    return tuple(
        dict.fromkeys(n.value for n in _walk(compiled.root) if n.value in cells and n.kind == "field")
    )


@lru_cache(maxsize=4096)
def _check_plan(expr: str, missing: str) -> tuple[tuple[str, ...], bool, Program]:
    """What a rule's check needs, worked out once per rule text and missing-value strategy: the guard
    fields, whether one blank among them skips the rule (else all must be blank) and the compiled
    expression."""
    return _guard_fields(expr, missing), missing == "skip_if_any", _compiled(expr).program


@dataclass(frozen=True)
class Rule:
    """A validation rule: ``expr`` states what must hold; ``message`` (Chinese, literal) says what is wrong.

    ``missing`` is the DHIS2 missing-value strategy: with ``skip_if_any`` the rule is not applied
    when any of its fields is blank, with ``skip_if_all`` only when all are, ``never_skip`` always
    applies it (blanks count as 0 or "").
    """

    id: str
    expr: str
    message: str
    importance: str = "error"
    missing: str = "skip_if_any"
    #: the input fields whose blanks make the rule skip, when the form knows better than the expression:
    #: a derived field stands for the inputs it is computed from (its formula cell is never blank, and
    #: a blank input would be computed as 0 — a rule over a blank input must not fire). None: the
    #: expression's own cell fields.
    guard: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        where = f"规则「{self.id}」"
        if not self.id:
            raise HBError(f"规则「{self.expr}」没有 id", hint="给每条规则一个唯一的 id")
        if self.importance not in IMPORTANCE:
            raise HBError(
                f"{where}的 importance「{self.importance}」无效", hint=f"可选：{'、'.join(IMPORTANCE)}"
            )
        if self.missing not in MISSING:
            raise HBError(f"{where}的 missing「{self.missing}」无效", hint=f"可选：{'、'.join(MISSING)}")
        if not self.message or not self.message.strip():
            raise HBError(f"{where}没有 message", hint="写一句中文，说明数据哪里不对、该怎么改")
        if len(self.invalid_text) > MAX_STRING:
            raise HBError(f"{where}的 message 太长", hint=f"请控制在 {MAX_STRING - 10} 个字符以内")
        try:
            self.compiled()
        except HBError as exc:
            raise HBError(f"{where}：{exc.message}", hint=exc.hint) from None

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> Rule:
        """A rule from a YAML mapping; HBError naming missing or unknown keys."""
        keys = ("id", "expr", "message", "importance", "missing")
        unknown = sorted(set(data) - set(keys))
        if unknown:
            raise HBError(
                f"规则「{data.get('id', '?')}」中有未知的键「{unknown[0]}」",
                hint=f"可用的键：{'、'.join(keys)}",
            )
        absent = [k for k in keys[:3] if not data.get(k)]
        if absent:
            raise HBError(
                f"规则「{data.get('id', '?')}」缺少「{absent[0]}」", hint="每条规则须有 id、expr、message"
            )
        return cls(**{k: str(v) for k, v in data.items()})

    @property
    def fail_text(self) -> str:
        """Status text when the rule fails: the message ending with "；"."""
        return self.message.strip().rstrip("。；;.") + "；"

    @property
    def invalid_text(self) -> str:
        """Status text when the data cannot be checked (an error or text where a number belongs)."""
        return self.message.strip().rstrip("。；;.") + "（数据无效）；"

    def compiled(self) -> Expr:
        return _compiled(self.expr)

    def check_fields(self, allowed: Iterable[str]) -> None:
        """HBError when the rule refers to a field not in ``allowed``."""
        try:
            self.compiled().check_fields(allowed)
        except HBError as exc:
            raise HBError(f"规则「{self.id}」：{exc.message}", hint=exc.hint) from None

    def _guard_fields(self) -> list[str]:
        """The cell fields whose blanks make the rule skip, in the order they appear."""
        if self.guard is not None and self.missing != "never_skip":
            return list(self.guard)
        return list(_guard_fields(self.expr, self.missing))

    def check(self, env: Mapping[str, Any]) -> str:
        """ "pass", "fail", "skip" (blank inputs, per ``missing``) or "invalid" (error / not TRUE or FALSE)."""
        guard, skip_if_any, program = self._plan
        if skip_if_any:
            for name in guard:
                value = env.get(name)
                if value is None or (isinstance(value, float) and value != value):  # is_blank
                    return "skip"
        elif guard:
            for name in guard:
                value = env.get(name)
                if not (value is None or (isinstance(value, float) and value != value)):
                    break
            else:
                return "skip"
        result = program(env)
        if type(result) is Ref:
            result = scalar(result)
        if result is True:
            return "pass"
        return "fail" if result is False else "invalid"

    @cached_property
    def _plan(self) -> tuple[tuple[str, ...], bool, Program]:
        guard, skip_if_any, program = _check_plan(self.expr, self.missing)
        return tuple(self._guard_fields()), skip_if_any, program

    def __getstate__(self) -> dict[str, Any]:
        """Pickled without the compiled expression, which is made again where it is needed."""
        return {key: value for key, value in self.__dict__.items() if key != "_plan"}

    def python_status(self, env: Mapping[str, Any]) -> str:
        """The text :meth:`excel_status` shows for these inputs: "", :attr:`fail_text` or :attr:`invalid_text`."""
        outcome = self.check(env)
        return {"fail": self.fail_text, "invalid": self.invalid_text}.get(outcome, "")

    def excel_status(self, ref: Callable[[str], str]) -> str:
        """Formula text (no leading ``=``) giving "" when the rule passes or is skipped, else the message."""
        body = (
            f'IFERROR(IF({self.compiled().to_excel(ref)},"",{excel_text(self.fail_text)}),'
            f"{excel_text(self.invalid_text)})"
        )
        guard = self._guard_fields()
        if not guard:
            return body
        blanks = [f"ISBLANK({ref(name)})" for name in guard]
        test = (
            blanks[0]
            if len(blanks) == 1
            else f"{'OR' if self.missing == 'skip_if_any' else 'AND'}({','.join(blanks)})"
        )
        return f'IF({test},"",{body})'


def row_check_formula(rules: Sequence[Rule], ref: Callable[[str], str]) -> str:
    """One formula (no leading ``=``) joining every rule's status with ``&``: "" when all pass."""
    if not rules:
        return '""'
    formula = "&".join(rule.excel_status(ref) for rule in rules)
    if len(formula) + 1 > MAX_FORMULA:
        ids = "、".join(rule.id for rule in rules)
        raise HBError(
            f"规则 {ids} 合在一个检查单元格里超过 Excel 公式长度上限（{MAX_FORMULA} 个字符）",
            hint="把这些规则分到两个检查列，或缩短规则的提示文字",
        )
    return formula


def row_check_python(rules: Sequence[Rule], env: Mapping[str, Any]) -> str:
    """The text :func:`row_check_formula` shows for these inputs."""
    return "".join(rule.python_status(env) for rule in rules)
