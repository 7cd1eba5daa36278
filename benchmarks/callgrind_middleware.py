"""Middleware overhead in instructions per request, under callgrind.

The same apps, peers and scenarios as ``bench_middleware.py``
(``benchmarks/peers.py``, ``benchmarks/scenarios.py``), each request a new
scope or environ run to completion in process; instead of time,
``valgrind --tool=callgrind`` counts instructions (see
benchmarks/_callgrind.py), which a busy machine does not disturb.
Overhead = wrapped app minus bare app, per scenario; the ratio column is
each overhead over corsfast's generic middleware's.

    python benchmarks/callgrind_middleware.py --family asgi,wsgi \\
        --scenarios simple,preflight,refused,no-origin [--seeds 0,1,2] \\
        [--json benchmarks/results/callgrind-middleware.json] [--engine python]
"""

from __future__ import annotations

import argparse
import sys

from _callgrind import Group, add_options, drive, report
from peers import FAMILY, Unsupported
from scenarios import SCENARIO

from corsfast._bench import Runner, add_engine_option, check, ensure_engine, label


def runners(family_key: str, scenario_key: str, quiet: bool = False) -> dict[str, Runner]:
    """Every installed entry of the family that can run the scenario and
    answers it right (a wrong answer is reported, not measured)."""
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
            if not quiet:
                print(f"  {entry.name} ({family_key}, {scenario_key}): wrong answer, "
                      f"not measured ({wrong})")
            continue
        out[entry.name] = runner
    return out


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--family", default="asgi,wsgi",
                        help=f"comma-separated, of: {', '.join(FAMILY)}")
    parser.add_argument("--scenarios", default="simple,preflight,refused,no-origin",
                        help=f"comma-separated, of: {', '.join(SCENARIO)}")
    add_options(parser, requests=2000, seeds="0,1,2")
    add_engine_option(parser)
    parser.add_argument("--run", nargs=5, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.run:
        family, scenario, name, built, run = args.run
        runner = runners(family, scenario, quiet=True)[name]
        drive(runner.make, runner.func, 200, int(built), int(run))
        return 0
    status = ensure_engine(args.engine, [sys.executable, __file__, *argv],
                           "callgrind_middleware.py")
    if status is not None:
        return status
    groups = (Group(f"{FAMILY[family].title}: {SCENARIO[scenario].title}", family, scenario,
                    list(runners(family, scenario)), (family, scenario))
              for family in args.family.split(",") for scenario in args.scenarios.split(","))
    return report(__file__, args, groups, label())


if __name__ == "__main__":
    sys.exit(main())
