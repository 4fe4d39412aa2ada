"""Splitting a parent's task among its children in whole numbers that add up exactly.

``apportion`` is the largest-remainder method with bounds: each child gets the whole part of its
ideal share (kept within its lower and upper bound), and the units left over go one by one to the
children with the largest remainders. ``split_series`` does this year by year along a parent's
schedule, so that every year the children's tasks add up to the parent's and no child is given more
than its own baseline.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from hbreport.errors import HBError


def apportion(
    total: int,
    ideals: Sequence[float],
    lower: Sequence[int] | None = None,
    upper: Sequence[int | None] | None = None,
) -> list[int]:
    """Whole numbers, one per ideal, summing to ``total``, each within [lower, upper], near the ideals.

    Ties go to the earlier child, so the result depends only on the order given."""
    n = len(ideals)
    lo = list(lower) if lower is not None else [0] * n
    hi = list(upper) if upper is not None else [None] * n
    if sum(lo) > total or (all(h is not None for h in hi) and sum(h for h in hi) < total):  # type: ignore[misc]
        raise HBError(
            f"任务 {total} 无法在下级之间分解：下级必须完成 {sum(lo)}，最多只能承担 "
            f"{sum(h for h in hi if h is not None) if all(h is not None for h in hi) else '不限'}",
            hint="检查摘帽年份与上级的年度任务是否相容",
        )
    x = []
    for ideal, low, high in zip(ideals, lo, hi, strict=True):
        whole = max(math.floor(ideal + 1e-9), low)
        x.append(whole if high is None else min(whole, high))
    left = total - sum(x)
    order = sorted(range(n), key=lambda i: (-(ideals[i] - x[i]), i))
    while left > 0:
        moved = False
        for i in order:
            if left == 0:
                break
            if hi[i] is None or x[i] < hi[i]:
                x[i] += 1
                left -= 1
                moved = True
        if not moved:  # pragma: no cover - excluded by the bound check above
            raise HBError(f"任务 {total} 无法在下级之间分解", hint="检查下级的基数")
    order = sorted(range(n), key=lambda i: (ideals[i] - x[i], -i))
    while left < 0:
        moved = False
        for i in order:
            if left == 0:
                break
            if x[i] > lo[i]:
                x[i] -= 1
                left += 1
                moved = True
        if not moved:  # pragma: no cover - excluded by the bound check above
            raise HBError(f"任务 {total} 无法在下级之间分解", hint="检查下级的基数")
    return x


def split_series(
    series: dict[int, float], weights: Sequence[float], capped: bool
) -> list[dict[int, int]] | None:
    """A parent's yearly task split among children pro rata to ``weights``, year by year.

    Each year a child's ideal cumulative is the parent's cumulative times its weight's share; its
    task that year is the whole-number part of what its ideal cumulative adds, the remainder going
    by largest remainder. ``capped``: a child's tasks never add up to more than its weight (people
    or villages: a unit cannot lift more people than it has). None when the weights are all 0 but
    the parent has a task (nothing to split it by)."""
    whole = sum(weights)
    years = sorted(series)
    if whole <= 0:
        if any(series[y] for y in years):
            return None
        return [dict.fromkeys(years, 0) for _ in weights]
    out: list[dict[int, int]] = [{} for _ in weights]
    done = [0] * len(weights)
    parent_done = 0.0
    for year in years:
        amount = int(round(series[year]))
        parent_done += amount
        ideals = [parent_done * w / whole - d for w, d in zip(weights, done, strict=True)]
        upper = [int(w) - d for w, d in zip(weights, done, strict=True)] if capped else None
        if capped and sum(upper) < amount:  # type: ignore[arg-type]
            upper = None  # the parent's task exceeds its children's baseline: split without a cap
        shares = apportion(amount, ideals, upper=upper)
        for i, share in enumerate(shares):
            out[i][year] = share
            done[i] += share
    return out
