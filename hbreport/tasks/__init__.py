"""Tasks per unit and year (任务分解): the table, derived tasks, the sum check, task workbooks.

Every unit is compared with its own tasks: forms take each row's expected cumulative from them,
consolidation and reports compare each unit with its own. ``load_unit_tasks`` gives the tasks of a
run: the file given with ``--tasks``, else the embedded sample's ``tasks.csv`` when the registry is the
sample's, else none (forms then fall back to the plan's province-wide yearly shares).
"""

from __future__ import annotations

from pathlib import Path

from hbreport import paths
from hbreport.tasks.check import check_sums
from hbreport.tasks.derive import derive_tasks
from hbreport.tasks.table import TaskTable, cumulative, load_tasks, write_tasks
from hbreport.tasks.units import COUNTY_SCHEDULE, SCHEDULE_BASES, UnitTasks, project_indicators

__all__ = [
    "COUNTY_SCHEDULE",
    "SCHEDULE_BASES",
    "TaskTable",
    "UnitTasks",
    "check_sums",
    "cumulative",
    "default_table",
    "derive_tasks",
    "load_tasks",
    "load_unit_tasks",
    "project_indicators",
    "write_tasks",
]


def load_unit_tasks(
    path: str | Path | None = None, *, registry=None, catalog=None, baseline=None
) -> UnitTasks:
    """The tasks of a run (see the module's description), checked: children must add up to parents."""
    from hbreport.baseline import baseline_for
    from hbreport.catalog import load_catalog
    from hbreport.errors import HBError
    from hbreport.registry import load_registry

    registry = registry or load_registry()
    catalog = catalog or load_catalog()
    baseline = baseline or baseline_for(registry)
    if path is None:
        table = default_table(baseline)
    else:
        table = _load_cached(Path(path), catalog)
    for code in table.units():
        if code not in registry:
            raise HBError(
                f"任务分解表中的单位 {code} 不在单位名册中",
                file=table.source,
                hint="检查代码，或用与任务分解表相同的单位名册（--units）",
            )
    problems = check_sums(table, registry, catalog)
    if problems:
        shown = "；".join(problems[:5]) + (f"；……共 {len(problems)} 处" if len(problems) > 5 else "")
        raise HBError(
            f"任务分解不平衡：{shown}",
            file=table.source,
            hint="下级任务之和应等于上级任务：调整下级的任务数后重新运行（hbreport tasks check 列出全部）",
        )
    return UnitTasks(table, registry, baseline, catalog)


def default_table(baseline) -> TaskTable:
    """The embedded sample's tasks for the sample's baseline; no tasks for any other."""

    sample = baseline.source is not None and baseline.source == paths.SAMPLE_BASELINE.resolve()
    if sample and baseline.villages and paths.SAMPLE_TASKS.is_file():
        from hbreport.catalog import load_catalog

        return _load_cached(paths.SAMPLE_TASKS, load_catalog())
    return TaskTable()


_CACHE = paths.FileCache()


def _load_cached(path: Path, catalog) -> TaskTable:
    return _CACHE.get(path.resolve(), lambda p: load_tasks(p, catalog))
