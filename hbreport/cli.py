"""The `hbreport` command. Offices script it, so the contract stays stable:

JSON for machines (``--json``), Chinese text for people; exit codes 0 clean, 1 the inputs have
problems (findings of importance 错误, an unusable file, units missing), 2 the command cannot do its job
(an argument, a missing path, an output it must not write). A user error never shows a traceback.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import sqlite3
import sys
import traceback
from collections.abc import Callable
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click

from hbreport import __version__
from hbreport.errors import EXIT_OK, EXIT_UNUSABLE, HBError
from hbreport.xlsx.names import shown

LEVEL_CHOICES = ("province", "prefecture", "county", "township")


def _option(*decls: str, **attrs: Any) -> Callable[..., Callable]:
    """An option several commands take: ``NAME()`` adds it as declared here, ``NAME(help=…)`` with other
    words (any of click's option settings can be changed the same way)."""

    def make(**changes: Any) -> Callable:
        return click.option(*decls, **(attrs | changes))

    return make


def options(*decorators: Callable) -> Callable:
    """Several options as one decorator; the help screen lists them in the order given."""

    def apply(f: Callable) -> Callable:
        for decorator in reversed(decorators):
            f = decorator(f)
        return f

    return apply


units_option = _option(
    "--units", default=None, type=click.Path(dir_okay=False), help="单位名册 CSV（默认内置湖北样例）"
)
tasks_option = _option(
    "--tasks",
    "tasks_file",
    default=None,
    type=click.Path(dir_okay=False),
    help="任务分解表 CSV（默认内置样例的 tasks.csv）",
)
json_option = _option("--json", "as_json", is_flag=True, help="以 JSON 输出结果")
force_option = _option("--force", is_flag=True, help="覆盖已存在的输出文件（输入文件任何时候都不会被覆盖）")
period_option = _option("--period", required=True, help="报告期（年份）")
under_option = _option("--under", default=None, help="只生成该单位（6位或12位代码）下属的表")
parent_option = _option("--parent", required=True, help="汇总到的上级单位代码（6位或12位）")
out_dir_option = _option("--out", "out_dir", required=True, type=click.Path(file_okay=False), help="输出目录")
out_file_option = _option("--out", "out_path", required=True, type=click.Path(dir_okay=False))
store_option = _option("--store", "store_path", default=None, type=click.Path(dir_okay=False))
roster_option = _option("--roster", "roster_csv", type=click.Path(dir_okay=False))


def _console(stderr: bool = False):
    """A console that prints text as it is: no markup (a folder named ``x\\[old]汇总`` stays whole), file
    names kept as undecoded bytes shown (:func:`hbreport.xlsx.names.shown`)."""
    from rich.console import Console

    class _Shown(Console):
        def print(self, *objects: Any, **kwargs: Any) -> None:
            super().print(*(shown(o) if isinstance(o, str) else o for o in objects), **kwargs)

    return _Shown(stderr=stderr, highlight=False, soft_wrap=True, markup=False)


def _fail(message: str, code: int = EXIT_UNUSABLE) -> None:
    from rich.text import Text

    _console(stderr=True).print(Text.assemble(("错误：", "bold red"), shown(message)))
    sys.exit(code)


@contextmanager
def _user_errors():
    """Turn HBError into a Chinese message and exit code 2; never a traceback for a user error."""
    try:
        yield
    except HBError as exc:
        _fail(str(exc), exc.exit_code)
    except KeyboardInterrupt:
        _fail("已中断", EXIT_UNUSABLE)
    except sqlite3.Error as exc:  # the store failed half-way (locked too long, disk full, …)
        from hbreport.store.db import store_error

        _fail(str(store_error(exc, None)).replace("[", r"\["), EXIT_UNUSABLE)
    except Exception as exc:  # an internal error: say so plainly, details on request
        if os.environ.get("HBREPORT_DEBUG"):
            traceback.print_exc()
        _fail(
            f"程序内部错误（{type(exc).__name__}: {exc}）。请设置环境变量 HBREPORT_DEBUG=1 重新运行，"
            "并把输出反馈给维护人员".replace("[", r"\["),
            EXIT_UNUSABLE,
        )


@contextmanager
def _progress(description: str, enabled: bool = True):
    """A rich progress bar; yields a callback(done, total)."""
    if not enabled or not sys.stderr.isatty():
        yield lambda done, total: None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=_console(stderr=True),
        transient=True,
    ) as progress:
        task = progress.add_task(description, total=None)

        def update(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)

        yield update


def _registry(units: str | None):
    from hbreport.registry import load_registry

    return load_registry(units)


def _baseline(registry, tasks_file: str | None):
    """The registry's baseline, with the task table of ``--tasks`` when given (checked: it must add up)."""
    from hbreport.baseline import baseline_for

    baseline = baseline_for(registry)
    if tasks_file is None:
        return baseline
    from hbreport.tasks import load_unit_tasks

    return baseline.with_tasks(load_unit_tasks(tasks_file, registry=registry, baseline=baseline).table)


def _context(units: str | None, tasks_file: str | None = None):
    """A command's context: the registry of ``--units``, its baseline with the tasks of ``--tasks``."""
    from hbreport.context import Context

    registry = _registry(units)
    return Context.of(registry, None, _baseline(registry, tasks_file))


def _store_beside(out_path: str | Path, what: str) -> Path:
    """The store a command reads by default: ``hbreport.sqlite`` beside its output, as ``consolidate``
    keeps it beside the consolidated workbook; HBError naming the path when there is none."""
    from hbreport.store.db import default_store

    store = default_store(out_path)
    if not store.is_file():
        raise HBError(
            f"输出文件旁没有数据库「{store}」",
            hint=f"{what}；数据库由 hbreport consolidate 写在汇总工作簿旁（或由 --store 指定）",
        )
    return store


def _period(value: str) -> int:
    """A reporting period the plan covers (its catalog's years, 2016–2020 for the Hubei plan)."""
    from hbreport.catalog import load_catalog
    from hbreport.period import parse_period

    year = parse_period(value)
    catalog = load_catalog()
    if not catalog.start <= year <= catalog.end:
        raise HBError(
            f"报告期「{value}」不在规划期内：{catalog.title}的报告期为 {catalog.start}—{catalog.end} 年",
            hint=f"报告期写 {catalog.start} 到 {catalog.end} 之间的年份，例如 {min(max(2017, catalog.start), catalog.end)}",
        )
    return year


_DATE = re.compile(r"^\s*(\d{4})\s*(?:-|/|\.|年)\s*(\d{1,2})\s*(?:-|/|\.|月)\s*(\d{1,2})\s*日?\s*$")


def _date(text: str, option: str) -> dt.date:
    """A date as offices write it: 2018-01-15, 2018/1/15, 2018.1.15 or 2018年1月15日."""
    match = _DATE.match(text)
    try:
        if match is None:
            raise ValueError
        return dt.date(*(int(part) for part in match.groups()))
    except ValueError:
        raise HBError(
            f"{option} 的日期「{text}」无法识别", hint="写成 2018-01-15 或 2018年1月15日 的形式"
        ) from None


def _emit_json(payload: Any) -> None:
    _echo_json(json.dumps(payload, ensure_ascii=False, indent=2, default=str))


def _done(as_json: bool, payload: Any, text: str) -> None:
    """What a command did: ``payload`` as JSON with ``--json``, else ``text``."""
    if as_json:
        _emit_json(payload)
    else:
        _console().print(text)


def _show(result: Any, as_json: bool) -> None:
    """Print a result that has ``to_dict()`` (for ``--json``) and ``render()`` (Chinese text)."""
    if as_json:
        _emit_json(result.to_dict())
    else:
        _console().print(result.render(), markup=False)


def _finish(summary: Any, as_json: bool) -> int:
    """Print a consolidation's summary (Chinese text, or JSON); its exit code."""
    _show(summary, as_json)
    return summary.exit_code


def _echo_json(text: str) -> None:
    """JSON is UTF-8 whatever the console's or the redirected file's encoding (GBK on a Chinese
    Windows), so a rare character in a village name cannot stop the output."""
    buffer = getattr(sys.stdout, "buffer", None)
    if buffer is None:
        click.echo(shown(text))
        return
    sys.stdout.flush()
    buffer.write((shown(text) + "\n").encode("utf-8"))
    buffer.flush()


def _safe_streams() -> None:
    """Text for people that the stream's encoding cannot hold (a rare character of a village name on a
    GBK console or in a redirected file) is shown as '?' instead of stopping the command."""
    for stream in (sys.stdout, sys.stderr):
        if hasattr(stream, "reconfigure") and (getattr(stream, "errors", None) or "strict") == "strict":
            stream.reconfigure(errors="replace")


def _listed(quoted: str) -> str:
    """click's "'a', 'b'" as 「a、b」."""
    return "、".join(re.findall(r"'([^']*)'", quoted))


_INVALID = r"^Invalid value for '([^']+)': "
_NO_OPTION = r"^No such option:? '?([^'\s]+?)'?\.?"
_USAGE_ZH = tuple(  # click's usage errors, in the user's language
    (re.compile(pattern), text)
    for pattern, text in (
        (
            _INVALID + r"'([^']*)' is not one of (.*?)\.?$",
            lambda m: f"参数 {m[1]} 的值「{m[2]}」无效，可选：{_listed(m[3])}",
        ),
        (_INVALID + r"(?:Directory|Path) '(.*)' is a file\.?$", r"参数 \1 应为文件夹，「\2」却是一个文件"),
        (_INVALID + r"(?:File|Path) '(.*)' is a directory\.?$", r"参数 \1 应为文件，「\2」却是一个文件夹"),
        (_INVALID + r"(?:File|Directory|Path) '(.*)' does not exist\.?$", r"参数 \1 给出的「\2」不存在"),
        (_INVALID + r"'([^']*)' is not a valid float\.?$", r"参数 \1 的值「\2」不是数字"),
        (_INVALID + r"'?([^']*?)'? is not in the range x>=(\S+?)\.?$", r"参数 \1 的值 \2 无效，应不小于 \3"),
        (_INVALID + r"'([^']*)' is not a valid integer(?: range)?\.?$", r"参数 \1 的值「\2」不是整数"),
        (_INVALID + r"(.*)$", r"参数 \1 的值无效（\2）"),
        (r"^Missing option '([^']+)'.*$", r"缺少参数 \1"),
        (r"^Missing argument '([^']+)'.*$", r"缺少参数 \1"),
        (_NO_OPTION + r" Did you mean '?([^'?]+)'?\?$", r"没有参数 \1，是否要用 \2？"),
        (
            _NO_OPTION + r" \(Did you mean one of: (.*)\?\)$",
            lambda m: f"没有参数 {m[1]}，是否要用 {_listed(m[2])}？",
        ),
        (r"^Option '([^']+)' does not take a value\.?$", r"参数 \1 不需要值（是开关，直接写 \1）"),
        (r"^Option '([^']+)' requires (\d+) arguments?\.?$", r"参数 \1 需要 \2 个值"),
        (_NO_OPTION + r"$", r"没有参数 \1"),
        (r"^No such command '([^']+)'\.?$", r"没有命令「\1」"),
        (r"^Option '([^']+)' requires an argument\.?$", r"参数 \1 需要一个值"),
        (r"^Got unexpected extra arguments? \((.*)\)$", r"多余的参数：\1"),
    )
)


def _zh_usage(message: str) -> str:
    for pattern, text in _USAGE_ZH:
        if pattern.match(message):
            return pattern.sub(text, message)
    return message


class _HelpFormatter(click.HelpFormatter):
    """click's help screens with Chinese headings (用法, 选项, 命令)."""

    SECTIONS = {"Options": "选项", "Commands": "命令", "Arguments": "参数"}

    def write_usage(self, prog: str, args: str = "", prefix: str | None = None) -> None:
        super().write_usage(prog, args, prefix="用法：" if prefix is None else prefix)

    def section(self, name: str):
        return super().section(self.SECTIONS.get(name, name))


class _Context(click.Context):
    formatter_class = _HelpFormatter


_HELP_WORDS = (  # what click writes into a help screen besides our own text
    (re.compile(r"\[required\]"), "[必填]"),
    (re.compile(r"\[default: ([^\]]*)\]"), r"[默认：\1]"),
    (re.compile(r"(?<= )TEXT(?=\s)"), "文本"),
    (re.compile(r"(?<= )FILE(?=\s)"), "文件"),
    (re.compile(r"(?<= )DIRECTORY(?=\s)"), "文件夹"),
    (re.compile(r"(?<= )PATH(?=\s)"), "路径"),
    (re.compile(r"(?<= )INTEGER(?: RANGE)?(?=\s)"), "整数"),
    (re.compile(r"(?<= )FLOAT(?: RANGE)?(?=\s)"), "数字"),
)


def _zh_help(text: str) -> str:
    for pattern, word in _HELP_WORDS:
        text = pattern.sub(word, text)
    return text


def _zh_help_option(command: click.Command, ctx: click.Context):
    option = click.Command.get_help_option(command, ctx)
    if option is not None:
        option.help = "显示本帮助并退出"
    return option


class _Command(click.Command):
    """A subcommand whose help screen speaks Chinese."""

    context_class = _Context
    get_help_option = _zh_help_option

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("options_metavar", "[选项]")
        super().__init__(*args, **kwargs)

    def get_help(self, ctx: click.Context) -> str:
        return _zh_help(super().get_help(ctx))

    def invoke(self, ctx: click.Context) -> Any:
        """Run the command: a user error is a Chinese message, never a traceback; the exit code is what
        the command returns (0 when it returns nothing)."""
        with _user_errors():
            code = super().invoke(ctx)
            sys.exit(EXIT_OK if code is None else code)


class _Group(click.Group):
    context_class = _Context
    command_class = _Command
    group_class = type  # `hbreport roster`, `tasks`, `verify`: groups of this class too
    get_help_option = _zh_help_option

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("options_metavar", "[选项]")
        kwargs.setdefault("subcommand_metavar", "命令 [参数]...")
        super().__init__(*args, **kwargs)

    def get_help(self, ctx: click.Context) -> str:
        return _zh_help(super().get_help(ctx))

    def main(self, *args, **kwargs):  # Chinese for argument errors too
        _safe_streams()
        try:
            return super().main(*args, standalone_mode=False, **kwargs)
        except click.UsageError as exc:
            if type(exc).__name__.startswith("NoArgsIsHelp"):  # `hbreport` alone: help, not an error
                click.echo(exc.ctx.get_help() if exc.ctx else "")
                sys.exit(EXIT_OK)
            hint = f"；运行 `{exc.ctx.command_path if exc.ctx else 'hbreport'} --help` 查看用法"
            _fail(f"命令参数有误：{_zh_usage(exc.format_message())}{hint}".replace("[", r"\["), EXIT_UNUSABLE)
        except click.Abort:
            _fail("已中断", EXIT_UNUSABLE)
        except click.exceptions.Exit as exc:
            sys.exit(exc.exit_code)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(
    __version__, prog_name="hbreport", help="显示版本并退出", message="%(prog)s %(version)s"
)
def main() -> None:
    """hbreport — 湖北省脱贫攻坚规划(2016—2020)报表：生成填报表、表内即时校验、逐级汇总、生成进展报告。

    \b
    常用：
      hbreport demo                          在内置样例上跑通全流程
      hbreport forms --level township --period 2017 --under 421122 --out 表式/
      hbreport check 表式/*.xlsx
      hbreport consolidate 收到的报表/ --parent 421122 --period 2017 --out 红安县_2017.xlsx
      hbreport report 红安县_2017.xlsx --out 红安县_2017年进展报告.docx
    """


@main.command()
@period_option(help="报告期（年份），例如 2017")
@click.option("--level", required=True, type=click.Choice(LEVEL_CHOICES), help="生成哪一级的表")
@under_option()
@units_option()
@out_dir_option()
@tasks_option()
@click.option("--xlwings", is_flag=True, help="加入调用 xlwings 函数的单元格（IFERROR 回退到原生公式）")
@force_option(help="覆盖输出目录中已存在的同名工作簿（默认一个也不写）")
@json_option()
def forms(
    period: str,
    level: str,
    under: str | None,
    units: str | None,
    out_dir: str,
    tasks_file: str | None,
    xlwings: bool,
    force: bool,
    as_json: bool,
) -> None:
    """按级别生成填报工作簿：每个单位一个文件。"""
    from hbreport.forms import generate_forms

    registry = _registry(units)
    year = _period(period)
    with _progress("生成表式", not as_json) as progress:
        paths = generate_forms(
            level,
            year,
            under=under,
            out_dir=Path(out_dir),
            registry=registry,
            baseline=_baseline(registry, tasks_file),
            xlwings=xlwings,
            progress=progress,
            force=force,
        )
    payload = {"period": year, "level": level, "under": under, "files": [str(p) for p in paths]}
    _done(as_json, payload, f"已生成 {len(paths)} 个工作簿，保存在 {out_dir}")


@main.command()
@click.argument("files", nargs=-1, required=True, type=click.Path())
@units_option()
@period_option(required=False, default=None, help="只接受该报告期的报表")
@tasks_option()
@json_option()
def check(
    files: tuple[str, ...], units: str | None, period: str | None, tasks_file: str | None, as_json: bool
) -> int:
    """检查填好的工作簿（可给出文件或文件夹）：列出每个问题所在的文件、工作表、单元格、规则、重要性和处理办法。"""
    from hbreport.checks.check import check_files, exit_code, findings_to_json, render_findings

    registry = _registry(units)
    year = _period(period) if period else None
    findings, results = check_files(
        [Path(f) for f in files],
        registry=registry,
        baseline=_baseline(registry, tasks_file),
        expect_period=year,
    )
    if as_json:
        _echo_json(findings_to_json(findings, results))
    else:
        _console().print(render_findings(findings, results), markup=False)
    return exit_code(findings)


@main.command()
@click.argument("folder", type=click.Path(file_okay=False))
@parent_option()
@period_option()
@out_file_option(help="汇总工作簿路径")
@units_option()
@force_option()
@click.option(
    "--workers",
    default=None,
    type=click.IntRange(min=1),
    help="同时读取报表的进程数（默认为 CPU 核数；1 表示只用本进程）",
)
@store_option(help="数据库（SQLite）文件，保存收到的每份报表和每次汇总（默认：输出文件旁的 hbreport.sqlite）")
@tasks_option()
@click.option(
    "--require-approved",
    is_flag=True,
    help="只汇总已审核的下级报表（hbreport approve，按 SHA-256 认定）；未审核或审核后改动的退回",
)
@click.option(
    "--deadline",
    default=None,
    help="报送截止日期，如 2018-01-10（默认为 indicators.yaml 的 reporting_due：报告期次年1月10日）",
)
@json_option(help="以 JSON 输出汇总情况")
def consolidate(
    folder: str,
    parent: str,
    period: str,
    out_path: str,
    units: str | None,
    force: bool,
    workers: int | None,
    tasks_file: str | None,
    store_path: str | None,
    deadline: str | None,
    require_approved: bool,
    as_json: bool,
) -> int:
    """汇总下级报表：说明谁未报、谁被退回及原因，输出同一表式的上级工作簿。"""
    from hbreport.consolidation.consolidate import consolidate as run
    from hbreport.store.db import default_store

    registry = _registry(units)
    folder_path = Path(folder)
    if not folder_path.is_dir():
        raise HBError(f"找不到目录「{folder}」", hint="给出存放下级报表的文件夹")
    with _progress("汇总下级报表", not as_json) as progress:
        summary = run(
            folder_path,
            parent,
            _period(period),
            Path(out_path),
            registry=registry,
            baseline=_baseline(registry, tasks_file),
            force=force,
            workers=workers,
            progress=progress,
            store=Path(store_path) if store_path else default_store(out_path),
            deadline=_date(deadline, "--deadline") if deadline else None,
            require_approved=require_approved,
        )
    return _finish(summary, as_json)


@main.command()
@click.argument("file", required=False, type=click.Path(dir_okay=False))
@out_file_option(help="输出 .docx 路径")
@store_option(
    help="不给出工作簿时：从该数据库取 --unit 在 --period 的最新一次汇总（默认：输出文件旁的 hbreport.sqlite）"
)
@click.option("--unit", default=None, help="与 --store 一起使用：单位代码")
@period_option(required=False, default=None, help="与 --store 一起使用：报告期（年份）")
@units_option()
@click.option(
    "--history",
    multiple=True,
    type=click.Path(dir_okay=False),
    help="往年的汇总工作簿（可多次给出），用于画趋势图",
)
@click.option("--issuer", default=None, help="落款（发文机关署名），默认为“<单位>扶贫攻坚领导小组办公室”")
@click.option(
    "--date",
    "--issued",
    "issued",
    default=None,
    help="成文日期，如 2018-01-15 或 2018年1月15日（默认为报告期的报表报送截止日，见 indicators.yaml 的 reporting_due）",
)
@tasks_option()
@click.option(
    "--verification",
    "verification_path",
    default=None,
    type=click.Path(dir_okay=False),
    help="填好的脱贫验收工作簿（hbreport verify forms 生成）：出列与摘帽一节写申报、验收通过、未通过、未验收",
)
@force_option()
def report(
    file: str | None,
    out_path: str,
    store_path: str | None,
    unit: str | None,
    period: str | None,
    units: str | None,
    history: tuple[str, ...],
    issuer: str | None,
    issued: str | None,
    tasks_file: str | None,
    verification_path: str | None,
    force: bool,
) -> None:
    """由汇总工作簿（或数据库中的汇总）生成 Word 进展报告（公文格式，含表格、图表和文字分析）。"""
    from hbreport.report import report_from_store, report_from_workbook

    registry = _registry(units)
    when = _date(issued, "--date") if issued else None
    if issuer is not None and not issuer.strip():
        raise HBError("--issuer 不能为空", hint="写发文机关的全称，或不给出该参数使用默认落款")
    extra = {
        "issuer": issuer.strip() if issuer else None,
        "issued": when,
        "force": force,
        "inputs": ([Path(units)] if units else []) + ([Path(verification_path)] if verification_path else []),
    }
    if verification_path:
        from hbreport.context import Context
        from hbreport.verification import read_verification

        extra["verification"] = read_verification(
            Path(verification_path), ctx=Context.of(registry, None, None)
        )
    if file is not None:
        path = report_from_workbook(
            Path(file),
            Path(out_path),
            registry=registry,
            baseline=_baseline(registry, tasks_file),
            history_files=[Path(h) for h in history],
            **extra,
        )
    elif unit and period:
        path = report_from_store(
            Path(store_path)
            if store_path
            else _store_beside(out_path, "给出汇总工作簿，或用 --store 给出数据库"),
            unit,
            _period(period),
            Path(out_path),
            registry=registry,
            baseline=_baseline(registry, tasks_file),
            **extra,
        )
    else:
        raise HBError(
            "没有给出汇总工作簿",
            hint="给出汇总工作簿，例如 hbreport report 红安县_2017.xlsx --out 报告.docx；"
            "或从数据库生成：--unit 421122 --period 2017（数据库默认取输出文件旁的 hbreport.sqlite，或用 --store 给出）",
        )
    _console().print(f"已生成报告：{path}")


@main.command()
@out_dir_option(required=False, default="hbreport-demo", show_default=True)
@click.option(
    "--scope",
    type=click.Choice(["prefecture", "province"]),
    default="prefecture",
    show_default=True,
    help="prefecture：一个市州（约一分钟）；province：全省",
)
@json_option(help="以 JSON 输出摘要")
def demo(out_dir: str, scope: str, as_json: bool) -> None:
    """在内置湖北样例上跑通全流程：生成、模拟填报（含常见错误）、逐级汇总、退回件、Word 报告。"""
    from hbreport.demo import run_demo

    with _progress("演示", not as_json) as progress:
        result = run_demo(Path(out_dir), scope=scope, progress=progress)
    _show(result, as_json)


@main.group()
def roster() -> None:
    """建档立卡台账：按乡镇生成户级台账，汇总入库（SQLite）。"""


@roster.command("forms")
@period_option(help="报告期（年份），例如 2017")
@roster_option(
    required=True,
    help="建档立卡系统导出的户名单 CSV 或 XLSX（户编号、户主姓名、证件号码、家庭人口、村代码；"
    "有致贫原因、贫困户属性、劳动能力、人均纯收入等列的一并预填）",
)
@under_option(help="只生成该单位（6位或12位代码）下属乡镇的台账")
@units_option()
@out_dir_option()
@force_option(help="覆盖输出目录中已存在的同名台账（默认一个也不写）")
@json_option()
def roster_forms(
    period: str,
    roster_csv: str,
    under: str | None,
    units: str | None,
    out_dir: str,
    force: bool,
    as_json: bool,
) -> None:
    """每个乡镇一个台账工作簿，预填户名单，表内即时校验脱贫标准。"""
    from hbreport.households import generate_rosters

    registry = _registry(units)
    with _progress("生成台账", not as_json) as progress:
        paths = generate_rosters(
            _period(period),
            under=under,
            roster_csv=Path(roster_csv),
            out_dir=Path(out_dir),
            registry=registry,
            workers=os.cpu_count() or 1,
            progress=progress,
            force=force,
        )
    _done(as_json, {"files": [str(p) for p in paths]}, f"已生成 {len(paths)} 个台账，保存在 {out_dir}")


@roster.command("consolidate")
@click.argument("folder", type=click.Path(file_okay=False))
@parent_option()
@period_option()
@store_option(required=True, help="户级数据库（SQLite）路径")
@roster_option(default=None, help="建档立卡系统导出的户名单 CSV（核对预填内容）")
@units_option()
@json_option(help="以 JSON 输出汇总情况")
def roster_consolidate(
    folder: str,
    parent: str,
    period: str,
    store_path: str,
    roster_csv: str | None,
    units: str | None,
    as_json: bool,
) -> int:
    """检查各乡镇台账（身份证号、重复人员、脱贫标准、数字脱贫迹象），入库并说明问题所在。"""
    from hbreport.households import consolidate_rosters

    registry = _registry(units)
    if not Path(folder).is_dir():
        raise HBError(f"找不到目录「{folder}」", hint="给出存放各乡镇台账的文件夹")
    with _progress("汇总台账", not as_json) as progress:
        summary = consolidate_rosters(
            Path(folder),
            parent,
            _period(period),
            Path(store_path),
            roster_csv=Path(roster_csv) if roster_csv else None,
            registry=registry,
            workers=os.cpu_count() or 1,
            progress=progress,
        )
    return _finish(summary, as_json)


@main.command()
@click.argument("source", required=False, type=click.Path())
@out_file_option(help="输出文件：.csv、.parquet 或 .json")
@store_option(help="从该数据库导出（代替 SOURCE；两者都不给时取输出文件旁的 hbreport.sqlite）")
@period_option(required=False, default=None, help="只导出该报告期（从数据库导出时）")
@force_option(help="覆盖已存在的输出文件")
@units_option()
@json_option()
def export(
    source: str | None,
    out_path: str,
    store_path: str | None,
    period: str | None,
    force: bool,
    units: str | None,
    as_json: bool,
) -> None:
    """导出数据值（每单位、报告期、表、指标一行）：SOURCE 为汇总工作簿、报表文件夹或数据库；.json 为 DHIS2 dataValueSets 格式。"""
    from hbreport.store.exchange import export as run

    if source is not None and store_path is not None:
        raise HBError("给出要导出的汇总工作簿、报表文件夹或数据库（SOURCE 或 --store，二者选一）")
    if source is None and store_path is None:
        store_path = str(
            _store_beside(out_path, "给出要导出的汇总工作簿、报表文件夹（SOURCE）或 --store 数据库")
        )
    ctx = _context(units)
    done = run(
        Path(source or store_path),
        Path(out_path),
        period=_period(period) if period else None,
        force=force,
        ctx=ctx,
    )
    _show(done, as_json)


@main.command("import")
@click.argument("file", type=click.Path(dir_okay=False))
@out_dir_option(help="输出文件夹")
@force_option(help="覆盖已存在的工作簿")
@units_option()
@json_option()
def import_(file: str, out_dir: str, force: bool, units: str | None, as_json: bool) -> None:
    """由 export 导出的 .csv / .parquet / .json 生成填好的工作簿（每单位一个）。"""
    from hbreport.store.exchange import import_values

    done = import_values(Path(file), Path(out_dir), force=force, ctx=_context(units))
    _show(done, as_json)


@main.command()
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--by", "by", required=True, help="审核人姓名")
@click.option("--note", default="", help="审核意见")
@out_file_option(
    required=False,
    default=None,
    help="审核件（带审核标记的副本）路径（默认：原文件旁的“<原文件名>（已审核）.xlsx”）",
)
@store_option(help="数据库（SQLite）文件（默认：原文件旁的 hbreport.sqlite）")
@force_option(help="覆盖已存在的审核件（原文件任何时候都不会被改动）")
@units_option()
@json_option()
def approve(
    file: str,
    by: str,
    note: str,
    out_path: str | None,
    store_path: str | None,
    force: bool,
    units: str | None,
    as_json: bool,
) -> None:
    """审核：写出带审核标记（审核人、时间、意见、数据摘要）的审核件，并在数据库中登记；原文件不改动。"""
    from hbreport.store.approvals import approve_file

    done = approve_file(
        Path(file),
        by=by,
        note=note,
        out=Path(out_path) if out_path else None,
        store=Path(store_path) if store_path else None,
        force=force,
        registry=_registry(units),
    )
    if as_json:
        _emit_json(done)
    else:
        _console().print(
            f"已审核：{done['by']} 于 {done['at'].replace('T', ' ')[:16]} 审核了{done['unit_name']}"
            f"{done['period']}年报表「{Path(done['file']).name}」\n"
            f"审核件：{done['copy']}（报送这个文件；数据改动后审核即失效）\n"
            f"已登记到数据库：{done['store']}",
            markup=False,
        )


@main.command()
@click.argument("unit")
@period_option()
@store_option(
    default="hbreport.sqlite",
    show_default=True,
    help="数据库（SQLite）文件：汇总时写在汇总工作簿旁（默认取当前文件夹的，即在汇总工作簿所在的文件夹运行）",
)
@click.option(
    "--old", "old", default=None, type=click.IntRange(min=1), help="比较的旧版本号（默认倒数第二版）"
)
@click.option("--new", "new", default=None, type=click.IntRange(min=1), help="比较的新版本号（默认最新版）")
@units_option()
@json_option(help="以 JSON 输出")
def history(
    unit: str,
    period: str,
    store_path: str,
    old: int | None,
    new: int | None,
    units: str | None,
    as_json: bool,
) -> None:
    """某单位某报告期收到的各版报表（时间、文件、状态），以及两版之间改动的每个单元格（旧值 → 新值）。"""
    from hbreport.store.approvals import SOURCE_ZH, approvals_of
    from hbreport.store.history import history as run

    registry = _registry(units)
    signed = approvals_of(Path(store_path), registry.get(unit).code, _period(period))
    result = run(
        Path(store_path),
        unit,
        _period(period),
        old=old,
        new=new,
        registry=registry,
        missing_ok=bool(signed),
    )
    if as_json:
        _emit_json(result.to_dict() | {"approvals": signed})
    else:
        lines = [result.render()]
        lines += ["审核：" if signed else "审核：无"] + [
            f"  {a['at'].replace('T', ' ')[:16]}  {a['by']} 审核了 {a['file']}（SHA-256 {a['sha256'][:12]}…）"
            + SOURCE_ZH.get(a["source"], "")
            + (f"：{a['note']}" if a["note"] else "")
            for a in signed
        ]
        _console().print("\n".join(lines), markup=False)


@main.command()
@json_option(help="以 JSON 输出")
@click.option("--section", default=None, help="只列出该规划章节的指标，例如 四(二)")
@click.option(
    "--coverage", "show_coverage", is_flag=True, help="每条指标由哪张表哪一栏收集，或为何没有表收集"
)
def catalog(as_json: bool, section: str | None, show_coverage: bool) -> None:
    """列出规划指标目录（templates/indicators.yaml）。"""
    from hbreport.catalog import catalog_table, load_catalog

    if show_coverage:
        _coverage(as_json, section)
        sys.exit(EXIT_OK)
    rows = catalog_table(load_catalog())
    if section:
        rows = [r for r in rows if str(r.get("section", "")).startswith(section)]
    if as_json:
        _emit_json(rows)
    else:
        from rich.table import Table

        table = Table(title="规划指标目录")
        for col in ("code", "name", "value", "unit", "deadline", "section"):
            table.add_column(col)
        for r in rows:
            table.add_row(
                *(
                    str(r.get(c, "") if r.get(c) is not None else "")
                    for c in ("code", "name", "value", "unit", "deadline", "section")
                )
            )
        _console().print(table)


def _coverage(as_json: bool, section: str | None) -> None:
    """``catalog --coverage``: each entry with the form columns that collect it, or the reason none does."""
    from hbreport.coverage import coverage

    result = coverage()
    if section:
        result.entries = [e for e in result.entries if e.indicator.section.startswith(section)]
    if as_json:
        _emit_json(result.to_dict())
        return
    for e in result.entries:
        i = e.indicator
        click.echo(f"{i.code}  {i.name}  [{i.section}]  ({','.join(i.levels)})")
        for w in e.where:
            click.echo(f"    收集于 {w.text()}  （{','.join(w.levels)}）")
        if not e.collected:
            click.echo(f"    未收集：{e.reason}")
    s = result.summary()
    click.echo(
        f"共 {s['entries']} 条指标，{s['collected']} 条有表式收集；适用于县、乡镇的 {s['county_township_entries']} 条中"
        f" {s['county_township_collected']} 条有表式收集（{s['county_township_share']:.1%}）"
    )


@main.command()
@units_option()
@under_option(help="列出该单位的下级（6位或12位代码）")
@json_option(help="以 JSON 输出")
def units(units: str | None, under: str | None, as_json: bool) -> None:
    """查看单位名册：各级单位数，或某单位的下级。"""
    registry = _registry(units)
    from hbreport.registry import LEVEL_ZH

    if under:
        rows = [
            {"code": u.code, "name": u.name, "level": u.level, "level_zh": LEVEL_ZH.get(u.level, u.level)}
            for u in registry.children(under)
        ]
        payload: Any = rows
    else:
        payload = registry.count_by_level()
    if as_json:
        _emit_json(payload)
    elif under:
        for r in payload:
            click.echo(f"{r['code']}  {r['name']}  {r['level_zh']}")
    else:
        for level, n in payload.items():
            click.echo(f"{LEVEL_ZH.get(level, level)}\t{n}")


from hbreport.tasks import cli as _tasks_cli  # noqa: E402,F401  (registers `hbreport tasks`)
from hbreport.verification import cli as _verify_cli  # noqa: E402,F401  (registers `hbreport verify`)


def run(argv: list[str]) -> int:
    """Run the CLI in-process (tests); returns the exit code."""
    try:
        main.main(argv, prog_name="hbreport")
    except SystemExit as exc:
        return int(exc.code or 0)
    return 0


if __name__ == "__main__":
    main()
