"""The verification workbook of a county and year: who is declared out, the plan's steps as columns,
the evidence, the spot check drawn from a seed — on the same writer, identity and gate as every form."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from hbreport import paths
from hbreport.context import Context
from hbreport.errors import HBError
from hbreport.spec import (
    INSTRUCTIONS,
    RowUnit,
    WorkbookSpec,
    _load_fields,
    _resolved,
    render_form,
    safe_file_part,
)
from hbreport.verification.sample import Draw, draw

VERIFY_FAMILY = "hbreport.verify"
HOUSEHOLDS, VILLAGES, COUNTY = "verify_households", "verify_villages", "verify_county"
VERIFY_FORMS = (HOUSEHOLDS, VILLAGES, COUNTY)
SAMPLED_FORMS = (HOUSEHOLDS, VILLAGES)  # the county itself is verified whole, not drawn
FIELDS = paths.TEMPLATES / "verification_fields.yaml"


def verification_fields():
    """The data elements of the verification forms (templates/verification_fields.yaml)."""
    return _load_fields(_resolved(FIELDS))


@dataclass(frozen=True)
class VerificationSpec(WorkbookSpec):
    """A county's verification workbook: the forms with the declared households, villages and the
    county as rows, and the spot check's seed and share (kept in the workbook's identity)."""

    seed: int | None = None
    share: float | None = None

    def meta(self) -> dict[str, str]:
        meta = super().meta()
        meta["family"] = VERIFY_FAMILY
        meta["seed"] = "" if self.seed is None else str(self.seed)
        meta["share"] = "" if self.share is None else repr(self.share)
        return meta

    def file_name(self) -> str:
        return f"{self.unit_code[:6]}_{safe_file_part(self.unit_name)}_{self.period}_脱贫验收.xlsx"

    def draws(self) -> dict[str, Draw]:
        """The spot check of each form, drawn again from the seed (nothing drawn without one)."""
        if self.seed is None or self.share is None:
            return {}
        return {
            s.form: draw((r.code for r in s.rows), self.share, self.seed)
            for s in self.sheets
            if s.form in SAMPLED_FORMS
        }


def build_verification_spec(
    county_code: str,
    period: int,
    households: Sequence[RowUnit],
    villages: Sequence[RowUnit],
    *,
    ctx: Context | None = None,
    seed: int | None = None,
    share: float | None = None,
) -> VerificationSpec:
    """The verification workbook of ``county_code`` for ``period``: a sheet of the households and one
    of the villages declared out (left out when there are none), and the county's own sheet when it is a
    poor county whose planned exit year is ``period``."""
    ctx = ctx or Context.of()
    registry, catalog, baseline = ctx.parts
    county = registry.get(county_code)
    if county.level != "county":
        raise HBError(
            f"「{county.name}」({county.short_code}) 不是县级单位",
            hint="脱贫验收按县组织，给出县级（6 位）代码",
        )
    fields = verification_fields()
    due = baseline.planned_exit(county.code, registry) == period
    rows = {
        HOUSEHOLDS: tuple(households),
        VILLAGES: tuple(villages),
        COUNTY: (RowUnit(county.code, county.name),) if due else (),
    }
    sheets = tuple(
        render_form(
            form,
            unit=county,
            level="county",
            period=period,
            rows=list(rows[form]),
            poor_rows=None,
            catalog=catalog,
            fields=fields,
        )
        for form in VERIFY_FORMS
        if rows[form]
    )
    if not sheets:
        raise HBError(
            f"{county.name}{period}年没有申报脱贫的户、申请出列的村，也不是本年计划摘帽的贫困县，无需验收",
            hint="检查户台账库（--store）与乡镇报表（--inbox）是否为本县本年的",
        )
    parent = registry.reporting_parent(county.code)
    spec = VerificationSpec(
        unit_code=county.code,
        unit_name=county.name,
        level="county",
        parent_code=parent.code if parent else None,
        parent_name=parent.name if parent else None,
        period=period,
        sheets=sheets,
        seed=seed,
        share=share,
    )
    return _with_instructions(spec)


def _with_instructions(spec: VerificationSpec) -> VerificationSpec:
    from dataclasses import replace

    lines = [
        f"一、本工作簿为{spec.unit_name}{spec.period}年脱贫验收和销号工作簿，按《湖北省脱贫攻坚规划(2016—2020年)》六(六)规定的程序逐项填写完成日期。",
        *INSTRUCTIONS[1:4],
    ]
    draws = spec.draws()
    if draws:
        for form, d in draws.items():
            lines.append(f"{spec.sheet(form).sheet}：{d.method}")
    else:
        lines.append("本工作簿未指定抽查（生成时未给出 --seed 与 --share）。")
    return replace(spec, instructions=tuple(lines))


def prefilled_sample(spec: VerificationSpec) -> dict[str, dict[str, dict[str, str]]]:
    """The 抽中核查 column filled from the draw: 是 for the drawn rows, 否 for the others."""
    out: dict[str, dict[str, dict[str, str]]] = {}
    for form, drawn in spec.draws().items():
        chosen = set(drawn.drawn)
        out[form] = {r.code: {"sampled": "是" if r.code in chosen else "否"} for r in spec.sheet(form).rows}
    return out


def declared_households(
    store_path: str | Path, county_code: str, period: int, *, ctx: Context | None = None
) -> list[RowUnit]:
    """The households of the county that the household store holds as out this year (脱贫标志 one of the
    exited statuses and 脱贫年度 the year), as rows: household id, and the head's name with the village."""
    from hbreport.households.spec import roster_config
    from hbreport.households.store import RosterStore

    ctx = ctx or Context.of()
    config = roster_config(period, catalog=ctx.catalog)
    exited = set(config.exited_statuses)
    path = Path(store_path)
    if not path.is_file():
        raise HBError(
            f"找不到户台账库「{path}」",
            file=path,
            hint="给出 hbreport roster consolidate 写入的 --store 文件",
        )
    rows: list[RowUnit] = []
    with RosterStore(path) as store:
        for h in store.households(period, under=ctx.registry.get(county_code).code):
            year = h.get("exit_year")
            if h.get("exit_status") in exited and year is not None and int(float(year)) == period:
                village = h.get("village_name") or ""
                rows.append(RowUnit(str(h["household_id"]), f"{h.get('head_name') or ''}（{village}）"))
    return sorted(rows, key=lambda r: r.code)


def declared_villages(
    files: Iterable[str | Path], county_code: str, period: int, *, ctx: Context | None = None
) -> tuple[list[RowUnit], list[str]]:
    """The villages the county's township workbooks (鄂扶贫02表) apply to exit this year, and the files
    that could not be used (with why). Only the county's own townships' workbooks for ``period`` count."""
    from hbreport.xlsx.reader import read_workbook

    ctx = ctx or Context.of()
    registry = ctx.registry
    county = registry.get(county_code)
    townships = {u.code for u in registry.children(county.code)}
    villages: dict[str, RowUnit] = {}
    problems: list[str] = []
    for path in files:
        try:
            result = read_workbook(
                path, registry=registry, catalog=ctx.catalog, baseline=ctx.baseline, expect_period=period
            )
        except HBError as exc:
            problems.append(f"{Path(path).name}：{exc.message}")
            continue
        if result.data.spec.unit_code not in townships:
            problems.append(f"{Path(path).name}：不是{county.name}所属乡镇的报表")
            continue
        for code, row in result.data.rows.get("village_exit", {}).items():
            if row.get("apply_exit") == "是" and code in registry:
                villages[code] = RowUnit(code, registry.get(code).name)
    return sorted(villages.values(), key=lambda r: r.code), problems
