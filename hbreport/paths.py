"""Where the project's editable data lives: templates/ (catalog, forms, reports) and samples/."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")

ROOT = Path(__file__).resolve().parent.parent
# In the source tree (and an editable install) templates/ and samples/ sit beside the package; an
# installed wheel carries copies inside it (pyproject.toml maps them to hbreport/_data/).
_INSTALLED = Path(__file__).resolve().parent / "_data"
TEMPLATES = (
    ROOT / "templates" if (ROOT / "templates" / "indicators.yaml").is_file() else _INSTALLED / "templates"
)
SAMPLES = ROOT / "samples" if (ROOT / "samples" / "hubei").is_dir() else _INSTALLED / "samples"
SAMPLE_DIR = SAMPLES / "hubei"
INDICATORS = TEMPLATES / "indicators.yaml"
FIELDS = TEMPLATES / "fields.yaml"
FORMS = TEMPLATES / "forms"
REPORTS = TEMPLATES / "reports"
SAMPLE_UNITS = SAMPLE_DIR / "units.csv"
SAMPLE_BASELINE = SAMPLE_DIR / "baseline.csv"
SAMPLE_COUNTIES = SAMPLE_DIR / "counties.csv"
SAMPLE_TASKS = SAMPLE_DIR / "tasks.csv"


class FileCache:
    """What was made from a file, kept until the file changes (its modification time or size)."""

    def __init__(self) -> None:
        self._held: dict[Path, tuple[tuple[int, int], Any]] = {}

    def get(self, path: Path, make: Callable[[Path], T]) -> T:
        """``make(path)``, or what it made last time if the file has not changed since."""
        try:
            stat = os.stat(path)
            stamp = (stat.st_mtime_ns, stat.st_size)
        except OSError:
            stamp = (-1, -1)
        held = self._held.get(path)
        if held is not None and held[0] == stamp:
            return held[1]
        made = make(path)
        self._held[path] = (stamp, made)
        return made
