"""The Litestar plugin's overhead in instructions per request, under callgrind,
beside Litestar's own CORS on the same app and configuration.

One Litestar app (one route, ``/api/items``, methods GET, POST, PUT,
DELETE) is measured bare, with ``corsfast.contrib.litestar.CORSPlugin`` and
with Litestar's ``cors_config``, both given the same ``CORSConfig`` (the
scenario's exact origins, methods, three request headers, max age). Each
request is a new ASGI scope with new strings (``corsfast._bench``'s
``asgi_scope``), run to completion through ``app(scope, receive, send)`` on
one event loop, as a server's request task runs it. Every contender's
answer is checked as a browser would read it before it is counted (see
``corsfast._bench.verify``). Instructions are counted as in
``callgrind_middleware.py`` (benchmarks/_callgrind.py): overhead = the app
with CORS minus the bare app, per scenario.

    python benchmarks/callgrind_litestar.py [--scenarios simple,preflight,refused,no-origin]
        [--seeds 0,1,2] [--requests 2000] [--json benchmarks/results/callgrind-litestar.json]
        [--engine python]
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import sys
from typing import Any, Callable, Optional

from _callgrind import add_options, drive, per_request, save, seed_list

from corsfast._bench import (
    METHODS,
    PATH,
    SCENARIOS,
    Answer,
    Scenario,
    add_engine_option,
    asgi_scope,
    engine_line,
    ensure_engine,
    environment,
    label,
    litestar_config,
    verify,
)

SCENARIO = {s.key: s for s in SCENARIOS}
PLUGIN = label("Litestar plugin")
LIBRARIES = ("bare app", PLUGIN, "litestar cors_config")


def litestar_app(s: Scenario, library: str) -> Any:
    """The one-route Litestar app, bare, with the plugin, or with its own CORS."""
    import litestar
    from litestar.enums import MediaType

    async def index() -> str:
        return "ok"

    methods: Any = list(METHODS)
    handler = litestar.route(PATH, http_method=methods, media_type=MediaType.TEXT,
                             status_code=200)(index)
    options: dict[str, Any] = {}
    if library == PLUGIN:
        from corsfast.contrib.litestar import CORSPlugin

        options["plugins"] = [CORSPlugin(litestar_config(s))]
    elif library != "bare app":
        options["cors_config"] = litestar_config(s)
    return litestar.Litestar(route_handlers=[handler], openapi_config=None, **options)


class Driver:
    """Runs one request to completion on a loop kept for the process."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.loop = asyncio.new_event_loop()
        self.sent: Optional[list[Any]] = None

    async def _serve(self, scope: Any) -> None:
        delivered = False

        async def receive() -> dict[str, Any]:
            nonlocal delivered
            if not delivered:
                delivered = True
                return {"type": "http.request", "body": b"", "more_body": False}
            await self.loop.create_future()  # never asked for: the handler reads no body
            return {"type": "http.disconnect"}

        async def send(message: Any) -> None:
            if self.sent is not None:
                self.sent.append(message)

        await self.app(scope, receive, send)

    def __call__(self, scope: Any) -> None:
        self.loop.run_until_complete(self._serve(scope))

    def answer(self, s: Scenario) -> Answer:
        self.sent = []
        try:
            self(asgi_scope(s))
            start = next(m for m in self.sent if m["type"] == "http.response.start")
        finally:
            self.sent = None
        return Answer(start["status"], [(bytes(k).decode("latin-1"), bytes(v).decode(
            "latin-1")) for k, v in start["headers"]])


def runner(s: Scenario, library: str) -> tuple[Callable[..., Any], Callable[[], tuple[Any]]]:
    """The step and the request maker; a wrong answer raises."""
    driver = Driver(litestar_app(s, library))
    answer = driver.answer(s)
    wrong = (None if answer.status in (200, 204) or s.preflight else f"status {answer.status}"
             ) if library == "bare app" else verify(s, answer)
    if wrong:
        raise SystemExit(f"{library} answers {s.key} wrong: {wrong}")
    return driver, lambda: (asgi_scope(s),)


def main(argv: Optional[list[str]] = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenarios", default="simple,preflight,refused,no-origin",
                        help=f"comma-separated, of: {', '.join(SCENARIO)}")
    add_options(parser, requests=2000, seeds="0,1,2")
    add_engine_option(parser)
    parser.add_argument("--run", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.run:
        scenario, name, built, run = args.run
        step, make = runner(SCENARIO[scenario], name)
        drive(make, step, 200, int(built), int(run))
        return 0
    status = ensure_engine(args.engine, [sys.executable, __file__, *argv],
                           "callgrind_litestar.py")
    if status is not None:
        return status
    if importlib.util.find_spec("litestar") is None:
        raise SystemExit("litestar is not installed: pip install -e '.[bench]'")
    seeds = seed_list(args.seeds)
    print(engine_line())
    print(f"{environment()}; instructions per request, median of hash seeds {args.seeds}")
    records: list[dict[str, Any]] = []
    for key in args.scenarios.split(","):
        s = SCENARIO[key]
        for name in LIBRARIES:
            runner(s, name)  # check every answer before anything is counted
        print(f"Litestar app: {s.title}", flush=True)
        cost = per_request(__file__, LIBRARIES, args.requests, seeds, args.jobs,
                           prefix=(key,))
        records += [dict(where="litestar", scenario=key, library=name, instructions=value)
                    for name, value in cost.items()]
        bare = cost.pop("bare app")
        ours = cost[PLUGIN] - bare
        print(f"  {'bare app':34s} {bare:9.0f}")
        for name, value in cost.items():
            ratio = f"{(value - bare) / ours:6.2f}x the plugin's overhead" if ours > 0 else ""
            print(f"  {name:34s} {value - bare:+9.0f}   {ratio}", flush=True)
    if args.json:
        save(args.json, records, args.requests, seeds, __file__)
    return 0


if __name__ == "__main__":
    sys.exit(main())
