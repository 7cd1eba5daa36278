"""aiohttp: CORS overhead in instructions per request, under callgrind.

One aiohttp app (a GET/PUT resource), bare, with aiohttp-cors, with
corsfast's aiohttp-cors API (``corsfast.contrib.aiohttp.setup``, the same
options) and with corsfast's middleware (the same policy). Each request is
a new ``web.Request`` (``aiohttp.test_utils.make_mocked_request``) taken
through what aiohttp's server does with it: ``app._handle`` (routing,
middlewares, handler), then ``response.prepare`` (the
``on_response_prepare`` signal, where both libraries write actual
requests' headers) and ``write_eof``. Every answer is checked before it
is counted; overhead = wrapped app minus bare app (see _callgrind.py).

    python benchmarks/callgrind_aiohttp.py [--scenarios simple,preflight,no-origin] \\
        [--seeds 0,1,2] [--json benchmarks/results/callgrind-aiohttp.json] [--engine python]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import warnings
from typing import Any, Callable

from _callgrind import add_options, drive, per_request, save, seed_list

from corsfast._bench import add_engine_option, engine_line, ensure_engine, environment

ORIGIN = "https://app.example.com"
PATH = "/api/items"
SCENARIOS: dict[str, tuple[str, dict[str, str]]] = {
    "simple": ("GET", {"Origin": ORIGIN}),
    "preflight": ("OPTIONS", {"Origin": ORIGIN, "Access-Control-Request-Method": "PUT",
                              "Access-Control-Request-Headers": "content-type, x-token"}),
    "no-origin": ("GET", {}),
}
OPTIONS = dict(allow_credentials=True, expose_headers=("X-Total",),
               allow_headers=("Content-Type", "X-Token"), max_age=600)


async def _handler(request: Any) -> Any:
    from aiohttp import web
    return web.Response(text="ok", headers={"X-Total": "3"})


def _app(kind: str) -> Any:
    from aiohttp import web
    app = web.Application()
    if kind == "corsfast middleware":
        from corsfast.contrib.aiohttp import cors_middleware
        cors_middleware(allow_origins=[ORIGIN], allow_methods=["GET", "PUT"],
                        allow_headers=["content-type", "x-token"],
                        expose_headers=["X-Total"], allow_credentials=True,
                        max_age=600).install(app)
    resource = app.router.add_resource(PATH)
    get = resource.add_route("GET", _handler)
    put = resource.add_route("PUT", _handler)
    if kind in ("aiohttp-cors", "corsfast aiohttp-cors API"):
        if kind == "aiohttp-cors":
            import aiohttp_cors as api
        else:
            from corsfast.contrib import aiohttp as api
        cors = api.setup(app)
        cors.add(resource, {ORIGIN: api.ResourceOptions(**OPTIONS)})
        cors.add(get)
        cors.add(put)
    app.freeze()
    return app


def _run(coro: Any) -> Any:
    """Run a coroutine that never waits (the mocked transport never
    blocks) to its end, without an event loop turn."""
    try:
        coro.send(None)
    except StopIteration as stop:
        return stop.value
    raise RuntimeError("the request waited for something")


def runner(kind: str, scenario: str) -> tuple[Callable[[], tuple[Any, ...]], Callable[..., Any]]:
    from aiohttp import web
    from aiohttp.test_utils import make_mocked_request
    from multidict import CIMultiDict
    method, headers = SCENARIOS[scenario]
    app = _app(kind)

    def make() -> tuple[Any, ...]:
        return (make_mocked_request(method, PATH, CIMultiDict(headers), app=app),)

    def step(request: Any) -> Any:
        try:
            response = _run(app._handle(request))
        except web.HTTPException as exc:
            response = exc
        _run(response.prepare(request))
        _run(response.write_eof())
        return response

    return make, step


def check(kind: str, scenario: str) -> None:
    """The answer each contender must give before it is measured."""
    make, step = runner(kind, scenario)
    response = step(*make())
    acao = response.headers.get("Access-Control-Allow-Origin")
    want = ORIGIN if kind != "bare app" and scenario != "no-origin" else None
    if acao != want or (want and scenario == "preflight" and response.status != 200
                        and response.status != 204):
        raise SystemExit(f"{kind}, {scenario}: wrong answer {response.status} {acao!r}")


KINDS = ("bare app", "aiohttp-cors", "corsfast aiohttp-cors API", "corsfast middleware")


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenarios", default="simple,preflight,no-origin")
    add_options(parser, requests=2000, seeds="0,1,2")
    add_engine_option(parser)
    parser.add_argument("--run", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    asyncio.set_event_loop(asyncio.new_event_loop())  # what aiohttp asks for
    warnings.simplefilter("ignore")
    if args.run:
        scenario, kind, built, run = args.run
        make, step = runner(kind, scenario)
        drive(make, step, 200, int(built), int(run))
        return 0
    status = ensure_engine(args.engine, [sys.executable, __file__, *argv],
                           "callgrind_aiohttp.py")
    if status is not None:
        return status
    seeds = seed_list(args.seeds)
    print(engine_line())
    print(f"{environment()}; instructions per request, median of hash seeds {args.seeds}")
    records: list[dict[str, Any]] = []
    for scenario in args.scenarios.split(","):
        for kind in KINDS:
            check(kind, scenario)
        print(f"aiohttp app: {scenario}", flush=True)
        cost = per_request(__file__, KINDS, args.requests, seeds, args.jobs,
                           prefix=(scenario,))
        records += [dict(where="aiohttp", scenario=scenario, library=name,
                         instructions=value) for name, value in cost.items()]
        bare = cost["bare app"]
        peer = cost["aiohttp-cors"] - bare
        print(f"  {'bare app':28s} {bare:9.0f}")
        for name in KINDS[1:]:
            extra = cost[name] - bare
            ratio = f"{peer / extra:6.1f}x below aiohttp-cors" if extra > 0 and \
                name != "aiohttp-cors" else ""
            print(f"  {name:28s} {extra:+9.0f}   {ratio}", flush=True)
    if args.json:
        save(args.json, records, args.requests, seeds, __file__)
    return 0


if __name__ == "__main__":
    sys.exit(main())
