"""Per-request overhead of CORS middleware on WSGI apps, in process.

Overhead = time(app with CORS) - time(the same app without), for one
allowed actual request from a browser-like client, with the same policy
everywhere. Each WSGI call runs to completion (body consumed, ``close``
called) with a no-op ``start_response``; every environ is a fresh copy.

    python benchmarks/bench_wsgi_overhead.py              # wall-clock time
    python benchmarks/bench_wsgi_overhead.py --callgrind  # instruction counts
    CORSFAST_NO_EXTENSIONS=1 python benchmarks/...        # pure-Python twin

Before measuring, each contender's answer is checked. Targets:
corsfast.wsgi <= 1/3 of wsgicors' overhead (plain WSGI app); each drop-in
(Flask, Django, Falcon) <= 1.10 x corsfast.wsgi around the same framework
app.

Time: rounds interleave the contenders, each round's times are taken
against the bare app's in the same round, and the median over the rounds
is kept. The overheads on Flask and Django apps are a few percent of the
app's own time, so on a busy machine use many rounds, or the callgrind
mode. That one runs
each contender in its own process under ``valgrind --tool=callgrind`` with
0 and with ``--requests`` requests and divides the difference: instructions
per request, stable to within a few hundred. Every process builds every
contender of its framework, so all runs share one memory layout; with
``--seeds`` the median over several hash seeds is kept.
"""

from __future__ import annotations

import argparse
import io
import statistics
import timeit
from typing import Any, Callable

from _callgrind import add_options, drive, per_request, seed_list

import corsfast
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
    "wsgi.version": (1, 0),
    "wsgi.url_scheme": "http",
    "wsgi.errors": io.StringIO(),
    "wsgi.multithread": False,
    "wsgi.multiprocess": False,
    "wsgi.run_once": False,
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

Headers = list[tuple[str, str]]


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


def run(wsgi: Any, start_response: Any = _noop_start_response) -> None:
    environ = dict(ENVIRON)
    environ["wsgi.input"] = io.BytesIO()
    result = wsgi(environ, start_response)
    try:
        for _ in result:
            pass
    finally:
        close = getattr(result, "close", None)
        if close is not None:
            close()


def check(name: str, wsgi: Any, cors: bool) -> None:
    capture = Capture()
    run(wsgi, capture)
    headers = {k.lower(): v for k, v in capture.headers}
    if not cors:
        assert "access-control-allow-origin" not in headers, name
        return
    assert headers.get("access-control-allow-origin") == ORIGIN, (name, headers)
    assert headers.get("access-control-allow-credentials") == "true", name
    assert "origin" in headers.get("vary", "").lower(), name


def measure(contenders: dict[str, Any], number: int, repeat: int) -> dict[str, float]:
    """Overhead per call of each contender over "bare", in seconds.

    Rounds interleave the contenders; within a round each one's time is
    taken against bare's time in the same round (so a slow spell of the
    machine hits both), and the median of those differences over the
    rounds is kept. ``timeit`` turns the garbage collector off while timing.
    """
    timers = {name: timeit.Timer(lambda wsgi=wsgi: run(wsgi))
              for name, wsgi in contenders.items()}
    differences: dict[str, list[float]] = {name: [] for name in contenders if name != "bare"}
    bare_times: list[float] = []
    for _ in range(repeat):
        times = {name: timer.timeit(number) / number for name, timer in timers.items()}
        bare_times.append(times["bare"])
        for name in differences:
            differences[name].append(times[name] - times["bare"])
    result = {name: statistics.median(values) for name, values in differences.items()}
    result["bare"] = min(bare_times)
    return result


# -- framework apps ----------------------------------------------------------------


def flask_apps() -> tuple[Any, Any]:
    import flask

    from corsfast.contrib.flask import CORS

    def build(with_cors: bool) -> Any:
        app = flask.Flask("bench")

        @app.route("/api/items")
        def items() -> str:
            return "hello"

        if with_cors:
            CORS(app, **FLASK_ARGS)
        return app

    return build(False), build(True)


def django_apps() -> tuple[Any, Any]:
    import django
    from django.conf import settings

    if not settings.configured:
        settings.configure(DEBUG=False, SECRET_KEY="bench", ALLOWED_HOSTS=["*"],
                           ROOT_URLCONF=__name__, MIDDLEWARE=[], INSTALLED_APPS=[],
                           **DJANGO_SETTINGS)
        django.setup()
    from django.core.handlers.wsgi import WSGIHandler

    bare = WSGIHandler()
    settings.MIDDLEWARE = ["corsfast.contrib.django.CorsMiddleware"]
    with_cors = WSGIHandler()
    return bare, with_cors


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


def falcon_apps() -> tuple[Any, Any]:
    import falcon

    from corsfast.contrib.falcon import CORSMiddleware as FalconCORS

    class Items:
        def on_get(self, req: Any, resp: Any) -> None:
            resp.text = "hello"

    def build(middleware: list[Any]) -> Any:
        app = falcon.App(middleware=middleware)
        app.add_route("/api/items", Items())
        return app

    return build([]), build([FalconCORS(**POLICY_ARGS)])


# -- contenders ----------------------------------------------------------------------


FRAMEWORKS = ("plain", "flask", "django", "falcon")
BUILDERS: dict[str, Callable[[], tuple[Any, Any]]] = {
    "flask": flask_apps, "django": django_apps, "falcon": falcon_apps}


def contenders(framework: str) -> dict[str, Any]:
    """Name -> WSGI app; "bare" first. Each answer is checked here."""
    if framework == "plain":
        from wsgicors import CORS as WsgiCors

        apps = {"bare": plain_app,
                "wsgicors": WsgiCors(plain_app, **WSGICORS_ARGS),
                "generic": CORSMiddleware(plain_app, **POLICY_ARGS)}
    else:
        bare, drop_in = BUILDERS[framework]()
        apps = {"bare": bare, "generic": CORSMiddleware(bare, **POLICY_ARGS),
                "drop-in": drop_in}
    for name, wsgi in apps.items():
        check(f"{framework} {name}", wsgi, cors=name != "bare")
    return apps


def ratios(framework: str, cost: dict[str, float]) -> str:
    """The figures that have targets, from overheads (bare already taken off)."""
    if framework == "plain":
        return (f"corsfast.wsgi / wsgicors {cost['generic'] / cost['wsgicors']:.3f} "
                f"(target <= 0.333)")
    return f"drop-in / generic {cost['drop-in'] / cost['generic']:.2f} (target <= 1.10)"


# -- wall-clock mode --------------------------------------------------------------


def time_all(number: int, repeat: int, frameworks: tuple[str, ...] = FRAMEWORKS) -> None:
    for framework in frameworks:
        apps = contenders(framework)
        scale = 4 if framework == "plain" else 1
        cost = measure(apps, number * scale, repeat)
        base = cost.pop("bare")
        parts = ", ".join(f"{name} {value * 1e9:.0f} ns" for name, value in cost.items())
        print(f"{framework}: bare {base * 1e9:.0f} ns/request; overhead {parts}; "
              f"{ratios(framework, cost)}")


# -- callgrind mode ---------------------------------------------------------------------


def run_only(framework: str, name: str, requests: int) -> None:
    """The body of one callgrind process: build, check, warm up, run."""
    wsgi = contenders(framework)[name]
    drive(lambda: run(wsgi), 50, requests)


def callgrind_all(requests: int, seeds: list[int], jobs: int,
                  frameworks: tuple[str, ...] = FRAMEWORKS) -> None:
    for framework in frameworks:
        per_request_cost = per_request(__file__, list(contenders(framework)), requests,
                                       seeds, jobs, prefix=(framework,))
        base = per_request_cost.pop("bare")
        cost = {name: value - base for name, value in per_request_cost.items()}
        parts = ", ".join(f"{name} {value:.0f}" for name, value in cost.items())
        print(f"{framework}: bare {base:.0f} instructions/request; overhead {parts}; "
              f"{ratios(framework, cost)}", flush=True)


# -- main -----------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--number", type=int, default=1000,
                        help="requests per timed round (x4 for the plain app)")
    parser.add_argument("--repeat", type=int, default=60, help="timed rounds")
    add_options(parser, requests=2000, seeds="0")
    parser.add_argument("--frameworks", default=",".join(FRAMEWORKS),
                        help="comma-separated subset of: " + ", ".join(FRAMEWORKS))
    parser.add_argument("--run", nargs=3, metavar=("FRAMEWORK", "NAME", "N"),
                        help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.run:
        framework, name, requests = args.run
        run_only(framework, name, int(requests))
        return
    frameworks = tuple(name.strip() for name in args.frameworks.split(",") if name.strip())
    unknown = sorted(set(frameworks) - set(FRAMEWORKS))
    if unknown:
        parser.error(f"unknown frameworks {unknown}; choose from {', '.join(FRAMEWORKS)}")
    print(f"engine: {corsfast.ENGINE}")
    if args.callgrind:
        callgrind_all(args.requests, seed_list(args.seeds),
                      args.jobs, frameworks)
    else:
        time_all(args.number, args.repeat, frameworks)


if __name__ == "__main__":
    main()
