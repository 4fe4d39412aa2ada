"""Data values and the Dataset: the one tidy table everything meets in.

A :class:`DataValue` is one cell of one form for one row unit, with its status (reported, not
reported, returned, refused, derived) and where it came from (the source file's sha256, when it was
received). A :class:`Dataset` holds many and pivots them to a form's rows (for the writer and the
report) and to a tidy pandas frame (for export).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import asdict, dataclass, fields, replace
from typing import Any

from hbreport.model.values import FormData
from hbreport.spec import TOTAL, WorkbookSpec

REPORTED, NOT_REPORTED, RETURNED, REFUSED, DERIVED = (
    "reported",
    "not_reported",
    "returned",
    "refused",
    "derived",
)
STATUSES = (REPORTED, NOT_REPORTED, RETURNED, REFUSED, DERIVED)
STATUS_ZH = {
    REPORTED: "已报",
    NOT_REPORTED: "未报",
    RETURNED: "退回",
    REFUSED: "拒收",
    DERIVED: "计算",
}


@dataclass(frozen=True, slots=True)
class DataValue:
    """One value: ``unit`` is the unit whose workbook holds it, ``row`` the unit the row is about (a
    village on a township's form; the unit itself on a form it reports for itself)."""

    unit: str
    period: int
    form: str
    row: str
    field: str
    value: Any
    status: str = REPORTED
    comment: str | None = None
    sha256: str | None = None
    received: str | None = None  # ISO time the submission was received (UTC)

    @property
    def key(self) -> tuple[str, int, str, str, str]:
        return (self.unit, self.period, self.form, self.row, self.field)


COLUMNS = tuple(f.name for f in fields(DataValue))


class Dataset:
    """Data values, in the order given, with pivots to a form's rows and to a tidy frame."""

    def __init__(self, values: Iterable[DataValue] = ()) -> None:
        self.values: list[DataValue] = list(values)

    def __len__(self) -> int:
        return len(self.values)

    def __iter__(self) -> Iterator[DataValue]:
        return iter(self.values)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Dataset) and self.values == other.values

    @classmethod
    def from_form_data(
        cls,
        data: FormData,
        *,
        row_status: Mapping[str, str] | None = None,
        derived: bool = True,
        blanks: bool = True,
        received: str | None = None,
        comments: Mapping[str, Mapping[str, str]] | None = None,
    ) -> Dataset:
        """The values of one workbook. ``row_status`` gives a row unit's status (a consolidation's
        children: not reported, returned, refused); rows not named are reported. A derived column's
        value of a reported row has status derived (left out with ``derived=False``); blank cells
        are kept with value None unless ``blanks=False``. ``comments[form][row]``: a row's 说明, the
        comment of each of its values. The 合计 row is not a data value."""
        row_status = row_status or {}
        comments = comments or {}
        spec = data.spec
        out: list[DataValue] = []
        add = out.append
        for sheet in spec.sheets:
            rows = data.rows.get(sheet.form, {})
            for row in sheet.rows:
                status = row_status.get(row.code, REPORTED)
                cells = rows.get(row.code, {})
                comment = comments.get(sheet.form, {}).get(row.code)
                for col in sheet.columns:
                    is_derived = col.role == "derived"
                    if is_derived and not derived:
                        continue
                    value = cells.get(col.key)
                    if value == "":
                        value = None
                    if value is None and not blanks:
                        continue
                    add(
                        DataValue(
                            spec.unit_code,
                            spec.period,
                            sheet.form,
                            row.code,
                            col.key,
                            value,
                            DERIVED if is_derived and status == REPORTED else status,
                            comment,
                            data.sha256,
                            received,
                        )
                    )
        return cls(out)

    # ------------------------------------------------------------ pivots

    def units(self) -> list[str]:
        """The units whose workbooks hold the values, in first-seen order."""
        return list(dict.fromkeys(v.unit for v in self.values))

    def only(self, **match: Any) -> Dataset:
        """The values whose attributes equal ``match`` (e.g. ``unit=..., period=2017``)."""
        return Dataset(v for v in self.values if all(getattr(v, k) == x for k, x in match.items()))

    def rows(self, form: str) -> dict[str, dict[str, Any]]:
        """{row unit: {field: value}} of one form (the shape a form's sheet is written and read in)."""
        out: dict[str, dict[str, Any]] = {}
        for v in self.values:
            if v.form == form:
                out.setdefault(v.row, {})[v.field] = v.value
        return out

    def inputs(self, spec: WorkbookSpec | None = None) -> dict[str, dict[str, dict[str, Any]]]:
        """{form: {row: {field: value}}} of the values a workbook is given (not derived, not blank);
        with ``spec``, only the forms, rows and columns it has."""
        out: dict[str, dict[str, dict[str, Any]]] = {}
        allowed = None
        if spec is not None:
            allowed = {s.form: ({r.code for r in s.rows}, set(s.given_keys)) for s in spec.sheets}
        for v in self.values:
            if v.status == DERIVED or v.value is None or v.row == TOTAL:
                continue
            if allowed is not None:
                rows_keys = allowed.get(v.form)
                if rows_keys is None or v.row not in rows_keys[0] or v.field not in rows_keys[1]:
                    continue
            out.setdefault(v.form, {}).setdefault(v.row, {})[v.field] = v.value
        return out

    def to_form_data(self, spec: WorkbookSpec, **kw: Any) -> FormData:
        """The workbook's values for ``spec`` (derived values and 合计 recomputed)."""
        return FormData.from_inputs(spec, self.inputs(spec), **kw)

    def records(self) -> list[dict[str, Any]]:
        return [asdict(v) for v in self.values]

    def to_frame(self):
        """The tidy pandas frame: one row per data value, columns as :class:`DataValue`'s fields."""
        import pandas as pd

        return pd.DataFrame.from_records(
            [tuple(getattr(v, c) for c in COLUMNS) for v in self.values], columns=list(COLUMNS)
        )

    def with_received(self, received: str) -> Dataset:
        return Dataset(replace(v, received=received) for v in self.values)
