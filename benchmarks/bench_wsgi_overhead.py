"""Per-request overhead of CORS middleware on WSGI apps, in process.

Overhead = time(app with CORS) - time(the same app without), for one
allowed actual request from a browser-like client, with the same
credentialed policy everywhere. Each WSGI call runs to completion (body
consumed, ``close`` called) with a no-op ``start_response``. Every request
is a new environ of new ``str`` objects, built before the clock starts
(timing) or in both processes of a pair (callgrind).

    python benchmarks/bench_wsgi_overhead.py              # wall-clock time
    python benchmarks/bench_wsgi_overhead.py --callgrind  # instruction counts
    python benchmarks/bench_wsgi_overhead.py --engine python   # the pure-Python twin

Contenders: a plain WSGI app bare, with corsfast.wsgi ("generic") and with
wsgicors; each framework's app (Flask, Django, Falcon) bare, wrapped by
corsfast.wsgi, with corsfast's drop-in, and with the framework's own peer
(flask-cors, django-cors-headers, Falcon's CORSMiddleware). Before
measuring, each contender's answer is checked. Targets: corsfast.wsgi <=
1/3 of wsgicors' overhead (plain WSGI app); each drop-in <= 1.10 x
corsfast.wsgi around the same framework app.

Time: rounds interleave the contenders, each round's times are taken
against the bare app's in the same round, and the median over the rounds
is kept; the bare app is timed twice per round, and an overhead below what
it differs from itself by is "within noise". The overheads on Flask and
Django apps are a few percent of the app's own time, so on a busy machine
use many rounds, or the callgrind mode. That one runs each contender in its
own process under ``valgrind --tool=callgrind`` and divides the difference
(benchmarks/_callgrind.py): instructions per request, stable to within a
few hundred. Every process builds every contender of its framework, so all
runs share one memory layout; with ``--seeds`` the median over several hash
seeds is kept.
"""

from __future__ import annotations

import argparse
import io
import sys
from typing import Any, Callable

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
from corsfast.wsgi import CORSMiddleware

ORIGIN = "https://app.example.com"
ENVIRON: dict[str, Any] = {
    "REQUEST_METHOD": "GET",
    "SCRIPT_NAME": "",
    "PATH_INFO": "/api/items",
    "QUERY_STRING": "",
    "SERVER_NAME": "api.example.com",
    "SERVER_PORT": "80",
    "SERVER_PROTOCOL": "HTTP/1.1",
    "REMOTE_ADDR": "127.0.0.1",
    "HTTP_HOST": "api.example.com",
    "HTTP_USER_AGENT": "Mozilla/5.0 (X11; Linux x86_64) Chrome/126.0",
    "HTTP_ACCEPT": "*/*",
    "HTTP_ACCEPT_LANGUAGE": "en-US,en;q=0.9",
    "HTTP_ACCEPT_ENCODING": "gzip, deflate, br",
    "HTTP_ORIGIN": ORIGIN,
    "HTTP_REFERER": "https://app.example.com/",
    "HTTP_SEC_FETCH_MODE": "cors",
    "HTTP_SEC_FETCH_SITE": "same-site",
    "HTTP_CONNECTION": "keep-alive",
}
POLICY_ARGS: dict[str, Any] = {
    "allow_origins": [ORIGIN],
    "allow_methods": ["GET", "POST", "PUT"],
    "allow_headers": ["content-type", "x-token"],
    "allow_credentials": True,
    "expose_headers": ["x-request-id"],
    "max_age": 600,
}
WSGICORS_ARGS = {
    "origin": ORIGIN, "methods": "GET, POST, PUT", "headers": "content-type, x-token",
    "credentials": "true", "expose_headers": "x-request-id", "maxage": "600",
}
FLASK_ARGS = {"origins": [ORIGIN], "methods": ["GET", "POST", "PUT"],
              "allow_headers": ["content-type", "x-token"], "supports_credentials": True,
              "expose_headers": ["x-request-id"], "max_age": 600}
DJANGO_SETTINGS = {"CORS_ALLOWED_ORIGINS": [ORIGIN], "CORS_ALLOW_METHODS": ["GET", "POST", "PUT"],
                   "CORS_ALLOW_HEADERS": ["content-type", "x-token"],
                   "CORS_ALLOW_CREDENTIALS": True, "CORS_EXPOSE_HEADERS": ["x-request-id"],
                   "CORS_PREFLIGHT_MAX_AGE": 600}
FALCON_ARGS = {"allow_origins": [ORIGIN], "allow_credentials": [ORIGIN],
               "expose_headers": ["x-request-id"]}
TWIN_NOTE = " (python twin)" if TWIN else ""
GENERIC, DROP_IN = "generic" + TWIN_NOTE, "drop-in" + TWIN_NOTE
# The framework's own CORS, by framework (the plain app's peer is wsgicors).
PEER = {"plain": "wsgicors", "flask": "flask-cors", "django": "django-cors-headers",
        "falcon": "falcon"}

Headers = list[tuple[str, str]]


def new_environ() -> dict[str, Any]:
    """One request's environ: every str in it new, as from a server."""
    environ = {k: fresh(v) if isinstance(v, str) else v for k, v in ENVIRON.items()}
    environ.update({"wsgi.version": (1, 0), "wsgi.url_scheme": "http",
                    "wsgi.input": io.BytesIO(), "wsgi.errors": sys.stderr,
                    "wsgi.multithread": False, "wsgi.multiprocess": False,
                    "wsgi.run_once": False})
    return environ


def plain_app(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "5")])
    return [b"hello"]


class Capture:
    def __init__(self) -> None:
        self.headers: Headers = []

    def __call__(self, status: str, headers: Headers, exc_info: Any = None) -> Any:
        self.headers = headers
        return None


def _noop_start_response(status: str, headers: Headers, exc_info: Any = None) -> None:
    return None


def run(wsgi: Any, environ: dict[str, Any],
        start_response: Any = _noop_start_response) -> None:
    result = wsgi(environ, start_response)
    try:
        for _ in result:
            pass
    finally:
        close = getattr(result, "close", None)
        if close is not None:
            close()


def check(name: str, wsgi: Any, cors: bool, vary: bool = True) -> None:
    capture = Capture()
    run(wsgi, new_environ(), capture)
    headers = {k.lower(): v for k, v in capture.headers}
    if not cors:
        assert "access-control-allow-origin" not in headers, name
        return
    assert headers.get("access-control-allow-origin") == ORIGIN, (name, headers)
    assert headers.get("access-control-allow-credentials") == "true", name
    # corsfast must send vary: origin. Of the peers, Falcon's CORSMiddleware
    # never does, and flask-cors not with a single origin: their answers.
    assert not vary or "origin" in headers.get("vary", "").lower(), (name, headers)


def runner(wsgi: Any) -> Runner:
    return Runner(lambda environ: run(wsgi, environ), lambda: (new_environ(),), None)


# -- framework apps ----------------------------------------------------------------


def flask_apps() -> dict[str, Any]:
    import flask
    from flask_cors import CORS as FlaskCORS

    from corsfast.contrib.flask import CORS

    def build(cors: Any = None) -> Any:
        app = flask.Flask("bench")

        @app.route("/api/items")
        def items() -> str:
            return "hello"

        if cors is not None:
            cors(app, **FLASK_ARGS)
        return app

    return {"bare": build(), DROP_IN: build(CORS), "flask-cors": build(FlaskCORS)}


def django_apps() -> dict[str, Any]:
    import django
    from django.conf import settings

    if not settings.configured:
        settings.configure(DEBUG=False, SECRET_KEY="bench", ALLOWED_HOSTS=["*"],
                           ROOT_URLCONF=__name__, MIDDLEWARE=[], INSTALLED_APPS=[],
                           **DJANGO_SETTINGS)
        django.setup()
    from django.core.handlers.wsgi import WSGIHandler

    def build(*middleware: str) -> Any:
        settings.MIDDLEWARE = list(middleware)
        try:
            return WSGIHandler()
        finally:
            settings.MIDDLEWARE = []

    return {"bare": build(), DROP_IN: build("corsfast.contrib.django.CorsMiddleware"),
            "django-cors-headers": build("corsheaders.middleware.CorsMiddleware")}


def items_view(request: Any) -> Any:
    from django.http import HttpResponse
    return HttpResponse("hello")


def _urlpatterns() -> list[Any]:
    from django.urls import path
    return [path("api/items", items_view)]


def __getattr__(name: str) -> Any:  # Django reads this module as its URLconf
    if name == "urlpatterns":
        return _urlpatterns()
    raise AttributeError(name)


def falcon_apps() -> dict[str, Any]:
    import falcon

    from corsfast.contrib.falcon import CORSMiddleware as FalconCORS

    class Items:
        def on_get(self, req: Any, resp: Any) -> None:
            resp.text = "hello"

    def build(middleware: list[Any]) -> Any:
        app = falcon.App(middleware=middleware)
        app.add_route("/api/items", Items())
        return app

    return {"bare": build([]), DROP_IN: build([FalconCORS(**POLICY_ARGS)]),
            "falcon": build([falcon.CORSMiddleware(**FALCON_ARGS)])}


# -- contenders ----------------------------------------------------------------------


FRAMEWORKS = ("plain", "flask", "django", "falcon")
BUILDERS: dict[str, Callable[[], dict[str, Any]]] = {
    "flask": flask_apps, "django": django_apps, "falcon": falcon_apps}


def contenders(framework: str) -> dict[str, Any]:
    """Name -> WSGI app; "bare" first. Each answer is checked here."""
    if framework == "plain":
        from wsgicors import CORS as WsgiCors

        apps = {"bare": plain_app, GENERIC: CORSMiddleware(plain_app, **POLICY_ARGS),
                "wsgicors": WsgiCors(plain_app, **WSGICORS_ARGS)}
    else:
        built = BUILDERS[framework]()
        apps = {"bare": built.pop("bare")}
        apps[GENERIC] = CORSMiddleware(apps["bare"], **POLICY_ARGS)
        apps.update(built)
    for name, wsgi in apps.items():
        check(f"{framework} {name}", wsgi, cors=name != "bare",
              vary=name in (GENERIC, DROP_IN))
    return apps


def ratios(framework: str, cost: dict[str, float]) -> str:
    """The figures that have targets, from overheads (bare already taken off)."""
    generic, peer = cost[GENERIC], cost[PEER[framework]]
    if generic <= 0:
        return "corsfast's overhead is within noise: no ratio"
    if framework == "plain":
        return f"corsfast.wsgi / wsgicors {generic / peer:.3f} (target <= 0.333)"
    return (f"drop-in / generic {cost[DROP_IN] / generic:.2f} (target <= 1.10); "
            f"{PEER[framework]} / drop-in {peer / max(cost[DROP_IN], 1e-9):.1f}x")


def shown(cost: dict[str, float], unit: str, floor: float = 0.0) -> str:
    return ", ".join(f"{name} {value:.0f}{unit}" if value > floor else f"{name} within noise"
                     for name, value in cost.items())


# -- wall-clock mode --------------------------------------------------------------


def time_all(seconds: float, repeat: int, frameworks: tuple[str, ...]) -> None:
    for framework in frameworks:
        apps = contenders(framework)
        names = list(apps)
        figures = rounds([runner(a) for a in (*apps.values(), apps["bare"])], seconds, repeat)
        times = dict(zip(names, figures))
        floor = noise(times["bare"], figures[-1])
        cost = {name: paired(times[name], times["bare"]) for name in names[1:]}
        print(f"{framework}: bare {min(times['bare']):.0f} ns/request, noise {floor:.0f} ns; "
              f"overhead {shown(cost, ' ns', floor)}; "
              f"{ratios(framework, {k: v if v > floor else 0.0 for k, v in cost.items()})}",
              flush=True)


# -- callgrind mode ---------------------------------------------------------------------


def callgrind_all(requests: int, seeds: list[int], jobs: int,
                  frameworks: tuple[str, ...], path: str | None) -> None:
    records = []
    for framework in frameworks:
        per_request_cost = per_request(__file__, list(contenders(framework)), requests,
                                       seeds, jobs, prefix=(framework,))
        records += [dict(where=f"wsgi-overhead:{framework}", scenario="simple-credentials",
                         library=name, instructions=value)
                    for name, value in per_request_cost.items()]
        base = per_request_cost.pop("bare")
        cost = {name: value - base for name, value in per_request_cost.items()}
        print(f"{framework}: bare {base:.0f} instructions/request; overhead "
              f"{shown(cost, '')}; {ratios(framework, cost)}", flush=True)
    if path:
        save(path, records, requests, seeds, __file__)


# -- main -----------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=0.004, help="seconds per batch")
    parser.add_argument("--repeat", type=int, default=60, help="timed rounds")
    add_options(parser, requests=2000, seeds="0")
    add_engine_option(parser)
    parser.add_argument("--frameworks", default=",".join(FRAMEWORKS),
                        help="comma-separated subset of: " + ", ".join(FRAMEWORKS))
    parser.add_argument("--run", nargs=4, metavar=("FRAMEWORK", "NAME", "BUILT", "RUN"),
                        help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.run:  # one callgrind process: build, check, warm up, run
        framework, name, built, requests = args.run
        r = runner(contenders(framework)[name])
        drive(r.make, r.func, 50, int(built), int(requests))
        return 0
    frameworks = tuple(name.strip() for name in args.frameworks.split(",") if name.strip())
    unknown = sorted(set(frameworks) - set(FRAMEWORKS))
    if unknown:
        parser.error(f"unknown frameworks {unknown}; choose from {', '.join(FRAMEWORKS)}")
    status = ensure_engine(args.engine, [sys.executable, __file__, *argv],
                           "bench_wsgi_overhead.py")
    if status is not None:
        return status
    print(engine_line())
    print(environment())
    if args.callgrind:
        callgrind_all(args.requests, seed_list(args.seeds), args.jobs, frameworks, args.json)
    else:
        time_all(args.seconds, args.repeat, frameworks)
    return 0


if __name__ == "__main__":
    sys.exit(main())
