"""What an OriginSet costs: lookup time by size, and memory per member.

A request whose Origin is a member of the policy's OriginSet (docs/origin-
sets.md) is timed against a set of 1 member and a set of 1,000,000, in one
run, and reported as a ratio (the promise: the lookup does not grow with
the set). Origins arrive as bytes, as ASGI gives them, so each request
decodes and hashes a new str as a server's would. Two orders of requests:

- ``hot``: the same member again and again;
- ``spread``: 4,096 members in turn (one, over and over, in the 1-member
  set), so the big set's lookups land all over its table.

``--callgrind`` counts instructions per request instead of time
(benchmarks/_callgrind.py: two processes per size, which cancel out the
building of the set); ``--memory`` measures bytes per member with
tracemalloc, for exact origins and for subdomain patterns.

    python benchmarks/origin_set.py [--kind exact,pattern] [--order hot,spread]
        [--memory] [--callgrind] [--engine python]
"""

from __future__ import annotations

import argparse
import gc
import sys
import time
import tracemalloc
from typing import Any, Callable

from _callgrind import add_options, drive, per_request, seed_list

import corsfast
from corsfast import OriginSet, Policy, check_request
from corsfast._bench import add_engine_option, engine_line, ensure_engine, environment

SIZES = (1, 1_000_000)
SPREAD = 4096


def entry(kind: str, i: int) -> str:
    """The i-th member of a set of ``kind``: an exact origin or a pattern."""
    if kind == "exact":
        return f"https://tenant{i}.example.com"
    return f"https://*.tenant{i}.example.com"


def origin(kind: str, i: int) -> bytes:
    """A request Origin that the i-th member allows."""
    if kind == "exact":
        return f"https://tenant{i}.example.com".encode()
    return f"https://app.tenant{i}.example.com".encode()


def build(kind: str, size: int) -> Policy:
    return Policy(allow_origin_set=OriginSet(entry(kind, i) for i in range(size)),
                  allow_credentials=True)


def requests(kind: str, size: int, order: str) -> list[bytes]:
    if order == "hot":
        return [origin(kind, size // 2)] * SPREAD
    step = max(1, size // SPREAD)
    return [origin(kind, (i * step) % size) for i in range(SPREAD)]


def verify(policy: Policy, batch: list[bytes]) -> None:
    for value in set(batch):
        d = check_request(policy, "GET", value)
        if not d.allowed or d.headers[0] != ("access-control-allow-origin", value.decode()):
            raise SystemExit(f"wrong answer for {value!r}: {d!r}")


def per_call(policy: Policy, batch: list[bytes], repeat: int = 15) -> float:
    """The best of ``repeat`` timings of the batch, in ns per request."""
    check = check_request
    best = float("inf")
    gc.collect()
    gc.disable()
    try:
        for _ in range(repeat):
            start = time.perf_counter_ns()
            for value in batch:
                check(policy, "GET", value)
            best = min(best, (time.perf_counter_ns() - start) / len(batch))
    finally:
        gc.enable()
    return best


def timing(kinds: list[str], orders: list[str]) -> None:
    for kind in kinds:
        policies = {size: build(kind, size) for size in SIZES}
        for order in orders:
            batches = {size: requests(kind, size, order) for size in SIZES}
            for size in SIZES:
                verify(policies[size], batches[size])
            # Interleaved rounds, so a busy moment hits both sizes alike.
            rounds: dict[int, list[float]] = {size: [] for size in SIZES}
            for _ in range(5):
                for size in SIZES:
                    rounds[size].append(per_call(policies[size], batches[size]))
            small, big = (min(rounds[size]) for size in SIZES)
            print(f"  {kind:7s} {order:6s}  1 member {small:7.1f} ns   "
                  f"{SIZES[1]:,} members {big:7.1f} ns   ratio {big / small:5.2f}x",
                  flush=True)


def memory(kinds: list[str], size: int) -> None:
    for kind in kinds:
        entries = [entry(kind, i) for i in range(size)]
        gc.collect()
        tracemalloc.start()
        before = tracemalloc.get_traced_memory()[0]
        origins = OriginSet(entries)
        gc.collect()
        after = tracemalloc.get_traced_memory()[0]
        tracemalloc.stop()
        assert len(origins) == size
        print(f"  {kind:7s} {(after - before) / size:6.1f} bytes per member "
              f"({size:,} members, e.g. {entries[0]!r})", flush=True)
        del origins


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kind", default="exact,pattern",
                        help="comma-separated, of: exact, pattern")
    parser.add_argument("--order", default="hot,spread",
                        help="comma-separated, of: hot, spread")
    parser.add_argument("--memory", action="store_true",
                        help="bytes per member (tracemalloc) instead of lookup cost")
    parser.add_argument("--members", type=int, default=SIZES[1],
                        help="members in the set measured by --memory")
    add_options(parser, requests=4096, seeds="0")
    add_engine_option(parser)
    parser.add_argument("--run", nargs=5, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    kinds = args.kind.split(",")
    orders = args.order.split(",")
    if args.run:
        kind, order, size, built, run = args.run
        policy = build(kind, int(size))
        batch = requests(kind, int(size), order)
        verify(policy, batch)
        feed = iter(batch * (1 + (int(built) + 200) // len(batch)))
        make: Callable[[], tuple[Any, ...]] = lambda: (policy, "GET", next(feed))  # noqa: E731
        drive(make, check_request, 200, int(built), int(run))
        return 0
    status = ensure_engine(args.engine, [sys.executable, __file__, *argv], "origin_set.py")
    if status is not None:
        return status
    print(engine_line())
    print(environment())
    if args.memory:
        print("memory of the set, per member (tracemalloc):")
        memory(kinds, args.members)
        return 0
    if not args.callgrind:
        print("check_request on a member of the policy's OriginSet, best of 5 x 15 "
              f"rounds of {SPREAD:,} requests:")
        timing(kinds, orders)
        return 0
    print(f"instructions per request (callgrind, {args.requests:,} requests, hash seeds "
          f"{args.seeds}):")
    for kind in kinds:
        for order in orders:
            names = [str(size) for size in SIZES]
            cost = per_request(__file__, names, args.requests, seed_list(args.seeds),
                               args.jobs, prefix=(kind, order))
            small, big = cost[names[0]], cost[names[1]]
            print(f"  {kind:7s} {order:6s}  1 member {small:7.0f}   {SIZES[1]:,} members "
                  f"{big:7.0f}   ratio {big / small:5.3f}x", flush=True)
    return 0


if __name__ == "__main__":
    print(f"corsfast {corsfast.__version__}", file=sys.stderr)
    sys.exit(main())
