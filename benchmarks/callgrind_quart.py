"""The Quart drop-in's overhead in instructions per request, under callgrind,
beside quart-cors's on the same app and policy.

One Quart app (one route, ``/api/items``, methods GET, POST, PUT, DELETE)
is measured bare, with ``corsfast.contrib.quart.cors`` and with
``quart_cors.cors``, both given the same quart-cors arguments (the
scenario's exact origins, methods, three request headers, max age). Each
request is a new ASGI scope with new strings (``corsfast._bench``'s
``asgi_scope``), run to completion through ``app(scope, receive, send)`` on
one event loop, as a server's request task runs it. Every contender's
answer is checked as a browser would read it before it is counted (see
``corsfast._bench.verify``). Instructions are counted as in
``callgrind_middleware.py`` (benchmarks/_callgrind.py): overhead = the app
with CORS minus the bare app, per scenario.

    python benchmarks/callgrind_quart.py [--scenarios simple,preflight,refused,no-origin]
        [--seeds 0,1,2] [--requests 2000] [--json benchmarks/results/callgrind-quart.json]
        [--engine python]
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import sys
from typing import Any, Callable, Iterator, Optional

from _callgrind import Group, add_options, drive, report

from corsfast._bench import (
    HEADERS,
    MAX_AGE,
    METHODS,
    PATH,
    SCENARIOS,
    Answer,
    Scenario,
    add_engine_option,
    asgi_scope,
    ensure_engine,
    label,
    verify,
)

SCENARIO = {s.key: s for s in SCENARIOS}
DROP_IN = label("Quart drop-in")
LIBRARIES = ("bare app", DROP_IN, "quart-cors")


def quart_app(s: Scenario, library: str) -> Any:
    """The one-route Quart app, bare or with ``library``'s ``cors``."""
    from quart import Quart

    app = Quart("corsfast_bench")

    async def index() -> str:
        return "ok"

    app.add_url_rule(PATH, "index", index, methods=list(METHODS))
    if library == "bare app":
        return app
    if library == DROP_IN:
        from corsfast.contrib.quart import cors
    else:
        from quart_cors import cors
    return cors(app, allow_origin=list(s.exact), allow_methods=list(METHODS),
                allow_headers=list(HEADERS), max_age=MAX_AGE)


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
            await self.loop.create_future()  # no disconnect; Quart cancels this
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
    driver = Driver(quart_app(s, library))
    answer = driver.answer(s)
    wrong = (None if answer.status == 200 or s.preflight else f"status {answer.status}"
             ) if library == "bare app" else verify(s, answer)
    if wrong:
        raise SystemExit(f"{library} answers {s.key} wrong: {wrong}")
    return driver, lambda: (asgi_scope(s),)


def groups(scenarios: str) -> Iterator[Group]:
    for key in scenarios.split(","):
        s = SCENARIO[key]
        for name in LIBRARIES:
            runner(s, name)  # check every answer before anything is counted
        yield Group(f"Quart app: {s.title}", "quart", key, LIBRARIES, (key,))


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
                           "callgrind_quart.py")
    if status is not None:
        return status
    for module in ("quart", "quart_cors"):
        if importlib.util.find_spec(module) is None:
            raise SystemExit(f"{module} is not installed: pip install -e '.[bench]'")
    return report(__file__, args, groups(args.scenarios), DROP_IN)


if __name__ == "__main__":
    sys.exit(main())
