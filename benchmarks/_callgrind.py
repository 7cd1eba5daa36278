"""Instruction counts per request under ``valgrind --tool=callgrind``.

Timings on a shared machine swing by a factor of two; instruction counts
do not. A benchmark script that supports a hidden ``--run ... BUILT RUN``
mode (build every contender, check and warm up the one named, build BUILT
new requests, then handle RUN of them with the garbage collector off) is
run twice per contender and hash seed: with RUN 0 and with RUN = BUILT.
Both processes build the same requests, so the difference over BUILT is
the cost of handling one request, with start-up, warm-up and building the
requests cancelled out. Every process builds every contender, so all runs
share one memory layout, and the median over several ``PYTHONHASHSEED``
values is kept.
"""

from __future__ import annotations

import argparse
import gc
import itertools
import os
import re
import shutil
import statistics
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable, Iterable, NamedTuple, Sequence

BARE = "bare app"

# Without address-space randomisation a count repeats exactly: with it, where
# the heap and the stack land moves a run's total by about a million
# instructions (some hundreds per request at 2,000 requests). Each hash seed
# then gives one layout; the median over seeds is the figure.
_FIXED_LAYOUT = ["setarch", "-R"] if shutil.which("setarch") else []


def instructions(script: str, run: Sequence[str], seed: int) -> int:
    """Instructions a whole ``python script --run *run`` process executes."""
    # The child imports what this process imported (corsfast from a checkout).
    env = dict(os.environ, PYTHONHASHSEED=str(seed),
               PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
    command = [*_FIXED_LAYOUT, "valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null",
               sys.executable, script, "--run", *run]
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    found = re.search(r"Collected : (\d+)", done.stderr)
    if done.returncode != 0 or found is None:
        raise RuntimeError(f"no callgrind total for {run} (exit {done.returncode}):\n"
                           f"{done.stderr[-3000:]}")
    return int(found.group(1))


def per_request(script: str, names: Sequence[str], requests: int,
                seeds: Sequence[int], jobs: int,
                prefix: Sequence[str] = ()) -> dict[str, float]:
    """Median over ``seeds`` of instructions per request for each name;
    ``prefix`` goes before the name in ``--run`` (e.g. a framework)."""
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        runs = {(name, seed, n): pool.submit(
                    instructions, script, [*prefix, name, str(requests), str(n)], seed)
                for name in names for seed in seeds for n in (0, requests)}
        return {name: statistics.median(
                    (runs[name, seed, requests].result() - runs[name, seed, 0].result())
                    / requests for seed in seeds)
                for name in names}


def add_options(parser: argparse.ArgumentParser, requests: int, seeds: str) -> None:
    """The command-line options of a script's callgrind mode."""
    parser.add_argument("--callgrind", action="store_true",
                        help="count instructions under valgrind instead of timing")
    parser.add_argument("--requests", type=int, default=requests,
                        help="requests per callgrind process")
    parser.add_argument("--seeds", default=seeds,
                        help="comma-separated PYTHONHASHSEED values (callgrind)")
    parser.add_argument("--jobs", type=int, default=2,
                        help="callgrind processes at a time")
    parser.add_argument("--json", help="also write the figures to this file")


def seed_list(seeds: str) -> list[int]:
    return [int(seed) for seed in seeds.split(",")]


def drive(make: Callable[[], tuple[Any, ...]], step: Callable[..., object],
          warmup: int, built: int, run: int) -> None:
    """The body of a ``--run`` process: ``warmup`` requests, then ``built``
    new requests made and ``run`` of them handled with the GC off."""
    for _ in range(warmup):
        step(*make())
    batch = [make() for _ in range(built)]
    gc.collect()
    gc.disable()
    for args in itertools.islice(batch, run):
        step(*args)


def save(path: str, records: list[dict[str, Any]], requests: int, seeds: Sequence[int],
         script: str) -> None:
    """Write instruction counts for ``benchmarks/render.py``: one record per
    (where, scenario, library), ``where`` being "engine" or a family key."""
    import json

    import corsfast
    from corsfast._bench import engine_line
    with open(path, "w") as fh:
        json.dump({"tool": "callgrind", "script": os.path.basename(script),
                   "engine": corsfast.ENGINE, "engine_line": engine_line(),
                   "requests": requests, "seeds": list(seeds), "records": records}, fh, indent=2)


class Group(NamedTuple):
    """One table of a report: its contenders, ``"bare app"`` among them."""

    title: str                # printed above the rows
    where: str                # the records' "where": a family key
    scenario: str             # the records' "scenario"
    names: Sequence[str]      # the contenders
    prefix: Sequence[str]     # what goes before a name in ``--run``


def report(script: str, args: argparse.Namespace, groups: Iterable[Group],
           ours: str) -> int:
    """What every callgrind script prints: for each group (taken one at a
    time, so a group may check its answers just before it is counted), the
    bare app's instructions per request, each contender's overhead over it
    and that overhead over ``ours``'s; then the JSON ``--json`` asks for."""
    from corsfast._bench import engine_line, environment

    seeds = seed_list(args.seeds)
    print(engine_line())
    print(f"{environment()}; instructions per request, median of hash seeds {args.seeds}")
    records: list[dict[str, Any]] = []
    for group in groups:
        print(group.title, flush=True)
        cost = per_request(script, group.names, args.requests, seeds, args.jobs,
                           prefix=group.prefix)
        records += [dict(where=group.where, scenario=group.scenario, library=name,
                         instructions=value) for name, value in cost.items()]
        bare = cost.pop(BARE)
        base = cost[ours] - bare if ours in cost else 0.0
        print(f"  {BARE:34s} {bare:9.0f}")
        for name, value in cost.items():
            ratio = (f"{(value - bare) / base:6.2f}x {ours}'s overhead"
                     if base > 0 and name != ours else "")
            print(f"  {name:34s} {value - bare:+9.0f}   {ratio}", flush=True)
    if args.json:
        save(args.json, records, args.requests, seeds, script)
    return 0
