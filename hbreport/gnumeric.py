"""The Gnumeric bridge: recalculate a workbook with a second, independent spreadsheet engine.

LibreOffice is the engine the agreement tests have always used; Gnumeric (``ssconvert --recalc``)
is a second one written apart from it, so "the formulas work in every spreadsheet" rests on two
engines, not one. The executable is ``$HBREPORT_SSCONVERT`` when set, else ``ssconvert`` on PATH.
Each call works on a private copy of the source, has a timeout (the whole process group is killed
when it runs out) and checks that the output really exists.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from hbreport.errors import HBError
from hbreport.office import _kill_group, _last_lines, _start

SSCONVERT_ENV = "HBREPORT_SSCONVERT"
DEFAULT_TIMEOUT = 180.0
INSTALL_HINT = f"请安装 Gnumeric（Debian/Ubuntu：apt-get install gnumeric），或设置环境变量 {SSCONVERT_ENV}"


def ssconvert_path() -> str | None:
    """Gnumeric's command-line converter, or None when there is none."""
    return shutil.which(os.environ.get(SSCONVERT_ENV) or "ssconvert")


def recalculate(src: Path, out_dir: Path, *, timeout: float = DEFAULT_TIMEOUT) -> Path:
    """Open ``src`` in Gnumeric, recalculate every formula, save it as ``out_dir/<name>.xlsx``."""
    src, out_dir = Path(src), Path(out_dir)
    tool = ssconvert_path()
    if tool is None:
        raise HBError("未找到 Gnumeric 的 ssconvert 程序", file=src, hint=INSTALL_HINT)
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / f"{src.stem}.xlsx"
    with tempfile.TemporaryDirectory(prefix="hb-gnumeric-") as scratch:
        copy = Path(scratch) / f"in{src.suffix}"
        shutil.copyfile(src, copy)
        result = Path(scratch) / "out.xlsx"
        args = [tool, "--recalc", "--export-type=Gnumeric_Excel:xlsx2", str(copy), str(result)]
        env = dict(os.environ, HOME=os.environ.get("HOME") or scratch)
        proc = _start(args, env)
        try:
            output, _ = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            _kill_group(proc)
            proc.communicate()
            raise HBError(
                f"Gnumeric 超过 {timeout:g} 秒仍未完成，已终止", file=src, hint="检查文件是否过大"
            ) from None
        if proc.returncode != 0 or not result.is_file() or result.stat().st_size == 0:
            raise HBError(
                f"Gnumeric 未能重算该工作簿（退出码 {proc.returncode}）：{_last_lines(output)}",
                file=src,
                hint="确认这是完整的 .xlsx 文件",
            )
        shutil.move(result, target)
    return target
