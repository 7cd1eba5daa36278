"""corsfast's engine next to the no-op floor, and the engine targets.

    python benchmarks/floor.py [--json PATH] [--repeat N]          # ns per call
    python benchmarks/floor.py --callgrind [--json PATH] [--rows simple,refused,preflight]
    python benchmarks/floor.py --engine python                     # the pure-Python twin

The floor is ``noop_check`` from ``benchmarks/_noop.pyx`` (built on demand,
see ``benchmarks/noop.py``): a compiled function that takes
``check_request``'s arguments and does nothing, so the ratio is what the
decision costs over the bare price of a call. Every call gets new argument
objects (``corsfast._bench.engine_args``), built before the clock starts
(timing) or in both processes of a pair (callgrind). Each decision is
checked before it is timed.

Timing: the best of several rounds, the calls of one table timed in turns.
Callgrind: instructions per call, the median over hash seeds.

Targets (from the engine issue): simple allowed <= 2x the floor, refused
origin <= 2.5x, preflight with three headers <= 5x; 100,000 exact origins
cost <= 1.3x per lookup what one origin costs; a 64 KiB hostile
Access-Control-Request-Headers costs <= 30x a normal preflight, and work
stays linear in the header's length.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

import noop
from _callgrind import add_options, drive, per_request, save, seed_list
from scenarios import SCENARIO, THREE, many_origins

from corsfast import check_request
from corsfast._bench import (
    ORIGIN,
    TWIN,
    Entry,
    Runner,
    Scenario,
    add_engine_option,
    check,
    corsfast_policy,
    engine_args,
    engine_line,
    engine_runner,
    ensure_engine,
    environment,
    rounds,
)

BIG = many_origins(100_000)


def ladder(size: int) -> str:
    """A legal, worst-case ACRH of ``size`` bytes within the bounds: empty
    elements (tolerated, never counted) around one allowed name."""
    name = "content-type"
    return ", " * ((size - len(name)) // 2) + name + " " * ((size - len(name)) % 2)


ROWS: dict[str, Scenario] = {
    "simple": SCENARIO["simple"],
    "preflight": SCENARIO["preflight"],
    "refused": SCENARIO["refused"],
    "no-origin": SCENARIO["no-origin"],
    "100k-simple": Scenario("100k-simple", "100,000 origins: simple", "GET", BIG[-1],
                            "allow", exact=BIG),
    "100k-preflight": Scenario("100k-preflight", "100,000 origins: preflight", "OPTIONS",
                               BIG[-1], "allow", "PUT", THREE, exact=BIG),
    "hostile": SCENARIO["hostile"],
    **{f"ladder-{n}": Scenario(f"ladder-{n}", f"ACRH ladder {n} B", "OPTIONS", ORIGIN,
                               "allow", "PUT", ladder(n)) for n in (256, 1024, 2048, 4096)},
}
LIMITS = {"simple": 2.0, "refused": 2.5, "preflight": 5.0}
OURS = "corsfast" + (" (python twin)" if TWIN else "")


def runners(s: Scenario) -> dict[str, Runner]:
    """check_request, checked, and the floor, for one row."""
    policy = corsfast_policy(s)
    ours = engine_runner(check_request, policy, s)
    wrong = check(Entry(OURS, lambda _: ours, role="corsfast"), s, ours)
    if wrong:
        sys.exit(f"check_request gives a wrong answer for {s.title}: {wrong}")
    noop_check = noop.load()
    return {"check_request": ours,
            "noop": Runner(noop_check, lambda: engine_args(policy, s), None)}


def time_all(repeat: int) -> dict[str, Any]:
    calls = [r for s in ROWS.values() for r in runners(s).values()]
    figures = rounds(calls, 0.004, repeat)
    result: dict[str, dict[str, float]] = {}
    print(f"{'scenario':<46} {OURS:>24} {'floor':>8} {'x floor':>8}")
    for i, s in enumerate(ROWS.values()):
        ours, floor = min(figures[2 * i]), min(figures[2 * i + 1])
        result[s.title] = {"compiled" if not TWIN else "python": ours, "floor": floor}
        print(f"{s.title:<46} {ours:>22.0f}ns {floor:>6.0f}ns {ours / floor:>7.2f}x")

    def ns(key: str) -> float:
        return min(figures[2 * list(ROWS).index(key)])

    checks = [(f"{ROWS[k].title} <= {lim}x floor", ns(k) / min(
        figures[2 * list(ROWS).index(k) + 1]), lim) for k, lim in LIMITS.items()]
    checks += [
        ("100k origins / 1 origin (simple) <= 1.3x", ns("100k-simple") / ns("simple"), 1.3),
        ("100k origins / 1 origin (preflight) <= 1.3x",
         ns("100k-preflight") / ns("preflight"), 1.3),
        ("hostile 64 KiB / normal preflight <= 30x", ns("hostile") / ns("preflight"), 30.0),
        ("ladder 4096 B / 1024 B <= 4.5x (linear)", ns("ladder-4096") / ns("ladder-1024"), 4.5),
    ]
    report(checks)
    return {"environment": environment(), "engine": engine_line(), "ns": result,
            "targets": [dict(target=t, value=v, limit=m) for t, v, m in checks]}


def report(checks: list[tuple[str, float, float]]) -> None:
    print()
    for label, value, limit in checks:
        print(f"{'PASS' if value <= limit else 'MISS'}  {label:<56} {value:.2f}")


def callgrind_all(keys: list[str], requests: int, seeds: list[int], jobs: int,
                  path: str | None) -> None:
    records, checks = [], []
    for key in keys:
        cost = per_request(__file__, ["check_request", "noop"], requests, seeds, jobs,
                           prefix=(key,))
        ratio = cost["check_request"] / cost["noop"]
        print(f"{ROWS[key].title:<46} {OURS} {cost['check_request']:7.0f}  floor "
              f"{cost['noop']:6.0f} instructions/call  {ratio:5.2f}x floor", flush=True)
        if key in LIMITS:
            checks.append((f"{ROWS[key].title} <= {LIMITS[key]}x floor", ratio, LIMITS[key]))
        scenario = key if key in SCENARIO else f"floor:{key}"
        records += [dict(where="engine", scenario=scenario, library=OURS,
                         instructions=cost["check_request"]),
                    dict(where="engine", scenario=scenario, library="no-op floor",
                         instructions=cost["noop"])]
    report(checks)
    if path:
        save(path, records, requests, seeds, __file__)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=9, help="timed rounds")
    parser.add_argument("--rows", default="simple,refused,preflight",
                        help="callgrind: comma-separated, of: " + ", ".join(ROWS))
    add_options(parser, requests=3000, seeds="0,1,2")
    add_engine_option(parser)
    parser.add_argument("--run", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.run:
        key, name, built, run = args.run
        runner = runners(ROWS[key])[name]
        drive(runner.make, runner.func, 200, int(built), int(run))
        return 0
    status = ensure_engine(args.engine, [sys.executable, __file__, *argv], "floor.py")
    if status is not None:
        return status
    try:
        noop.load()  # built once, before any process needs it
    except ImportError as exc:
        sys.exit(f"floor.py: {exc}")
    print(engine_line())
    print(environment())
    if args.callgrind:
        keys = [k.strip() for k in args.rows.split(",") if k.strip()]
        unknown = sorted(set(keys) - set(ROWS))
        if unknown:
            parser.error(f"unknown rows {unknown}")
        callgrind_all(keys, args.requests, seed_list(args.seeds), args.jobs, args.json)
        return 0
    result = time_all(args.repeat)
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(result, fh, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
