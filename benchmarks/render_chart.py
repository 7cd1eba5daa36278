"""The chart beside the rendered tables: engine, middleware, end to end.

The left panel is ns per decision at the engine level; the middle one each
library's overhead on a simple allowed request (a negative overhead is
noise and left out); with an ``e2e.json`` of the interleaved kind, a third
panel gives each variant's end-to-end cost with its interquartile range.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

from figures import BARE, Figures
from render_e2e import e2e_new


def chart(f: Figures, path: Path, caption: str, e2e: Optional[dict[str, Any]] = None) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    if e2e_new(e2e):
        fig, (left, right, third) = plt.subplots(
            1, 3, figsize=(19, 5.5), gridspec_kw={"width_ratios": [1, 1, 0.9]})
        e2e_panel(third, e2e)
    else:
        fig, (left, right) = plt.subplots(1, 2, figsize=(13, 5.5))
    scen = [s for s in ("simple", "preflight", "refused", "origins-100k") if s in f.titles]
    libs = f.libraries("engine")
    width = 0.8 / max(len(libs), 1)
    for i, lib in enumerate(libs):
        vals = [f.get("engine", s, lib) or 0 for s in scen]
        left.bar([x + i * width for x in range(len(scen))], vals, width, label=lib)
    left.set_yscale("log")
    left.set_xticks([x + width * (len(libs) - 1) / 2 for x in range(len(scen))])
    left.set_xticklabels([f.titles[s].replace(" (three headers)", "\n(3 headers)") for s in scen],
                         fontsize=8)
    left.set_ylabel("ns per decision (log)")
    left.set_title("Engine: one decision")
    left.legend(fontsize=7)

    rows: list[tuple[str, float, bool]] = []
    for fam in f.families():
        for lib in f.libraries(fam):
            if lib == BARE:
                continue
            extra = f.overhead(fam, "simple", lib)
            if extra is not None and extra > 0:  # a negative one is noise
                label = f"{f.family_titles.get(fam, fam)}: {lib}"
                rows.append((label, extra, lib == "corsfast"))
    rows.reverse()
    right.barh([r[0] for r in rows], [r[1] for r in rows],
               color=["tab:green" if r[2] else "tab:gray" for r in rows])
    right.set_xscale("log")
    right.set_xlabel("overhead per request, ns (log): wrapped minus bare app")
    right.set_title("Middleware: simple allowed request")
    right.tick_params(axis="y", labelsize=7)
    fig.suptitle(caption, fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def e2e_panel(ax: Any, e2e: Any) -> None:
    """Each variant's end-to-end cost per server: median and interquartile range."""
    rows: list[tuple[str, dict[str, Any], str]] = []
    colours = {"bare-2": "tab:blue", "headers": "tab:olive", "corsfast": "tab:green"}
    for run in e2e.get("runs", []):
        for name, v in run["variants"].items():
            cost = v.get("cost_pct", {})
            if name == "bare" or "median" not in cost:
                continue
            label = {"bare-2": "bare again (noise)", "headers": "2 headers, static"}.get(
                name, name)
            rows.append((f"{run['server']} {run['app']}: {label}", cost,
                         colours.get(name, "tab:gray")))
    rows.reverse()
    y = list(range(len(rows)))
    med = [r[1]["median"] for r in rows]
    ax.barh(y, med, color=[r[2] for r in rows])
    ax.errorbar(med, y, xerr=[[m - r[1]["q1"] for m, r in zip(med, rows)],
                              [r[1]["q3"] - m for m, r in zip(med, rows)]],
                fmt="none", ecolor="black", capsize=2, linewidth=0.8)
    limit = e2e.get("method", {}).get("target_pct", 3.0)
    ax.axvline(limit, color="tab:red", linestyle="--", linewidth=0.8)
    ax.axvline(0, color="black", linewidth=0.5)
    ax.set_yticks(y)
    ax.set_yticklabels([r[0] for r in rows], fontsize=7)
    ax.set_xlabel(f"cost, % of the bare app's throughput (median, IQR); "
                  f"dashed: the {limit:g}% target", fontsize=8)
    ax.set_title("End to end: a real server under wrk")
