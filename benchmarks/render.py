"""Turn saved benchmark JSON into the README table and chart.

    python benchmarks/render.py [--bench benchmarks/results/bench.json]
                                [--e2e benchmarks/results/e2e.json]
                                [--floor benchmarks/results/floor.json]
                                [--out benchmarks/results.md]
                                [--chart benchmarks/chart.png]

Inputs are pytest-benchmark's ``--benchmark-json`` output of
``pytest benchmarks/`` and, when present, the JSON of ``benchmarks/e2e.py``
and ``benchmarks/floor.py``. Figures are the minimum over rounds (``--stat``
changes that); every ratio compares figures from one run. Middleware
overhead is the wrapped app minus the bare app of the same group. From
``e2e.py``'s JSON it takes each variant's cost (median over rounds, with its
interquartile range and confidence interval), the bare-vs-bare noise floor
and the verdict on the 3% target (met, not met, or within noise); the chart
gets a third panel for them. An older ``e2e.json`` (one best-of figure per
variant) still renders as before.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any, Optional

HERE = Path(__file__).resolve().parent

ENGINE_ORDER = ["no-op floor", "corsfast", "corsfast (pure Python)", "starlette",
                "litestar", "flask-cors", "wsgicors"]
SCENARIO_ORDER = ["simple", "preflight", "refused", "no-origin", "origins-10k",
                  "origins-100k", "subdomains", "hostile"]
FAMILY_ORDER = ["asgi", "wsgi", "flask", "django", "falcon", "falcon-asgi", "litestar"]


# -- loading ---------------------------------------------------------------------


class Figures:
    """``ns[(level-or-family, scenario, library)]`` from one pytest-benchmark run."""

    def __init__(self, data: dict[str, Any], stat: str) -> None:
        self.data = data
        self.ns: dict[tuple[str, str, str], float] = {}
        self.titles: dict[str, str] = {}
        self.family_titles: dict[str, str] = {}
        self.preflight: dict[str, bool] = {}
        for b in data.get("benchmarks", []):
            info = b.get("extra_info", {})
            where = info.get("family") or info.get("level", "engine")
            key = (where, info["scenario"], info["library"])
            self.ns[key] = b["stats"][stat] * 1e9
            scenario_title = b["group"].split(": ", 1)[1]
            self.titles[info["scenario"]] = scenario_title
            self.preflight[info["scenario"]] = bool(info.get("preflight"))
            if info.get("family"):
                self.family_titles[info["family"]] = b["group"].split(": ", 1)[0]
        self.untimed: dict[tuple[str, str, str], str] = {}
        for u in data.get("corsfast_untimed", []):
            where = u.get("family") or u.get("level", "engine")
            self.untimed[(where, u["scenario"], u["library"])] = u["status"]
            self.family_titles.setdefault(where, u["group"].split(": ", 1)[0]) \
                if u.get("family") else None
            self.titles.setdefault(u["scenario"], u["group"].split(": ", 1)[1])

    def get(self, where: str, scenario: str, library: str) -> Optional[float]:
        return self.ns.get((where, scenario, library))

    def overhead(self, family: str, scenario: str, library: str) -> Optional[float]:
        wrapped = self.get(family, scenario, library)
        bare = self.get(family, scenario, "bare app")
        if wrapped is None or bare is None:
            return None
        return wrapped - bare

    def libraries(self, where: str) -> list[str]:
        names = {lib for (w, _, lib) in list(self.ns) + list(self.untimed) if w == where}
        order = ENGINE_ORDER if where == "engine" else ["bare app", "corsfast"]
        return [n for n in order if n in names] + sorted(names - set(order))

    def scenarios(self) -> list[str]:
        present = set(self.titles)
        return [s for s in SCENARIO_ORDER if s in present] + sorted(present - set(SCENARIO_ORDER))

    def families(self) -> list[str]:
        present = {w for (w, _, _) in list(self.ns) + list(self.untimed) if w != "engine"}
        return [f for f in FAMILY_ORDER if f in present] + sorted(present - set(FAMILY_ORDER))


def fmt(ns: Optional[float], signed: bool = False) -> str:
    if ns is None:
        return "-"
    sign = "-" if ns < 0 else ("+" if signed else "")
    v = abs(ns)
    if v >= 1e6:
        return f"{sign}{v / 1e6:,.2f} ms"
    if v >= 1e4:
        return f"{sign}{v / 1e3:,.1f} µs"
    return f"{sign}{v:,.0f} ns"


def short(status: str) -> str:
    if status.startswith("WRONG"):
        return "wrong answer"
    if status.startswith("n/a"):
        return "n/a"
    if status.startswith("not installed"):
        return "not installed"
    return status.split(":")[0]


# -- tables ---------------------------------------------------------------------------


def engine_table(f: Figures) -> list[str]:
    libs = f.libraries("engine")
    lines = ["| scenario | " + " | ".join(libs) + " |",
             "|---|" + "---:|" * len(libs)]
    for s in f.scenarios():
        ours = f.get("engine", s, "corsfast")
        floor = f.get("engine", s, "no-op floor")
        cells = []
        for lib in libs:
            ns = f.get("engine", s, lib)
            if ns is None:
                status = f.untimed.get(("engine", s, lib))
                cells.append(short(status) if status else "-")
            elif lib == "no-op floor":
                cells.append(fmt(ns))
            elif lib == "corsfast" and floor:
                cells.append(f"**{fmt(ns)}** ({ns / floor:.2f}× floor)")
            else:
                cells.append(f"{fmt(ns)} ({ns / ours:.1f}×)" if ours else fmt(ns))
        lines.append(f"| {f.titles[s]} | " + " | ".join(cells) + " |")
    return lines


def family_table(f: Figures, family: str) -> list[str]:
    libs = f.libraries(family)
    lines = ["| scenario | " + " | ".join(
        lib if lib == "bare app" else f"{lib} (overhead)" for lib in libs) + " |",
        "|---|" + "---:|" * len(libs)]
    for s in f.scenarios():
        ours = f.overhead(family, s, "corsfast")
        ours_total = f.get(family, s, "corsfast")
        cells = []
        for lib in libs:
            ns = f.get(family, s, lib)
            if ns is None:
                status = f.untimed.get((family, s, lib))
                cells.append(short(status) if status else "-")
                continue
            if lib == "bare app":
                cells.append(fmt(ns))
                continue
            extra = f.overhead(family, s, lib)
            if extra is not None and extra < 0 and not f.preflight.get(s):
                # A negative overhead on a request the app answers is noise
                # larger than the overhead itself: it measures nothing.
                cells.append(f"noise ({fmt(extra, signed=True)})")
            elif lib == "corsfast":
                cells.append(f"**{fmt(extra, signed=True)}**")
            elif f.preflight.get(s) and ours_total:
                cells.append(f"{fmt(extra, signed=True)} ({ns / ours_total:.1f}× total)")
            elif ours and ours > 0 and extra is not None:
                cells.append(f"{fmt(extra, signed=True)} ({max(extra, 0) / ours:.1f}×)")
            else:
                cells.append(fmt(extra, signed=True))
        lines.append(f"| {f.titles[s]} | " + " | ".join(cells) + " |")
    return lines


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
            if name == "corsfast":
                label = "**corsfast**"
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


# -- targets --------------------------------------------------------------------------


Met = Optional[Any]  # True, False, None (not judged) or a word such as "within noise"


def targets(f: Figures, e2e: Optional[dict[str, Any]]) -> list[tuple[str, str, Met]]:
    """(target, measured, met?) for every target the issues set."""
    out: list[tuple[str, str, Met]] = []

    def ratio(a: Optional[float], b: Optional[float]) -> Optional[float]:
        return a / b if a is not None and b else None

    def add(label: str, value: Optional[float], limit: float, *, at_least: bool = False,
            unit: str = "×") -> None:
        if value is None:
            out.append((label, "not measured", None))
            return
        if value < 0:
            out.append((label, "noise (a negative overhead)", None))
            return
        met = value >= limit if at_least else value <= limit
        out.append((label, f"{value:.2f}{unit}", met))

    for s, limit in (("simple", 2.0), ("refused", 2.5), ("preflight", 5.0)):
        add(f"check_request {f.titles.get(s, s)} ≤ {limit}× no-op floor",
            ratio(f.get("engine", s, "corsfast"), f.get("engine", s, "no-op floor")), limit)
    add("100,000 exact origins ≤ 1.3× one origin (engine)",
        ratio(f.get("engine", "origins-100k", "corsfast"),
              f.get("engine", "simple", "corsfast")), 1.3)
    add("hostile 64 KiB ACRH ≤ 30× a normal preflight (engine)",
        ratio(f.get("engine", "hostile", "corsfast"), f.get("engine", "preflight", "corsfast")), 30)
    for s in ("simple", "preflight", "refused"):
        add(f"ASGI overhead ≤ 1/15 of Starlette's ({f.titles.get(s, s)})",
            ratio(f.overhead("asgi", s, "corsfast"), f.overhead("asgi", s, "starlette")), 1 / 15)
    for s in ("simple", "preflight", "refused"):
        add(f"WSGI overhead ≤ 1/3 of wsgicors' ({f.titles.get(s, s)})",
            ratio(f.overhead("wsgi", s, "corsfast"), f.overhead("wsgi", s, "wsgicors")), 1 / 3)
    for fam, peer in (("flask", "flask-cors"), ("django", "django-cors-headers")):
        theirs = f.overhead(fam, "simple", peer)
        for iface in ("asgi", "wsgi"):
            add(f"{peer} overhead ≥ 20× corsfast {iface.upper()} overhead (simple allowed)",
                ratio(theirs, f.overhead(iface, "simple", "corsfast")), 20, at_least=True)
        add(f"{peer} overhead ≥ 20× corsfast's inside the same {fam} app (simple allowed)",
            ratio(theirs, f.overhead(fam, "simple", "corsfast")), 20, at_least=True)
    for s in ("simple", "preflight", "refused"):
        add(f"pure-Python twin (engine) < Starlette CORSMiddleware overhead ({f.titles.get(s, s)})",
            ratio(f.get("engine", s, "corsfast (pure Python)"), f.overhead("asgi", s, "starlette")),
            1.0)
    add("ASGI overhead flat from 1 to 100,000 origins (≤ 1.3×)",
        ratio(f.overhead("asgi", "origins-100k", "corsfast"),
              f.overhead("asgi", "simple", "corsfast")), 1.3)
    if e2e and e2e_new(e2e):
        for run in e2e.get("runs", []):
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
    elif e2e:
        for run in e2e.get("runs", []):
            bare = run["variants"].get("bare", {}).get("rps")
            ours = run["variants"].get("corsfast", {}).get("rps")
            cost = (1 - ours / bare) * 100 if bare and ours else None
            add(f"end to end: corsfast costs ≤ 3% of bare throughput "
                f"({run['server']}, {run['app']})",
                cost, 3.0, unit="%")
    return out


# -- chart ----------------------------------------------------------------------------


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
            if lib == "bare app":
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


# -- main -----------------------------------------------------------------------------


def machine(data: dict[str, Any]) -> str:
    m = data.get("machine_info", {})
    cpu = m.get("cpu", {})
    return (f"{cpu.get('brand_raw', m.get('processor', '?'))}, "
            f"{cpu.get('count', '?')} cores, {m.get('system', '?')} {m.get('release', '')}; "
            f"{m.get('python_implementation', 'Python')} {m.get('python_version', '?')}")


def main(argv: Optional[list[str]] = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--bench", default=str(HERE / "results" / "bench.json"))
    p.add_argument("--e2e", default=str(HERE / "results" / "e2e.json"))
    p.add_argument("--floor", default=str(HERE / "results" / "floor.json"))
    p.add_argument("--out", default=str(HERE / "results.md"))
    p.add_argument("--chart", default=str(HERE / "chart.png"))
    p.add_argument("--stat", default="min", choices=("min", "median", "mean"))
    args = p.parse_args(argv)

    data = json.loads(Path(args.bench).read_text())
    f = Figures(data, args.stat)
    e2e = json.loads(Path(args.e2e).read_text()) if Path(args.e2e).exists() else None
    floor = json.loads(Path(args.floor).read_text()) if Path(args.floor).exists() else None
    commit = data.get("commit_info", {})
    when = data.get("datetime", "")[:19]

    md: list[str] = ["# corsfast benchmarks", ""]
    md += [f"Machine: {machine(data)}. Run {when} at commit "
           f"`{commit.get('id', '?')[:10]}`{' (dirty)' if commit.get('dirty') else ''}.",
           f"Figures: the {args.stat} over rounds; ratios compare figures of one run. "
           "Times are per call, in process (no server); a middleware's overhead is "
           "the wrapped app minus the bare app in the same group.", "",
           "Reproduce:", "", "```sh",
           "pip install -e '.[bench]'",
           "pytest benchmarks/ --benchmark-json=benchmarks/results/bench.json",
           "python benchmarks/floor.py --json benchmarks/results/floor.json",
           "python benchmarks/e2e.py --json benchmarks/results/e2e.json",
           "python benchmarks/render.py", "```", ""]

    md += ["## Targets", "", "| target | measured | met |", "|---|---:|:---:|"]
    for label, value, met in targets(f, e2e):
        shown = ("-" if met is None else met if isinstance(met, str)
                 else ("yes" if met else "**no**"))
        md.append(f"| {label} | {value} | {shown} |")
    if floor:
        md += ["", "`benchmarks/floor.py` (the engine targets, all calls timed in turns):", "",
               "| target | measured | met |", "|---|---:|:---:|"]
        for t in floor.get("targets", []):
            md.append(f"| {t['target']} | {t['value']:.2f} | "
                      f"{'yes' if t['value'] <= t['limit'] else '**no**'} |")
    md += ["", "## Engine: one decision", "",
           "corsfast's `check_request` against each peer's own decision function "
           "where it has one (Starlette: `CORSMiddleware.is_allowed_origin` or "
           "`preflight_response`; Litestar: `CORSConfig.is_origin_allowed` or "
           "`_create_preflight_response`; flask-cors: `get_cors_headers`; wsgicors: "
           "`selectPolicy`, which is `lru_cache`d). Peers' origin checks decide less "
           "than `check_request`, which also returns the headers. In brackets: "
           "the ratio to corsfast.", ""]
    md += engine_table(f)
    for fam in f.families():
        md += ["", f"## {f.family_titles.get(fam, fam)}", ""]
        md += family_table(f, fam)
    md += ["", "For preflights the ratio compares whole requests: corsfast answers a "
           "preflight without calling the app, so its overhead is negative where the "
           "app is slower than the answer."]
    if e2e:
        md += ["", "## End to end", "",
               f"{e2e.get('description', '')}", ""]
        md += e2e_table(e2e)
        if e2e_new(e2e):
            md += ["", "Each round loads every variant; a round's cost is against the "
                   "bare app of that round, and the figures are the median over rounds "
                   "with the interquartile range. \"bare app again\" is a second, "
                   "identical bare server: what it costs is noise. \"Two CORS headers, "
                   "static\" is the bare app sending corsfast's two response headers "
                   "itself: what any CORS layer pays for them on this server. "
                   + ("Requests/s is the throughput one worker would reach with its core "
                      "to itself, 1 / CPU time per request." if any(
                          r.get("metric") == "cpu" for r in e2e.get("runs", [])) else ""),
                   "", "The 3% target, per server:", ""]
            md += e2e_verdicts(e2e)
    untimed = [(k, v) for k, v in f.untimed.items() if not v.startswith("not installed")]
    if untimed:
        md += ["", "## Not timed", "", "| where | scenario | library | why |", "|---|---|---|---|"]
        for (where, s, lib), why in sorted(untimed):
            where_title = f.family_titles.get(where, where)
            md.append(f"| {where_title} | {f.titles.get(s, s)} | {lib} | {why} |")
    md += ["", "![benchmark chart](chart.png)", ""]
    Path(args.out).write_text("\n".join(md))
    chart(f, Path(args.chart), f"{machine(data)}; {args.stat} of rounds; {when}", e2e)
    print(f"wrote {args.out} and {args.chart}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
