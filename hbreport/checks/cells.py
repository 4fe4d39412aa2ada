"""Checks of a form's or roster's cells beyond one value: formulas kept, prefilled values kept, no
merged cells. ``doc`` in a hint is 报表 or 台账; ``what`` names the cell as the reader does."""

from __future__ import annotations

from hbreport.checks.registry import ERROR, register

MERGED = register(
    "合并单元格",
    ERROR,
    "表格区域内有合并单元格 {ref}，合并后只保留左上角的值",
    "请取消合并，每个单元格单独填写",
    "表格区域内有合并单元格",
)
PREFILL_CHANGED = register(
    "预填被改",
    ERROR,
    "{what}是预填的{kind}「{expected}」，表中被改成了「{shown}」（该单元格已锁定，须撤销工作表保护才能改动）；"
    "汇总按预填值 {expected} 计算",
    "请恢复为预填值；确有错误的，{fix}，不要在表中修改",
    "锁定的预填单元格（基数、户主姓名、证件号码等）被改动",
)
FORMULA_CHANGED = register(
    "公式被改",
    ERROR,
    "{what}是公式单元格，公式被改成了「{formula}」（汇总时按原公式重新计算）",
    "请使用上级下发的原{doc}重新填报，不要修改公式",
    "计算栏、合计行或校验结果的公式被改动",
)
FORMULA_REPLACED = register(
    "公式被删",
    ERROR,
    "{what}应由公式自动计算，公式却被{how}（汇总时按公式重新计算，不采用表中的值）",
    "请使用上级下发的原{doc}重新填报，或从相邻行复制该公式恢复；不要在公式单元格中键入数字",
    "计算栏、合计行或校验结果的公式被删除或被键入的数值替换",
)
