"""An installed (non-editable) package carries the templates and the sample: pyproject.toml maps
templates/ and samples/ into the package, and its package-data patterns must cover every file the
code reads from them."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

from hbreport import paths

ROOT = Path(__file__).resolve().parent.parent


def _shipped() -> set[Path]:
    setuptools = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]
    shipped: set[Path] = set()
    for package, folder in setuptools["package-dir"].items():
        assert package in setuptools["packages"]
        for pattern in setuptools["package-data"][package]:
            shipped |= {p.resolve() for p in (ROOT / folder).glob(pattern) if p.is_file()}
    return shipped


def test_every_template_and_sample_file_is_in_the_wheel():
    shipped = _shipped()
    needed = {
        p.resolve()
        for p in [*paths.TEMPLATES.rglob("*"), *paths.SAMPLE_DIR.rglob("*")]
        if p.is_file() and p.suffix != ".py" and "__pycache__" not in p.parts
    }
    assert len(needed) >= 13
    assert needed - shipped == set()


def test_the_source_tree_is_used_where_it_is():
    assert paths.TEMPLATES == ROOT / "templates"
    assert paths.SAMPLES == ROOT / "samples"
    assert paths.INDICATORS.is_file() and paths.SAMPLE_UNITS.is_file()


def test_every_subpackage_is_in_the_wheel():
    """pyproject.toml lists the packages one by one: each folder of hbreport/ with an __init__.py must be
    among them, or an installed hbreport cannot import it (the CLI imports every command's module)."""
    listed = set(
        tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]["packages"]
    )
    found = {
        ".".join(p.parent.relative_to(ROOT).parts)
        for p in (ROOT / "hbreport").rglob("__init__.py")
        if "__pycache__" not in p.parts and "_data" not in p.parts
    }
    assert found - listed == set()


def test_every_module_imports_first():
    """Each module of the package can be the first one imported (no import cycle that only an
    earlier import happens to hide): one interpreter, the package forgotten before each module."""
    modules = sorted(
        ".".join(p.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
        for p in (ROOT / "hbreport").rglob("*.py")
        if "_data" not in p.parts
    )
    assert len(modules) > 60
    script = (
        "import importlib, sys\n"
        "failed = []\n"
        f"for name in {modules!r}:\n"
        "    for loaded in [m for m in sys.modules if m == 'hbreport' or m.startswith('hbreport.')]:\n"
        "        del sys.modules[loaded]\n"
        "    try:\n"
        "        importlib.import_module(name)\n"
        "    except Exception as error:\n"
        "        failed.append(f'{name}: {error!r}')\n"
        "print('\\n'.join(failed))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=600, check=True
    )
    assert done.stdout.strip() == ""
