"""The end-to-end part of the rendered results: ``benchmarks/e2e.py``'s JSON.

Each variant's cost (median over rounds, with its interquartile range and
confidence interval), the bare-vs-bare noise floor and the verdict on the
3% target; an older ``e2e.json`` (one best-of figure per variant) still
renders as before.
"""

from __future__ import annotations

from typing import Any, Optional

E2E_LABELS = {"bare": "bare app", "bare-2": "bare app again (noise floor)",
              "headers": "bare app + the two CORS headers, static", "corsfast": "corsfast"}


def e2e_new(e2e: Optional[dict[str, Any]]) -> bool:
    """True for the JSON of the interleaved e2e.py (costs per round, noise floor)."""
    return bool(e2e) and any("target" in run for run in e2e.get("runs", []))


def pct(value: Optional[float], signed: bool = True) -> str:
    return "-" if value is None else (f"{value:+.1f}%" if signed else f"{value:.1f}%")


def e2e_cost_cell(cost: dict[str, Any]) -> str:
    """``+1.2% (0.4 to 2.0)``: the median and the interquartile range."""
    if not cost or "median" not in cost:
        return "-"
    return f"{cost['median']:+.1f}% ({cost['q1']:+.1f} to {cost['q3']:+.1f})"


def e2e_table(e2e: dict[str, Any]) -> list[str]:
    if not e2e_new(e2e):
        return e2e_table_v1(e2e)
    lines = ["| server | app | variant | requests/s | CPU per request | cost: median (IQR) "
             "| 95% CI of the median |",
             "|---|---|---|---:|---:|---:|---:|"]
    for run in e2e.get("runs", []):
        for name, v in run["variants"].items():
            label = E2E_LABELS.get(name, name)
            if name == "corsfast":  # an older JSON names no engine: the compiled one
                label = "**corsfast**" + (" (python twin)" if e2e.get("engine") == "python"
                                          else "")
            if "error" in v and "rps" not in v:
                lines.append(f"| {run['server']} | {run['app']} | {label} | "
                             f"{v['error']} | - | - | - |")
                continue
            rps = v.get("rps_alone") if run.get("metric") == "cpu" else v.get("rps")
            cpu = v.get("cpu_us_per_request")
            cost = v.get("cost_pct", {})
            cell = e2e_cost_cell(cost)
            if name == "corsfast" and cell != "-":
                cell = f"**{cell}**"
            ci = (f"{cost['ci_low']:+.1f} to {cost['ci_high']:+.1f}"
                  if cost and "ci_low" in cost else "-")
            lines.append(f"| {run['server']} | {run['app']} | {label} | "
                         f"{f'{rps:,.0f}' if rps else '-'} | "
                         f"{f'{cpu:,.1f} µs' if cpu else '-'} | {cell} | {ci} |")
    return lines


def e2e_verdicts(e2e: dict[str, Any]) -> list[str]:
    """One line per server: the 3% target, met or not or within noise, and why."""
    out = []
    for run in e2e.get("runs", []):
        t = run.get("target")
        if not t:
            continue
        nf = run.get("noise_floor_pct", {})
        noise = (f"; noise floor (bare vs bare) {pct(nf.get('median'))}, "
                 f"IQR {pct(nf.get('q1'))} to {pct(nf.get('q3'))}" if nf else "")
        out.append(f"- {run['server']} ({run['app']}): **{t['status']}**: {t['why']}{noise}.")
    return out


def e2e_table_v1(e2e: dict[str, Any]) -> list[str]:
    """The older JSON: one best-of figure per variant, no noise floor."""
    lines = ["| server | app | variant | requests/s | vs bare | corsfast vs it |",
             "|---|---|---|---:|---:|---:|"]
    for run in e2e.get("runs", []):
        bare = run["variants"].get("bare", {}).get("rps")
        ours = run["variants"].get("corsfast", {}).get("rps")
        for name, v in run["variants"].items():
            rps = v.get("rps")
            if rps is None:
                lines.append(f"| {run['server']} | {run['app']} | {name} | "
                             f"{v.get('error', 'failed')} | - | - |")
                continue
            vs_bare = f"{rps / bare:.1%}" if bare else "-"
            vs_ours = f"{ours / rps:.2f}×" if ours and name not in ("bare", "corsfast") else "-"
            lines.append(f"| {run['server']} | {run['app']} | {name} | {rps:,.0f} | "
                         f"{vs_bare} | {vs_ours} |")
    return lines


Target = tuple[str, str, Optional[Any]]  # label, measured, met (True/False/None/a word)


def e2e_targets(e2e: dict[str, Any]) -> list[Target]:
    """The 3% end-to-end target per server, as e2e.py judged it."""
    out: list[Target] = []
    for run in e2e.get("runs", []):
        if not e2e_new(e2e):
            bare = run["variants"].get("bare", {}).get("rps")
            ours = run["variants"].get("corsfast", {}).get("rps")
            cost = (1 - ours / bare) * 100 if bare and ours else None
            out.append((f"end to end: corsfast costs ≤ 3% of bare throughput "
                        f"({run['server']}, {run['app']})",
                        "not measured" if cost is None else f"{cost:.2f}%",
                        None if cost is None else cost <= 3.0))
            continue
        t = run.get("target", {})
        cost = run["variants"].get("corsfast", {}).get("cost_pct", {})
        label = (f"end to end: corsfast costs ≤ {t.get('limit_pct', 3):g}% of bare "
                 f"throughput ({run['server']}, {run['app']})")
        if not cost or "median" not in cost:
            out.append((label, "not measured", None))
            continue
        nf = run.get("noise_floor_pct", {})
        measured = (f"{cost['median']:.1f}% (CI {cost['ci_low']:.1f} to "
                    f"{cost['ci_high']:.1f}; noise floor IQR "
                    f"{nf.get('q1', 0):+.1f} to {nf.get('q3', 0):+.1f})")
        status = t.get("status")
        out.append((label, measured, {"met": True, "not met": False}.get(status, status)))
    return out
