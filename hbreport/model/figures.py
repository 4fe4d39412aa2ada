"""The figures a consolidation wrote into its 已报 children's rows, kept in the workbook's Summary part so
that the next level can tell a row edited afterwards from the row as consolidated, and use the latter.

The record is the values themselves (every input and prefilled cell of each 已报 child's row, per form),
not a hash of them: a few kilobytes for a county's dozens of townships, and it lets the reader name what
the consolidation had beside what the sheet holds now and count the former. Values are compared in a
canonical form, so that a workbook re-saved by Excel, WPS or LibreOffice (which may write a number with
15 significant digits where the consolidation wrote 17) is not taken for an edited one.

The record is no signature: it sits on a protected, very hidden sheet, and one who edits it there as well
is not caught. The children's own workbooks (and their sha256 in the Summary and the store) remain the
authority; the record makes the common case — a figure typed over a township's row of the county's
workbook — visible, and keeps it out of the numbers carried up.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

#: form → {"columns": [input and prefill keys], "rows": {child code: [value per column]}}
Figures = dict[str, dict[str, Any]]


def record_figures(
    spec, values: Mapping[str, Mapping[str, Mapping[str, Any]]], reported: Iterable[str]
) -> Figures:
    """The record of ``values`` (values[form][row code][key], as written) for the rows of ``reported``
    (the 已报 children) on every form that has them."""
    codes = set(reported)
    out: Figures = {}
    for sheet in spec.sheets:
        rows = [r.code for r in sheet.rows if r.code in codes]
        form = values.get(sheet.form)
        if not rows or form is None:
            continue
        keys = [c.key for c in sheet.columns if c.role != "derived"]
        out[sheet.form] = {
            "columns": keys,
            "rows": {code: [_plain(form.get(code, {}).get(k)) for k in keys] for code in rows},
        }
    return out


def canonical(value: Any) -> Any:
    """``value`` as compared: blank for None or empty text, numbers to 15 significant digits (what every
    spreadsheet program keeps), text stripped."""
    if value is None:
        return None
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)):
        number = float(f"{float(value):.15g}")
        return number + 0.0  # -0.0 → 0.0
    text = str(value).strip()
    return text or None


def changed_cells(recorded: Mapping[str, Any], row: Mapping[str, Any]) -> list[tuple[str, Any, Any]]:
    """(key, recorded, read) for each recorded cell of a row whose value read differs from the record's."""
    return [
        (key, was, row.get(key))
        for key, was in recorded.items()
        if key in row and canonical(row.get(key)) != canonical(was)
    ]


def rows_of(figures: Figures, form: str) -> dict[str, dict[str, Any]]:
    """The recorded rows of ``form``: child code → {key: value} (empty for a form not recorded or a
    record this version cannot make sense of)."""
    entry = figures.get(form)
    if not isinstance(entry, dict):
        return {}
    keys, rows = entry.get("columns"), entry.get("rows")
    if not isinstance(keys, list) or not isinstance(rows, dict):
        return {}
    return {
        str(code): dict(zip(keys, values, strict=True))
        for code, values in rows.items()
        if isinstance(values, list) and len(values) == len(keys) and all(map(_is_plain, values))
    }


def _is_plain(value: Any) -> bool:
    return value is None or isinstance(value, (bool, int, float, str))


def _plain(value: Any) -> Any:
    """A value as JSON keeps it: numbers (numpy's too) as int or float, anything else as its text."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if hasattr(value, "item"):  # a numpy scalar
        return value.item()
    return str(value)
