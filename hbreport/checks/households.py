"""Checks of a township's roster of poor households beyond one cell's value (``who`` names the
household as the roster reader does: 「张三」户（户编号 …））."""

from __future__ import annotations

from hbreport.checks.registry import ERROR, register

PREFILL_DIGEST = register(
    "预填不符",
    ERROR,
    "预填栏目（户主姓名、证件号码、家庭人口、村代码、所在村）与下发时不一致：锁定的单元格被改动过",
    "请用建档立卡导出文件核对（汇总时给出导出文件可查出具体单元格），或使用下发的原台账重新填报",
    "台账的预填栏目与下发时的指纹不符（未给出导出文件时）",
)
VILLAGE = register(
    "村代码",
    ERROR,
    "{who}的村代码 {code} 不是{township}的村",
    "核对建档立卡导出文件中的村代码",
    "户的村代码不是本乡镇的村",
)
ID_DETAIL = register(
    "证件号码",
    ERROR,
    "{who}：{reason}",
    "请核对证件号码，在建档立卡系统中更正",
    "证件号码校验位正确，但地区码或出生日期不存在",
)
DUPLICATE_ID = register(
    "证件重号",
    ERROR,
    "证件号码 {number} 在本台账中出现 {times} 次：{cells}",
    "同一人只能在一户中登记：请核实证件号码是否录错，或是否重复识别，在建档立卡系统中更正",
    "同一证件号码在一份台账中登记在几户",
)
DUPLICATE_ACROSS = register(
    "跨乡镇重号",
    ERROR,
    "证件号码 {number} 同时出现在 {times} 处：{places}",
    "同一人只能在一户中登记：请核实证件号码是否录错，或是否重复识别，在建档立卡系统中更正",
    "同一证件号码出现在几个乡镇的台账中（本批或已入库的）",
)
