"""Checks of a township's roster of poor households beyond one cell's value (``who`` names the
household as the roster reader does: 「张三」户（户编号 …））."""

from __future__ import annotations

from hbreport.checks.registry import ERROR, WARNING, register

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

# Plausibility of a township's roster (warnings: the figures may be true, the office should look).
PLAUSIBILITY_HINT = "请核实收入测算和脱贫认定是否真实；确属实际情况的，在台账“说明”处写明原因"
NEAR_LINE = register(
    "贴线脱贫",
    WARNING,
    "「{village}」{members} 户全部在{period}年脱贫，其中 {near} 户人均纯收入仅比扶贫标准 {line:g} 元高不到"
    "{margin:.0%}（{line:g}—{upper:g} 元），有“数字脱贫”之嫌",
    PLAUSIBILITY_HINT,
    "一个村的贫困户当年全部脱贫，且多数户的收入刚过扶贫标准",
)
SAME_INCOME = register(
    "收入雷同",
    WARNING,
    "「{village}」{size} 户中有 {count} 户人均纯收入都是 {value:g} 元，收入可能未逐户测算",
    PLAUSIBILITY_HINT,
    "一个村许多户的人均纯收入完全相同",
)
JUMP = register(
    "变动异常",
    WARNING,
    "「{village}」{metric}{how}，与其他 {others} 个村的变化相比异常（稳健 z 分数 {z:+.1f}，界限 ±{bound:g}）",
    PLAUSIBILITY_HINT,
    "一个村的人均收入或脱贫比例与上期相比的变化远超同批其他村",
)

# A township's 鄂扶贫02表 (villages) against its roster, and a county's 摘帽 against the standard.
REMAINING = register(
    "未脱贫户数",
    ERROR,
    "「{village}」未脱贫户数：本表{shown}（{form_cell}），台账统计为 {counted} 户（{roster_cell}）",
    "按台账核对：台账各户脱贫标志为“未脱贫”或“返贫”的户数即未脱贫户数",
    "村级表的未脱贫户数与台账中未脱贫、返贫的户数不符",
)
VILLAGE_EXIT = register(
    "出列标准",
    ERROR,
    "「{village}」本年申请出列，但按台账核对不符合出列标准：{unmet}",
    "达到标准前不得申请出列；请核实台账和本表数据",
    "申请出列的村按台账和村级表核对不符合贫困村出列标准",
)
COUNTY_EXIT = register(
    "摘帽标准",
    ERROR,
    "{county}{period}年申请摘帽，但{label}为 {figure:.2f}{unit}，不符合标准（{op} {threshold:g}{unit}）",
    "达到国家规定标准前不得申请摘帽；请核实台账与统计数据",
    "申请摘帽的县有一项标准按数据核对未达到",
)
COUNTY_UNASSESSED = register(
    "摘帽待判",
    WARNING,
    "{county}{period}年申请摘帽，{label}无法判断：{note}",
    "补齐数据或在指标目录中设定标准后重新判断",
    "申请摘帽的县有一项标准缺少数据或未设定，无法判断",
)
