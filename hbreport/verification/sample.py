"""The spot check: which households or villages are drawn, reproducibly from a seed."""

from __future__ import annotations

import math
import random
from collections.abc import Iterable
from dataclasses import dataclass

from hbreport.errors import HBError


@dataclass(frozen=True)
class Draw:
    """A spot-check draw: what was drawn from how many, with the seed and the method in words."""

    population: int
    share: float
    seed: int
    drawn: tuple[str, ...]

    @property
    def method(self) -> str:
        return (
            f"抽查方法：将名单按代码排序，以随机种子 {self.seed} 初始化梅森旋转随机数发生器"
            f"（Python random.Random），不放回简单随机抽取 ⌈{self.population}×{self.share:.0%}⌉＝"
            f"{len(self.drawn)} 个。同一名单、比例和种子总得出同一抽查名单，任何人可以复核。"
        )


def draw(codes: Iterable[str], share: float, seed: int) -> Draw:
    """Draw ``ceil(len(codes) × share)`` codes at random without replacement, from the codes sorted
    (so the order a list was made in does not matter) and a generator seeded with ``seed``."""
    if not 0 < share <= 1:
        raise HBError(f"抽查比例 {share} 无效", hint="抽查比例应大于 0、不超过 1，例如 0.2 表示抽查 20%")
    population = sorted(set(codes))
    k = math.ceil(len(population) * share - 1e-9) if population else 0
    chosen = random.Random(seed).sample(population, k)
    return Draw(len(population), share, seed, tuple(sorted(chosen)))
