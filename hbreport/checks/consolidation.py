"""Checks a consolidation makes of its children's files beyond reading them: which unit and period a
file is for, the baseline a child reported, the parent's own forms, blank workbooks, return copies.
(Several files of one unit: :mod:`hbreport.checks.files`.)"""

from __future__ import annotations

from hbreport.checks.registry import ERROR, WARNING, register

UNIT = register(
    "单位",
    ERROR,
    "拒收：{reason}",
    "{hint}",
    "文件的填报单位不是本次汇总的下级（放错了文件夹、层级不对、本级自己的报表）",
)
PERIOD = register(
    "报告期",
    ERROR,
    "拒收：这是 {found} 年的报表，本次汇总 {period} 年",
    "请{unit}报送 {period} 年的报表；往年的文件不要放在本次汇总的文件夹里",
    "文件的报告期不是本次汇总的报告期",
)
BASELINE = register(
    "基数",
    ERROR,
    "「{label}」报送 {value}，与基数 {base} 不符（{where}）；汇总采用基数 {base}",
    "使用本年下发的表式重新填报，不要改动预填的基数",
    "下级合计行的基数与上级掌握的基数不符",
)
OWN_ERRORS = register(
    "本级有错",
    ERROR,
    "本级自填表有错误，未采用",
    "改正后重新汇总",
    "本级自填的表（如县的 04 表）有错误，未采用",
)
OWN_MISSING = register(
    "本级未填",
    WARNING,
    "{sheets}由本级自填，文件夹中没有{unit}本级的报表，该表留空",
    "把{unit}本级填好的报表（文件名以 {prefix} 开头）放入文件夹后重新汇总",
    "文件夹中没有本级自填的报表",
)
BLANK = register(
    "空表",
    WARNING,
    "「{unit}」的报表中没有填报任何数据（各表的填报格全为空），是空表，不作为已报数据",
    "请{unit}填好后重新报送；数据为零的格请填 0，不要空着",
    "报送的是空白表：各表没有一行填了数据（预填的基数不算，填 0 算）",
)
OWN_FORM = register(
    "非汇总表",
    WARNING,
    "「{unit}」报送的是本级自填的报表，不是汇总表：{sheets}没有数据",
    "请{unit}先用 hbreport consolidate 汇总其下级报表，报送汇总输出的工作簿（含“下级明细”“汇总校验”）",
    "乡镇以上的单位报送了本级自填的表，而不是其下级的汇总表",
)
RETURN_COPY = register(
    "退回件",
    WARNING,
    "未能写出「{name}」的退回批注件：{reason}",
    "{hint}",
    "退回批注件未能写出（文件被占用、没有写权限……）；问题清单仍在“汇总校验”表中",
)
APPROVAL = register(
    "审核",
    ERROR,
    "{reason}",
    "{hint}",
    "汇总时要求已审核（--require-approved）：下级报表没有审核（数据库中没有记录，文件中也没有审核标记），"
    "或审核后数据被改动",
)
ABSENT_FILLED = register(
    "未报行有数",
    WARNING,
    "{row}在本汇总表中为“{status}”（没有报送数据），该行的 {cells} 却填有 {shown}：这不是{unit}报送的数据，"
    "读入时不计入{unit}，也不计入合计",
    "{unit}的数据只能用它自己的报表报送、经重新汇总汇入，不能在汇总表中代填：请清除这些单元格后再报送"
    "（{unit}补报的，把它的报表放入文件夹重新汇总）",
    "汇总表中未报、退回、拒收或空表的下级行里填了数（这些行只应有预填的基数）：读入时不计，警告",
)
REPORTED_CHANGED = register(
    "已报行被改",
    WARNING,
    "{row}的数据汇总后被改动：{changes}。该行是{unit}报送、经汇总填入的数据：读入时采用汇总时的数"
    "（{unit}报送的），不采用表中改动后的数，合计也按汇总时的数计算",
    "下级的数据只能由{unit}改正它自己的报表、重新报送后重新汇总得到，不能在汇总表中直接改动："
    "请把这些单元格恢复为汇总时的数，或用重新汇总（hbreport consolidate）生成的报表报送；"
    "现在的表与上报采用的数据不一致",
    "汇总表中已报下级行的数据在汇总后被改动（与汇总工作簿 _summary 中记录的不同）：读入时按汇总时的数据，警告",
)
