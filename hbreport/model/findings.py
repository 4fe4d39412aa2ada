"""Findings: what is wrong where, for people (Chinese text) and machines (JSON)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

IMPORTANCE_ZH = {"error": "错误", "warning": "警告"}


@dataclass(frozen=True)
class Finding:
    """One problem: which file, unit, sheet and cell, which rule, how serious, and what to do."""

    message: str
    importance: str = "error"  # "error" (错误: blocks consolidation) | "warning" (警告: needs an explanation)
    rule: str = ""
    file: str | None = None
    unit_code: str | None = None
    unit_name: str | None = None
    sheet: str | None = None
    cell: str | None = None
    hint: str | None = None
    explanation: str = ""  # a 警告 the clerk explained in the row's 说明 cell: what was written there

    @property
    def explained(self) -> bool:
        """A 警告 with the clerk's explanation: 已说明, no longer open."""
        return self.importance == "warning" and bool(self.explanation)

    @property
    def code(self) -> str:
        """What the finding's check is called where a clerk reads it (a word: 文本、重复、表内审核)."""
        from hbreport.checks.registry import shown_code

        return shown_code(self.rule)

    @property
    def importance_zh(self) -> str:
        zh = IMPORTANCE_ZH.get(self.importance, self.importance)
        return f"{zh}（已说明）" if self.explained else zh

    def where(self) -> str:
        parts = []
        if self.file:
            parts.append(Path(self.file).name)
        if self.sheet:
            parts.append(f"「{self.sheet}」")
        if self.cell:
            parts.append(self.cell)
        return " ".join(parts)

    def text(self) -> str:
        head = f"[{self.importance_zh}]"
        if self.rule:
            head += f"[{self.code}]"
        body = f"{self.where()}：{self.message}" if self.where() else self.message
        if self.explained:
            return f"{head} {body}。已说明：{clip(self.explanation)}"
        return f"{head} {body}" + (f"。处理办法：{self.hint}" if self.hint else "")

    def to_dict(self) -> dict:
        d = asdict(self)
        d["importance_zh"] = self.importance_zh
        d["code"] = self.code
        return d


class Findings:
    """A result that carries ``findings``: its 错误 and its 警告."""

    findings: list[Finding]

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.importance == "error"]

    @property
    def warnings(self) -> list[Finding]:
        return [f for f in self.findings if f.importance == "warning"]


def clip(text: str, limit: int = 200) -> str:
    """Text a user typed, quoted in a message: at most ``limit`` characters."""
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def count_by_importance(findings) -> dict[str, int]:
    out = {"error": 0, "warning": 0}
    for f in findings:
        out[f.importance] = out.get(f.importance, 0) + 1
    return out
