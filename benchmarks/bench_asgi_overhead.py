"""Per-request overhead of CORS middleware on an ASGI app, in process.

Overhead = time(app wrapped in the middleware) - time(bare app), for one
allowed simple (actual) request from a browser-like client, with the same
policy everywhere. Each ASGI call is driven to completion by hand (the app
never suspends), so no event loop noise enters the figures.

    python benchmarks/bench_asgi_overhead.py              # wall-clock time
    python benchmarks/bench_asgi_overhead.py --callgrind  # instruction counts
    CORSFAST_NO_EXTENSIONS=1 python benchmarks/...        # pure-Python twin

Each request is awaited from a coroutine of the benchmark's own, as a
server does. Before timing, every middleware's answer is checked to be the
right one. Time figures on a busy machine swing; ``--callgrind`` counts
instructions instead (see benchmarks/_callgrind.py), stable to within a
few hundred per request.
Targets: corsfast.asgi <= 1/15 of Starlette's overhead; the Starlette
drop-in <= 1.10 x corsfast.asgi.
"""

from __future__ import annotations

import argparse
import timeit
from typing import Any

from _callgrind import add_options, drive, per_request, seed_list

import corsfast
from corsfast.asgi import CORSMiddleware as CorsfastASGI
from corsfast.contrib.starlette import CORSMiddleware as CorsfastStarlette

ORIGIN = b"https://app.example.com"
SCOPE: dict[str, Any] = {
    "type": "http",
    "asgi": {"version": "3.0"},
    "http_version": "1.1",
    "method": "GET",
    "scheme": "http",
    "path": "/api/items",
    "raw_path": b"/api/items",
    "query_string": b"",
    "root_path": "",
    "headers": [
        (b"host", b"api.example.com"),
        (b"user-agent", b"Mozilla/5.0 (X11; Linux x86_64) Chrome/126.0"),
        (b"accept", b"*/*"),
        (b"accept-language", b"en-US,en;q=0.9"),
        (b"accept-encoding", b"gzip, deflate, br"),
        (b"origin", ORIGIN),
        (b"referer", b"https://app.example.com/"),
        (b"sec-fetch-mode", b"cors"),
        (b"sec-fetch-site", b"same-site"),
        (b"connection", b"keep-alive"),
    ],
    "client": ("127.0.0.1", 50000),
    "server": ("127.0.0.1", 8000),
}
POLICY_ARGS: dict[str, Any] = {
    "allow_origins": ["https://app.example.com"],
    "allow_methods": ["GET", "POST", "PUT"],
    "allow_headers": ["content-type", "x-token"],
    "allow_credentials": True,
    "expose_headers": ["x-request-id"],
    "max_age": 600,
}
BODY = {"type": "http.response.body", "body": b"hello"}


async def app(scope: Any, receive: Any, send: Any) -> None:
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"text/plain"),
                            (b"content-length", b"5")]})
    await send(BODY)


async def receive() -> Any:
    return {"type": "http.request", "body": b"", "more_body": False}


async def send(message: Any) -> None:
    pass


class Recorder:
    def __init__(self) -> None:
        self.start: Any = None

    async def __call__(self, message: Any) -> None:
        if message["type"] == "http.response.start":
            self.start = message


async def serve(asgi: Any, send_to: Any) -> None:
    """What a server does with an application: await it from its own
    coroutine (uvicorn's and granian's request tasks do this)."""
    await asgi(SCOPE, receive, send_to)


def run(asgi: Any, send_to: Any = send) -> None:
    coro = serve(asgi, send_to)
    try:
        coro.send(None)
    except StopIteration:
        return
    raise RuntimeError("the app suspended; the benchmark needs one that does not")


def check(name: str, asgi: Any) -> None:
    recorder = Recorder()
    run(asgi, recorder)
    headers = {k.lower(): v for k, v in recorder.start["headers"]}
    assert headers.get(b"access-control-allow-origin") == ORIGIN, (name, headers)
    assert headers.get(b"access-control-allow-credentials") == b"true", name
    assert b"origin" in headers.get(b"vary", b"").lower(), name


def measure(contenders: dict[str, Any], number: int, repeat: int) -> dict[str, float]:
    """Best time per call of each contender. Rounds interleave the
    contenders, so a burst of load elsewhere on the machine hits all of
    them alike, and the minimum over rounds is kept."""
    best = {name: float("inf") for name in contenders}
    timers = {name: timeit.Timer(lambda asgi=asgi: run(asgi))
              for name, asgi in contenders.items()}
    for _ in range(repeat):
        for name, timer in timers.items():
            best[name] = min(best[name], timer.timeit(number) / number)
    return best


def contenders() -> dict[str, Any]:
    from starlette.middleware.cors import CORSMiddleware as StarletteCORS

    return {
        "starlette": StarletteCORS(app, **POLICY_ARGS),
        "corsfast.asgi": CorsfastASGI(app, **POLICY_ARGS),
        "corsfast.contrib.starlette": CorsfastStarlette(app, **POLICY_ARGS),
    }


def report(overhead: dict[str, float], unit: str) -> None:
    for name, value in overhead.items():
        print(f"  {name:28s} overhead {value:7.0f} {unit}")
    generic = overhead["corsfast.asgi"]
    print(f"starlette / corsfast.asgi overhead: "
          f"{overhead['starlette'] / generic:.1f}x (target >= 15x)")
    print(f"drop-in / corsfast.asgi overhead:   "
          f"{overhead['corsfast.contrib.starlette'] / generic:.2f} (target <= 1.10)")


def run_only(name: str, requests: int) -> None:
    """The body of one callgrind process: build, check, warm up, run."""
    apps = {"bare": app, **contenders()}
    asgi = apps[name]
    if name != "bare":
        check(name, asgi)
    drive(lambda: run(asgi), 200, requests)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--number", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=60)
    add_options(parser, requests=3000, seeds="0,1,2")
    parser.add_argument("--run", nargs=2, metavar=("NAME", "N"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.run:
        run_only(args.run[0], int(args.run[1]))
        return

    contending = contenders()
    for name, asgi in contending.items():
        check(name, asgi)
    if args.callgrind:
        cost = per_request(__file__, ["bare", *contending], args.requests,
                           seed_list(args.seeds), args.jobs)
        bare = cost.pop("bare")
        print(f"engine: {corsfast.ENGINE}; bare app: {bare:.0f} instructions/request "
              f"(median of hash seeds {args.seeds})")
        report({name: value - bare for name, value in cost.items()}, "instructions")
        return

    best = measure({"bare": app, **contending}, args.number, args.repeat)
    bare = best.pop("bare")
    print(f"engine: {corsfast.ENGINE}; bare app: {bare * 1e9:.0f} ns/request")
    report({name: (value - bare) * 1e9 for name, value in best.items()}, "ns")


if __name__ == "__main__":
    main()
