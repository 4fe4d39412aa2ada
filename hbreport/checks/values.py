"""Checks of one cell's value, made while a cell is read (:mod:`hbreport.coerce`): the same codes,
messages and hints on forms, rosters and in the xlwings functions.

Templates take ``what`` (the row and column, as the reader names them) and the fields
:func:`hbreport.coerce.coerce` gives: ``text`` (the cell, quoted), ``unit``, ``allowed``, ``choices``,
``options``, ``formula``.
"""

from __future__ import annotations

from hbreport.checks.registry import ERROR, WARNING, register

SPACES = register(
    "空格",
    WARNING,
    "{what}只有空格，按空白处理",
    "请清除该单元格（按 Delete 键）或填写数值",
    "单元格只有空格",
)
ERROR_VALUE = register(
    "错误值",
    ERROR,
    "{what}是错误值 {text}（不是数字），该值未被采用，本行和合计都不含这一格",
    "请删除错误值后填写数字；从别处复制时请用“选择性粘贴—数值”，不要把 #N/A、#REF! 等粘贴进来",
    "输入单元格里是 #N/A、#REF! 之类的错误值（粘贴进来的，或公式算出的）",
)
FORMULA_ERROR = register(
    "公式出错",
    ERROR,
    "{what}是公式「{formula}」，算出的是错误值 {text}，该值未被采用，本行和合计都不含这一格",
    "请改正公式，或删除公式直接填写数值",
    "输入单元格里的公式算出错误值",
)
FORMULA_UNSAVED = register(
    "公式无结果",
    ERROR,
    "{what}是公式「{formula}」，文件中没有保存它的计算结果，无法读取",
    "请直接填写数值；或用 Excel/WPS 打开后重新保存，让公式结果一并保存",
    "输入单元格里有公式，文件却没有保存它的结果（由程序写出、未经电子表格计算）",
)
BAD_CHOICE = register(
    "选项",
    ERROR,
    "{what}填了「{text}」，不在可选项（{choices}）之中，该值未被采用",
    "请从下拉列表中选择{options}",
    "选择栏目填了下拉列表以外的内容",
)
LOGICAL = register(
    "逻辑值",
    ERROR,
    "{what}应填数字{unit}，表中是逻辑值 {text}，该值未被采用",
    "请删除后填写数字",
    "数字栏目填了 TRUE/FALSE",
)
DATE = register(
    "日期",
    ERROR,
    "{what}应填数量{unit}，表中是日期/时间 {text}（单元格格式被设成了日期，或输入被识别为日期），该值未被采用",
    "请把单元格格式改为“常规”或“数值”后重新输入数字",
    "数字栏目是日期或时间",
)
FULL_WIDTH = register(
    "全角数字",
    ERROR,
    "{what}填的是全角数字「{text}」（文本，不是数字），该值未被采用",
    "请把输入法切换到半角（英文）状态，删除后重新输入数字",
    "数字用全角字符输入（１２），是文本",
)
NUMBER_AS_TEXT = register(
    "文本型数字",
    ERROR,
    "{what}的「{text}」是以文本形式存储的数字，公式和汇总不把它当数字，该值未被采用",
    "请选中该单元格，用“转换为数字”，或删除后重新输入（数字前不要加撇号 '）",
    "数字以文本形式存储（'120、1e5 设成文本格式）",
)
TEXT = register(
    "文本",
    ERROR,
    "{what}应填数字{unit}，表中是文本「{text}」，该值未被采用",
    "请只填数字；需要说明的情况写在表下“说明”处",
    "数字栏目填了文字",
)
NOT_FINITE = register(
    "无效数值",
    ERROR,
    "{what}不是有效的数值（{text}）",
    "请删除后重新填写数字",
    "数值是无穷大或 NaN",
)
NEGATIVE = register(
    "负数",
    ERROR,
    "{what}是负数 {text}，不能为负",
    "请填 0 或正数；没有发生的填 0",
    "不能为负的栏目填了负数",
)
DECIMAL = register(
    "小数",
    ERROR,
    "{what}应为整数（{unit_word}），表中是小数 {text}",
    "请填整数（户数、人数等不能有小数）",
    "户数、人数等整数栏目填了小数",
)
OUT_OF_RANGE = register(
    "超出范围",
    ERROR,
    "{what}为 {text}，超出{allowed}",
    "请核对数值和计量单位（如元与万元）后改正",
    "数值超出栏目允许的范围（与表中数据有效性一致）",
)

#: every code above: the findings that say a cell's value was not taken as typed
VALUE_CHECKS = frozenset(
    {
        SPACES,
        ERROR_VALUE,
        FORMULA_ERROR,
        FORMULA_UNSAVED,
        BAD_CHOICE,
        LOGICAL,
        DATE,
        FULL_WIDTH,
        NUMBER_AS_TEXT,
        TEXT,
        NOT_FINITE,
        NEGATIVE,
        DECIMAL,
        OUT_OF_RANGE,
    }
)
