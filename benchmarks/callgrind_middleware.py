"""Middleware overhead in instructions per request, under callgrind.

The same apps, peers and scenarios as ``bench_middleware.py`` (from
``corsfast._bench``), each request run to completion in process; instead
of time, ``valgrind --tool=callgrind`` counts instructions (see
benchmarks/_callgrind.py), which a busy machine does not disturb.
Overhead = wrapped app minus bare app, per scenario; the ratio column is
each peer's overhead over corsfast's.

    python benchmarks/callgrind_middleware.py --family asgi,wsgi \\
        --scenarios simple,preflight,refused,no-origin [--seeds 0,1,2]
"""

from __future__ import annotations

import argparse

from _callgrind import drive, per_request

from corsfast import ENGINE
from corsfast._bench import FAMILIES, SCENARIOS, Unsupported, check

FAMILY = {family.key: family for family in FAMILIES}
SCENARIO = {scenario.key: scenario for scenario in SCENARIOS}


def runners(family_key: str, scenario_key: str) -> dict[str, object]:
    """Every entry of the family that can run the scenario and answers it
    right (a wrong answer is reported, not measured)."""
    scenario = SCENARIO[scenario_key]
    out = {}
    for entry in FAMILY[family_key].entries:
        if entry.missing():
            continue
        try:
            runner = entry.build(scenario)
        except Unsupported:
            continue
        wrong = check(entry, scenario, runner)
        if wrong:
            print(f"  {entry.name}: wrong answer, not measured ({wrong})")
            continue
        out[entry.name] = runner
    return out


def run_only(family_key: str, scenario_key: str, name: str, requests: int) -> None:
    runner = runners(family_key, scenario_key)[name]
    func, args = runner.func, runner.args  # type: ignore[attr-defined]
    drive(lambda: func(*args), 200, requests)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--family", default="asgi,wsgi",
                        help=f"comma-separated, of: {', '.join(FAMILY)}")
    parser.add_argument("--scenarios", default="simple,preflight,refused,no-origin",
                        help=f"comma-separated, of: {', '.join(SCENARIO)}")
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--run", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.run:
        family, scenario, name, n = args.run
        run_only(family, scenario, name, int(n))
        return
    seeds = [int(seed) for seed in args.seeds.split(",")]
    print(f"engine: {ENGINE}; instructions per request, median of hash seeds {args.seeds}")
    for family in args.family.split(","):
        for scenario in args.scenarios.split(","):
            print(f"{FAMILY[family].title}: {SCENARIO[scenario].title}", flush=True)
            names = list(runners(family, scenario))
            cost = per_request(__file__, names, args.requests, seeds, args.jobs,
                               prefix=(family, scenario))
            bare = cost.pop("bare app")
            ours = cost["corsfast"] - bare
            print(f"  {'bare app':30s} {bare:9.0f}")
            for name, value in cost.items():
                print(f"  {name:30s} {value - bare:+9.0f}   "
                      f"{(value - bare) / ours:6.2f}x corsfast's overhead", flush=True)


if __name__ == "__main__":
    main()
