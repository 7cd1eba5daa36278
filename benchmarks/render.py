"""Turn saved benchmark JSON into the README tables, results.md and the chart.

    python benchmarks/render.py [--bench benchmarks/results/bench.json]
                                [--bench-python benchmarks/results/bench-python.json]
                                [--callgrind 'benchmarks/results/callgrind-*.json']
                                [--e2e benchmarks/results/e2e.json]
                                [--floor benchmarks/results/floor.json]
                                [--out benchmarks/results.md]
                                [--chart benchmarks/chart.png]

Inputs: pytest-benchmark's ``--benchmark-json`` of ``pytest benchmarks/``
(times), of ``pytest benchmarks/ --engine python`` when present (the
pure-Python twin's rows), the ``--json`` of the callgrind scripts
(instructions per request, shown beside the times), and when present the
JSON of ``benchmarks/e2e.py`` and ``benchmarks/floor.py``. Figures are the
minimum over rounds (``--stat`` changes that), per request; every ratio
compares figures from one run. A middleware's overhead is the wrapped app
minus the bare app of the same group; a negative one on a request the app
answers is noise, shown as "within noise". For a preflight, which corsfast
answers without calling the app, cells compare whole requests.

It writes results.md and the chart, and prints the README's tables on
stdout (README.md itself is edited by hand).
"""

from __future__ import annotations

import argparse
import glob
import json
import sys
from pathlib import Path
from typing import Any, Optional

from figures import (
    BARE,
    FAMILY_ORDER,
    SCENARIO_ORDER,
    TWIN,
    Counts,
    Figures,
    fmt,
    fmt_i,
    ordered,
    short,
)
from render_chart import chart
from render_e2e import Target, e2e_new, e2e_table, e2e_targets, e2e_verdicts

HERE = Path(__file__).resolve().parent
FLOOR = "no-op floor"
FAMILY_KEYS = set(FAMILY_ORDER)


def ratio(a: Optional[float], b: Optional[float]) -> Optional[float]:
    return a / b if a is not None and b else None


# -- tables ---------------------------------------------------------------------------


def engine_table(f: Figures, c: Counts) -> list[str]:
    """ns per decision, and instructions where callgrind counted them."""
    libs = f.libraries("engine")
    lines = ["| scenario | " + " | ".join(libs) + " |", "|---|" + "---:|" * len(libs)]
    for s in f.scenarios():
        ours, floor = f.get("engine", s, "corsfast"), f.get("engine", s, FLOOR)
        i_floor = c.get("engine", s, FLOOR)
        cells = []
        for lib in libs:
            ns, n = f.get("engine", s, lib), c.get("engine", s, lib)
            if ns is None:
                status = f.untimed.get(("engine", s, lib))
                cells.append(short(status) if status else "-")
                continue
            cell = fmt(ns)
            if lib == "corsfast" and floor:
                cell = f"**{fmt(ns)}** ({ns / floor:.2f}× floor)"
            elif lib != FLOOR and ours:
                cell = f"{fmt(ns)} ({ns / ours:.1f}×)"
            if n is not None:
                cell += f" · {fmt_i(n)}" + (f" ({n / i_floor:.2f}× floor)"
                                            if i_floor and lib != FLOOR else "")
            cells.append(cell)
        lines.append(f"| {f.titles[s]} | " + " | ".join(cells) + " |")
    return lines


def family_table(f: Figures, c: Counts, family: str) -> list[str]:
    """Overheads (whole requests for preflights), instructions beside them."""
    libs = f.libraries(family)
    lines = ["| scenario | " + " | ".join(
        lib if lib == BARE else f"{lib} (overhead)" for lib in libs) + " |",
        "|---|" + "---:|" * len(libs)]
    for s in f.scenarios():
        preflight = f.preflight.get(s)
        ours, ours_total = f.overhead(family, s, "corsfast"), f.get(family, s, "corsfast")
        i_ours = c.overhead(family, s, "corsfast")
        cells = []
        for lib in libs:
            ns = f.get(family, s, lib)
            if ns is None:
                status = f.untimed.get((family, s, lib))
                cells.append(short(status) if status else "-")
                continue
            if lib == BARE:
                n = c.get(family, s, BARE)
                cells.append(fmt(ns) + (f" · {fmt_i(n)}" if n is not None else ""))
                continue
            extra, n = f.overhead(family, s, lib), c.overhead(family, s, lib)
            if preflight:
                cell = f"{fmt(ns)} total" + (f" ({ns / ours_total:.1f}×)" if ours_total and
                                             lib != "corsfast" else "")
            elif extra is None or extra <= 0:
                cell = "within noise"
            elif lib == "corsfast":
                cell = f"**{fmt(extra, signed=True)}**"
            else:
                cell = fmt(extra, signed=True) + (f" ({extra / ours:.1f}×)"
                                                  if ours and ours > 0 else "")
            if n is not None and not preflight:
                cell += f" · {fmt_i(n, signed=True)}" + (
                    f" ({n / i_ours:.1f}×)" if i_ours and i_ours > 0 and lib != "corsfast"
                    else "")
            cells.append(cell)
        lines.append(f"| {f.titles[s]} | " + " | ".join(cells) + " |")
    return lines


# The overhead scripts' contenders: (where, corsfast's, peer's, what).
OVERHEAD_ROWS = [
    ("asgi-overhead", "corsfast.asgi", "starlette", "ASGI app, credentials + expose policy"),
    ("asgi-overhead", "corsfast.contrib.starlette", "starlette", "ASGI app, Starlette drop-in"),
    ("wsgi-overhead:plain", "generic", "wsgicors", "WSGI app, credentials + expose policy"),
    ("wsgi-overhead:flask", "drop-in", "flask-cors", "Flask app, Flask drop-in"),
    ("wsgi-overhead:django", "drop-in", "django-cors-headers", "Django app, Django drop-in"),
    ("wsgi-overhead:falcon", "drop-in", "falcon", "Falcon app, Falcon drop-in"),
]
# Their targets: (where, contender, against, at most this many times its overhead).
OVERHEAD_TARGETS = [
    ("asgi-overhead", "corsfast.asgi", "starlette", 1 / 15),
    ("asgi-overhead", "corsfast.contrib.starlette", "corsfast.asgi", 1.10),
    ("wsgi-overhead:plain", "generic", "wsgicors", 1 / 3),
    # (Falcon's drop-in is held to Falcon's own middleware instead: targets().)
    *((f"wsgi-overhead:{fw}", "drop-in", "generic", 1.10) for fw in ("flask", "django")),
]
SIMPLE = "simple-credentials"  # the overhead scripts' one request
# callgrind_middleware.py's name for each framework's drop-in.
DROP_IN = {fam: f"corsfast {fam.capitalize()} drop-in" for fam in ("django", "flask", "falcon")}


def counts_table(f: Figures, c: Counts) -> list[str]:
    """Middleware overhead in instructions per request, corsfast against
    each peer: the overhead scripts' rows, then callgrind_middleware.py's."""
    rows = [(f"{what}, simple allowed (`{ours}`)", c.overhead(where, SIMPLE, ours, "bare"),
             peer, c.overhead(where, SIMPLE, peer, "bare"))
            for where, ours, peer, what in OVERHEAD_ROWS]
    pairs = {(w, s) for (w, s, _) in c.n if w in f.families() or w in FAMILY_KEYS}
    for where in ordered({w for w, _ in pairs}, FAMILY_ORDER):
        for s in ordered({s for w, s in pairs if w == where}, SCENARIO_ORDER):
            peers = sorted({lib for (w, sc, lib) in c.n if (w, sc) == (where, s)
                            and lib != BARE and not lib.startswith("corsfast")})
            rows += [(f"{f.family_titles.get(where, where)}, {f.titles.get(s, s)}",
                      c.overhead(where, s, "corsfast"), peer, c.overhead(where, s, peer))
                     for peer in peers]
    lines = [f"| {what} | {ours:,.0f} | {peer} {theirs:,.0f} | {theirs / ours:.1f}× |"
             for what, ours, peer, theirs in rows
             if ours is not None and theirs is not None and ours > 0]
    return ["| measure | corsfast | peer | peer / corsfast |", "|---|---:|---:|---:|",
            *lines] if lines else []


# -- targets --------------------------------------------------------------------------


def targets(f: Figures, c: Counts, e2e: Optional[dict[str, Any]]) -> list[Target]:
    """(target, measured, met?) for every target the issues set, by time and,
    where callgrind counted it, by instructions."""
    out: list[Target] = []

    def add(label: str, value: Optional[float], limit: float, at_least: bool = False) -> None:
        if value is None:
            out.append((label, "not measured", None))
        elif value < 0:
            out.append((label, "within noise (a negative overhead)", None))
        else:
            out.append((label, f"{value:.2f}×", value >= limit if at_least else value <= limit))

    def both(label: str, time: Optional[float], instr: Optional[float], limit: float,
             at_least: bool = False) -> None:
        add(label + ", time", time, limit, at_least)
        if instr is not None:
            add(label + ", instructions", instr, limit, at_least)

    title = f.titles.get
    for s, limit in (("simple", 2.0), ("refused", 2.5), ("preflight", 5.0)):
        both(f"check_request {title(s, s)} ≤ {limit}× no-op floor",
             ratio(f.get("engine", s, "corsfast"), f.get("engine", s, FLOOR)),
             ratio(c.get("engine", s, "corsfast"), c.get("engine", s, FLOOR)), limit)
    add("100,000 exact origins ≤ 1.3× one origin (engine)",
        ratio(f.get("engine", "origins-100k", "corsfast"), f.get("engine", "simple", "corsfast")),
        1.3)
    add("hostile 64 KiB ACRH ≤ 30× a normal preflight (engine)",
        ratio(f.get("engine", "hostile", "corsfast"), f.get("engine", "preflight", "corsfast")), 30)
    for fam, peer, limit in (("asgi", "starlette", 1 / 15), ("wsgi", "wsgicors", 1 / 3)):
        for s in ("simple", "refused"):
            both(f"{fam.upper()} overhead ≤ 1/{1 / limit:.0f} of {peer}'s ({title(s, s)})",
                 ratio(f.overhead(fam, s, "corsfast"), f.overhead(fam, s, peer)),
                 ratio(c.overhead(fam, s, "corsfast"), c.overhead(fam, s, peer)), limit)
    for where, ours, against, limit in OVERHEAD_TARGETS:
        if c.get(where, SIMPLE, ours) is not None:
            times = f"1/{round(1 / limit)}" if limit < 1 else f"{limit:g}×"
            add(f"{where.replace('-overhead', '').replace(':', ' ')}: {ours} overhead ≤ "
                f"{times} {against}'s (simple allowed), instructions",
                ratio(c.overhead(where, SIMPLE, ours, "bare"),
                      c.overhead(where, SIMPLE, against, "bare")), limit)
    for fam, peer in (("flask", "flask-cors"), ("django", "django-cors-headers")):
        both(f"{peer} overhead ≥ 20× corsfast's inside the same {fam} app (simple allowed)",
             ratio(f.overhead(fam, "simple", peer), f.overhead(fam, "simple", "corsfast")),
             ratio(c.overhead(fam, "simple", peer), c.overhead(fam, "simple", "corsfast")),
             20, at_least=True)
    # The drop-ins inside their framework's app (callgrind_middleware.py):
    # a peer's overhead at least this many times the drop-in's, or, for
    # Falcon, the drop-in's at most this share of Falcon's own middleware's.
    for fam, peer, limit in (("django", "django-cors-headers", 20),
                             ("flask", "flask-cors", 15)):
        add(f"{fam} app: {peer} overhead ≥ {limit}× the {fam} drop-in's (simple allowed), "
            "instructions", ratio(c.overhead(fam, "simple", peer),
                                  c.overhead(fam, "simple", DROP_IN[fam])), limit,
            at_least=True)
    for fam in ("falcon", "falcon-asgi"):
        add(f"{fam} app: drop-in overhead ≤ 1/3 of Falcon's CORSMiddleware's (simple "
            "allowed), instructions", ratio(c.overhead(fam, "simple", DROP_IN["falcon"]),
                                            c.overhead(fam, "simple", "falcon")), 1 / 3)
    for s in ("simple", "preflight", "refused"):
        add(f"pure-Python twin (engine) < Starlette CORSMiddleware overhead ({title(s, s)})",
            ratio(f.get("engine", s, "corsfast" + TWIN) or f.get(
                "engine", s, "corsfast (pure Python)"), f.overhead("asgi", s, "starlette")), 1.0)
    add("ASGI overhead flat from 1 to 100,000 origins (≤ 1.3×)",
        ratio(f.overhead("asgi", "origins-100k", "corsfast"),
              f.overhead("asgi", "simple", "corsfast")), 1.3)
    return out + (e2e_targets(e2e) if e2e else [])


# -- main -----------------------------------------------------------------------------


def machine(data: dict[str, Any]) -> str:
    m = data.get("machine_info", {})
    cpu = m.get("cpu", {})
    return (f"{cpu.get('brand_raw', m.get('processor', '?'))}, "
            f"{cpu.get('count', '?')} cores, {m.get('system', '?')} {m.get('release', '')}; "
            f"{m.get('python_implementation', 'Python')} {m.get('python_version', '?')}")


def readme(f: Figures, c: Counts) -> list[str]:
    """The README's benchmark tables: engine, plain ASGI and WSGI apps, and
    instruction counts (the framework groups are in results.md)."""
    md = ["### Engine: one decision", ""] + engine_table(f, c)
    for fam in ("asgi", "wsgi"):
        if fam in f.families():
            md += ["", f"### {f.family_titles.get(fam, fam)}", ""] + family_table(f, c, fam)
    table = counts_table(f, c)
    if table:
        md += ["", "### Instruction counts", "", "Middleware overhead over the bare app, "
               "instructions per request under callgrind:", ""] + table
    return md


def main(argv: Optional[list[str]] = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--bench", default=str(HERE / "results" / "bench.json"))
    p.add_argument("--bench-python", default=str(HERE / "results" / "bench-python.json"))
    p.add_argument("--callgrind", action="append",
                   help="callgrind JSON files or globs (repeatable; default: "
                        "results/callgrind-*.json)")
    p.add_argument("--e2e", default=str(HERE / "results" / "e2e.json"))
    p.add_argument("--floor", default=str(HERE / "results" / "floor.json"))
    p.add_argument("--out", default=str(HERE / "results.md"))
    p.add_argument("--chart", default=str(HERE / "chart.png"))
    p.add_argument("--stat", default="min", choices=("min", "median", "mean"))
    args = p.parse_args(argv)

    data = json.loads(Path(args.bench).read_text())
    f = Figures(data, args.stat)
    if Path(args.bench_python).exists():
        f.add_twin(Figures(json.loads(Path(args.bench_python).read_text()), args.stat))
    patterns = args.callgrind or [str(HERE / "results" / "callgrind-*.json")]
    c = Counts(sorted(Path(p) for pattern in patterns for p in glob.glob(pattern)))
    e2e = json.loads(Path(args.e2e).read_text()) if Path(args.e2e).exists() else None
    floor = json.loads(Path(args.floor).read_text()) if Path(args.floor).exists() else None
    commit = data.get("commit_info", {})
    when = data.get("datetime", "")[:19]

    md: list[str] = ["# corsfast benchmarks", ""]
    md += [f"Machine: {machine(data)}. Run {when} at commit "
           f"`{commit.get('id', '?')[:10]}`{' (dirty)' if commit.get('dirty') else ''}; "
           f"engine measured: {data.get('corsfast_engine', '?')}.",
           f"Figures: the {args.stat} over rounds, per request; ratios compare figures of "
           "one run. Times are in process (no server), every request a new one; a "
           "middleware's overhead is the wrapped app minus the bare app in the same group. "
           "Instructions (\"instr\") are per request under callgrind, from: "
           + ("; ".join(c.sources) if c.sources else "no callgrind file") + ".", "",
           "Reproduce:", "", "```sh", "pip install -e '.[bench]'",
           "pytest benchmarks/ --benchmark-json=benchmarks/results/bench.json",
           "pytest benchmarks/ --engine python --benchmark-json=benchmarks/results/"
           "bench-python.json",
           "python benchmarks/floor.py --json benchmarks/results/floor.json",
           "python benchmarks/floor.py --callgrind --json benchmarks/results/"
           "callgrind-engine.json",
           "python benchmarks/callgrind_middleware.py --json benchmarks/results/"
           "callgrind-middleware.json",
           "python benchmarks/callgrind_middleware.py --family django,flask,falcon,"
           "falcon-asgi --scenarios simple,preflight,refused --json "
           "benchmarks/results/callgrind-frameworks.json",
           "python benchmarks/e2e.py --json benchmarks/results/e2e.json",
           "python benchmarks/render.py", "```", ""]
    md += ["## Targets", "", "| target | measured | met |", "|---|---:|:---:|"]
    for label, value, met in targets(f, c, e2e):
        shown = ("-" if met is None else met if isinstance(met, str)
                 else ("yes" if met else "**no**"))
        md.append(f"| {label} | {value} | {shown} |")
    if floor:
        md += ["", "`benchmarks/floor.py` (the engine targets, all calls timed in turns):", "",
               "| target | measured | met |", "|---|---:|:---:|"]
        md += [f"| {t['target']} | {t['value']:.2f} | "
               f"{'yes' if t['value'] <= t['limit'] else '**no**'} |"
               for t in floor.get("targets", [])]
    md += ["", "## Engine: one decision", "",
           "corsfast's `check_request` against each peer's own decision function "
           "where it has one (Starlette: `CORSMiddleware.is_allowed_origin` or "
           "`preflight_response`; Litestar: `CORSConfig.is_origin_allowed` or "
           "`_create_preflight_response`; flask-cors: `get_cors_headers`; wsgicors: "
           "`selectPolicy`, which is `lru_cache`d). Peers' origin checks decide less "
           "than `check_request`, which also returns the headers. In brackets: "
           "the ratio to corsfast.", ""]
    md += engine_table(f, c)
    for fam in f.families():
        md += ["", f"## {f.family_titles.get(fam, fam)}", ""] + family_table(f, c, fam)
    md += ["", "For preflights the cells are whole requests, against corsfast's: corsfast "
           "answers a preflight without calling the app."]
    table = counts_table(f, c)
    if table:
        md += ["", "## Instruction counts", ""] + table
    if e2e:
        md += ["", "## End to end", "", f"{e2e.get('description', '')}", ""] + e2e_table(e2e)
        if e2e_new(e2e):
            md += ["", "Each round loads every variant; a round's cost is against the bare "
                   "app of that round, and the figures are the median over rounds with the "
                   "interquartile range. \"bare app again\" is a second, identical bare "
                   "server: what it costs is noise. \"Two CORS headers, static\" is the bare "
                   "app sending corsfast's two response headers itself: what any CORS layer "
                   "pays for them on this server.", "", "The 3% target, per server:", ""]
            md += e2e_verdicts(e2e)
    untimed = [(k, v) for k, v in f.untimed.items() if not v.startswith("not installed")]
    if untimed:
        md += ["", "## Not timed", "", "| where | scenario | library | why |", "|---|---|---|---|"]
        md += [f"| {f.family_titles.get(where, where)} | {f.titles.get(s, s)} | {lib} | {why} |"
               for (where, s, lib), why in sorted(untimed)]
    md += ["", "![benchmark chart](chart.png)", ""]
    Path(args.out).write_text("\n".join(md))
    chart(f, Path(args.chart), f"{machine(data)}; {args.stat} of rounds; {when}", e2e)
    print("\n".join(readme(f, c)))
    print(f"wrote {args.out} and {args.chart}; the README tables are above", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
