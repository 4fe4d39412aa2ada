"""What a workbook holds once read: computed rows per form, the 合计 rows, and the tidy table.

Everything meets in one tidy table of data values — (unit, period, form, row, field, value) — the way
DHIS2 keeps (orgUnit, period, dataElement, value). Reading, checking, consolidating and reporting work
on :class:`FormData`; only the edges know about Excel and Word.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any

from hbreport.checks.engine import compute_row, total_row
from hbreport.spec import TOTAL, WorkbookSpec


def number_or_none(value: Any) -> float | None:
    """A cell's number as a float; None for text, a blank or a boolean."""
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


class OfWorkbook:
    """``unit_code`` and ``period`` of what carries the ``spec`` of the workbook it comes from."""

    spec: WorkbookSpec

    @property
    def unit_code(self) -> str:
        return self.spec.unit_code

    @property
    def period(self) -> int:
        return self.spec.period


@dataclass
class FormData(OfWorkbook):
    """The values of one unit's workbook for one period.

    ``rows[form][row_code]`` holds every column of that row (inputs as read, derived recomputed in
    Python); ``totals[form]`` the 合计 row computed from the rows."""

    spec: WorkbookSpec
    rows: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    totals: dict[str, dict[str, Any]] = field(default_factory=dict)
    source: str | None = None  # file the values came from
    sha256: str | None = None

    @classmethod
    def from_inputs(
        cls,
        spec: WorkbookSpec,
        inputs: dict[str, dict[str, dict[str, Any]]],
        *,
        absent: Collection[str] = (),
        **kw,
    ) -> FormData:
        """Build from raw inputs {form: {row_code: {field: value}}}: derived values and totals computed.
        ``absent``: rows whose data are not in (a consolidation's children not 已报): the values derived
        from their data are None, not computed from blanks (0 exited, the whole baseline remaining)."""
        data = cls(spec=spec, **kw)
        for sheet in spec.sheets:
            given = inputs.get(sheet.form, {})
            rows = {r.code: compute_row(sheet, given.get(r.code, {})) for r in sheet.rows}
            for code in absent:
                if code in rows:
                    rows[code] = blank_derived(sheet, rows[code])
            data.rows[sheet.form] = rows
            data.totals[sheet.form] = total_row(sheet, rows.values(), computed=True)
        return data

    def value(self, form: str, field_key: str, row: str = TOTAL) -> Any:
        if row == TOTAL:
            return self.totals.get(form, {}).get(field_key)
        return self.rows.get(form, {}).get(row, {}).get(field_key)


def blank_derived(sheet, row: dict[str, Any]) -> dict[str, Any]:
    """``row`` with the values derived from its data blank (a row whose data were not reported)."""
    return row | {col.key: None for col in sheet.data_derived}
