"""The LibreOffice bridge: convert documents, recalculate workbooks, turn PDFs into text and images.

Every call starts its own headless ``soffice`` with a private, throw-away profile
(``-env:UserInstallation``), so calls never share state, never meet a user's running
LibreOffice and may run side by side. Sources are copied into the private folder first, so
LibreOffice never writes lock files beside a caller's file and never overwrites it. A call
has a timeout (the whole process group is killed when it runs out), checks that each output
file really exists (LibreOffice sometimes exits 0 having written nothing) and tries once more
on failure. The LibreOffice executable is ``$HBREPORT_SOFFICE`` when set, else ``soffice`` /
``libreoffice`` on PATH or in the usual install folders.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import uuid
from collections.abc import Iterable, Sequence
from pathlib import Path

from hbreport.errors import HBError

SOFFICE_ENV = "HBREPORT_SOFFICE"
DEFAULT_TIMEOUT = 180.0
ATTEMPTS = 2
MAX_FILES_PER_CALL = 100
"""Sources converted by one soffice process (keeps command lines short)."""

INSTALL_HINT = (
    "请安装 LibreOffice（Debian/Ubuntu：apt-get install libreoffice-calc-nogui libreoffice-writer-nogui；"
    f"Windows/macOS：从 LibreOffice 官网安装），或设置环境变量 {SOFFICE_ENV} 指向 soffice 程序"
)

# Export filters for the formats whose default LibreOffice would pick by guessing.
_FILTERS = {
    "xlsx": "xlsx:Calc MS Excel 2007 XML",
    "docx": "docx:MS Word 2007 XML",
    "ods": "ods:calc8",
    "odt": "odt:writer8",
}

# Force a full recalculation on load, whatever cached values the file carries
# (Debian's LibreOffice ships OOXMLRecalcMode = "never"). 0 = always.
_RECALC_ALWAYS_XCU = """<?xml version="1.0" encoding="UTF-8"?>
<oor:items xmlns:oor="http://openoffice.org/2001/registry" xmlns:xs="http://www.w3.org/2001/XMLSchema" \
xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
<item oor:path="/org.openoffice.Office.Calc/Formula/Load"><prop oor:name="OOXMLRecalcMode" oor:op="fuse">\
<value>0</value></prop></item>
<item oor:path="/org.openoffice.Office.Calc/Formula/Load"><prop oor:name="ODFRecalcMode" oor:op="fuse">\
<value>0</value></prop></item>
</oor:items>
"""

_INSTALL_FOLDERS = (
    "/usr/lib/libreoffice/program/soffice",
    "/opt/libreoffice/program/soffice",
    "/Applications/LibreOffice.app/Contents/MacOS/soffice",
    r"C:\Program Files\LibreOffice\program\soffice.exe",
    r"C:\Program Files (x86)\LibreOffice\program\soffice.exe",
)


def soffice_path() -> str | None:
    """The LibreOffice executable to use, or None when there is none."""
    configured = os.environ.get(SOFFICE_ENV)
    if configured:
        return shutil.which(configured)
    for name in ("soffice", "libreoffice"):
        found = shutil.which(name)
        if found:
            return found
    for candidate in _INSTALL_FOLDERS:
        if _is_executable(candidate):
            return candidate
    versions = sorted(Path("/opt").glob("libreoffice*/program/soffice"))
    return str(versions[-1]) if versions else None


def convert(
    src: Path, fmt: str, out_dir: Path, *, timeout: float = DEFAULT_TIMEOUT, recalc: bool = False
) -> Path:
    """Convert one document with LibreOffice (``fmt`` e.g. "pdf", "xlsx", "docx"); return the new file.

    With ``recalc`` every formula is recalculated on load instead of showing its cached value.
    """
    return convert_many([src], fmt, out_dir, timeout=timeout, recalc=recalc)[0]


def convert_many(
    srcs: Sequence[Path], fmt: str, out_dir: Path, *, timeout: float = DEFAULT_TIMEOUT, recalc: bool = False
) -> list[Path]:
    """Convert several documents in as few LibreOffice starts as possible; outputs in ``srcs`` order.

    ``timeout`` applies to each soffice process, which handles up to ``MAX_FILES_PER_CALL`` files.
    """
    return _run_conversion(srcs, fmt, out_dir, timeout=timeout, recalc=recalc)


def recalculate(src: Path, out_dir: Path, *, timeout: float = DEFAULT_TIMEOUT) -> Path:
    """Open a workbook in LibreOffice, recalculate every formula, save it as ``out_dir/<name>.xlsx``."""
    return _run_conversion([src], "xlsx", out_dir, timeout=timeout, recalc=True)[0]


def to_pdf(src: Path, out_dir: Path, *, recalc: bool = False) -> Path:
    """A PDF of a workbook or document, as LibreOffice prints it."""
    return convert(src, "pdf", out_dir, recalc=recalc)


def pdf_to_png(
    pdf: Path, out_dir: Path, *, dpi: int = 80, first: int | None = None, last: int | None = None
) -> list[Path]:
    """Render PDF pages to ``out_dir/<name>-<page>.png`` with pdftoppm; return them in page order."""
    pdf, out_dir = Path(pdf), Path(out_dir)
    _require_file(pdf)
    tool = _poppler_tool("pdftoppm")
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="hb-png-", dir=out_dir) as scratch:
        args = [tool, "-png", "-r", str(dpi)]
        if first is not None:
            args += ["-f", str(first)]
        if last is not None:
            args += ["-l", str(last)]
        _run_tool([*args, str(pdf), str(Path(scratch) / "page")], pdf, "pdftoppm")
        pages = sorted(Path(scratch).glob("page-*.png"), key=lambda p: int(p.stem.rsplit("-", 1)[1]))
        if not pages:
            raise HBError("PDF 没有可转换的页面", file=pdf, hint="请检查页码范围，或确认 PDF 不是空文件")
        results = []
        for page in pages:
            number = int(page.stem.rsplit("-", 1)[1])
            target = out_dir / f"{pdf.stem}-{number}.png"
            os.replace(page, target)
            results.append(target)
    return results


def pdf_text(pdf: Path) -> str:
    """The text of a PDF, laid out as on the page (``pdftotext -layout``)."""
    pdf = Path(pdf)
    _require_file(pdf)
    tool = _poppler_tool("pdftotext")
    result = _run_tool([tool, "-layout", "-enc", "UTF-8", str(pdf), "-"], pdf, "pdftotext")
    return result.stdout.decode("utf-8", "replace")


# ---------------------------------------------------------------- LibreOffice runs


def _run_conversion(
    srcs: Sequence[Path], fmt: str, out_dir: Path, *, timeout: float, recalc: bool
) -> list[Path]:
    srcs = [Path(s) for s in srcs]
    if not srcs:
        return []
    out_dir = Path(out_dir)
    ext = fmt.split(":", 1)[0].lower()
    targets = [out_dir / f"{src.stem}.{ext}" for src in srcs]
    _check_plan(srcs, targets)
    soffice = soffice_path()
    if soffice is None:
        configured = os.environ.get(SOFFICE_ENV)
        where = f"（环境变量 {SOFFICE_ENV}={configured} 不是可执行程序）" if configured else ""
        raise HBError(f"未找到 LibreOffice{where}，无法转换或重算文件", file=srcs[0], hint=INSTALL_HINT)
    out_dir.mkdir(parents=True, exist_ok=True)
    for start in range(0, len(srcs), MAX_FILES_PER_CALL):
        batch = range(start, min(start + MAX_FILES_PER_CALL, len(srcs)))
        _convert_batch(
            soffice,
            [srcs[i] for i in batch],
            [targets[i] for i in batch],
            fmt,
            timeout=timeout,
            recalc=recalc,
        )
    return targets


def _check_plan(srcs: list[Path], targets: list[Path]) -> None:
    seen: dict[Path, Path] = {}
    for src, target in zip(srcs, targets, strict=True):
        _require_file(src)
        if target.resolve() == src.resolve():
            raise HBError(
                "输出文件与原文件是同一个文件，转换会覆盖原文件",
                file=src,
                hint="请指定另一个输出文件夹",
            )
        key = target.resolve()
        if key in seen:
            raise HBError(
                f"与「{seen[key]}」转换后同名（都是 {target.name}），会互相覆盖",
                file=src,
                hint="请分两次转换到不同的输出文件夹，或先改名",
            )
        seen[key] = src


def _convert_batch(
    soffice: str, srcs: list[Path], targets: list[Path], fmt: str, *, timeout: float, recalc: bool
) -> None:
    with tempfile.TemporaryDirectory(prefix="hb-lo-") as scratch_name:
        scratch = Path(scratch_name)
        profile = scratch / f"lo-{uuid.uuid4().hex}"
        (profile / "user").mkdir(parents=True)
        if recalc:
            (profile / "user" / "registrymodifications.xcu").write_text(_RECALC_ALWAYS_XCU, encoding="utf-8")
        inbox, outbox = scratch / "in", scratch / "out"
        inbox.mkdir()
        outbox.mkdir()
        # Plain ASCII names inside the scratch folder: LibreOffice never sees odd characters
        # and never writes a lock file beside the caller's file.
        copies = []
        for i, src in enumerate(srcs):
            copy = inbox / f"f{i}{src.suffix.lower()}"
            shutil.copyfile(src, copy)
            copies.append(copy)
        ext = fmt.split(":", 1)[0].lower()
        produced = [outbox / f"f{i}.{ext}" for i in range(len(srcs))]
        pending = list(range(len(srcs)))
        failure = ""
        for _attempt in range(ATTEMPTS):
            failure, timed_out = _soffice(
                soffice,
                profile,
                [copies[i] for i in pending],
                _FILTERS.get(fmt, fmt),
                outbox,
                timeout,
                srcs[0],
            )
            if timed_out:  # a file being written when the process was killed may be cut short
                for i in pending:
                    produced[i].unlink(missing_ok=True)
            pending = [i for i in pending if not _has_content(produced[i])]
            if not pending:
                break
        if pending:
            names = "、".join(srcs[i].name for i in pending)
            raise HBError(
                f"LibreOffice 未能把 {names} 转换为 {ext}（已重试一次）：{failure or '没有生成输出文件'}",
                file=srcs[pending[0]],
                hint="请确认文件能在 LibreOffice/Excel 中正常打开；文件很大时可加长超时时间",
            )
        for made, target in zip(produced, targets, strict=True):
            shutil.move(str(made), str(target))


def _soffice(
    soffice: str, profile: Path, files: list[Path], fmt: str, outbox: Path, timeout: float, first: Path
) -> tuple[str, bool]:
    """Run soffice once: (what went wrong or "", whether it was killed for the timeout)."""
    args = [
        soffice,
        f"-env:UserInstallation={profile.as_uri()}",
        "--headless",
        "--norestore",
        "--nologo",
        "--nodefault",
        "--nolockcheck",
        "--convert-to",
        fmt,
        "--outdir",
        str(outbox),
        *map(str, files),
    ]
    env = dict(os.environ)
    env.setdefault("HOME", str(profile.parent))
    try:
        proc = _start(args, env)
    except OSError as exc:
        raise HBError(
            f"无法启动 LibreOffice（{soffice}）：{exc.strerror or exc}", file=first, hint=INSTALL_HINT
        ) from None
    try:
        output, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        _kill_group(proc)
        try:
            proc.communicate(timeout=10)
        except subprocess.TimeoutExpired:  # a descendant outside the group still holds the pipe
            proc.kill()
            proc.wait()
        return f"超过 {timeout:g} 秒仍未完成，已终止", True
    if proc.returncode != 0:
        return f"退出码 {proc.returncode}：{_last_lines(output)}", False
    return (_last_lines(output) if b"Error" in output else ""), False


def _start(args: list[str], env: dict[str, str]) -> subprocess.Popen:
    """A converter in its own process group (a timeout ends it with its children), reading nothing,
    its output and errors in one pipe."""
    return subprocess.Popen(
        args,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env=env,
        **_own_group(),
    )


def _own_group() -> dict:
    if os.name == "posix":
        return {"start_new_session": True}
    return {"creationflags": getattr(subprocess, "CREATE_NEW_PROCESS_GROUP", 0)}


def _kill_group(proc: subprocess.Popen) -> None:
    if os.name == "posix":
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    else:
        proc.kill()


def _last_lines(output: bytes, count: int = 3) -> str:
    lines = [line.strip() for line in output.decode("utf-8", "replace").splitlines() if line.strip()]
    lines = [line for line in lines if "javaldx" not in line]
    return " / ".join(lines[-count:])


def _has_content(path: Path) -> bool:
    return path.is_file() and path.stat().st_size > 0


# ---------------------------------------------------------------- poppler


def _poppler_tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise HBError(
            f"未找到 {name}（poppler 工具），无法处理 PDF",
            hint="请安装 poppler（Debian/Ubuntu：apt-get install poppler-utils）",
        )
    return found


def _run_tool(args: Iterable[str], pdf: Path, name: str) -> subprocess.CompletedProcess:
    try:
        result = subprocess.run(
            list(args), stdin=subprocess.DEVNULL, capture_output=True, timeout=DEFAULT_TIMEOUT, check=False
        )
    except subprocess.TimeoutExpired:
        raise HBError(
            f"{name} 超过 {DEFAULT_TIMEOUT:g} 秒仍未完成", file=pdf, hint="请检查 PDF 是否过大或已损坏"
        ) from None
    if result.returncode != 0:
        raise HBError(
            f"{name} 处理失败（退出码 {result.returncode}）：{_last_lines(result.stderr)}",
            file=pdf,
            hint="请确认这是完整、未损坏的 PDF 文件",
        )
    return result


def _require_file(path: Path) -> None:
    if not path.is_file():
        raise HBError("文件不存在" if not path.exists() else "这不是文件", file=path, hint="请检查文件路径")


def _is_executable(candidate: str) -> bool:
    return os.path.isfile(candidate) and os.access(candidate, os.X_OK)
