"""Report charts (matplotlib, Agg): completion by child unit, and cumulative exits against the plan's schedule.

Charts are drawn with a Chinese font first and a Latin fallback. A machine with no CJK font gets a
clear :class:`HBError` instead of a chart full of empty boxes, and a chart that still lacks a glyph
is refused the same way (matplotlib's "Glyph … missing" warnings are turned into the error).
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from typing import Any

from hbreport.errors import HBError
from hbreport.report import numbers as N

#: Chinese sans-serif families, most preferred first (Linux, then Windows and macOS names)
CJK_FAMILIES = (
    "Noto Sans CJK SC",
    "Source Han Sans SC",
    "Source Han Sans CN",
    "WenQuanYi Zen Hei",
    "WenQuanYi Micro Hei",
    "Microsoft YaHei",
    "SimHei",
    "PingFang SC",
    "Heiti SC",
    "AR PL UMing CN",
)
LATIN_FALLBACK = "DejaVu Sans"
DPI = 200
WIDTH_IN = 6.2  # fits the 156 mm text block
COLORS = {"超前": "#2e7d32", "正常": "#1565c0", "滞后": "#c62828"}
PLAN_COLOR = "#555555"
FONT_HINT = (
    "安装一种中文字体后重试：Debian/Ubuntu 运行 apt-get install fonts-noto-cjk；"
    "Windows 自带“微软雅黑”“黑体”；安装后如仍不行，删除 matplotlib 的字体缓存（~/.cache/matplotlib）"
)


@cache
def cjk_family() -> str:
    """The first installed Chinese font family of :data:`CJK_FAMILIES`; HBError when there is none."""
    from matplotlib import font_manager

    installed = {f.name for f in font_manager.fontManager.ttflist}
    for family in CJK_FAMILIES:
        if family in installed:
            return family
    raise HBError("本机没有可用的中文字体，无法绘制报告图表（否则图中汉字会显示为方框）", hint=FONT_HINT)


@contextmanager
def _chart_style():
    import matplotlib

    with matplotlib.rc_context(
        {
            "font.family": [cjk_family(), LATIN_FALLBACK],
            "axes.unicode_minus": False,
            "font.size": 9,
            "axes.titlesize": 10,
            "axes.spines.top": False,
            "axes.spines.right": False,
            "savefig.dpi": DPI,
            "svg.fonttype": "none",
        }
    ):
        yield


def _new_figure(width: float, height: float):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def _save(fig, path: Path) -> Path:
    """Save as PNG; refuse the chart when matplotlib reports a missing glyph."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fig.savefig(path, dpi=DPI, format="png", metadata={"Software": None})
    missing = sorted(
        {str(w.message) for w in caught if "missing from" in str(w.message) or "Glyph" in str(w.message)}
    )
    if missing:
        path.unlink(missing_ok=True)
        raise HBError(
            f"图表中有字体缺少的字符（{missing[0]}），不能生成带方框的图表",
            file=path,
            hint=FONT_HINT,
        )
    return path


def completion_chart(children: Sequence[Mapping[str, Any]], expected: float, path: Path) -> Path:
    """Horizontal bars of each child's cumulative exit rate, coloured by status, with the plan's expected line.

    ``children`` are the context's child rows (name, reported, rate, status); units that have not
    reported are listed with 「未报」 and no bar."""
    rows = list(children)
    if not rows:
        raise HBError("没有下级单位，无法绘制完成情况图")
    # fastest at the top: barh draws from the bottom, so reverse the ranked order
    rows = list(reversed(rows))
    with _chart_style():
        fig = _new_figure(WIDTH_IN, max(2.0, 0.22 * len(rows) + 0.9))
        ax = fig.add_subplot()
        positions = range(len(rows))
        rates = [r["rate"] if r.get("rate") is not None else 0.0 for r in rows]
        colors = [COLORS.get(str(r.get("status")), "#9e9e9e") for r in rows]
        ax.barh(list(positions), rates, color=colors, height=0.65)
        ax.set_yticks(list(positions), [str(r["name"]) for r in rows])
        top = max([1.0, *rates]) * 1.12
        ax.set_xlim(0, top)
        for y, r, rate in zip(positions, rows, rates, strict=True):
            label = N.percent(r["rate"]) if r.get("rate") is not None else str(r.get("status") or "未报")
            ax.text(
                rate + top * 0.01,
                y,
                label,
                va="center",
                fontsize=7.5,
                bbox={"facecolor": "white", "edgecolor": "none", "pad": 0.4, "alpha": 0.85},
            )
        plan = ax.axvline(
            expected, color=PLAN_COLOR, linestyle="--", linewidth=1.2, label=f"规划进度 {N.percent(expected)}"
        )
        ax.set_ylim(-0.6, len(rows) - 0.4)
        ax.xaxis.set_major_formatter(_percent_formatter())
        ax.set_xlabel("累计脱贫率")
        ax.tick_params(axis="y", length=0)
        from matplotlib.patches import Patch

        present = [s for s in COLORS if any(str(r.get("status")) == s for r in rows)]
        ax.legend(
            handles=[plan, *(Patch(color=COLORS[s], label=s) for s in present)],
            loc="lower right",
            framealpha=0.9,
            edgecolor="none",
            fontsize=8,
        )
        return _save(fig, path)


def trend_chart(trend: Mapping[str, Any], path: Path) -> Path:
    """Cumulative exits (people and villages) per year against the plan's cumulative schedule."""
    years = list(trend["years"])
    with _chart_style():
        fig = _new_figure(WIDTH_IN, 2.9)
        panels = (
            ("贫困人口累计脱贫", trend["people_plan"], trend["people_actual"], trend.get("people_target")),
            ("贫困村累计出列", trend["village_plan"], trend["village_actual"], trend.get("village_target")),
        )
        axes = fig.subplots(1, 2)
        for ax, (title, plan, actual, target) in zip(axes, panels, strict=True):
            scale, unit = _scale(target, "人" if "人口" in title else "个")
            plan_ys = [plan[y] / scale for y in years]
            ax.plot(
                years, plan_ys, linestyle="--", marker="o", markersize=3.5, color=PLAN_COLOR, label="规划累计"
            )
            done = sorted((int(y), v) for y, v in actual.items())
            if done:
                xs = [y for y, _ in done]
                ys = [v / scale for _, v in done]
                ax.plot(
                    xs, ys, marker="s", markersize=4.5, color=COLORS["正常"], linewidth=2, label="实际累计"
                )
                for x, y in zip(xs, ys, strict=True):
                    ax.annotate(
                        N.decimal_text(y, 2),
                        (x, y),
                        textcoords="offset points",
                        xytext=(6, -11),  # below and to the right: the plan's line runs above when behind
                        ha="left",
                        fontsize=7.5,
                        color=COLORS["正常"],
                    )
            ax.set_title(f"{title}（{unit}）")
            ax.set_xticks(years, [str(y) for y in years])
            ax.set_xlim(years[0] - 0.4, years[-1] + 0.4)
            ax.set_ylim(0, max([*plan_ys, *[v / scale for v in actual.values()], 1]) * 1.15)
            ax.grid(axis="y", linewidth=0.4, alpha=0.5)
            ax.legend(loc="upper left", frameon=False, fontsize=8)
        return _save(fig, path)


def _scale(target: Any, unit: str) -> tuple[float, str]:
    if N.is_number(target) and target >= N.WAN:
        return float(N.WAN), f"万{unit}"
    return 1.0, unit


def _percent_formatter():
    from matplotlib.ticker import FuncFormatter

    return FuncFormatter(lambda x, _pos: N.percent(x, 0))
