"""Where the project's editable data lives: templates/ (catalog, forms, reports) and samples/."""

from __future__ import annotations

from pathlib import Path

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
