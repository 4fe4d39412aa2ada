"""Word progress reports (脱贫攻坚进展情况报告) in official document layout, for every level.

from hbreport.report import render_report, report_from_workbook
render_report(form_data, "红安县_2017年进展报告.docx", missing=[...], history={2016: data_2016})
report_from_workbook("红安县_2017.xlsx", "红安县_2017年进展报告.docx")
"""

from hbreport.report.context import build_context
from hbreport.report.render import (
    docx_to_pdf,
    docxs_to_pdf,
    render_report,
    report_from_dataset,
    report_from_store,
    report_from_workbook,
)

__all__ = [
    "build_context",
    "docx_to_pdf",
    "docxs_to_pdf",
    "render_report",
    "report_from_dataset",
    "report_from_store",
    "report_from_workbook",
]
