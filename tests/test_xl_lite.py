"""The xlwings Lite bundle (macros/lite/main.py): generated from the package, runnable with nothing but
the standard library and its declared requirements, and computing what the package computes.

main.py runs here under plain CPython in a subprocess started with ``-I -S``: its sys.path holds the
standard library, the lite folder and a folder with only the distributions requirements.txt names — not
the repository, not site-packages. xlwings itself is used there when it is installed (its decorators
are no-ops outside Excel); only if it is not, a stand-in module with identity decorators takes its place.
"""

from __future__ import annotations

import importlib.metadata as metadata
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from readback import PERIOD, TOWNSHIP, valid_inputs

from hbreport.baseline import load_baseline
from hbreport.checks import FORM_RULE_CODE, engine
from hbreport.checks.check import check_files
from hbreport.checks.values import VALUE_CHECKS
from hbreport.forms import prefill_values
from hbreport.registry import load_registry
from hbreport.spec import build_workbook_spec
from hbreport.xl import core, lite_build, lite_script, udfs
from hbreport.xlsx.writer import write_workbook

LITE = Path(lite_build.LITE_DIR)
STAND_IN_XLWINGS = '''"""Stand-in for xlwings outside Excel: the decorators return the function unchanged."""


def _identity(f=None, *args, **kwargs):
    return f if callable(f) else (lambda g: g)


func = script = _identity


def arg(*args, **kwargs):
    return lambda f: f


ret = arg


class Book:
    pass
'''

DRIVER = r"""
import json, sys
lite, deps = sys.argv[1], sys.argv[2]
sys.path[:0] = [lite, deps]
import main
calls = json.load(sys.stdin)
results = [getattr(main, name)(*args) for name, args in calls]
blocked = {}
for name in ("hbreport", "openpyxl", "yaml", "jinja2", "pandas", "python_calamine"):
    try:
        __import__(name)
        blocked[name] = False
    except ImportError:
        blocked[name] = True
print(json.dumps({"results": results, "blocked": blocked, "xlwings": main.xw.__file__}, ensure_ascii=False))
"""


def requirement_names() -> list[str]:
    lines = (LITE / "requirements.txt").read_text(encoding="utf-8").splitlines()
    return [
        line.split("==")[0].split(">=")[0].strip()
        for line in lines
        if line.strip() and not line.startswith("#")
    ]


def dependency_folder(target: Path) -> dict[str, str]:
    """Link the top-level packages of each declared distribution into ``target``; name → how it got there."""
    target.mkdir()
    how = {}
    for name in requirement_names():
        try:
            dist = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            if name != "xlwings":
                pytest.fail(f"requirements.txt names {name}, which is not installed here")
            (target / "xlwings").mkdir()
            (target / "xlwings" / "__init__.py").write_text(STAND_IN_XLWINGS, encoding="utf-8")
            how[name] = "stand-in"
            continue
        tops = {Path(str(f)).parts[0] for f in dist.files or () if not str(f).startswith(("..", "/"))}
        for top in sorted(tops):
            if top.endswith((".dist-info", ".egg-info")) or top == "__pycache__":
                continue
            source = Path(dist.locate_file(top))
            if source.exists():
                (target / top).symlink_to(source)
        how[name] = "installed"
    return how


def run_bundle(tmp_path: Path, calls: list[tuple[str, list[Any]]]) -> dict[str, Any]:
    deps = tmp_path / "deps"
    dependency_folder(deps)
    done = subprocess.run(
        [sys.executable, "-I", "-S", "-c", DRIVER, str(LITE), str(deps)],
        input=json.dumps(calls, ensure_ascii=False),
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_committed_bundle_is_what_the_generator_writes():
    assert (LITE / "main.py").read_text(encoding="utf-8") == lite_build.build_main(), (
        "macros/lite/main.py is out of date: run `python -m hbreport.xl.lite_build` and commit the result"
    )
    assert (LITE / "requirements.txt").read_text(encoding="utf-8") == lite_build.REQUIREMENTS_TEXT


def test_requirements_name_only_what_pyodide_can_install():
    # The bundle needs the standard library and xlwings (a pure-Python wheel on PyPI); nothing compiled.
    assert requirement_names() == ["xlwings"]
    text = (LITE / "main.py").read_text(encoding="utf-8")
    imports = [line for line in text.splitlines() if line.startswith(("import ", "from "))]
    third_party = {line.split()[1].split(".")[0] for line in imports} - set(sys.stdlib_module_names)
    assert third_party <= {"xlwings", "__future__"}, third_party
    assert "hbreport" not in {line.split()[1].split(".")[0] for line in imports}


def full_values(spec) -> dict[str, dict[str, dict[str, Any]]]:
    """Valid inputs for every row of every form, with the prefilled baseline columns."""
    values = valid_inputs(spec)
    for form, rows in prefill_values(spec, load_registry(), load_baseline()).items():
        for code, row in rows.items():
            values.setdefault(form, {}).setdefault(code, {}).update(row)
    return values


def calls_and_expectations(specs) -> tuple[list[tuple[str, list[Any]]], list[Any]]:
    """Function calls as Excel would make them, and what the package's udfs return for them."""
    calls: list[tuple[str, list[Any]]] = []
    for spec in specs:
        values = full_values(spec)
        for sheet in spec.sheets:
            header = [list(sheet.column_keys)]
            inputs = values[sheet.form]
            table = []
            for i, unit in enumerate(sheet.rows):
                row = dict(inputs.get(unit.code, {}))
                keys = [c.key for c in sheet.input_columns]
                if i % 3 == 1:  # break something: a number too big, text, or a blank
                    row[keys[i % len(keys)]] = [99_999.0, "12a", None][(i // 3) % 3]
                cells = [
                    None if c.role == "derived" else (float(v) if isinstance(v, int) else v)
                    for c in sheet.columns
                    for v in [row.get(c.key)]
                ]
                table.append(cells)
                calls.append(("HB_CHECK", [sheet.form, [cells], header, float(spec.period)]))
            calls.append(("HB_CHECK_ROWS", [sheet.form, table, header, float(spec.period)]))
    for year in (2016.0, 2017.0, 2019.0):
        for rate in (None, "", 0.1, 0.7, 0.74, 0.75, 1.0, "abc"):
            calls.append(("HB_STATUS", ["SCHED_PEOPLE_EXIT", rate, year]))
            calls.append(("HB_COMPLETION", ["SCHED_VILLAGE_EXIT", rate, year]))
    calls += [
        ("HB_EXIT_OK", [3500.0, 2017.0, "是", "否"]),
        ("HB_EXIT_OK", [2000.0, 2017.0, [["是", True]]]),
        ("HB_EXIT_OK", [5000.0, 2018.0, "是"]),
        ("HB_ID_OK", ["11010519491231002X"]),
        ("HB_ID_OK", [[["11010519491231002X"], ["110105194912310021"], [None]]]),
        ("HB_CHECK", ["no_such_form", [[1.0]], [["x"]], 2017.0]),
    ]
    expected = [getattr(udfs, name)(*args) for name, args in calls]
    return calls, expected


def test_bundle_runs_without_the_package_and_agrees_with_it(tmp_path):
    specs = [build_workbook_spec(TOWNSHIP, PERIOD), build_workbook_spec("421122", PERIOD)]
    calls, expected = calls_and_expectations(specs)
    out = run_bundle(tmp_path, calls)
    assert all(out["blocked"].values()), (
        f"the bundle's sys.path reaches more than it declares: {out['blocked']}"
    )
    assert out["results"] == expected
    texts = [r for (name, _), r in zip(calls, expected, strict=True) if name == "HB_CHECK" and r]
    assert len(texts) > 5  # the calls exercise failing rules, not only clean rows


def filled_workbook(tmp_path: Path) -> tuple[Path, Any]:
    """A township workbook with valid data and a few rows spoiled, as written by the writer."""
    spec = build_workbook_spec(TOWNSHIP, PERIOD)
    values = full_values(spec)
    progress = spec.sheet("poverty_progress").rows
    values["poverty_progress"][progress[0].code]["exited_households"] = 10**6  # PP02
    values["poverty_progress"][progress[1].code]["returned_people"] = "12a"  # invalid data
    projects = spec.sheet("key_projects").rows
    values["key_projects"][projects[2].code]["reloc_people"] = 1  # KP03, KP01
    village = spec.sheet("village_exit").rows[0].code
    values["village_exit"][village].update(apply_exit="是", remaining_poor_households=4, exited_before="否")
    path = write_workbook(spec, tmp_path / "filled.xlsx", values=values)
    return path, spec


class _Range:
    def __init__(self, sheet: _Sheet, value: Any = None) -> None:
        self.sheet, self._value = sheet, value

    @property
    def value(self) -> Any:
        return self._value

    @value.setter
    def value(self, rows: Any) -> None:
        self.sheet.written = rows


class _Sheet:
    """The part of a Lite sheet the script uses, over values read from a real workbook."""

    def __init__(self, name: str, grid: list[list[Any]]) -> None:
        self.name, self.grid, self.written = name, grid, None

    @property
    def used_range(self) -> _Range:
        return _Range(self, self.grid)

    def __getitem__(self, address: str) -> _Range:
        return _Range(self)

    def clear_contents(self) -> None:
        self.written = None

    def activate(self) -> None:
        pass


class _Sheets(list):
    def __getitem__(self, key):
        if isinstance(key, str):
            return next(s for s in self if s.name == key)
        return super().__getitem__(key)

    def add(self, name: str) -> _Sheet:
        sheet = _Sheet(name, [[None]])
        self.append(sheet)
        return sheet


class _Book:
    def __init__(self, path: Path) -> None:
        book = openpyxl.load_workbook(path, data_only=True)
        self.sheets = _Sheets(
            _Sheet(ws.title, [list(row) for row in ws.iter_rows(values_only=True)]) for ws in book.worksheets
        )


def _rule_of(messages: dict[str, str], text: str) -> str:
    return next(rule for message, rule in messages.items() if text.startswith(message))


def test_lite_script_finds_the_rule_breaches_the_reader_finds(tmp_path):
    path, spec = filled_workbook(tmp_path)
    findings, _ = check_files([path])
    rule_ids = {r.id for s in spec.sheets for r in s.rules}
    want = {
        (f.sheet, int("".join(ch for ch in f.cell if ch.isdigit())), f.rule)
        for f in findings
        if f.rule in rule_ids
    }
    assert {"PP02", "KP03", "VE01"} <= {rule for _, _, rule in want}
    book = _Book(path)
    lite_script.validate_workbook(book)
    written = book.sheets[core.RESULTS_SHEET].written
    assert written[0] == list(core.RESULT_HEADINGS)
    # a form's rule is shown as 表内审核 (not its internal id), its message says which rule it is
    messages = {r.message.rstrip("。；;"): r.id for s in spec.sheets for r in s.rules}
    got = {
        (row[3], int("".join(ch for ch in row[4] if ch.isdigit())), _rule_of(messages, row[-1]))
        for row in written[1:]
        if row[2] == FORM_RULE_CODE
    }
    # The reader drops a value it cannot use (and says so, a value check); the sheet's own check, like this
    # script, reports the rules that cannot be judged on such a row as 数据无效. Elsewhere they agree.
    spoiled = {
        (f.sheet, int("".join(ch for ch in f.cell if ch.isdigit())))
        for f in findings
        if f.rule in VALUE_CHECKS
    }
    assert spoiled
    assert {g for g in got if g[:2] not in spoiled} == {w for w in want if w[:2] not in spoiled}
    # and the value checks are the reader's: same cell, code and message
    lite_values = {(row[3], row[4], row[2], row[-1]) for row in written[1:] if row[2] in VALUE_CHECKS}
    reader_values = {(f.sheet, f.cell, f.rule, f.message) for f in findings if f.rule in VALUE_CHECKS}
    assert {v[:3] for v in lite_values} == {v[:3] for v in reader_values}
    for sheet, cell, code, message in lite_values:
        said = next(m for s_, c_, r_, m in reader_values if (s_, c_, r_) == (sheet, cell, code))
        assert message.split("的「", 1)[1] == said.split("的「", 1)[1]
    for where in spoiled:
        messages = [row[-1] for row in written[1:] if (row[3], int(row[4][1:])) == where]
        assert any("数据无效" in m for m in messages)
    errors_first = [row[1] for row in written[1:]]
    assert errors_first == sorted(errors_first, key=lambda imp: imp != "错误")


def test_lite_script_on_a_clean_workbook_says_so(tmp_path):
    spec = build_workbook_spec(TOWNSHIP, PERIOD)
    values = full_values(spec)
    assert all(
        not engine.check_text(s, engine.compute_row(s, values[s.form][u.code]))
        for s in spec.sheets
        for u in s.rows
    )
    book = _Book(write_workbook(spec, tmp_path / "clean.xlsx", values=values))
    lite_script.validate_workbook(book)
    assert book.sheets[core.RESULTS_SHEET].written[1][-1] == "未发现问题"
