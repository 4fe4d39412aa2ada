"""Where the project's editable data lives: templates/ (catalog, forms, reports) and samples/."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TEMPLATES = ROOT / "templates"
SAMPLES = ROOT / "samples"
SAMPLE_DIR = SAMPLES / "hubei"
INDICATORS = TEMPLATES / "indicators.yaml"
FIELDS = TEMPLATES / "fields.yaml"
FORMS = TEMPLATES / "forms"
REPORTS = TEMPLATES / "reports"
SAMPLE_UNITS = SAMPLE_DIR / "units.csv"
SAMPLE_BASELINE = SAMPLE_DIR / "baseline.csv"
SAMPLE_COUNTIES = SAMPLE_DIR / "counties.csv"
