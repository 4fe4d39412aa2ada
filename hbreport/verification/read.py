"""A filled verification workbook read back like any form: its rows rebuilt from its own sheets and
held to the layout fingerprint it carries, every rule checked, the spot check held to its seed, and
each household, village and county given its verified status."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hbreport.context import Context
from hbreport.errors import HBError
from hbreport.model.findings import Finding
from hbreport.period import parse_period
from hbreport.spec import RowUnit
from hbreport.verification.build import (
    COUNTY,
    HOUSEHOLDS,
    VERIFY_FAMILY,
    VILLAGES,
    VerificationSpec,
    build_verification_spec,
)
from hbreport.xlsx.layout import CODE_COL, FIRST_DATA_ROW, NAME_COL

DECLARED, PASSED, FAILED, PENDING = "申报", "验收通过", "未通过", "未验收"
STATUS_OF_VERDICT = {"通过": PASSED, "未通过": FAILED}
KIND = {HOUSEHOLDS: "户", VILLAGES: "村", COUNTY: "县"}


@dataclass
class VerificationResult:
    """What a filled verification workbook says: each row's status, per form, and what is wrong."""

    spec: VerificationSpec
    statuses: dict[str, dict[str, str]]  # form → row code → 验收通过 / 未通过 / 未验收
    findings: list[Finding] = field(default_factory=list)
    sha256: str = ""

    def counts(self, form: str) -> dict[str, int]:
        """申报 (rows listed) and how many of them are 验收通过, 未通过, 未验收."""
        rows = self.statuses.get(form, {})
        tally = Counter(rows.values())
        return {DECLARED: len(rows), PASSED: tally[PASSED], FAILED: tally[FAILED], PENDING: tally[PENDING]}

    def status(self, code: str) -> str | None:
        """The verified status of a household, village or county (None when it was not declared)."""
        for rows in self.statuses.values():
            if code in rows:
                return rows[code]
        return None


def read_verification(path: str | Path, *, ctx: Context | None = None) -> VerificationResult:
    """Read a filled verification workbook; HBError when it cannot be used at all."""
    from hbreport.xlsx.reader import read_workbook

    ctx = ctx or Context.of()
    path = Path(path)
    result = read_workbook(
        path,
        **ctx.keywords,
        family=VERIFY_FAMILY,
        rebuild=lambda p, meta, book: _rebuild(p, meta, book, ctx),
    )
    spec: VerificationSpec = result.data.spec  # type: ignore[assignment]
    findings = list(result.findings)
    statuses: dict[str, dict[str, str]] = {}
    draws = spec.draws()
    for sheet in spec.sheets:
        rows = result.data.rows[sheet.form]
        statuses[sheet.form] = {
            code: STATUS_OF_VERDICT.get(str(rows.get(code, {}).get("verdict") or ""), PENDING)
            for code in (r.code for r in sheet.rows)
        }
        if sheet.form in draws:
            chosen = set(draws[sheet.form].drawn)
            from hbreport.xlsx.layout import SheetLayout

            layout = SheetLayout(sheet)
            for r in sheet.rows:
                want = "是" if r.code in chosen else "否"
                if rows.get(r.code, {}).get("sampled") != want:
                    findings.append(
                        Finding(
                            f"「{r.name}」的抽中核查应为「{want}」：抽查名单由随机种子 {spec.seed} 确定，不能改动",
                            rule="抽查名单被改动",
                            file=str(path),
                            unit_code=spec.unit_code,
                            unit_name=spec.unit_name,
                            sheet=sheet.sheet,
                            cell=layout.cell(r.code, "sampled"),
                            hint=f"改回「{want}」；如需另行抽查，请上级用新的种子重新生成验收工作簿",
                        )
                    )
    return VerificationResult(spec, statuses, findings, result.sha256)


def _rebuild(path: Path, meta: dict[str, str], book: Any, ctx: Context) -> VerificationSpec:
    """The spec the workbook claims to be: its rows as its sheets list them, held to its fingerprint."""
    forms = [f for f in meta.get("forms", "").split(",") if f]
    if not forms or not set(forms) <= {HOUSEHOLDS, VILLAGES, COUNTY}:
        raise HBError("脱贫验收工作簿的表式标识不完整", file=path, hint="请使用上级下发的原验收工作簿填报")
    period = parse_period(meta["period"])
    seed = int(meta["seed"]) if meta.get("seed") else None
    share = float(meta["share"]) if meta.get("share") else None
    listed: dict[str, list[RowUnit]] = {}
    for form in forms:
        name = meta.get(f"sheet.{form}")
        if not name or name not in book.sheet_names:
            raise HBError(
                f"找不到工作表「{name or form}」", file=path, hint="请勿删除或改名工作表，用原工作簿重新填报"
            )
        grid = book.get_sheet_by_name(name).to_python(skip_empty_area=False)
        rows: list[RowUnit] = []
        for line in grid[FIRST_DATA_ROW - 1 :]:
            code = str(line[CODE_COL - 1]).strip() if len(line) >= CODE_COL else ""
            if not code:
                break
            rows.append(RowUnit(code, str(line[NAME_COL - 1]).strip()))
        listed[form] = rows
    spec = build_verification_spec(
        meta["unit_code"],
        period,
        listed.get(HOUSEHOLDS, []),
        listed.get(VILLAGES, []),
        ctx=ctx,
        seed=seed,
        share=share,
    )
    if meta.get("layout_hash") != spec.layout_hash or [s.form for s in spec.sheets] != forms:
        raise HBError(
            "验收工作簿的名单或表式与生成时不一致（布局指纹不符）：可能增删或改动了户、村行",
            file=path,
            hint="请勿增删行、改动户编号或村代码；用上级下发的原验收工作簿重新填报",
        )
    return spec
