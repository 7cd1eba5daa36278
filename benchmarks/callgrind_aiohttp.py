"""aiohttp: CORS overhead in instructions per request, under callgrind.

One aiohttp app (``/api/items``: GET, POST, PUT, DELETE routes, and an
OPTIONS route answering an empty 200 where no CORS library adds its own),
bare, with aiohttp-cors, with corsfast's aiohttp-cors API
(``corsfast.contrib.aiohttp.setup``, the same options) and with corsfast's
middleware (the same policy): the scenario's exact origins with
credentials, the three request headers, one exposed header and a max age.

No mocks: each app runs under aiohttp's own request handling, as its
server runs it. A ``web.AppRunner`` makes the server; its
``RequestHandler`` (the protocol) is connected to a transport that keeps
the bytes written to it; every request is new bytes on that keep-alive
connection, fed to ``data_received``, so aiohttp's HTTP parser makes the
``RawRequestMessage``, the handler builds the ``web.Request``, routes it,
runs the middlewares and the handler, prepares the response (the
``on_response_prepare`` signal, where the drop-ins write actual requests'
headers) and writes it to the transport. The loop runs until the access
logger (aiohttp's hook at the end of each request) says the request is
done. Every answer is read back from those bytes and checked as a browser
reads it before it is counted; overhead = wrapped app minus bare app (see
benchmarks/_callgrind.py). For actual requests a floor is counted too: an
``on_response_prepare`` hook that adds the headers the drop-in answers
with, known in advance: what any hook pays for the signal and for those
headers on the wire, before it reads or decides anything.

    python benchmarks/callgrind_aiohttp.py [--scenarios simple,preflight,refused,no-origin] \\
        [--seeds 0,1,2] [--requests 2000] [--json benchmarks/results/callgrind-aiohttp.json] \\
        [--engine python]
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import logging
import sys
import warnings
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
    ensure_engine,
    header_pairs,
    label,
    verify,
)

SCENARIO = {s.key: s for s in SCENARIOS}
EXPOSED = "X-Total"
DROP_IN = label("aiohttp-cors API")
MIDDLEWARE = label("aiohttp middleware")
# The least a response hook can cost: it adds the headers the drop-in
# answers with, known in advance (actual requests only: a preflight is
# answered by a route).
FLOOR = "floor: a hook adds known headers"
KINDS = ("bare app", "aiohttp-cors", DROP_IN, MIDDLEWARE)


def kinds(s: Scenario) -> tuple[str, ...]:
    return KINDS if s.preflight else (*KINDS, FLOOR)


# -- the app ------------------------------------------------------------------------


async def _handler(request: Any) -> Any:
    from aiohttp import web
    return web.Response(text="ok", headers={EXPOSED: "3"})


async def _options(request: Any) -> Any:
    """The bare app's own OPTIONS answer: 200, empty (what a preflight's
    overhead is counted against; without it aiohttp answers 405)."""
    from aiohttp import web
    return web.Response()


def app_for(s: Scenario, kind: str) -> Any:
    """The app, bare or with ``kind``'s CORS for ``s``'s origins."""
    from aiohttp import web
    app = web.Application()
    if kind == MIDDLEWARE:
        from corsfast.contrib.aiohttp import cors_middleware
        cors_middleware(allow_origins=list(s.exact), allow_methods=list(METHODS),
                        allow_headers=list(HEADERS), expose_headers=[EXPOSED],
                        allow_credentials=True, max_age=MAX_AGE).install(app)
    if kind == FLOOR:
        known = known_headers(s)

        async def add_known(request: Any, response: Any) -> None:
            response.headers.extend(known)
        app.on_response_prepare.append(add_known)
    resource = app.router.add_resource(PATH)
    routes = [resource.add_route(method, _handler) for method in METHODS]
    if kind not in ("aiohttp-cors", DROP_IN):  # those add the resource's OPTIONS route
        resource.add_route("OPTIONS", _options)
    if kind in ("aiohttp-cors", DROP_IN):
        if kind == "aiohttp-cors":
            import aiohttp_cors as api
        else:
            from corsfast.contrib import aiohttp as api
        cors = api.setup(app)
        options = api.ResourceOptions(allow_credentials=True, expose_headers=(EXPOSED,),
                                      allow_headers=HEADERS, max_age=MAX_AGE)
        cors.add(resource, dict.fromkeys(s.exact, options))
        for route in routes:
            cors.add(route)
    return app


# -- aiohttp's request handling, over a transport that keeps the bytes ---------------


class Transport(asyncio.Transport):
    """A connected socket's stand-in: keeps what is written while
    ``sink`` is a list, drops it otherwise."""

    def __init__(self) -> None:
        super().__init__()
        self.sink: Optional[list[bytes]] = None
        self.closed = False

    def write(self, data: Any) -> None:
        if self.sink is not None:
            self.sink.append(bytes(data))

    def writelines(self, chunks: Any) -> None:
        for chunk in chunks:
            self.write(chunk)

    def is_closing(self) -> bool:
        return self.closed

    def close(self) -> None:
        self.closed = True

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return {"peername": ("127.0.0.1", 50000),
                "sockname": ("127.0.0.1", 8000)}.get(name, default)

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass


def _access_logger() -> type:
    from aiohttp.abc import AbstractAccessLogger

    class Done(AbstractAccessLogger):
        """aiohttp calls ``log`` once a response is written: the request
        is done."""

        waiter: Optional[asyncio.Future[None]] = None

        def log(self, request: Any, response: Any, time: float) -> None:
            waiter = Done.waiter
            if waiter is not None:
                Done.waiter = None
                waiter.set_result(None)

    return Done


class Connection:
    """One keep-alive connection to ``app``, on a loop kept for the process."""

    def __init__(self, app: Any) -> None:
        from aiohttp import web
        self.loop = asyncio.new_event_loop()
        asyncio.set_event_loop(self.loop)
        self.done = _access_logger()
        runner = web.AppRunner(app, access_log_class=self.done,
                               access_log=logging.getLogger("corsfast.bench.aiohttp"),
                               keepalive_timeout=86400)
        self.runner = runner
        self.loop.run_until_complete(runner.setup())
        assert runner.server is not None
        self.transport = Transport()
        self.protocol = runner.server()
        self.protocol.connection_made(self.transport)

    def __call__(self, raw: bytes) -> None:
        """One request, handled to its end."""
        waiter = self.done.waiter = self.loop.create_future()
        self.protocol.data_received(raw)
        self.loop.run_until_complete(waiter)

    def close(self) -> None:
        """The connection lost, the app cleaned up, the loop closed."""
        self.protocol.connection_lost(None)
        self.loop.run_until_complete(self.runner.cleanup())
        self.loop.close()

    def answer(self, raw: bytes) -> Answer:
        """The status and headers written for ``raw``."""
        sink: list[bytes] = []
        self.transport.sink = sink
        try:
            self(raw)
        finally:
            self.transport.sink = None
        if self.transport.closed:
            raise RuntimeError("aiohttp closed the keep-alive connection")
        head = b"".join(sink).split(b"\r\n\r\n", 1)[0].decode("latin-1").split("\r\n")
        headers = [tuple(line.split(": ", 1)) for line in head[1:]]
        return Answer(int(head[0].split(" ")[1]), [(k, v) for k, v in headers])


def known_headers(s: Scenario) -> list[tuple[str, str]]:
    """The CORS headers (and vary) the drop-in answers ``s`` with."""
    connection = Connection(app_for(s, DROP_IN))
    answer = connection.answer(request_bytes(s))
    connection.close()
    return [(k, v) for k, v in answer.headers
            if k.lower().startswith("access-control-") or k.lower() == "vary"]


def request_bytes(s: Scenario) -> bytes:
    """What a browser sends for ``s``, as new bytes."""
    lines = [f"{s.method} {PATH} HTTP/1.1", *(f"{k}: {v}" for k, v in header_pairs(s))]
    return bytes(bytearray(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")))


def wrong(s: Scenario, kind: str, a: Answer) -> Optional[str]:
    """Why ``a`` is not what ``kind`` must answer for ``s``, or None."""
    if kind == "bare app":
        return None if a.status == 200 or s.preflight else f"status {a.status}"
    problem = verify(s, a)
    if problem or s.expect != "allow":
        return problem
    if a.tokens("access-control-allow-credentials") != ["true"]:
        return "no credentials"
    if not s.preflight and a.tokens("access-control-expose-headers") != [EXPOSED.lower()]:
        return f"{EXPOSED} not exposed"
    return None


def runner(s: Scenario, kind: str) -> tuple[Callable[[], tuple[bytes]], Connection]:
    """The request maker and the step; a wrong answer raises."""
    connection = Connection(app_for(s, kind))
    problem = wrong(s, kind, connection.answer(request_bytes(s)))
    if problem:
        raise SystemExit(f"{kind} answers {s.key} wrong: {problem}")
    return (lambda: (request_bytes(s),)), connection


def groups(scenarios: str) -> Iterator[Group]:
    for key in scenarios.split(","):
        s = SCENARIO[key]
        for kind in kinds(s):
            runner(s, kind)[1].close()  # every answer checked before anything is counted
        yield Group(f"aiohttp app: {s.title}", "aiohttp", key, kinds(s), (key,))


def main(argv: Optional[list[str]] = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenarios", default="simple,preflight,refused,no-origin",
                        help=f"comma-separated, of: {', '.join(SCENARIO)}")
    add_options(parser, requests=2000, seeds="0,1,2")
    add_engine_option(parser)
    parser.add_argument("--run", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    warnings.simplefilter("ignore")  # the policies' warnings, said once per process
    if args.run:
        scenario, kind, built, run = args.run
        make, step = runner(SCENARIO[scenario], kind)
        drive(make, step, 200, int(built), int(run))
        return 0
    status = ensure_engine(args.engine, [sys.executable, __file__, *argv],
                           "callgrind_aiohttp.py")
    if status is not None:
        return status
    for module in ("aiohttp", "aiohttp_cors"):
        if importlib.util.find_spec(module) is None:
            raise SystemExit(f"{module} is not installed: pip install -e '.[bench]'")
    return report(__file__, args, groups(args.scenarios), DROP_IN)


if __name__ == "__main__":
    sys.exit(main())
