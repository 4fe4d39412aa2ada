"""Faults of the machine rather than of the input — a full disk, a run killed while writing, inputs
that are not files — and input files that are too big: each is a Chinese message and exit code 2,
never an internal error or a traceback, and nothing is left behind."""

from __future__ import annotations

import os
import resource
import signal
import subprocess
import sys
from pathlib import Path

import corpus
import pytest

from hbreport.errors import EXIT_UNUSABLE
from hbreport.xlsx.atomic import atomic_output, remove_stale_temporaries

REPO = Path(__file__).resolve().parent.parent
CRASH_SIGNS = ("Traceback", "程序内部错误", "Exception ignored")
FILE_LIMIT = 20_000  # bytes: every output below is larger, every input already exists


def _hbreport(*args: str, file_limit: int | None = None, cwd: Path = REPO) -> subprocess.CompletedProcess:
    """``python -m hbreport ARGS`` in a real process; with ``file_limit``, no file it writes may grow past
    that many bytes (the system says EFBIG, as it says ENOSPC on a full disk: the same failed write)."""

    def limit() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (file_limit, file_limit))

    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]))
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return subprocess.run(
        [sys.executable, "-m", "hbreport", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        timeout=600,
        preexec_fn=limit if file_limit else None,
    )


def _assert_told(done: subprocess.CompletedProcess, *words: str) -> None:
    text = done.stdout + done.stderr
    assert done.returncode == EXIT_UNUSABLE, text[-2000:]
    assert not any(sign in text for sign in CRASH_SIGNS), text[-2000:]
    assert all(word in text for word in words), text[-2000:]
    assert "处理办法" in text


@pytest.fixture(scope="module")
def children(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("inbox")
    corpus.good_children(folder, ("421122101", "421122102"))
    return folder


@pytest.mark.slow
def test_a_failed_write_is_a_message_for_forms_consolidation_and_report(
    children: Path, tmp_path: Path
) -> None:
    """XlsxWriter wraps the failed write in its own error (not an OSError) and the zip writer it leaves
    behind would flush again at exit: the user reads one Chinese sentence, and no half file is left."""
    out = tmp_path / "out"
    done = _hbreport(
        "forms",
        "--period",
        "2017",
        "--level",
        "township",
        "--under",
        "421122",
        "--out",
        str(out),
        file_limit=FILE_LIMIT,
    )
    _assert_told(done, "保存失败", "文件超过了系统允许的大小")
    assert not [p for p in out.iterdir() if p.name.endswith(".tmp")]

    county = tmp_path / "县.xlsx"
    args = ("consolidate", str(children), "--parent", "421122", "--period", "2017", "--out", str(county))
    _assert_told(_hbreport(*args, file_limit=FILE_LIMIT), "县.xlsx", "保存失败")
    assert not county.exists() and not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]

    assert _hbreport(*args).returncode in (0, 1)  # written whole without the limit
    report = tmp_path / "报告.docx"
    _assert_told(
        _hbreport("report", str(county), "--out", str(report), file_limit=FILE_LIMIT),
        "文件超过了系统允许的大小",
    )
    assert not report.exists() and not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_the_temporary_file_of_a_killed_run_is_removed_by_the_next_write(tmp_path: Path) -> None:
    """A process killed inside its write leaves its hidden temporary file; the next write into that folder
    removes it, and leaves alone the temporary files of live processes and of other programs."""
    killed = (
        "import os, signal, sys\n"
        "from pathlib import Path\n"
        "from hbreport.xlsx.atomic import atomic_output\n"
        "with atomic_output(Path(sys.argv[1])) as tmp:\n"
        "    tmp.write_bytes(b'half a workbook')\n"
        "    os.kill(os.getpid(), signal.SIGKILL)\n"
    )
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]))
    done = subprocess.run([sys.executable, "-c", killed, str(tmp_path / "县.xlsx")], env=env, timeout=120)
    assert done.returncode == -signal.SIGKILL
    (left,) = [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]
    other = tmp_path / ".另一个程序的.tmp"
    other.write_bytes(b"")
    with atomic_output(tmp_path / "其他.xlsx") as tmp:
        live = tmp  # this process's own, still being written
        tmp.write_bytes(b"x")
        assert not left.exists() and live.exists() and other.exists()
    assert (tmp_path / "其他.xlsx").read_bytes() == b"x"
    assert remove_stale_temporaries(tmp_path) == 0 and other.exists()


@pytest.mark.parametrize(
    "args",
    [
        pytest.param(
            ("forms", "--period", "2017", "--level", "township", "--units", "/dev/zero"), id="units"
        ),
        pytest.param(("roster", "forms", "--period", "2017", "--roster", "/dev/zero"), id="roster"),
    ],
)
def test_a_device_given_as_a_csv_input_is_refused_at_once(args: tuple[str, ...], tmp_path: Path) -> None:
    """``/dev/zero`` as the units or registration CSV read without end (or until memory ran out)."""
    done = _hbreport(*args, "--out", str(tmp_path / "out"))
    _assert_told(done, "zero", "不是普通文件")


def test_a_csv_input_over_its_bound_is_refused_before_it_is_read(tmp_path: Path) -> None:
    from hbreport.xlsx.input_files import MAX_TABLE_BYTES

    big = tmp_path / "units.csv"
    with open(big, "wb") as handle:
        handle.truncate(MAX_TABLE_BYTES + 1)  # sparse: no disk, no memory
    done = _hbreport(
        "forms", "--period", "2017", "--level", "township", "--units", str(big), "--out", str(tmp_path / "o")
    )
    _assert_told(done, "units.csv", "上限")
