"""`hbreport verify …`: the yearly exit verification of a county (plan 六(六))."""

from __future__ import annotations

from pathlib import Path

import click

from hbreport.cli import (
    _console,
    _context,
    _emit_json,
    _period,
    force_option,
    json_option,
    main,
    options,
    out_dir_option,
    period_option,
    store_option,
    units_option,
)
from hbreport.errors import EXIT_FINDINGS, EXIT_OK, HBError


def _declarations(period_help: str):
    """The county, the year, and where its declared households and villages are read from: what
    :func:`_declared` takes."""
    return options(
        click.option("--county", required=True, help="县级单位代码（6 位）"),
        period_option(help=period_help),
        store_option(help="户台账库（申报脱贫的户）"),
        click.option(
            "--inbox",
            default=None,
            type=click.Path(file_okay=False),
            help="本县乡镇报表所在文件夹（申请出列的村，鄂扶贫02表）",
        ),
    )


def _spot_check(required: bool, seed_help: str):
    """The share drawn for the spot check and the seed of the draw."""
    return options(
        click.option(
            "--share",
            required=required,
            default=None,
            type=click.FloatRange(0, 1, min_open=True),
            help="抽查比例，例如 0.2",
        ),
        click.option("--seed", required=required, default=None, type=int, help=seed_help),
    )


def _declared(ctx, county: str, year: int, store_path: str | None, inbox: str | None):
    from hbreport.verification.build import declared_households, declared_villages

    if not store_path and not inbox:
        raise HBError(
            "没有给出申报名单的来源",
            hint="用 --store 给出户台账库、--inbox 给出本县乡镇报表文件夹（至少一个）",
        )
    households = declared_households(store_path, county, year, ctx=ctx) if store_path else []
    villages, problems = ([], [])
    if inbox:
        folder = Path(inbox)
        if not folder.is_dir():
            raise HBError(f"找不到文件夹「{inbox}」", hint="给出本县乡镇报表所在的文件夹")
        villages, problems = declared_villages(sorted(folder.glob("*.xlsx")), county, year, ctx=ctx)
    return households, villages, problems


@main.group()
def verify() -> None:
    """脱贫验收：生成县级验收工作簿（程序、佐证、抽查名单），可复现的随机抽查，读回验收结论。"""


@verify.command("forms")
@_declarations(period_help="验收年度，例如 2017")
@_spot_check(required=False, seed_help="抽查的随机种子（同一种子得出同一名单）")
@units_option()
@out_dir_option()
@force_option(help="覆盖已存在的同名工作簿")
@json_option()
def verify_forms(county, period, store_path, inbox, share, seed, units, out_dir, force, as_json) -> None:
    """生成本县本年的脱贫验收工作簿：申报脱贫的户、申请出列的村（和本年计划摘帽的县），程序各步为列。"""
    from hbreport.verification.build import build_verification_spec, prefilled_sample
    from hbreport.xlsx.writer import write_workbook

    if (share is None) != (seed is None):
        raise HBError("--share 与 --seed 要一起给出", hint="例如 --share 0.2 --seed 20171120")
    ctx = _context(units)
    year = _period(period)
    households, villages, problems = _declared(ctx, county, year, store_path, inbox)
    spec = build_verification_spec(county, year, households, villages, ctx=ctx, seed=seed, share=share)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    path = write_workbook(spec, out / spec.file_name(), values=prefilled_sample(spec), force=force)
    sheets = {s.sheet: len(s.rows) for s in spec.sheets}
    if as_json:
        _emit_json({"file": str(path), "rows": sheets, "seed": seed, "share": share, "unread": problems})
    else:
        console = _console()
        console.print(f"已生成 {path}", markup=False)
        for name, n in sheets.items():
            console.print(f"  {name}：{n} 行", markup=False)
        for line in problems:
            console.print(f"  未读取：{line}", markup=False)


@verify.command("sample")
@_declarations(period_help="验收年度")
@_spot_check(required=True, seed_help="随机种子（同一种子得出同一名单）")
@units_option()
@json_option(help="以 JSON 输出名单")
def verify_sample(county, period, store_path, inbox, share, seed, units, as_json) -> None:
    """可复现的随机抽查名单：名单按代码排序，以种子抽取；同一种子总得出同一名单。"""
    from hbreport.verification.sample import draw

    ctx = _context(units)
    year = _period(period)
    households, villages, _ = _declared(ctx, county, year, store_path, inbox)
    lists = {"户": households, "村": villages}
    drawn = {kind: draw((r.code for r in rows), share, seed) for kind, rows in lists.items() if rows}
    names = {r.code: r.name for rows in lists.values() for r in rows}
    if as_json:
        _emit_json(
            {
                kind: {
                    "population": d.population,
                    "seed": seed,
                    "share": share,
                    "method": d.method,
                    "drawn": [{"code": c, "name": names[c]} for c in d.drawn],
                }
                for kind, d in drawn.items()
            }
        )
    else:
        console = _console()
        for kind, d in drawn.items():
            console.print(f"抽中的{kind}（{len(d.drawn)}/{d.population}）：", markup=False)
            for c in d.drawn:
                console.print(f"  {c}  {names[c]}", markup=False)
            console.print(d.method, markup=False)


@verify.command("read")
@click.argument("file", type=click.Path(dir_okay=False))
@units_option()
@json_option(help="以 JSON 输出")
def verify_read(file, units, as_json) -> int:
    """读回填好的验收工作簿：各户、村、县的验收状态（申报/验收通过/未通过/未验收）和问题。"""
    from hbreport.verification.read import KIND, read_verification

    result = read_verification(Path(file), ctx=_context(units))
    counts = {KIND[s.form]: result.counts(s.form) for s in result.spec.sheets}
    errors = [f for f in result.findings if f.importance == "error"]
    if as_json:
        _emit_json(
            {
                "counts": counts,
                "statuses": result.statuses,
                "findings": [f.to_dict() for f in result.findings],
            }
        )
    else:
        console = _console()
        for kind, c in counts.items():
            console.print("，".join(f"{k}{v}" for k, v in c.items()).join((f"{kind}：", "")), markup=False)
        for f in result.findings:
            console.print(f.text(), markup=False)
    return EXIT_FINDINGS if errors else EXIT_OK
