"""Write templates/reports/progress.docx, the docxtpl template of the 脱贫攻坚进展情况报告.

    python templates/reports/build_template.py            # rewrites progress.docx beside this script
    python templates/reports/build_template.py --out X.docx

python-docx writes the official layout (GB/T 9704-2012: A4, margins, fonts on the East Asian slot,
fixed line pitch, odd/even page-number footers with a PAGE field, zh-CN) and the report's wording
as Jinja tags (docxtpl syntax: ``{{ … }}``, ``{%p … %}`` for whole paragraphs, ``{%tr … %}`` for
table rows). The result is deterministic: running the script again writes the same bytes.

An office may instead edit progress.docx in Word directly (see README.md beside this script); this
script is the reproducible starting point and the record of how the template was made.
"""

from __future__ import annotations

import argparse
import io
import sys
import zipfile
from datetime import datetime
from pathlib import Path

import docx
from docx.enum.style import WD_STYLE_TYPE
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_LINE_SPACING
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Mm, Pt

from hbreport.report import docx_layout as L

HERE = Path(__file__).resolve().parent
OUT = HERE / "progress.docx"
FIXED_TIME = datetime(2016, 1, 1, 0, 0, 0)

# ---------------------------------------------------------------- the wording (Jinja)

TITLE = "{{ unit.name }}{{ year }}年脱贫攻坚进展情况报告"
SUBTITLE = "（数据截至{{ as_of|date }}）"

OPENING = (
    "按照《{{ plan_title }}》确定的目标任务和年度进度安排，"
    "{% if basis.complete %}根据各{{ child_level_zh }}报送的统计报表汇总，"
    "{% else %}{{ basis.text }}（{{ basis.absent_text }}，其数据未计入），{% endif %}"
    "现将{{ unit.name }}{{ year }}年脱贫攻坚进展情况报告如下。"
    "{% if not basis.enough %}已汇总的{{ child_level_zh }}不足应报数的{{ basis.threshold|pct(0) }}，"
    "本报告不对{{ unit.name }}总体进度作出判断，只反映已报送单位的情况。{% endif %}"
)

TARGETS = (
    "{% if is_province %}规划确定，到{{ people.deadline }}年底全省{{ people.whole_target|people }}农村贫困人口全部脱贫销号，"
    "{{ villages.whole_target|units }}贫困村全部脱贫出列，{{ counties.target|units }}贫困县全部脱贫“摘帽”。"
    "{% else %}{{ unit.name }}{% if counties.own and unit.level == 'county' %}为{{ counties.own.kind }}，{% endif %}"
    "2016年初有建档立卡贫困人口{{ people.whole_target|people }}、贫困村{{ villages.whole_target|units }}"
    "{% if counties.schedule %}、贫困县{{ counties.target|units }}{% endif %}，"
    "按规划到{{ people.deadline }}年底全部脱贫出列{% if counties.target %}、摘帽{% endif %}。{% endif %}"
    "{% if is_province %}按规划年度进度{% else %}按下达的任务分解{% endif %}，"
    "到{{ year }}年底应累计脱贫{{ people.expected|pct }}、贫困村累计出列{{ villages.expected|pct }}"
    "{% if counties.schedule %}、贫困县累计摘帽{{ counties.expected|pct }}{% endif %}。主要指标完成情况见表1"
    "{% if not basis.complete %}（{{ basis.text }}，规划目标为已报送单位的基数）{% endif %}。"
)

REGION_PROGRESS = (
    "{% for g in regions.regions %}{{ g.name }}片区{% if g.reported %}{{ g.counties }}个县市区有建档立卡贫困人口"
    "{{ g.base|people }}，累计脱贫{{ g.cum|people }}（{{ g.rate|pct }}，计划进度{{ g.expected|pct }}），"
    "贫困村累计出列{{ g.villages_exited|units }}（{{ g.village_rate|pct }}）{% else %}本期没有汇总数据{% endif %}"
    "{% if loop.last %}。{% else %}；{% endif %}{% endfor %}"
    "规划为四个片区确定的{{ regions.total }}项主要目标中，现有报表采集{{ regions.collected }}项，"
    "其余{{ regions.total - regions.collected }}项未采集，见表2-2。"
)

OLD_AREA = (
    "革命老区。规划支持新确定的{{ regions.old_area.plan_counties|units }}革命老区县（市、区）和"
    "{{ regions.old_area.plan_townships|units }}革命老区乡镇，加快{{ regions.old_area.plan_key_townships|units }}"
    "重点老区乡镇脱贫步伐。按老区县名单汇总，{{ regions.old_area.counties }}个老区县市区有建档立卡贫困人口"
    "{{ regions.old_area.base|people }}，累计脱贫{{ regions.old_area.cum|people }}（{{ regions.old_area.rate|pct }}，"
    "计划进度{{ regions.old_area.expected|pct }}），贫困村累计出列{{ regions.old_area.villages_exited|units }}"
    "（{{ regions.old_area.village_rate|pct }}）。"
)

KEY_AREAS = (
    "规划三(一)确定的五大重点区域：{% for a in regions.areas %}{{ a.plan_name }}"
    "{% if a.unknown %}，规划未列名单，单位名册也未标明，{{ a.undetermined }}个县市区名单未定，未汇总"
    "{% else %}{{ a.counties }}个县市区有建档立卡贫困人口{{ a.base|people }}，累计脱贫{{ a.cum|people }}"
    "（{{ a.rate|pct }}，计划进度{{ a.expected|pct }}）"
    "{% if a.undetermined %}，另有{{ a.undetermined }}个县市区单位名册未标明是否属于，未计入{% endif %}"
    "{% endif %}{% if loop.last %}。{% else %}；{% endif %}{% endfor %}"
)

PEOPLE = (
    "{% if not people.reported %}本期没有可用的脱贫数据：所属{{ child_level_zh }}均未报送。"
    "{% elif not people.target %}{{ unit.name }}没有建档立卡贫困人口。"
    "{% else %}{% if people.partial %}{{ basis.text }}，{% endif %}截至{{ as_of|date }}，"
    "{{ unit.name }}累计脱贫{{ people.cum|people }}，"
    "占{% if people.partial %}已报送单位建档立卡贫困人口{% elif is_province %}规划目标{% else %}建档立卡贫困人口{% endif %}"
    "{{ people.target|people }}的{{ people.rate|pct }}，"
    "{% if people.judged %}{% if people.gap > 0 %}高于规划进度{{ people.gap|points }}"
    "{% elif people.gap < 0 %}低于规划进度{{ people.gap|points }}{% else %}与规划进度持平{% endif %}，"
    "{% if people.partial %}已报送单位{% endif %}总体进度{{ people.status }}。"
    "{% else %}规划进度为{{ people.expected|pct }}；已报送单位不足，不对{{ unit.name }}总体进度作出判断。{% endif %}"
    "{{ year }}年脱贫{{ people.exited|people }}（{{ people.exited_households|households }}），"
    "返贫{{ people.returned|people }}，新识别贫困人口{{ people.new|people }}，年末剩余贫困人口{{ people.remaining|people }}"
    "{% if people.incidence is not none %}，贫困发生率{{ people.incidence|pct(2) }}"
    "（年末剩余贫困人口÷农村户籍人口{{ people.rural_population|people }}）{% endif %}。"
    "{% endif %}"
)

REGIONS = (
    "{% if summary.total %}{{ year }}年，{{ unit.name }}所属{{ summary.total }}个{{ child_level_zh }}中，"
    "累计脱贫进度超前的{{ summary.ahead }}个、正常的{{ summary.normal }}个、滞后的{{ summary.lagging }}个"
    "{% if summary.missing %}，未报{{ summary.missing }}个{% endif %}"
    "{% if summary.returned %}，退回{{ summary.returned }}个{% endif %}"
    "{% if summary.blank %}，报送空表{{ summary.blank }}个{% endif %}。"
    "{% if worst %}已报送单位中完成自身任务最好的是{{ best.name }}（累计脱贫{{ best.cum|people }}，"
    "完成到本年底累计任务的{{ best.completion|pct }}），最差的是{{ worst.name }}（{{ worst.completion|pct }}）。{% endif %}"
    "各{{ child_level_zh }}情况见表2和图2。"
    "{% else %}{{ unit.name }}没有下级填报单位。{% endif %}"
)

PROJECTS = (
    "{% if not projects_reported %}本期没有报送重点工程数据，表3各项均为“未报送”，不作评价。"
    "{% else %}{{ year }}年重点工程进展见表3{% if not basis.complete %}（{{ basis.text }}）{% endif %}。"
    "{% if projects_failing %}有{{ projects_failing|length }}项指标未达到规划标准："
    "{% for p in projects_failing %}{{ p.name }}{{ p.brief }}，规划{{ p.target }}{% if not loop.last %}；{% endif %}"
    "{% endfor %}。请有关单位核实整改。"
    "{% elif not projects_unreported %}已报送的各项重点工程指标均符合规划标准。{% endif %}"
    "{% if projects_unreported %}{{ projects_unreported|join('、') }}没有报送数据，不作评价。{% endif %}{% endif %}"
)

INFRASTRUCTURE = (
    "{% if not infrastructure_reported %}本期没有报送基础设施和公共服务数据（鄂扶贫04表），"
    "表4各项均为“未报送”，不作评价。"
    "{% else %}贫困地区基础设施和公共服务主要指标见表4。"
    "{% if infrastructure_failing %}已到目标年份但未达到规划目标的有：{% for p in infrastructure_failing %}{{ p.name }}"
    "{{ p.brief }}，规划{{ p.target }}{% if not loop.last %}；{% endif %}{% endfor %}。"
    "{% elif not infrastructure_unreported %}已到目标年份的指标均达到规划目标。{% endif %}"
    "{% if infrastructure_unreported %}{{ infrastructure_unreported|join('、') }}没有报送数据，不作评价。{% endif %}"
    "{% endif %}"
)

DOMAIN = (
    "{% if not d.reported %}{{ d.table_no }}《{{ d.title }}》未报送，本期没有这方面的数据。"
    "{% elif not d.rows %}{{ d.table_no }}已报送，本表没有可与规划目标比较的指标。"
    "{% else %}主要指标见{{ d.table_no }}。"
    "{% if d.failing %}已到目标年份但未达到规划目标或标准的有：{% for k in d.failing %}{{ k.name }}"
    "{{ k.brief }}，规划{{ k.target }}{% if not loop.last %}；{% endif %}{% endfor %}。"
    "{% else %}已到目标年份的指标均达到规划目标或标准。{% endif %}{% endif %}"
)

VILLAGES = (
    "{% if not villages.reported %}本期没有贫困村出列数据。"
    "{% elif not villages.target %}{{ unit.name }}没有建档立卡贫困村。"
    "{% else %}{% if villages.partial %}{{ basis.text }}，{% endif %}截至{{ as_of|date }}，"
    "{{ unit.name }}累计出列贫困村{{ villages.cum|units }}，"
    "占{% if villages.partial %}已报送单位贫困村{% endif %}{{ villages.target|units }}的{{ villages.rate|pct }}，"
    "{% if villages.judged %}{% if villages.gap > 0 %}高于规划进度{{ villages.gap|points }}{% elif villages.gap < 0 %}"
    "低于规划进度{{ villages.gap|points }}{% else %}与规划进度持平{% endif %}"
    "{% else %}规划进度为{{ villages.expected|pct }}（不作总体判断）{% endif %}。"
    "其中以前年度已出列{{ villages.prior|units }}，"
    "{{ year }}年申请出列{{ villages.applying|units }}，达到出列标准{{ villages.meeting|units }}；"
    "基础设施达标的贫困村{{ villages.infrastructure_ok|units }}，基本公共服务达标的{{ villages.services_ok|units }}。"
    "{% endif %}"
)

COUNTIES = (
    "{% if counties.own %}{{ counties.own.name }}为{{ counties.own.kind }}，"
    "按计划{% if counties.own.exit_year %}于{{ counties.own.exit_year }}年{% else %}在{{ counties.deadline }}年底前{% endif %}摘帽。"
    "{% if counties.moved %}摘帽计划以任务分解为准，{{ counties.moved|join('、') }}的摘帽年份与贫困县名单不同。{% endif %}"
    "{% if counties.own.assessment %}{% set a = counties.own.assessment %}"
    "{% if a.criteria %}按本期汇总数据评估：{% for c in a.criteria %}{{ c.text }}{% if not loop.last %}；{% endif %}{% endfor %}。{% endif %}"
    "评估结果：{{ a.status }}"
    "{% if a.status == '申请摘帽' %}（本年申请摘帽，已达到退出标准）"
    "{% elif a.status == '未达到' %}{% if a.applying %}（本年申请摘帽，但未达到退出标准）{% endif %}"
    "{% elif a.status == '未报' %}（评估所需数据不全）{% endif %}。"
    "{% if a.unassessed %}{{ a.unassessed|join('、') }}的国家标准未在指标目录中设定，未作判断。{% endif %}"
    "{% elif unit.level == 'township' %}摘帽情况以县级汇总数据评估。{% endif %}"
    "{% elif counties.schedule %}{{ unit.name }}有贫困县{{ counties.target|units }}"
    "（国定{{ counties.national }}个、省定{{ counties.provincial }}个）。按摘帽计划，"
    "到{{ year }}年底应摘帽{{ counties.planned|units }}（规划进度{{ counties.expected|pct }}）"
    "{% if counties.planned_this_year %}，其中{{ year }}年计划摘帽的有{{ counties.planned_this_year|join('、') }}{% endif %}。"
    "{% if counties.moved %}摘帽计划以任务分解为准，{{ counties.moved|join('、') }}的摘帽年份与贫困县名单不同。{% endif %}"
    "{% if counties.applying is not none %}据各地报送的鄂扶贫04表，本年申请摘帽的贫困县{{ counties.applying|units }}。"
    "{% else %}本期汇总数据中没有各县申请摘帽的情况。{% endif %}"
    "{% if counties.exits %}{% set e = counties.exits %}按各县汇总数据对照退出标准评估{% if e.table %}（表5）{% endif %}："
    "达到标准的{{ e.met|length|units }}{% if e.met %}（{{ e.met_text }}"
    "{% if e.applying %}，其中本年申请摘帽{{ e.applying|length|units }}{% endif %}）{% endif %}；"
    "未达到的{{ e.not_met|length|units }}{% if e.not_met %}（{{ e.not_met_text }}）{% endif %}；"
    "没有数据或数据不全（未报）的{{ e.no_data|length|units }}{% if e.no_data %}（{{ e.no_data_text }}）{% endif %}。"
    "{% if e.planned %}对照摘帽计划，到{{ year }}年底应摘帽的{{ e.planned|units }}中，"
    "达到标准{{ e.planned_met|units }}、未达到{{ e.planned_not_met|units }}、"
    "未报{{ e.planned_no_data|units }}{% if e.planned_no_data %}（{{ e.planned_no_data_text }}），"
    "这些县是否达到标准无法判断{% endif %}。{% endif %}{% endif %}"
    "名单所列年份只是计划，不代表已经摘帽；是否达到退出标准，以各县汇总数据的评估为准。"
    "{% elif unit.level in ('county', 'township') %}{{ unit.name }}{% if unit.level == 'township' %}所在县{% endif %}"
    "不是贫困县。{% else %}{{ unit.name }}没有贫困县。{% endif %}"
)

REPORTING = (
    "{% if summary.total %}应报{{ summary.total }}个{{ child_level_zh }}，已报送可用数据的{{ summary.reported }}个"
    "{% if quality.missing %}，未报{{ quality.missing|length }}个：{{ quality.missing|join('、') }}{% endif %}"
    "{% if quality.returned %}；退回{{ quality.returned|length }}个："
    "{% for r in quality.returned %}{{ r.name }}{% if r.reason %}（{{ r.reason }}）{% endif %}"
    "{% if not loop.last %}、{% endif %}{% endfor %}{% endif %}"
    "{% if quality.blank %}；报送空表{{ quality.blank|length }}个：{{ quality.blank|join('、') }}{% endif %}。"
    "{% if quality.missing or quality.returned or quality.blank %}这些单位的数据未计入本报告，"
    "表2中标为“未报”“退回”或“空表”。{% endif %}"
    "{% for c in coverage %}{% if loop.first %}据各{{ child_level_zh }}的汇总表，{% endif %}"
    "所辖{{ c.level_zh }}应报{{ c.expected }}个，已汇总{{ c.received }}个{% if loop.last %}。{% else %}；{% endif %}"
    "{% endfor %}"
    "{% else %}本报告数据为{{ unit.name }}本级填报。{% endif %}"
)

APPROVED = (
    "{% set a = quality.approval %}报送的{{ a.received }}个{{ child_level_zh }}报表中，已审核{{ a.approved|length }}个"
    "{% if a.approved %}（{% for x in a.approved %}{{ x.name }}由{{ x.by }}审核{% if not loop.last %}、{% endif %}"
    "{% endfor %}）{% endif %}"
    "{% if a.changed %}；审核后数据被改动、审核已失效的{{ a.changed|length }}个：{{ a.changed|join('、') }}{% endif %}"
    "{% if a.unapproved %}；未审核{{ a.unapproved|length }}个：{{ a.unapproved|join('、') }}{% endif %}。"
)

VERIFIED = (
    "据{{ year }}年脱贫验收工作簿："
    "{% for v in verification %}{{ v.kind }}申报{{ v.declared }}{{ v.unit }}，验收通过{{ v.passed }}{{ v.unit }}、"
    "未通过{{ v.failed }}{{ v.unit }}、未验收{{ v.pending }}{{ v.unit }}{% if loop.last %}。{% else %}；{% endif %}{% endfor %}"
)

FINDINGS = (
    "{% if quality.timeliness %}{% set t = quality.timeliness %}报送截止日期为{{ t.deadline }}，"
    "按时报送{{ t.on_time }}个，逾期{{ t.late|length }}个"
    "{% if t.late %}（{% for x in t.late %}{{ x.name }}{{ x.at }}{% if not loop.last %}、{% endif %}{% endfor %}）{% endif %}"
    "，未报{{ t.not_reported }}个。{% endif %}"
    "{% if quality.errors or quality.warnings or quality.explained %}校验发现错误{{ quality.errors }}条、"
    "未说明的警告{{ quality.warnings }}条{% if quality.explained %}，另有{{ quality.explained }}条警告填报单位已说明原因"
    "（{% for e in quality.explanations %}{{ e.unit }}：“{{ e.text }}”{% if not loop.last %}；{% endif %}{% endfor %}"
    "{% if quality.explained > quality.explanations|length %}等{% endif %}）{% endif %}。"
    "{% if quality.errors %}错误须由填报单位改正后重新报送；{% endif %}"
    "{% if quality.warnings %}未说明的警告须由填报单位核实，属实的在报表“说明”中写明原因。{% endif %}"
    "{% if quality.findings_more %}表5列出前{{ quality.findings|length }}条，其余{{ quality.findings_more }}条见校验清单。"
    "{% else %}明细见表5。{% endif %}{% else %}校验未发现错误或警告。{% endif %}"
)

OUTLIERS = (
    "将各{{ child_level_zh }}的累计脱贫率相互比较，看是否有单位远高于或远低于其他单位（偏离程度远超多数单位之间的差别）："
    "{% if quality.outliers %}以下单位明显偏离，请核实数据是否准确："
    "{% for o in quality.outliers %}{{ o.name }}（累计脱贫率{{ o.rate|pct }}）"
    "{% if not loop.last %}、{% endif %}{% endfor %}。"
    "{% elif quality.outlier_checked %}未发现明显偏离的单位。{% else %}已报单位不足{{ quality.outlier_min }}个，未作比较。{% endif %}"
)

BASE_MISMATCH = (
    "汇总的建档立卡贫困人口{{ people.base|people }}与{% if is_province %}规划基数{% else %}基线名册{% endif %}"
    "{{ people.whole_target|people }}不一致，请核对各地预填的基数。"
)

LAGGING = (
    "{% if lagging %}累计脱贫进度滞后于规划的{{ child_level_zh }}共{{ lagging|length }}个，按落后幅度排列如下。"
    "{% elif summary.reported %}已报送的{{ child_level_zh }}中没有累计脱贫进度滞后于规划的。"
    "{% else %}没有已报送的{{ child_level_zh }}，无法判断。{% endif %}"
)
LAGGING_ITEM = (
    "{{ loop.index }}. {{ u.name }}：累计脱贫率{{ u.rate|pct }}，落后规划进度{{ u.behind|points }}"
    "{% if u.village_behind %}；贫困村出列率{{ u.village_rate|pct }}，落后{{ u.village_behind|points }}{% endif %}。"
)

PROBLEMS_NONE = "本期数据未反映出突出问题。"
PROBLEM_ITEM = "{{ loop.index }}. {{ item }}"

# 下一步工作: each paragraph appears when what it answers lags; the wording is the office's to edit
NEXT_STEPS = (
    (
        "next_steps.people",
        "（一）加快滞后地区脱贫进度。对累计脱贫进度滞后的{{ child_level_zh }}逐一分析原因，"
        "{% if lagging %}重点督办{% for u in lagging[:5] %}{{ u.name }}{% if not loop.last %}、{% endif %}{% endfor %}，{% endif %}"
        "按规划年度进度倒排工期，确保年度减贫任务按期完成。",
    ),
    (
        "next_steps.villages",
        "（二）推进贫困村出列。对照贫困村出列标准，补齐基础设施和公共服务短板，发展村级集体经济，确保贫困村按计划出列。",
    ),
    (
        "next_steps.projects",
        "（三）补齐重点工程短板。对未达到规划要求的指标，督促行业部门和有关地区加大投入、加快实施。",
    ),
    (
        "next_steps.counties",
        "（四）做好贫困县退出工作。按国家规定标准逐项核实贫困发生率、贫困村出列等指标，计划摘帽的县要提前补齐差距，"
        "严格执行退出程序。",
    ),
    (
        "next_steps.data",
        "（五）提高统计数据质量。督促未报送、被退回的单位按时改正重报，核实校验发现的问题，确保数据真实、准确、完整。",
    ),
    (
        "next_steps.unreported",
        "（六）完善统计报送。对没有报送数据的指标，明确责任单位，下期报表中补报。",
    ),
)

# ---------------------------------------------------------------- styles


def make_styles(document) -> None:
    styles = document.styles
    L.set_default_fonts(document)
    L.set_language(document)
    L.style_paragraph(styles["Normal"], east_asia=L.BODY_FONT, size=L.BODY_SIZE, first_line_chars=2)
    L.style_paragraph(
        styles["Title"],
        east_asia=L.TITLE_FONT,
        size=L.TITLE_SIZE,
        align=WD_ALIGN_PARAGRAPH.CENTER,
        line=Pt(36),
        latin=L.TITLE_FONT,
    )
    L.style_paragraph(
        styles["Subtitle"],
        east_asia=L.HEADING2_FONT,
        size=L.BODY_SIZE,
        align=WD_ALIGN_PARAGRAPH.CENTER,
    )
    L.style_paragraph(
        styles["Heading 1"],
        east_asia=L.HEADING1_FONT,
        size=L.BODY_SIZE,
        first_line_chars=2,
        latin=L.HEADING1_FONT,
        keep_with_next=True,
    )
    L.style_paragraph(
        styles["Heading 2"],
        east_asia=L.HEADING2_FONT,
        size=L.BODY_SIZE,
        first_line_chars=2,
        latin=L.HEADING2_FONT,
        keep_with_next=True,
    )
    L.style_paragraph(
        styles["Caption"],
        east_asia=L.HEADING1_FONT,
        size=L.TABLE_SIZE,
        align=WD_ALIGN_PARAGRAPH.CENTER,
        line=L.TABLE_LINE,
        latin=L.HEADING1_FONT,
        keep_with_next=True,
    )
    figure_caption = styles.add_style("Figure Caption", WD_STYLE_TYPE.PARAGRAPH)
    figure_caption.base_style = styles["Caption"]
    L.style_paragraph(
        figure_caption,
        east_asia=L.HEADING1_FONT,
        size=L.TABLE_SIZE,
        align=WD_ALIGN_PARAGRAPH.CENTER,
        line=L.TABLE_LINE,
        latin=L.HEADING1_FONT,
    )
    for name, align in (
        ("Table Text", WD_ALIGN_PARAGRAPH.CENTER),
        ("Table Left", WD_ALIGN_PARAGRAPH.LEFT),
        ("Table Unit", WD_ALIGN_PARAGRAPH.RIGHT),
        ("Figure", WD_ALIGN_PARAGRAPH.CENTER),
    ):
        style = styles.add_style(name, WD_STYLE_TYPE.PARAGRAPH)
        style.base_style = styles["Normal"]
        L.style_paragraph(
            style,
            east_asia=L.BODY_FONT,
            size=L.TABLE_SIZE,
            align=align,
            line=None if name == "Figure" else L.TABLE_LINE,
        )
        if name == "Figure":
            style.paragraph_format.line_spacing_rule = WD_LINE_SPACING.SINGLE
            style.paragraph_format.keep_with_next = True
            style.paragraph_format.space_before = Pt(6)
    styles["Table Unit"].paragraph_format.keep_with_next = True
    header = styles.add_style("Table Head", WD_STYLE_TYPE.PARAGRAPH)
    header.base_style = styles["Table Text"]
    L.style_paragraph(
        header,
        east_asia=L.HEADING1_FONT,
        size=L.TABLE_SIZE,
        align=WD_ALIGN_PARAGRAPH.CENTER,
        line=L.TABLE_LINE,
        latin=L.HEADING1_FONT,
        keep_with_next=True,
    )
    closing = styles.add_style("Closing", WD_STYLE_TYPE.PARAGRAPH)
    closing.base_style = styles["Normal"]
    L.style_paragraph(closing, east_asia=L.BODY_FONT, size=L.BODY_SIZE, align=WD_ALIGN_PARAGRAPH.RIGHT)
    closing.paragraph_format.right_indent = Pt(L.BODY_SIZE.pt * 4)  # 成文日期右空四字
    L.strip_theme_fonts(styles.element)


# ---------------------------------------------------------------- tables


def _cell_text(cell, text: str, style: str) -> None:
    cell.paragraphs[0].text = text
    cell.paragraphs[0].style = style


def _row_properties(row, *, header: bool) -> None:
    """Rows never split across pages; the heading row repeats on every page (schema order kept)."""
    tr_pr = row._tr.get_or_add_trPr()
    tr_pr.insert(0, OxmlElement("w:cantSplit"))
    if header:
        tr_pr.insert(1, OxmlElement("w:tblHeader"))


def _fixed_widths(table, widths_mm: list[float]) -> None:
    """Column widths that Word and LibreOffice both honour: tblW, fixed layout, tblGrid and every cell."""
    tbl = table._tbl
    tbl_pr = tbl.tblPr
    width = OxmlElement("w:tblW")
    width.set(qn("w:w"), str(sum(L.twips_of_mm(w) for w in widths_mm)))
    width.set(qn("w:type"), "dxa")
    old = tbl_pr.find(qn("w:tblW"))
    if old is not None:
        tbl_pr.replace(old, width)
    else:
        tbl_pr.append(width)
    for col, w in zip(tbl.tblGrid.findall(qn("w:gridCol")), widths_mm, strict=True):
        col.set(qn("w:w"), str(L.twips_of_mm(w)))
    for row in table.rows:
        for i, w in enumerate(widths_mm):
            row.cells[i].width = Mm(w)


def loop_table(
    document,
    heads: list[str],
    widths_mm: list[float],
    cells: list[str],
    loop: str,
    item: str,
    *,
    left: tuple[int, ...] = (),
) -> None:
    """A table with a header row and one data row repeated by ``{%tr for item in loop %}``.

    Rows never split across pages and the heading row repeats; the data cells of the columns in ``left``
    (long text) are left-aligned."""
    table = document.add_table(rows=4, cols=len(heads))
    table.style = document.styles["Table Grid"]
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    table.autofit = False
    for i, head in enumerate(heads):
        _cell_text(table.rows[0].cells[i], head, "Table Head")
    _cell_text(table.rows[1].cells[0], f"{{%tr for {item} in {loop} %}}", "Table Text")
    for i, text in enumerate(cells):
        _cell_text(table.rows[2].cells[i], text, "Table Left" if i in left else "Table Text")
    _cell_text(table.rows[3].cells[0], "{%tr endfor %}", "Table Text")
    _fixed_widths(table, widths_mm)
    for i, row in enumerate(table.rows):
        _row_properties(row, header=i == 0)


# ---------------------------------------------------------------- the document


def build(out: Path = OUT) -> Path:
    document = docx.Document()
    make_styles(document)
    section = document.sections[0]
    L.page_setup(section)
    L.page_number_footers(document, section)

    def p(text: str = "", style: str = "Normal"):
        return document.add_paragraph(text, style=style)

    def control(tag: str) -> None:
        """A paragraph holding only a docxtpl paragraph tag ({%p … %}); it disappears on rendering."""
        p(tag)

    def caption(text: str) -> None:
        p(text, "Caption")

    def figure(name: str, text: str) -> None:
        control(f"{{%p if charts.{name} %}}")
        p(f"{{{{ charts.{name} }}}}", "Figure")
        p(text, "Figure Caption")
        control("{%p endif %}")

    p(TITLE, "Title")
    p(SUBTITLE, "Subtitle")
    p("")
    p(OPENING)

    p("一、总体进展", "Heading 1")
    p(TARGETS)
    caption("表1  主要指标完成情况{{ basis.caption }}")
    loop_table(
        document,
        ["指标", "规划目标", "规划进度", "应完成", "实际完成", "完成率", "进度"],
        [30, 24, 21, 24, 27, 17, 13],
        [
            "{{ h.name }}",
            "{{ h.target }}",
            "{{ h.share }}",
            "{{ h.expected }}",
            "{{ h.actual }}",
            "{{ h.rate|pct }}",
            "{{ h.status }}",
        ],
        "headline",
        "h",
    )
    p("（一）贫困人口脱贫", "Heading 2")
    p(PEOPLE)
    figure("trend", "图1  累计脱贫与规划进度")

    p("二、分地区进展", "Heading 1")
    p(REGIONS)
    control("{%p if children %}")
    caption(
        "表2  各{{ child_level_zh }}脱贫进展（按完成自身任务的程度排序{% if not basis.complete %}；未报送单位无数据{% endif %}）"
    )
    p("单位：人", "Table Unit")
    loop_table(
        document,
        [
            "序号",
            "{{ child_level_zh }}",
            "建档立卡贫困人口",
            "累计脱贫",
            "累计脱贫率",
            "计划进度",
            "任务完成率",
            "进度",
            "贫困村出列率",
        ],
        [11, 25, 20, 19, 17, 16, 17, 14, 17],
        [
            "{{ r.rank }}",
            "{{ r.name }}",
            "{{ r.base|int }}",
            "{{ r.cum|int }}",
            "{{ r.rate|pct }}",
            "{{ r.expected|pct }}",
            "{{ r.completion|pct }}",
            "{{ r.status }}",
            "{{ r.village_rate|pct }}",
        ],
        "children",
        "r",
    )
    control("{%p endif %}")
    figure("completion", "图2  各{{ child_level_zh }}累计脱贫率与规划进度")

    control("{%p if regions %}")
    p("（二）片区进展", "Heading 2")
    p(REGION_PROGRESS)
    caption("表2-1  四个片区脱贫进展")
    p("单位：人、个", "Table Unit")
    loop_table(
        document,
        [
            "片区",
            "县市区",
            "建档立卡贫困人口",
            "累计脱贫",
            "累计脱贫率",
            "计划进度",
            "贫困村出列率",
            "片区目标已采集",
        ],
        [22, 14, 24, 22, 18, 17, 19, 20],
        [
            "{{ g.name }}",
            "{{ g.counties }}",
            "{{ g.base|int }}",
            "{{ g.cum|int }}",
            "{{ g.rate|pct }}",
            "{{ g.expected|pct }}",
            "{{ g.village_rate|pct }}",
            "{{ g.collected }}/{{ g.targets }}",
        ],
        "regions.regions",
        "g",
    )
    caption("表2-2  片区主要目标（规划三(三)）")
    loop_table(
        document,
        ["片区", "目标", "规划值", "期限", "完成情况"],
        [20, 62, 30, 16, 28],
        ["{{ t.region }}", "{{ t.name }}", "{{ t.target }}", "{{ t.deadline or '' }}", "{{ t.actual }}"],
        "regions.targets",
        "t",
        left=(1,),
    )
    control("{%p if regions.old_area %}")
    p(OLD_AREA)
    control("{%p endif %}")
    control("{%p if regions.areas %}")
    p(KEY_AREAS)
    caption("表2-3  重点区域脱贫进展（规划三(一)）")
    p("单位：人、个", "Table Unit")
    loop_table(
        document,
        [
            "重点区域",
            "县市区",
            "名单未定",
            "建档立卡贫困人口",
            "累计脱贫",
            "累计脱贫率",
            "计划进度",
            "贫困村出列率",
        ],
        [30, 14, 14, 24, 22, 18, 17, 17],
        [
            "{{ a.name }}",
            "{{ a.counties }}",
            "{{ a.undetermined or '' }}",
            "{% if a.counties %}{{ a.base|int }}{% else %}未定{% endif %}",
            "{% if a.counties %}{{ a.cum|int }}{% endif %}",
            "{% if a.counties %}{{ a.rate|pct }}{% endif %}",
            "{% if a.counties %}{{ a.expected|pct }}{% endif %}",
            "{% if a.counties %}{{ a.village_rate|pct }}{% endif %}",
        ],
        "regions.areas",
        "a",
    )
    control("{%p endif %}")
    control("{%p endif %}")

    p("三、重点工程", "Heading 1")
    p("（一）脱贫攻坚重点工程", "Heading 2")
    p(PROJECTS)
    control("{%p if projects %}")
    caption("表3  脱贫攻坚重点工程进展{{ basis.caption }}")
    loop_table(
        document,
        ["工程指标", "本年完成", "累计完成", "规划目标或标准", "完成情况"],
        [28, 28, 24, 46, 30],
        ["{{ k.name }}", "{{ k.actual }}", "{{ k.cumulative }}", "{{ k.target }}", "{{ k.verdict }}"],
        "projects",
        "k",
    )
    control("{%p endif %}")
    control("{%p if infrastructure %}")
    p("（二）基础设施和公共服务", "Heading 2")
    p(INFRASTRUCTURE)
    caption("表4  贫困地区基础设施和公共服务{{ infra_caption }}")
    loop_table(
        document,
        ["指标", "本期实际", "规划目标", "目标年份", "完成情况"],
        [36, 24, 44, 22, 30],
        ["{{ k.name }}", "{{ k.actual }}", "{{ k.target }}", "{{ k.deadline }}", "{{ k.verdict }}"],
        "infrastructure",
        "k",
    )
    control("{%p endif %}")
    control("{%p for d in domains %}")
    p("{{ d.title }}", "Heading 2")
    p(DOMAIN)
    control("{%p if d.rows %}")
    caption("{{ d.table_no }}  {{ d.title }}")
    loop_table(
        document,
        ["指标", "本期实际", "规划目标或标准", "目标年份", "完成情况"],
        [36, 24, 44, 22, 30],
        ["{{ k.name }}", "{{ k.actual }}", "{{ k.target }}", "{{ k.deadline }}", "{{ k.verdict }}"],
        "d.rows",
        "k",
    )
    control("{%p endif %}")
    control("{%p endfor %}")

    p("四、贫困村出列与贫困县摘帽", "Heading 1")
    p("（一）贫困村出列", "Heading 2")
    p(VILLAGES)
    p("（二）贫困县摘帽", "Heading 2")
    p(COUNTIES)
    control("{%p if counties.exits and counties.exits.table %}")
    caption("表5  贫困县摘帽情况（计划到本年底摘帽的县和有评估结果的县）")
    loop_table(
        document,
        ["县（市、区）", "计划摘帽年份", "评估结果", "未达到的标准"],
        [34, 30, 30, 82],
        ["{{ c.name }}", "{{ c.exit_year or '—' }}", "{{ c.status }}", "{{ c.failed or '—' }}"],
        "counties.exits.table",
        "c",
        left=(3,),
    )
    control("{%p endif %}")
    control("{%p if verification %}")
    p(VERIFIED)
    control("{%p endif %}")

    p("五、数据质量", "Heading 1")
    p(REPORTING)
    control("{%p if quality.approval %}")
    p(APPROVED)
    control("{%p endif %}")
    p(FINDINGS)
    control("{%p if quality.findings %}")
    caption("表{% if counties.exits and counties.exits.table %}6{% else %}5{% endif %}  校验发现的问题")
    loop_table(
        document,
        ["序号", "单位", "位置", "类别", "问题"],
        [13, 30, 32, 14, 67],
        ["{{ loop.index }}", "{{ f.unit }}", "{{ f.where }}", "{{ f.importance }}", "{{ f.message }}"],
        "quality.findings",
        "f",
        left=(4,),
    )
    control("{%p endif %}")
    p(OUTLIERS)
    control("{%p if quality.base_mismatch %}")
    p(BASE_MISMATCH)
    control("{%p endif %}")

    p("六、滞后单位", "Heading 1")
    p(LAGGING)
    control("{%p for u in lagging %}")
    p(LAGGING_ITEM)
    control("{%p endfor %}")

    p("七、存在问题", "Heading 1")
    control("{%p for item in problems %}")
    p(PROBLEM_ITEM)
    control("{%p endfor %}")
    control("{%p if not problems %}")
    p(PROBLEMS_NONE)
    control("{%p endif %}")

    p("八、下一步工作", "Heading 1")
    for flag, text in NEXT_STEPS:
        control(f"{{%p if {flag} %}}")
        p(text)
        control("{%p endif %}")

    # the last paragraph, the blank line and the 落款 stay on one page (keep with next)
    for paragraph in (p("特此报告。"), p(""), p("{{ issuer }}", "Closing")):
        paragraph.paragraph_format.keep_with_next = True
        paragraph.paragraph_format.keep_together = True
    p("{{ issued|date }}", "Closing")

    props = document.core_properties
    props.title = "脱贫攻坚进展情况报告（模板）"
    props.author = "hbreport"
    props.last_modified_by = "hbreport"
    props.language = L.LANGUAGE
    props.created = FIXED_TIME
    props.modified = FIXED_TIME
    props.revision = 1

    buffer = io.BytesIO()
    document.save(buffer)
    out.write_bytes(_normalised_zip(buffer.getvalue()))
    return out


def _normalised_zip(data: bytes) -> bytes:
    """The same package with fixed entry timestamps, so rebuilding gives identical bytes."""
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            entry = zipfile.ZipInfo(info.filename, date_time=FIXED_TIME.timetuple()[:6])
            entry.compress_type = zipfile.ZIP_DEFLATED
            entry.external_attr = 0o644 << 16
            target.writestr(entry, source.read(info.filename))
    return out.getvalue()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Write the docxtpl template of the progress report.")
    parser.add_argument("--out", type=Path, default=OUT, help="output .docx (default: progress.docx here)")
    args = parser.parse_args(argv)
    path = build(args.out)
    print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
