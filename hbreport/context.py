"""One context for a run: the registry, the catalog, the baseline, the data elements and the form
templates — loaded once, passed explicitly, and holding the form specs built from them.

A command builds one :class:`Context` (``Context.load`` from the files its options name) and hands it
on; a library function given some of the parts and not others completes them in one place,
:meth:`Context.of`, with the same defaults every command uses (the embedded sample, and the baseline
that belongs to the registry)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hbreport import paths

if TYPE_CHECKING:
    from hbreport.baseline import Baseline
    from hbreport.catalog import Catalog
    from hbreport.registry import Registry
    from hbreport.spec import Field, WorkbookSpec


@dataclass(eq=False)
class Context:
    """What every part of a run reads: who reports to whom, the plan's targets, the baseline, the
    data elements and the form templates. ``spec()`` keeps the form specs built in this context."""

    registry: Registry
    catalog: Catalog
    baseline: Baseline
    fields: dict[str, Field]
    forms_dir: Path = paths.FORMS
    _specs: dict[tuple, WorkbookSpec] = field(default_factory=dict, repr=False)

    @classmethod
    def load(
        cls,
        *,
        units: str | Path | None = None,
        indicators: str | Path | None = None,
        baseline: str | Path | None = None,
    ) -> Context:
        """The context of the files named (each defaults to the embedded sample's or template's)."""
        from hbreport.baseline import load_baseline
        from hbreport.catalog import load_catalog
        from hbreport.registry import load_registry

        registry = load_registry(units)
        catalog = load_catalog(indicators)
        return cls.of(registry, catalog, load_baseline(baseline) if baseline is not None else None)

    @classmethod
    def of(
        cls,
        registry: Registry | None = None,
        catalog: Catalog | None = None,
        baseline: Baseline | None = None,
    ) -> Context:
        """A context from the parts a caller has, the others loaded as every command loads them: the
        embedded sample's registry, the catalog in templates/, the baseline that belongs to the
        registry (:func:`hbreport.baseline.baseline_for`)."""
        from hbreport.baseline import baseline_for
        from hbreport.catalog import load_catalog
        from hbreport.registry import load_registry
        from hbreport.spec import load_fields

        registry = registry or load_registry()
        return cls(
            registry=registry,
            catalog=catalog or load_catalog(),
            baseline=baseline or baseline_for(registry),
            fields=load_fields(),
        )

    @property
    def parts(self) -> tuple[Registry, Catalog, Baseline]:
        """(registry, catalog, baseline), for the functions that take them one by one."""
        return self.registry, self.catalog, self.baseline

    @property
    def keywords(self) -> dict[str, Any]:
        """``registry=``, ``catalog=``, ``baseline=``, for the functions that take them by keyword."""
        return {"registry": self.registry, "catalog": self.catalog, "baseline": self.baseline}

    def spec(self, unit_code: str, period: int, forms: tuple[str, ...] | None = None) -> WorkbookSpec:
        """The form family of a unit for a period, built once in this context."""
        key = (unit_code, period, forms)
        spec = self._specs.get(key)
        if spec is None:
            from hbreport.spec import build_workbook_spec

            spec = build_workbook_spec(unit_code, period, forms=forms, **self.keywords)
            self._specs[key] = spec
        return spec
