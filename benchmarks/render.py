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
overhead is the wrapped app minus the bare app of the same group.
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


def e2e_table(e2e: dict[str, Any]) -> list[str]:
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


def targets(f: Figures, e2e: Optional[dict[str, Any]]) -> list[tuple[str, str, Optional[bool]]]:
    """(target, measured, met?) for every target the issues set."""
    out: list[tuple[str, str, Optional[bool]]] = []

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
    if e2e:
        for run in e2e.get("runs", []):
            bare = run["variants"].get("bare", {}).get("rps")
            ours = run["variants"].get("corsfast", {}).get("rps")
            cost = (1 - ours / bare) * 100 if bare and ours else None
            add(f"end to end: corsfast costs ≤ 3% of bare throughput "
                f"({run['server']}, {run['app']})",
                cost, 3.0, unit="%")
    return out


# -- chart ----------------------------------------------------------------------------


def chart(f: Figures, path: Path, caption: str) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

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
        md.append(f"| {label} | {value} | {'-' if met is None else ('yes' if met else '**no**')} |")
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
    untimed = [(k, v) for k, v in f.untimed.items() if not v.startswith("not installed")]
    if untimed:
        md += ["", "## Not timed", "", "| where | scenario | library | why |", "|---|---|---|---|"]
        for (where, s, lib), why in sorted(untimed):
            where_title = f.family_titles.get(where, where)
            md.append(f"| {where_title} | {f.titles.get(s, s)} | {lib} | {why} |")
    md += ["", "![benchmark chart](chart.png)", ""]
    Path(args.out).write_text("\n".join(md))
    chart(f, Path(args.chart), f"{machine(data)}; {args.stat} of rounds; {when}")
    print(f"wrote {args.out} and {args.chart}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
