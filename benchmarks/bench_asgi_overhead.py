"""Per-request overhead of CORS middleware on an ASGI app, in process.

Overhead = time(app wrapped in the middleware) - time(bare app), for one
allowed simple (actual) request from a browser-like client, with the same
credentialed policy everywhere. Each ASGI call is driven to completion by
hand (the app never suspends), so no event loop noise enters the figures.

    python benchmarks/bench_asgi_overhead.py              # wall-clock time
    python benchmarks/bench_asgi_overhead.py --callgrind  # instruction counts
    python benchmarks/bench_asgi_overhead.py --engine python   # the pure-Python twin

Every request is a new scope with a new header list of new ``bytes``
objects, built before the clock starts (timing) or in both processes of a
pair (callgrind), and awaited from a coroutine of the benchmark's own, as a
server does. Before timing, every middleware's answer is checked. Time
figures on a busy machine swing; ``--callgrind`` counts instructions instead
(see benchmarks/_callgrind.py), stable to within a few hundred per request.
Targets: corsfast.asgi <= 1/15 of Starlette's overhead; the Starlette
drop-in <= 1.10 x corsfast.asgi.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from _callgrind import add_options, drive, per_request, save, seed_list

from corsfast._bench import (
    TWIN,
    Runner,
    add_engine_option,
    engine_line,
    ensure_engine,
    environment,
    fresh,
    noise,
    paired,
    rounds,
)
from corsfast.asgi import CORSMiddleware as CorsfastASGI
from corsfast.contrib.starlette import CORSMiddleware as CorsfastStarlette

ORIGIN = b"https://app.example.com"
HEADERS = [
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
]
POLICY_ARGS: dict[str, Any] = {
    "allow_origins": ["https://app.example.com"],
    "allow_methods": ["GET", "POST", "PUT"],
    "allow_headers": ["content-type", "x-token"],
    "allow_credentials": True,
    "expose_headers": ["x-request-id"],
    "max_age": 600,
}
TWIN_NOTE = " (python twin)" if TWIN else ""
GENERIC, DROP_IN = "corsfast.asgi" + TWIN_NOTE, "corsfast.contrib.starlette" + TWIN_NOTE
BODY = {"type": "http.response.body", "body": b"hello"}


def new_scope() -> dict[str, Any]:
    """One request's scope: every object in it new, as from a server."""
    return {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
            "method": fresh("GET"), "scheme": "http", "path": fresh("/api/items"),
            "raw_path": fresh(b"/api/items"), "query_string": b"", "root_path": "",
            "headers": [(fresh(k), fresh(v)) for k, v in HEADERS],
            "client": ("127.0.0.1", 50000), "server": ("127.0.0.1", 8000)}


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


async def serve(asgi: Any, scope: Any, send_to: Any) -> None:
    """What a server does with an application: await it from its own
    coroutine (uvicorn's and granian's request tasks do this)."""
    await asgi(scope, receive, send_to)


def run(asgi: Any, scope: Any, send_to: Any = send) -> None:
    coro = serve(asgi, scope, send_to)
    try:
        coro.send(None)
    except StopIteration:
        return
    raise RuntimeError("the app suspended; the benchmark needs one that does not")


def check(name: str, asgi: Any) -> None:
    recorder = Recorder()
    run(asgi, new_scope(), recorder)
    headers = {k.lower(): v for k, v in recorder.start["headers"]}
    assert headers.get(b"access-control-allow-origin") == ORIGIN, (name, headers)
    assert headers.get(b"access-control-allow-credentials") == b"true", name
    assert b"origin" in headers.get(b"vary", b"").lower(), name


def contenders() -> dict[str, Any]:
    from starlette.middleware.cors import CORSMiddleware as StarletteCORS

    return {
        "starlette": StarletteCORS(app, **POLICY_ARGS),
        GENERIC: CorsfastASGI(app, **POLICY_ARGS),
        DROP_IN: CorsfastStarlette(app, **POLICY_ARGS),
    }


def runner(asgi: Any) -> Runner:
    return Runner(lambda scope: run(asgi, scope), lambda: (new_scope(),), None)


def report(overhead: dict[str, float], unit: str, floor: float = 0.0) -> None:
    for name, value in overhead.items():
        shown = f"{value:7.0f} {unit}" if value > floor else "within noise"
        print(f"  {name:40s} overhead {shown}")
    generic = overhead[GENERIC]
    if generic <= floor:
        print("corsfast.asgi's overhead is within noise: no ratio")
        return
    print(f"starlette / corsfast.asgi overhead: "
          f"{overhead['starlette'] / generic:.1f}x (target >= 15x)")
    print(f"drop-in / corsfast.asgi overhead:   "
          f"{overhead[DROP_IN] / generic:.2f} (target <= 1.10)")


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=0.004, help="seconds per batch")
    parser.add_argument("--repeat", type=int, default=60, help="timed rounds")
    add_options(parser, requests=3000, seeds="0,1,2")
    add_engine_option(parser)
    parser.add_argument("--run", nargs=3, metavar=("NAME", "BUILT", "RUN"),
                        help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.run:  # one callgrind process: build, check, warm up, run
        name, built, requests = args.run
        apps = {"bare": app, **contenders()}
        if name != "bare":
            check(name, apps[name])
        r = runner(apps[name])
        drive(r.make, r.func, 200, int(built), int(requests))
        return 0
    status = ensure_engine(args.engine, [sys.executable, __file__, *argv],
                           "bench_asgi_overhead.py")
    if status is not None:
        return status

    contending = contenders()
    for name, asgi in contending.items():
        check(name, asgi)
    print(engine_line())
    print(environment())
    if args.callgrind:
        seeds = seed_list(args.seeds)
        cost = per_request(__file__, ["bare", *contending], args.requests, seeds, args.jobs)
        if args.json:
            save(args.json, [dict(where="asgi-overhead", scenario="simple-credentials",
                                  library=name, instructions=value)
                              for name, value in cost.items()], args.requests, seeds, __file__)
        bare = cost.pop("bare")
        print(f"bare app: {bare:.0f} instructions/request (median of hash seeds {args.seeds})")
        report({name: value - bare for name, value in cost.items()}, "instructions")
        return 0

    names = ["bare", *contending]
    figures = rounds([runner(a) for a in (app, *contending.values(), app)], args.seconds,
                     args.repeat)
    times = dict(zip(names, figures))
    floor = noise(times["bare"], figures[-1])
    print(f"bare app: {min(times['bare']):.0f} ns/request; noise (bare timed twice) "
          f"{floor:.0f} ns; overheads are medians of per-round differences")
    report({name: paired(times[name], times["bare"]) for name in contending}, "ns", floor)
    return 0


if __name__ == "__main__":
    sys.exit(main())
