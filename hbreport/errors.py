"""One error type for everything a user can get wrong, with a Chinese message that says where and what to do."""

from __future__ import annotations

from collections.abc import MutableMapping
from pathlib import Path
from typing import TypeVar

EXIT_OK = 0
EXIT_FINDINGS = 1  # the inputs have problems: 错误 findings (an unusable file is one), units missing
EXIT_UNUSABLE = 2  # the command cannot do its job: an argument, a missing path, an output it must not write


class HBError(Exception):
    """A user-facing error. ``str()`` gives the full Chinese message: where, what, and what to do."""

    exit_code = EXIT_UNUSABLE

    def __init__(
        self,
        message: str,
        *,
        file: str | Path | None = None,
        sheet: str | None = None,
        cell: str | None = None,
        hint: str | None = None,
    ) -> None:
        self.message = message
        self.file = str(file) if file is not None else None
        self.sheet = sheet
        self.cell = cell
        self.hint = hint
        super().__init__(self.render())

    def where(self) -> str:
        parts = []
        if self.file:
            parts.append(f"文件「{Path(self.file).name}」")
        if self.sheet:
            parts.append(f"工作表「{self.sheet}」")
        if self.cell:
            parts.append(f"单元格 {self.cell}")
        return "，".join(parts)

    def render(self) -> str:
        where = self.where()
        text = f"{where}：{self.message}" if where else self.message
        if self.hint:
            text += f"。处理办法：{self.hint}"
        return text

    def to_dict(self) -> dict:
        return {
            "file": self.file,
            "sheet": self.sheet,
            "cell": self.cell,
            "message": self.message,
            "hint": self.hint,
        }


_K = TypeVar("_K")


def first_on_line(
    seen: MutableMapping[_K, int], key: _K, line: int, what: str, *, file: str | Path, hint: str
) -> None:
    """Note ``key`` as given on ``line`` of ``file``; a key given before is an :class:`HBError`
    「第 line 行：``what`` 重复（第 … 行已有）」 with ``hint``."""
    if key in seen:
        raise HBError(f"第 {line} 行：{what} 重复（第 {seen[key]} 行已有）", file=file, hint=hint)
    seen[key] = line
