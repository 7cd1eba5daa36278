"""Instruction counts per request under ``valgrind --tool=callgrind``.

Timings on a shared machine swing by a factor of two; instruction counts
do not. A benchmark script that supports a hidden ``--run NAME N`` mode
(build every contender, check and warm up the one named, then handle N
requests with the garbage collector off) is run twice per contender and
hash seed, with 0 and with N requests; the difference over N is the cost
of one request, start-up and warm-up cancelled out. Every process builds
every contender, so all runs share one memory layout, and the median over
several ``PYTHONHASHSEED`` values is kept.
"""

from __future__ import annotations

import argparse
import gc
import os
import re
import statistics
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from typing import Callable, Sequence


def instructions(script: str, run: Sequence[str], seed: int) -> int:
    """Instructions a whole ``python script --run *run`` process executes."""
    # The child imports what this process imported (corsfast from a checkout).
    env = dict(os.environ, PYTHONHASHSEED=str(seed),
               PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
    command = ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null",
               sys.executable, script, "--run", *run]
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=True)
    found = re.search(r"Collected : (\d+)", done.stderr)
    if found is None:
        raise RuntimeError(f"no callgrind total for {run}:\n{done.stderr}")
    return int(found.group(1))


def per_request(script: str, names: Sequence[str], requests: int,
                seeds: Sequence[int], jobs: int,
                prefix: Sequence[str] = ()) -> dict[str, float]:
    """Median over ``seeds`` of instructions per request for each name;
    ``prefix`` goes before the name in ``--run`` (e.g. a framework)."""
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        runs = {(name, seed, n): pool.submit(
                    instructions, script, [*prefix, name, str(n)], seed)
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


def seed_list(seeds: str) -> list[int]:
    return [int(seed) for seed in seeds.split(",")]


def drive(step: Callable[[], object], warmup: int, requests: int) -> None:
    """The body of a ``--run`` process: warm up, then ``requests`` steps
    with the garbage collector off."""
    for _ in range(warmup):
        step()
    gc.collect()
    gc.disable()
    for _ in range(requests):
        step()
