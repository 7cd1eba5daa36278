"""Per-request overhead of CORS middleware on WSGI apps, in process.

Overhead = time(app with CORS) - time(the same app without), for one
allowed actual request from a browser-like client, with the same policy
everywhere. Each WSGI call runs to completion (body consumed, ``close``
called) with a no-op ``start_response``; every environ is a fresh copy.

    python benchmarks/bench_wsgi_overhead.py            # live engine
    CORSFAST_NO_EXTENSIONS=1 python benchmarks/...      # pure-Python twin

Before timing, each contender's answer is checked. Targets:
corsfast.wsgi <= 1/3 of wsgicors' overhead (plain WSGI app); each drop-in
(Flask, Django, Falcon) <= 1.10 x corsfast.wsgi around the same framework
app.
"""

from __future__ import annotations

import argparse
import io
import timeit
from typing import Any, Callable

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
    """Best time per call of each contender, rounds interleaved."""
    best = {name: float("inf") for name in contenders}
    timers = {name: timeit.Timer(lambda wsgi=wsgi: run(wsgi))
              for name, wsgi in contenders.items()}
    for _ in range(repeat):
        for name, timer in timers.items():
            best[name] = min(best[name], timer.timeit(number) / number)
    return best


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


# -- main -----------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--number", type=int, default=500)
    parser.add_argument("--repeat", type=int, default=40)
    args = parser.parse_args()

    from wsgicors import CORS as WsgiCors

    print(f"engine: {corsfast.ENGINE}")
    contenders = {
        "wsgicors": WsgiCors(plain_app, **WSGICORS_ARGS),
        "corsfast.wsgi": CORSMiddleware(plain_app, **POLICY_ARGS),
    }
    check("bare", plain_app, cors=False)
    for name, wsgi in contenders.items():
        check(name, wsgi, cors=True)
    best = measure({"bare": plain_app, **contenders}, args.number * 4, args.repeat)
    bare = best.pop("bare")
    overhead = {name: value - bare for name, value in best.items()}
    print(f"plain WSGI app: bare {bare * 1e9:.0f} ns/request")
    for name, value in overhead.items():
        print(f"  {name:28s} overhead {value * 1e9:7.0f} ns")
    print(f"  corsfast.wsgi / wsgicors overhead: "
          f"{overhead['corsfast.wsgi'] / overhead['wsgicors']:.3f} (target <= 0.333)")

    for framework, build in (("flask", flask_apps), ("django", django_apps),
                             ("falcon", falcon_apps)):
        bare_app, drop_in = build()
        generic = CORSMiddleware(bare_app, **POLICY_ARGS)
        check(f"{framework} bare", bare_app, cors=False)
        check(f"{framework} drop-in", drop_in, cors=True)
        check(f"{framework} + corsfast.wsgi", generic, cors=True)
        best = measure({"bare": bare_app, "generic": generic, "drop-in": drop_in},
                       args.number, args.repeat)
        base = best["bare"]
        generic_cost = best["generic"] - base
        drop_in_cost = best["drop-in"] - base
        print(f"{framework}: bare {base * 1e9:.0f} ns/request; overhead "
              f"corsfast.wsgi {generic_cost * 1e9:.0f} ns, drop-in "
              f"{drop_in_cost * 1e9:.0f} ns; drop-in / generic "
              f"{drop_in_cost / generic_cost:.2f} (target <= 1.10)")


if __name__ == "__main__":
    main()
