"""Origin resolver figures: the cache hit's cost, and memory under a flood.

The request path asks the resolver's cache (``lookup``) for every request
whose origin the policy's tables refused, so a hit should cost about what
an exact-origin match in a policy's tables costs. This script measures
both on the same origin text, each call given a fresh string as a request
would (so both pay for hashing it):

- ``check_request``: an actual GET from an origin listed exactly in a
  Policy's ``allow_origins``;
- ``lookup``: the same origin, cached as allowed by an OriginResolver;
- ``check_request, resolver hit``: the whole decision the middleware makes
  for that origin when only the resolver knows it: the policy's resolving
  copy (the one the middleware enforces) reads the cache as its last
  origin tier.

Timing (one run, best of --repeat; a busy machine makes timings swing)::

    python benchmarks/resolver.py [--engine python]

Instructions under callgrind (steady on a busy machine; see
benchmarks/_callgrind.py)::

    python benchmarks/resolver.py --callgrind [--seeds 0,1,2]

Memory: a million distinct refused origins pushed through
``OriginResolver.resolve`` (500 at a time, with a function that answers
False at once), resident size measured after a warm-up that fills the
cache::

    python benchmarks/resolver.py --memory 1000000
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import sys
import time
from typing import Any, Callable

from _callgrind import add_options, drive, per_request, seed_list

from corsfast import Policy, check_request
from corsfast._bench import add_engine_option, engine_line, ensure_engine, environment
from corsfast._resolver import OriginResolver

ORIGIN = "https://app.example.com"
MIB = 1024 * 1024


async def _tenant(origin: str) -> bool:
    return origin == ORIGIN


def contenders() -> dict[str, Callable[[str], Any]]:
    """name -> a one-argument function of the origin, each checked."""
    policy = Policy(allow_origins=[ORIGIN, "https://other.example.com"])
    resolver = OriginResolver(_tenant)
    assert asyncio.run(resolver.resolve(ORIGIN)) is True

    def table(origin: str) -> Any:
        return check_request(policy, "GET", origin)

    # The middleware's copy of a policy that does not list ORIGIN itself.
    resolving = Policy(allow_origins=["https://other.example.com"])._resolving(
        resolver.lookup)

    def hit(origin: str) -> Any:
        return check_request(resolving, "GET", origin)

    # The same two through the WSGI middleware, a new environ per request.
    from corsfast import SyncOriginResolver
    from corsfast.wsgi import CORSMiddleware

    def app(environ: Any, start_response: Any) -> Any:
        start_response("200 OK", [])
        return [b""]

    sync = SyncOriginResolver(lambda origin: origin == ORIGIN)
    assert sync.resolve(ORIGIN) is True
    listed = CORSMiddleware(app, policy)
    resolved = CORSMiddleware(app, Policy(allow_origins=["https://other.example.com"]),
                              allow_origin_resolver=sync)

    def through(middleware: Any) -> Callable[[str], Any]:
        def one(origin: str) -> Any:
            return middleware({"REQUEST_METHOD": "GET", "PATH_INFO": "/",
                               "HTTP_ORIGIN": origin}, _start_response)
        return one

    out = {"check_request": table, "lookup": resolver.lookup,
           "check_request, resolver hit": hit,
           "wsgi, exact origin": through(listed), "wsgi, resolver hit": through(resolved)}
    assert table(_fresh()).allowed and resolver.lookup(_fresh()) is True
    assert hit(_fresh()).allowed and hit(_fresh()).headers == table(_fresh()).headers
    return out


def _start_response(status: str, headers: Any, exc_info: Any = None) -> None:
    pass


def _fresh() -> str:
    """ORIGIN as a new str object, its hash not yet computed."""
    return "".join(("https://app.", "example.com"))


def timed(func: Callable[[str], Any], calls: int, repeat: int) -> float:
    """Best nanoseconds per call over ``repeat`` runs of ``calls`` calls."""
    best = float("inf")
    for _ in range(repeat):
        batch = [_fresh() for _ in range(calls)]
        gc.collect()
        start = time.perf_counter()
        for origin in batch:
            func(origin)
        best = min(best, time.perf_counter() - start)
    return best / calls * 1e9


def memory(count: int) -> int:
    from test_memory import rss_bytes  # the suite's RSS reader

    async def no(origin: str) -> bool:
        return False

    resolver = OriginResolver(no)

    async def flood(start: int, n: int) -> None:
        for first in range(start, start + n, 500):
            await asyncio.gather(*(resolver.resolve(f"https://a{k}.attacker.example")
                                   for k in range(first, first + 500)))

    async def main() -> tuple[int, float]:
        await flood(1 << 40, 50_000)
        gc.collect()
        before = rss_bytes()
        started = time.process_time()
        await flood(0, count)
        elapsed = time.process_time() - started
        gc.collect()
        return rss_bytes() - before, elapsed

    grown, elapsed = asyncio.run(main())
    stats = resolver.stats()
    print(f"{count:,} distinct origins through resolve in {elapsed:.1f} s of CPU: resident size "
          f"{grown / MIB:+.2f} MiB; cache entries {stats['entries']:,} "
          f"(maxsize {resolver.maxsize:,}), calls {stats['calls']:,}")
    return 0 if grown < 30 * MIB * max(count, 1) / 1_000_000 + 4 * MIB else 1


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=200_000, help="calls per timing run")
    parser.add_argument("--repeat", type=int, default=7, help="timing runs (best kept)")
    parser.add_argument("--memory", type=int, metavar="N",
                        help="push N distinct origins through resolve; print memory growth")
    add_options(parser, requests=20_000, seeds="0,1,2")
    add_engine_option(parser)
    parser.add_argument("--run", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.run:
        name, built, run = args.run
        func = contenders()[name]
        drive(lambda: (_fresh(),), func, 200, int(built), int(run))
        return 0
    status = ensure_engine(args.engine, [sys.executable, __file__, *argv], "resolver.py")
    if status is not None:
        return status
    print(engine_line())
    print(environment())
    if args.memory is not None:
        sys.path.insert(0, "tests")
        return memory(args.memory)
    names = list(contenders())
    if args.callgrind:
        cost = per_request(__file__, names, args.requests, seed_list(args.seeds), args.jobs)
        unit = "instructions per call, median of hash seeds " + args.seeds
    else:
        funcs = contenders()
        cost = {name: timed(funcs[name], args.calls, args.repeat) for name in names}
        unit = f"ns per call, best of {args.repeat} runs of {args.calls:,}"
    print(unit)
    for name in names:
        print(f"  {name:30s} {cost[name]:8.1f}")
    print(f"  lookup / check_request: {cost['lookup'] / cost['check_request']:.2f}x")
    print(f"  resolver hit / exact origin in the table: "
          f"{cost['check_request, resolver hit'] / cost['check_request']:.2f}x "
          f"(check_request), {cost['wsgi, resolver hit'] / cost['wsgi, exact origin']:.2f}x "
          f"(WSGI middleware, whole request)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
