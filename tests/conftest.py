"""Session fixtures shared by the test modules: the embedded sample's registry, catalog and baseline
(loaded once), one Context of them, the real division tree when it lies beside the repository, and a
generated county's filled township workbooks.

The quick loop for developers leaves out what drives LibreOffice and what takes long:
``pytest -m "not slow and not libreoffice"``; CI runs everything."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

from hbreport.baseline import load_baseline
from hbreport.catalog import load_catalog
from hbreport.context import Context
from hbreport.registry import load_registry

REPO_ROOT = Path(__file__).resolve().parent.parent
REAL_DIVISIONS = REPO_ROOT.parent / "shared" / "data" / "hubei-divisions-2016.csv"
COUNTY, PERIOD = "420702", 2017  # 梁子湖区: 7 townships

# No test depends on timing: Hypothesis's per-example deadline and its "too slow" health check measure
# the machine's load, not the code, so they are off for every property test.
settings.register_profile("hbreport", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("hbreport")


@pytest.fixture(scope="session")
def registry():
    return load_registry()


@pytest.fixture(scope="session")
def catalog():
    return load_catalog()


@pytest.fixture(scope="session")
def baseline():
    return load_baseline()


@pytest.fixture(scope="session")
def sample(registry, catalog, baseline):
    """(registry, catalog, baseline) of the embedded sample."""
    return registry, catalog, baseline


@pytest.fixture(scope="session")
def context(registry, catalog, baseline):
    """The embedded sample's parts as keyword arguments (``registry=``, ``catalog=``, ``baseline=``)."""
    return {"registry": registry, "catalog": catalog, "baseline": baseline}


@pytest.fixture(scope="session")
def ctx(registry, catalog, baseline) -> Context:
    return Context.of(registry, catalog, baseline)


@pytest.fixture(scope="session")
def real_registry():
    """The real division tree of Hubei (skipped where it does not lie beside the repository)."""
    if not REAL_DIVISIONS.exists():
        pytest.skip(f"the real division tree is not next to the repository ({REAL_DIVISIONS.name} absent)")
    return load_registry(REAL_DIVISIONS)


@pytest.fixture(scope="session")
def county_inbox(tmp_path_factory, registry, catalog, baseline) -> Path:
    """梁子湖区's 7 township workbooks for 2017, filled by the deterministic clerks of
    ``consolidation_inputs`` (rule-abiding). Read-only: a test that changes files copies the folder
    (:func:`inbox_copy`)."""
    from consolidation_inputs import write_filled

    folder = tmp_path_factory.mktemp("county-inbox")
    for unit in registry.children(COUNTY):
        write_filled(unit.code, PERIOD, folder, registry=registry, catalog=catalog, baseline=baseline)
    return folder


@pytest.fixture
def inbox_copy(county_inbox, tmp_path) -> Path:
    """A copy of :func:`county_inbox` this test may change."""
    return Path(shutil.copytree(county_inbox, tmp_path / "inbox"))
