"""Render the progress report: data → context → charts → docxtpl template → .docx (and PDF for checking).

The template (templates/reports/progress.docx) holds the layout and the wording; this module only
fills it. Rendering uses Jinja with autoescape ON, so a unit name with "&" or "<" cannot break the
document's XML.
"""

from __future__ import annotations

import datetime as dt
import os
import tempfile
import threading
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import jinja2

from hbreport import paths
from hbreport.context import Context
from hbreport.errors import HBError
from hbreport.model.findings import Finding
from hbreport.model.values import FormData
from hbreport.report import charts
from hbreport.report.context import approvals_in, build_context, timeliness_of
from hbreport.report.numbers import FILTERS
from hbreport.xlsx.atomic import atomic_output, check_target, why

TEMPLATE = paths.REPORTS / "progress.docx"
FONTS_CONF = Path(__file__).resolve().parent / "fonts.conf"
CHART_WIDTH_MM = 150


def jinja_env() -> jinja2.Environment:
    """The template's Jinja environment: autoescape on, undefined names are errors, number filters."""
    env = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)
    env.filters.update(FILTERS)
    return env


@contextmanager
def _scratch_errors(scratch: str) -> Iterator[None]:
    """A chart that cannot be written to the temporary folder (full disk, no permission) is a message."""
    try:
        yield
    except OSError as exc:
        raise HBError(
            f"无法在临时文件夹中写入报告的图表：{why(exc)}",
            file=Path(scratch).parent,
            hint="请清理磁盘空间（系统临时文件夹所在的磁盘），或设置环境变量 TMP/TMPDIR 指向有空间的文件夹后重新运行",
        ) from None


def render_report(
    data: FormData,
    out_docx: str | Path,
    *,
    template: str | Path | None = None,
    force: bool = False,
    inputs: Iterable[str | Path] = (),
    **context_args: Any,
) -> Path:
    """Write the 脱贫攻坚进展情况报告 of ``data``'s unit and period to ``out_docx``; return its path.
    ``context_args`` are :func:`~hbreport.report.context.build_context`'s (findings, missing, returned,
    history, catalog, registry, baseline, issued, issuer, levels, regions, timeliness, verification,
    approvals, county_exits): ``missing`` and ``returned`` name children that have not reported or were
    sent back (codes, ``(code, name[, reason])`` tuples, dicts or consolidation ``ChildStatus`` objects);
    ``history`` maps earlier years to their FormData for the trend chart and cumulative figures;
    ``county_exits``: the poor counties' 摘帽 statuses a consolidation Summary carries up
    (``Summary.county_exits``). ``out_docx`` must end in .docx; it replaces an existing file only with
    ``force``, one of ``inputs`` never."""
    from docx.shared import Mm
    from docxtpl import DocxTemplate, InlineImage

    out_docx = Path(out_docx)
    inputs = list(inputs) + ([template] if template is not None else [])
    check_target(out_docx, suffix=".docx", force=force, inputs=inputs)
    template = Path(template) if template is not None else TEMPLATE
    if not template.is_file():
        raise HBError(
            "找不到报告模板",
            file=template,
            hint="运行 python templates/reports/build_template.py 重新生成模板",
        )
    context = build_context(data, **context_args)
    doc = DocxTemplate(str(template))
    with tempfile.TemporaryDirectory(prefix="hb-report-") as scratch, _scratch_errors(scratch):
        scratch_dir = Path(scratch)
        images: dict[str, Any] = {}
        images["trend"] = InlineImage(
            doc,
            str(charts.trend_chart(context["trend"], scratch_dir / "trend.png")),
            width=Mm(CHART_WIDTH_MM),
        )
        if context["children"]:
            expected = context["people"]["expected"]
            path = charts.completion_chart(
                context["children"],
                expected,
                scratch_dir / "completion.png",
            )
            images["completion"] = InlineImage(doc, str(path), width=Mm(CHART_WIDTH_MM))
        else:
            images["completion"] = None
        context["charts"] = images
        try:
            doc.render(context, jinja_env=jinja_env(), autoescape=True)
        except jinja2.TemplateError as exc:
            lines = "".join(getattr(exc, "docx_context", []) or [])
            raise HBError(
                f"报告模板有误：{exc}" + (f"（附近文字：{lines[:120]}）" if lines else ""),
                file=template,
                hint="检查模板中 {{ }} 与 {% %} 标记是否成对、变量名是否拼写正确（见 templates/reports/README.md）",
            ) from None
        _set_properties(doc, context)
        with atomic_output(out_docx, force=force, inputs=inputs, suffix=".docx") as partial:
            doc.save(str(partial))
    return out_docx


def _set_properties(doc, context: Mapping[str, Any]) -> None:
    props = doc.docx.core_properties
    props.title = f"{context['unit']['name']}{context['year']}年脱贫攻坚进展情况报告"
    props.author = context["issuer"]
    props.last_modified_by = "hbreport"
    props.language = "zh-CN"
    props.revision = 1
    now = dt.datetime.combine(context["issued"], dt.time())
    props.created = now
    props.modified = now


def report_from_workbook(
    path: str | Path,
    out_docx: str | Path,
    *,
    history_files: Iterable[str | Path] = (),
    registry=None,
    catalog=None,
    baseline=None,
    **kw: Any,
) -> Path:
    """Read a consolidated workbook once through the safety gate (its values, and its Summary from the
    hidden part) and write its report. ``history_files`` are earlier periods' workbooks of the same
    unit, for the trend chart."""
    from hbreport.model.dataset import Dataset
    from hbreport.xlsx.reader import read_workbook

    path = Path(path)
    history_files = [Path(h) for h in history_files]
    inputs = [path, *history_files, *kw.pop("inputs", ())]
    check_target(out_docx, suffix=".docx", force=kw.get("force", False), inputs=inputs)
    ctx = Context.of(registry, catalog, baseline)
    result = read_workbook(path, **ctx.keywords)
    summary = result.summary
    history: dict[int, FormData] = {}
    for other in history_files:
        earlier = read_workbook(Path(other), **ctx.keywords)
        if earlier.data.unit_code != result.data.unit_code:
            raise HBError(
                f"往年工作簿是「{earlier.data.spec.unit_name}」的，不是「{result.data.spec.unit_name}」的",
                file=other,
                hint="只给出同一单位往年的汇总工作簿",
            )
        history[earlier.data.period] = earlier.data
    dataset = Dataset.from_form_data(result.data, row_status=summary.row_statuses() if summary else None)
    return report_from_dataset(
        dataset,
        summary,
        out_docx,
        spec=result.spec,
        findings=result.findings,
        history=history,
        inputs=inputs,
        **ctx.keywords,
        **kw,
    )


def report_from_dataset(
    dataset,
    summary,
    out_docx: str | Path,
    *,
    spec=None,
    findings: Iterable[Finding] = (),
    history: Mapping[int, FormData] | None = None,
    registry=None,
    catalog=None,
    baseline=None,
    **kw: Any,
) -> Path:
    """The report of one unit and period from its data values (a :class:`~hbreport.model.Dataset`)
    and its consolidation :class:`~hbreport.model.Summary` (None for a unit's own workbook): who is
    missing or was returned, and the findings, come from the Summary as data."""
    from hbreport.spec import build_workbook_spec

    units = dataset.units()
    if len(units) != 1:
        raise HBError(
            f"报告只能针对一个单位，数据中有 {len(units)} 个单位", hint="只给出一个单位一个报告期的数据"
        )
    period = dataset.values[0].period
    if spec is None:
        spec = build_workbook_spec(units[0], period, registry=registry, catalog=catalog, baseline=baseline)
    data = dataset.to_form_data(spec, sha256=dataset.values[0].sha256)
    found = list(findings)
    if summary is not None:
        found += summary.findings
        kw.setdefault("timeliness", timeliness_of(summary))
        kw.setdefault("approvals", approvals_in(summary))
        kw.setdefault("county_exits", summary.county_exits)
        kw["missing"] = list(summary.missing)  # ChildStatus: code, name, note and the status (未报, 拒收 …)
        kw["returned"] = [
            (c.code, c.name, c.note or (f"错误{c.errors}条" if c.errors else "")) for c in summary.returned
        ]
        kw["levels"] = list(summary.levels)
        kw["regions"] = summary.regions
    return render_report(
        data,
        out_docx,
        findings=unique_findings(found),
        history=history,
        registry=registry,
        catalog=catalog,
        baseline=baseline,
        **kw,
    )


def report_from_store(
    store: str | Path,
    unit: str,
    period: int,
    out_docx: str | Path,
    *,
    registry=None,
    catalog=None,
    baseline=None,
    **kw: Any,
) -> Path:
    """The report of ``unit``'s newest consolidation for ``period`` kept in ``store``: its values and
    Summary as the store holds them (earlier periods' consolidations there give the trend)."""
    from hbreport.store.forms import FormStore

    ctx = Context.of(registry, catalog, baseline)
    code = ctx.registry.get(unit).code
    kw["inputs"] = [Path(store), *kw.get("inputs", ())]  # the report never goes over the store
    check_target(out_docx, suffix=".docx", force=kw.get("force", False), inputs=kw["inputs"])
    with FormStore(store, write=False) as db:
        found = db.latest_consolidation(code, period)
        if found is None:
            raise HBError(
                f"数据库中没有「{ctx.registry.get(code).name}」{period}年的汇总",
                file=store,
                hint="先用 hbreport consolidate --store 汇总该单位该年的报表，或给出汇总工作簿",
            )
        earlier = {y: db.latest_consolidation(code, y) for y in range(period - 10, period)}
    dataset, summary = found
    history = {y: e[0].to_form_data(ctx.spec(code, y)) for y, e in earlier.items() if e is not None}
    return report_from_dataset(
        dataset,
        summary,
        out_docx,
        spec=ctx.spec(code, period),
        history=history,
        **ctx.keywords,
        **kw,
    )


def unique_findings(findings: Iterable[Finding]) -> list[Finding]:
    """Findings once each: the same problem found in a child's file and again in the consolidated
    workbook (a unit's own form is copied into it) counts once."""
    seen: set[tuple] = set()
    out = []
    for f in findings:
        unit = (f.unit_code or "").strip().ljust(12, "0") if f.unit_code else f.unit_name
        key = (unit, f.sheet, f.cell, f.rule, f.message, f.importance)
        if key not in seen:
            seen.add(key)
            out.append(f)
    return out


# ---------------------------------------------------------------- PDF (checking, page images)

_ENV_LOCK = threading.Lock()


@contextmanager
def font_aliases():
    """Point fontconfig at hbreport's aliases (仿宋_GB2312 → AR PL UMing CN, …) while LibreOffice runs."""
    with _ENV_LOCK:
        before = os.environ.get("FONTCONFIG_FILE")
        os.environ["FONTCONFIG_FILE"] = str(FONTS_CONF)
        try:
            yield
        finally:
            if before is None:
                os.environ.pop("FONTCONFIG_FILE", None)
            else:
                os.environ["FONTCONFIG_FILE"] = before


def docx_to_pdf(docx_path: str | Path, out_dir: str | Path) -> Path:
    """Convert a report to PDF with LibreOffice, the Windows font names mapped to free fonts."""
    return docxs_to_pdf([docx_path], out_dir)[0]


def docxs_to_pdf(docx_paths: Iterable[str | Path], out_dir: str | Path) -> list[Path]:
    """Convert several reports in one LibreOffice run (see :func:`docx_to_pdf`)."""
    from hbreport.office import convert_many

    with font_aliases():
        return convert_many([Path(p) for p in docx_paths], "pdf", Path(out_dir))
