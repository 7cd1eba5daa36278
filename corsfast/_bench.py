"""``corsfast bench``: a quick, in-process comparison with the installed peers.

Run ``python -m corsfast._bench`` (or ``corsfast bench``). Peers that are not
installed are skipped and named. Nothing here is imported by corsfast itself;
the ``benchmarks/`` suites in the repository reuse the scenarios, the answer
checks and the adapters defined below, so the quick table and the full
pytest-benchmark run measure the same things.

Two levels are measured:

- engine: one decision, ``check_request`` against a peer's own decision
  function where it has one, next to a no-op compiled call taking the same
  arguments (the floor);
- middleware: a tiny app called in process through its ASGI or WSGI
  callable, bare and wrapped; overhead is wrapped minus bare.

Before a library's time counts, its answer is checked the way a browser
would read it (see ``verify``); a wrong answer is reported, not timed.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import importlib
import importlib.util
import io
import itertools
import platform
import re
import sys
import time
from dataclasses import dataclass, field
from functools import cache
from typing import Any, Callable, Iterable, Optional, Sequence

__all__ = [
    "Answer", "Entry", "Runner", "Scenario", "Unsupported",
    "SCENARIOS", "ENGINE_ENTRIES", "FAMILIES", "main", "measure", "verify",
]

# -- scenarios ----------------------------------------------------------------

ORIGIN = "https://app.example.com"
REFUSED_ORIGIN = "https://evil.example.net"
PATTERN_ORIGIN = "https://eu.api.example.com"
METHODS = ("GET", "POST", "PUT", "DELETE")
HEADERS = ("content-type", "x-token", "x-request-id")
MAX_AGE = 600
HOSTILE_SIZE = 64 * 1024


def hostile_request_headers(size: int = HOSTILE_SIZE) -> str:
    """An Access-Control-Request-Headers value of exactly ``size`` bytes:
    allowed names over and over, then one name the policy does not allow,
    so a checker that reads it all must still refuse."""
    tail = ", x-evil"
    head = "x-token, " * ((size - len(tail)) // len("x-token, "))
    head = head.rstrip(" ").rstrip(",")
    return head + " " * (size - len(tail) - len(head)) + tail


@cache
def many_origins(count: int) -> tuple[str, ...]:
    """``count`` distinct exact origins; the one the request sends is last."""
    return tuple(f"https://tenant{i:06d}.example.com" for i in range(count - 1)) + (
        f"https://tenant{count - 1:06d}.example.com",)


@dataclass(frozen=True)
class Scenario:
    key: str
    title: str
    method: str
    origin: Optional[str]
    expect: str                       # "allow", "refuse" or "not-cors"
    request_method: Optional[str] = None
    request_headers: Optional[str] = None
    origin_count: int = 1             # exact origins in the policy
    patterns: tuple[str, ...] = ()    # "scheme://*.base" entries

    @property
    def preflight(self) -> bool:
        return self.request_method is not None

    @property
    def exact(self) -> tuple[str, ...]:
        if self.patterns:
            return ()
        if self.origin_count == 1:
            return (ORIGIN,)
        return many_origins(self.origin_count)

    @property
    def allow_origins(self) -> tuple[str, ...]:
        return self.exact + self.patterns

    def __str__(self) -> str:
        return self.key


def _scenarios() -> tuple[Scenario, ...]:
    return (
        Scenario("simple", "simple allowed", "GET", ORIGIN, "allow"),
        Scenario("preflight", "preflight allowed (three headers)", "OPTIONS",
                 ORIGIN, "allow", request_method="PUT",
                 request_headers="content-type, x-token, x-request-id"),
        Scenario("refused", "refused origin", "GET", REFUSED_ORIGIN, "refuse"),
        Scenario("no-origin", "no Origin header", "GET", None, "not-cors"),
        Scenario("origins-10k", "10,000 exact origins", "GET",
                 many_origins(10_000)[-1], "allow", origin_count=10_000),
        Scenario("origins-100k", "100,000 exact origins", "GET",
                 many_origins(100_000)[-1], "allow", origin_count=100_000),
        Scenario("subdomains", "subdomain patterns", "GET", PATTERN_ORIGIN,
                 "allow", patterns=("https://*.example.com",
                                    "https://*.example.org")),
        Scenario("hostile", "hostile 64 KiB Access-Control-Request-Headers",
                 "OPTIONS", ORIGIN, "refuse", request_method="PUT",
                 request_headers=hostile_request_headers()),
    )


SCENARIOS: tuple[Scenario, ...] = _scenarios()
QUICK = ("simple", "preflight", "refused", "no-origin", "origins-10k",
         "subdomains", "hostile")


def pattern_regex(pattern: str) -> str:
    """``https://*.example.com`` as a regex for peers that take one: one or
    more ``[a-z0-9-]`` labels in front of the base (full-match semantics)."""
    scheme, rest = pattern.split("://*.", 1)
    return re.escape(scheme + "://") + r"(?:[a-z0-9-]+\.)+" + re.escape(rest)


def patterns_regex(patterns: Iterable[str]) -> str:
    return "|".join(f"(?:{pattern_regex(p)})" for p in patterns)


# -- the browser's view of an answer --------------------------------------------


@dataclass
class Answer:
    """What came back: a status (200 for an app's own answer) and headers."""

    status: Optional[int]
    headers: list[tuple[str, str]]


def _values(headers: Iterable[tuple[str, str]], name: str) -> list[str]:
    return [str(v) for k, v in headers if k.lower() == name]


def _tokens(values: list[str]) -> set[str]:
    return {part.strip().lower() for v in values for part in v.split(",")
            if part.strip()}


def verify(s: Scenario, a: Answer) -> Optional[str]:
    """None when a browser would read ``a`` as the scenario expects; else why
    not. A library that allows what the policy refuses is wrong too."""
    acao = _values(a.headers, "access-control-allow-origin")
    if len(acao) > 1:
        return f"{len(acao)} access-control-allow-origin lines"
    if s.expect == "not-cors":
        if a.status != 200:
            return f"the app's response was replaced (status {a.status})"
        if acao and acao != ["*"]:
            return f"access-control-allow-origin {acao[0]!r} without an Origin"
        return None
    origin_ok = bool(acao) and acao[0] in (s.origin, "*")
    if not s.preflight:
        if a.status != 200:
            return f"the app's response was replaced (status {a.status})"
        passes, why = origin_ok, "no matching access-control-allow-origin"
    else:
        status_ok = a.status is not None and 200 <= a.status < 300
        methods = _tokens(_values(a.headers, "access-control-allow-methods"))
        method_ok = (s.request_method in ("GET", "HEAD", "POST")
                     or (s.request_method or "").lower() in methods
                     or "*" in methods)
        allowed = _tokens(_values(a.headers, "access-control-allow-headers"))
        wanted = _tokens([s.request_headers or ""])
        headers_ok = all(n in allowed or ("*" in allowed and n != "authorization")
                         for n in wanted)
        passes = status_ok and origin_ok and method_ok and headers_ok
        why = ", ".join(w for ok, w in (
            (status_ok, f"status {a.status}"), (origin_ok, "origin"),
            (method_ok, "method"), (headers_ok, "headers")) if not ok)
    if s.expect == "allow" and not passes:
        return f"a browser would refuse it ({why})"
    if s.expect == "refuse" and passes:
        return "a browser would accept what the policy refuses"
    return None


def verify_bare(s: Scenario, a: Answer) -> Optional[str]:
    """The bare app has no CORS to check; it must answer, with 200 unless
    the request is a preflight (which frameworks answer their own way)."""
    if a.status is None:
        return "no response"
    if not s.preflight and a.status != 200:
        return f"status {a.status}, not 200"
    return None


# -- runners and entries ----------------------------------------------------------


class Unsupported(Exception):
    """This library cannot express the scenario, or is not installed."""


@dataclass
class Runner:
    """One timed thing: ``func(*args)``, and how to read its answer once."""

    func: Callable[..., Any]
    args: tuple[Any, ...]
    answer: Optional[Callable[[], Answer]]   # None: not checked (the floor)
    note: str = ""


@dataclass
class Entry:
    name: str
    build: Callable[[Scenario], Runner]
    needs: tuple[str, ...] = ()           # importable modules it needs
    role: str = "peer"                     # "corsfast", "twin", "floor", "bare", "peer"

    def missing(self) -> list[str]:
        return [m for m in self.needs if importlib.util.find_spec(m) is None]


def check(entry: Entry, s: Scenario, runner: Runner) -> Optional[str]:
    """Why ``runner``'s answer is wrong for ``s``, or None."""
    if runner.answer is None:
        return None
    answer = runner.answer()
    return (verify_bare if entry.role == "bare" else verify)(s, answer)


def _need(module: str) -> Any:
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise Unsupported(f"{module} is not importable ({exc})") from None


# -- corsfast -----------------------------------------------------------------


@cache
def corsfast_policy(s: Scenario) -> Any:
    from corsfast import Policy
    return Policy(allow_origins=s.allow_origins, allow_methods=METHODS,
                  allow_headers=HEADERS, max_age=MAX_AGE)


def _decision_answer(d: Any) -> Answer:
    return Answer(d.status if d.preflight else 200, list(d.headers))


def _engine_args(s: Scenario) -> tuple[Any, ...]:
    args: tuple[Any, ...] = (corsfast_policy(s), s.method, s.origin)
    if s.preflight:
        args += (s.request_method, s.request_headers)
    return args


def _compiled() -> Any:
    try:
        from corsfast import _engine_c
    except ImportError:
        raise Unsupported("the compiled engine is not built") from None
    return _engine_c


def _corsfast_engine(s: Scenario) -> Runner:
    c = _compiled()
    args = _engine_args(s)
    return Runner(c.check_request, args,
                  lambda: _decision_answer(c.check_request(*args)))


def _twin_engine(s: Scenario) -> Runner:
    from corsfast import _engine_py
    args = _engine_args(s)
    return Runner(_engine_py.check_request, args,
                  lambda: _decision_answer(_engine_py.check_request(*args)))


def _floor_engine(s: Scenario) -> Runner:
    noop = getattr(_compiled(), "_noop_check", None)
    if noop is None:
        raise Unsupported("corsfast._engine_c has no _noop_check")
    return Runner(noop, _engine_args(s), None)


# -- peers' own decision functions (engine level) -----------------------------


def _origin_answer(s: Scenario, allowed: Any) -> Answer:
    """For peers whose decision is only 'is this origin allowed'."""
    headers = [("access-control-allow-origin", s.origin or "")] if allowed else []
    return Answer(200, headers)


def _no_origin(s: Scenario, peer: str) -> None:
    if s.origin is None:
        raise Unsupported(f"{peer} has no decision to make without an Origin "
                          "(its middleware skips the request)")


def _starlette_mw(app: Any, s: Scenario) -> Any:
    cors = _need("starlette.middleware.cors")
    kwargs: dict[str, Any] = dict(
        allow_methods=METHODS, allow_headers=HEADERS, max_age=MAX_AGE,
        allow_origins=frozenset(s.exact))
    if s.patterns:
        kwargs["allow_origin_regex"] = patterns_regex(s.patterns)
    return cors.CORSMiddleware(app, **kwargs)


def _starlette_engine(s: Scenario) -> Runner:
    _no_origin(s, "Starlette")
    mw = _starlette_mw(_bare_asgi, s)
    if s.preflight:
        from starlette.datastructures import Headers
        headers = Headers(scope={"headers": _asgi_headers(s)})

        def answer() -> Answer:
            r = mw.preflight_response(request_headers=headers)
            return Answer(r.status_code, [(k.decode("latin-1"), v.decode("latin-1"))
                                          for k, v in r.raw_headers])
        return Runner(mw.preflight_response, (headers,), answer,
                      "CORSMiddleware.preflight_response")
    return Runner(mw.is_allowed_origin, (s.origin,),
                  lambda: _origin_answer(s, mw.is_allowed_origin(s.origin)),
                  "CORSMiddleware.is_allowed_origin")


@cache
def _litestar_config(s: Scenario) -> Any:
    cfg = _need("litestar.config.cors")
    config = cfg.CORSConfig(allow_origins=list(s.allow_origins),
                            allow_methods=list(METHODS),
                            allow_headers=list(HEADERS), max_age=MAX_AGE)
    _ = config.allowed_origins_regex  # compiled once, up front
    return config


def _litestar_engine(s: Scenario) -> Runner:
    _no_origin(s, "Litestar")
    config = _litestar_config(s)
    if s.preflight:
        from litestar.datastructures import Headers
        from litestar.middleware._internal.cors import CORSMiddleware
        mw = CORSMiddleware(app=_bare_asgi, config=config)
        headers = Headers(_asgi_headers(s))

        def answer() -> Answer:
            r = mw._create_preflight_response(origin=s.origin or "", request_headers=headers)
            return Answer(r.status_code, list(r.headers.items()))
        return Runner(mw._create_preflight_response, (s.origin, headers), answer,
                      "CORSMiddleware._create_preflight_response")
    return Runner(config.is_origin_allowed, (s.origin,),
                  lambda: _origin_answer(s, config.is_origin_allowed(s.origin)),
                  "CORSConfig.is_origin_allowed")


def _flask_cors_options(s: Scenario) -> dict[str, Any]:
    origins: list[Any] = list(s.exact)
    origins += [f"^(?:{pattern_regex(p)})$" for p in s.patterns]
    # always_send=False: by default flask-cors sends its allowed origins
    # even to requests without an Origin, which the no-Origin check refuses.
    return dict(origins=origins, methods=list(METHODS),
                allow_headers=list(HEADERS), max_age=MAX_AGE, always_send=False)


def _flask_cors_engine(s: Scenario) -> Runner:
    core = _need("flask_cors.core")
    from werkzeug.datastructures import Headers
    options = core.get_cors_options(flask_app(), _flask_cors_options(s))
    headers = Headers(_wsgi_request_headers(s))

    def answer() -> Answer:
        got = core.get_cors_headers(options, headers, s.method)
        return Answer(200, [(k, str(v)) for k, v in got.items(multi=True)])
    return Runner(core.get_cors_headers, (options, headers, s.method), answer,
                  "flask_cors.core.get_cors_headers")


def _wsgicors_kwargs(s: Scenario) -> dict[str, str]:
    return dict(origin=" ".join(s.allow_origins), methods=", ".join(METHODS),
                headers=", ".join(HEADERS), maxage=str(MAX_AGE))


def _wsgicors_engine(s: Scenario) -> Runner:
    _no_origin(s, "wsgicors")
    if s.preflight:
        raise Unsupported("wsgicors decides preflights inside __call__ only")
    wsgicors = _need("wsgicors")
    mw = wsgicors.CORS(_bare_wsgi, **_wsgicors_kwargs(s))

    def answer() -> Answer:
        return _origin_answer(s, mw.selectPolicy(s.origin, s.method)[1])
    return Runner(mw.selectPolicy, (s.origin, s.method), answer,
                  "CORS.selectPolicy (lru_cache'd)")


ENGINE_ENTRIES: tuple[Entry, ...] = (
    Entry("corsfast", _corsfast_engine, role="corsfast"),
    Entry("corsfast (pure Python)", _twin_engine, role="twin"),
    Entry("no-op floor", _floor_engine, role="floor"),
    Entry("starlette", _starlette_engine, ("starlette",)),
    Entry("litestar", _litestar_engine, ("litestar",)),
    Entry("flask-cors", _flask_cors_engine, ("flask_cors",)),
    Entry("wsgicors", _wsgicors_engine, ("wsgicors",)),
)


# -- requests, in process ------------------------------------------------------


def _request_headers(s: Scenario) -> list[tuple[str, str]]:
    headers = [("host", "localhost")]
    if s.origin is not None:
        headers.append(("origin", s.origin))
    if s.request_method is not None:
        headers.append(("access-control-request-method", s.request_method))
    if s.request_headers is not None:
        headers.append(("access-control-request-headers", s.request_headers))
    return headers


def _wsgi_request_headers(s: Scenario) -> list[tuple[str, str]]:
    return [(k.title(), v) for k, v in _request_headers(s)]


def _asgi_headers(s: Scenario) -> list[tuple[bytes, bytes]]:
    return [(k.encode("latin-1"), v.encode("latin-1")) for k, v in _request_headers(s)]


def asgi_scope(s: Scenario) -> dict[str, Any]:
    return {
        "type": "http", "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1", "method": s.method, "scheme": "http",
        "path": "/", "raw_path": b"/", "root_path": "", "query_string": b"",
        "headers": _asgi_headers(s), "server": ("127.0.0.1", 8000),
        "client": ("127.0.0.1", 50000), "state": {},
    }


def wsgi_environ(s: Scenario) -> dict[str, Any]:
    env: dict[str, Any] = {
        "REQUEST_METHOD": s.method, "SCRIPT_NAME": "", "PATH_INFO": "/",
        "QUERY_STRING": "", "SERVER_NAME": "localhost", "SERVER_PORT": "8000",
        "SERVER_PROTOCOL": "HTTP/1.1", "REMOTE_ADDR": "127.0.0.1",
        "wsgi.version": (1, 0), "wsgi.url_scheme": "http",
        "wsgi.errors": sys.stderr, "wsgi.multithread": False,
        "wsgi.multiprocess": False, "wsgi.run_once": False,
    }
    for name, value in _request_headers(s):
        env["HTTP_" + name.upper().replace("-", "_")] = value
    return env


async def _receive() -> dict[str, Any]:
    return {"type": "http.request", "body": b"", "more_body": False}


async def _send_nothing(message: Any) -> None:
    pass


def _asgi_answer(messages: list[dict[str, Any]]) -> Answer:
    for m in messages:
        if m["type"] == "http.response.start":
            return Answer(m["status"], [
                (k.decode("latin-1") if isinstance(k, bytes) else str(k),
                 v.decode("latin-1") if isinstance(v, bytes) else str(v))
                for k, v in m.get("headers") or ()])
    return Answer(None, [])


def asgi_runner(app: Any, s: Scenario) -> Runner:
    """Call ``app`` once per timed call, awaited from a coroutine as a
    server awaits it. Apps that never really suspend are driven by hand (no
    event loop in the measurement); others run on one reused loop."""
    scope = asgi_scope(s)

    def answer() -> Answer:
        messages: list[dict[str, Any]] = []

        async def send(m: Any) -> None:
            messages.append(m)
        asyncio.run(app(dict(scope), _receive, send))
        return _asgi_answer(messages)

    async def serve() -> None:
        # As a server does: await the app from a coroutine of its own.
        await app(scope.copy(), _receive, _send_nothing)

    def by_hand() -> None:
        coro = serve()
        try:
            coro.send(None)
        except StopIteration:
            return
        coro.close()
        raise RuntimeError("the app suspended")

    try:
        by_hand()
        return Runner(by_hand, (), answer)
    except RuntimeError:
        loop = asyncio.new_event_loop()
        run = loop.run_until_complete

        def on_loop() -> None:
            run(app(scope.copy(), _receive, _send_nothing))
        return Runner(on_loop, (), answer, "on an event loop")


def wsgi_runner(app: Any, s: Scenario) -> Runner:
    environ = wsgi_environ(s)

    def start_response(status: str, headers: Any, exc_info: Any = None) -> Any:
        return None

    def call(start: Any = start_response) -> None:
        """One whole request: body read to the end, close() called."""
        env = environ.copy()
        env["wsgi.input"] = io.BytesIO(b"")
        body = app(env, start)
        for _ in body:
            pass
        close = getattr(body, "close", None)
        if close is not None:
            close()

    def answer() -> Answer:
        got: list[Any] = []

        def record(status: str, headers: Any, exc_info: Any = None) -> Any:
            got[:] = [int(status.split()[0]), [(k, v) for k, v in headers]]
            return lambda data: None
        call(record)
        return Answer(got[0], got[1]) if got else Answer(None, [])

    return Runner(call, (), answer)


# -- the apps under test -------------------------------------------------------

_OK_HEADERS = [(b"content-type", b"text/plain; charset=utf-8"), (b"content-length", b"2")]


async def _bare_asgi(scope: Any, receive: Any, send: Any) -> None:
    await send({"type": "http.response.start", "status": 200,
                "headers": list(_OK_HEADERS)})
    await send({"type": "http.response.body", "body": b"ok"})


def _bare_wsgi(environ: Any, start_response: Any) -> list[bytes]:
    start_response("200 OK", [("Content-Type", "text/plain; charset=utf-8"),
                              ("Content-Length", "2")])
    return [b"ok"]


def bare_asgi_app() -> Any:
    return _bare_asgi


def bare_wsgi_app() -> Any:
    return _bare_wsgi


def corsfast_asgi(app: Any, s: Scenario) -> Any:
    try:
        from corsfast.asgi import CORSMiddleware
    except ImportError:
        raise Unsupported("corsfast.asgi is not there yet") from None
    return CORSMiddleware(app, policy=corsfast_policy(s))


def corsfast_wsgi(app: Any, s: Scenario) -> Any:
    try:
        from corsfast.wsgi import CORSMiddleware
    except ImportError:
        raise Unsupported("corsfast.wsgi is not there yet") from None
    return CORSMiddleware(app, policy=corsfast_policy(s))


def corsfast_starlette(app: Any, s: Scenario) -> Any:
    """corsfast's Starlette drop-in, given Starlette's own arguments."""
    try:
        from corsfast.contrib.starlette import CORSMiddleware
    except ImportError:
        raise Unsupported("corsfast.contrib.starlette is not there yet") from None
    kwargs: dict[str, Any] = dict(
        allow_methods=METHODS, allow_headers=HEADERS, max_age=MAX_AGE,
        allow_origins=list(s.exact))
    if s.patterns:
        kwargs["allow_origin_regex"] = patterns_regex(s.patterns)
    return CORSMiddleware(app, **kwargs)


def asgi_cors_app(app: Any, s: Scenario) -> Any:
    asgi_cors = _need("asgi_cors")
    # max_age is left out: asgi-cors sends it as str, not bytes, which
    # servers reject.
    return asgi_cors.asgi_cors(app, hosts=list(s.exact),
                               host_wildcards=list(s.patterns),
                               methods=list(METHODS), headers=list(HEADERS))


def wsgicors_app(app: Any, s: Scenario) -> Any:
    wsgicors = _need("wsgicors")
    return wsgicors.CORS(app, **_wsgicors_kwargs(s))


# Frameworks: each builds the same one-route app, with the peer or without.

def flask_app(s: Optional[Scenario] = None) -> Any:
    flask = _need("flask")
    app = flask.Flask("corsfast_bench")

    def index() -> str:
        return "ok"
    app.add_url_rule("/", "index", index, methods=list(METHODS))
    if s is not None:
        _need("flask_cors").CORS(app, **_flask_cors_options(s))
    return app


_DJANGO_HANDLERS: dict[bool, Any] = {}


def _django_view(request: Any) -> Any:
    from django.http import HttpResponse
    return HttpResponse("ok", content_type="text/plain; charset=utf-8")


def __getattr__(name: str) -> Any:
    # Django's URL resolver reads this module's ``urlpatterns`` (ROOT_URLCONF).
    if name == "urlpatterns":
        from django.urls import path
        return [path("", _django_view)]
    raise AttributeError(name)


def django_app(s: Optional[Scenario] = None) -> Any:
    """Django's WSGI handler, with django-cors-headers or without. Django's
    settings are process-wide: the CORS_* settings are set for ``s`` here,
    so build a Django runner right before it is used."""
    _need("django")
    from django.conf import settings
    if not settings.configured:
        settings.configure(
            DEBUG=False, SECRET_KEY="corsfast-bench", ALLOWED_HOSTS=["*"],
            ROOT_URLCONF=__name__, MIDDLEWARE=[], INSTALLED_APPS=[],
            USE_I18N=False, LOGGING_CONFIG=None)
        import django
        django.setup(set_prefix=False)
    from django.core.handlers.wsgi import WSGIHandler
    with_cors = s is not None
    if s is not None:
        _need("corsheaders")
        settings.CORS_ALLOWED_ORIGINS = list(s.exact)
        settings.CORS_ALLOWED_ORIGIN_REGEXES = [
            f"^(?:{pattern_regex(p)})$" for p in s.patterns]
        settings.CORS_ALLOW_METHODS = list(METHODS)
        settings.CORS_ALLOW_HEADERS = list(HEADERS)
        settings.CORS_PREFLIGHT_MAX_AGE = MAX_AGE
    handler = _DJANGO_HANDLERS.get(with_cors)
    if handler is None:
        settings.MIDDLEWARE = (["corsheaders.middleware.CorsMiddleware"]
                               if with_cors else [])
        handler = _DJANGO_HANDLERS[with_cors] = WSGIHandler()
        settings.MIDDLEWARE = []
    return handler


class _FalconResource:
    def on_get(self, req: Any, resp: Any) -> None:
        resp.content_type = "text/plain; charset=utf-8"
        resp.text = "ok"

    on_post = on_put = on_delete = on_get


class _FalconAsyncResource:
    async def on_get(self, req: Any, resp: Any) -> None:
        resp.content_type = "text/plain; charset=utf-8"
        resp.text = "ok"

    on_post = on_put = on_delete = on_get


def _falcon_cors(falcon: Any, s: Scenario) -> Any:
    if s.patterns:
        raise Unsupported("Falcon's CORSMiddleware takes exact origins only")
    return falcon.CORSMiddleware(allow_origins=list(s.exact))


def falcon_wsgi_app(s: Optional[Scenario] = None) -> Any:
    falcon = _need("falcon")
    app = falcon.App(middleware=[_falcon_cors(falcon, s)] if s else None)
    app.add_route("/", _FalconResource())
    return app


def falcon_asgi_app(s: Optional[Scenario] = None) -> Any:
    falcon = _need("falcon")
    falcon_asgi = _need("falcon.asgi")
    app = falcon_asgi.App(middleware=[_falcon_cors(falcon, s)] if s else None)
    app.add_route("/", _FalconAsyncResource())
    return app


def litestar_app(s: Optional[Scenario] = None) -> Any:
    litestar = _need("litestar")
    from litestar.enums import MediaType

    async def index() -> str:
        return "ok"
    handler = litestar.route("/", http_method=list(METHODS), media_type=MediaType.TEXT,
                             status_code=200)(index)
    return litestar.Litestar(route_handlers=[handler], openapi_config=None,
                             cors_config=_litestar_config(s) if s else None)


# -- middleware families ----------------------------------------------------------
#
# A family is one app measured bare, wrapped by corsfast's generic middleware,
# and with each peer that fits it. Overhead is wrapped minus bare.


@dataclass
class Family:
    key: str
    title: str
    interface: str                         # "asgi" or "wsgi"
    entries: tuple[Entry, ...] = field(default_factory=tuple)


def _asgi(make: Callable[[Scenario], Any]) -> Callable[[Scenario], Runner]:
    return lambda s: asgi_runner(make(s), s)


def _wsgi(make: Callable[[Scenario], Any]) -> Callable[[Scenario], Runner]:
    return lambda s: wsgi_runner(make(s), s)


PeerSpec = tuple[str, Callable[[Scenario], Any], tuple[str, ...]]


def _family(key: str, title: str, interface: str, bare: Callable[[], Any],
            needs: tuple[str, ...], peers: Sequence[PeerSpec]) -> Family:
    wrap = _asgi if interface == "asgi" else _wsgi
    ours = corsfast_asgi if interface == "asgi" else corsfast_wsgi
    entries = [
        Entry("bare app", wrap(lambda s: bare()), needs, role="bare"),
        Entry("corsfast", wrap(lambda s: ours(bare(), s)), needs, role="corsfast"),
    ]
    entries += [Entry(name, wrap(make), needs + extra) for name, make, extra in peers]
    return Family(key, title, interface, tuple(entries))


FAMILIES: tuple[Family, ...] = (
    _family("asgi", "ASGI, plain app", "asgi", bare_asgi_app, (), [
        ("corsfast (Starlette drop-in)", lambda s: corsfast_starlette(_bare_asgi, s),
         ("starlette",)),
        ("starlette", lambda s: _starlette_mw(_bare_asgi, s), ("starlette",)),
        ("asgi-cors", lambda s: asgi_cors_app(_bare_asgi, s), ("asgi_cors",)),
    ]),
    _family("wsgi", "WSGI, plain app", "wsgi", bare_wsgi_app, (), [
        ("wsgicors", lambda s: wsgicors_app(_bare_wsgi, s), ("wsgicors",)),
    ]),
    _family("flask", "Flask app", "wsgi", flask_app, ("flask",), [
        ("flask-cors", flask_app, ("flask_cors",)),
    ]),
    _family("django", "Django app", "wsgi", django_app, ("django",), [
        ("django-cors-headers", django_app, ("corsheaders",)),
    ]),
    _family("falcon", "Falcon app (WSGI)", "wsgi", falcon_wsgi_app, ("falcon",), [
        ("falcon", falcon_wsgi_app, ()),
    ]),
    _family("falcon-asgi", "Falcon app (ASGI)", "asgi", falcon_asgi_app, ("falcon",), [
        ("falcon", falcon_asgi_app, ()),
    ]),
    _family("litestar", "Litestar app", "asgi", litestar_app, ("litestar",), [
        ("litestar", litestar_app, ()),
    ]),
)


# -- timing ------------------------------------------------------------------------


def _loop(func: Callable[..., Any], args: tuple[Any, ...], loops: int) -> float:
    """Seconds for ``loops`` calls, with the cyclic GC off (as timeit does):
    a policy with 100,000 origins makes every full collection slow, and
    when one lands is luck, not the library's cost."""
    timer = time.perf_counter
    it = itertools.repeat(None, loops)
    gc_was_on = gc.isenabled()
    gc.disable()
    try:
        start = timer()
        for _ in it:
            func(*args)
        return timer() - start
    finally:
        if gc_was_on:
            gc.enable()


def calibrate(func: Callable[..., Any], args: tuple[Any, ...] = (),
              batch: float = 0.004) -> tuple[int, float]:
    """How many calls make one batch of about ``batch`` seconds, and the
    seconds per call seen while finding out."""
    loops = 1
    while True:
        elapsed = _loop(func, args, loops)
        if elapsed >= batch or loops >= 10_000_000:
            return loops, elapsed / loops
        loops *= min(100, max(2, int(batch / max(elapsed, 1e-9) * 1.2)))


def measure(func: Callable[..., Any], args: tuple[Any, ...] = (), *,
            batch: float = 0.004, repeat: int = 5) -> float:
    """Nanoseconds per call: the best of ``repeat`` batches of ~``batch`` s."""
    return measure_together([(func, args)], batch=batch, repeat=repeat)[0]


def measure_together(calls: Sequence[tuple[Callable[..., Any], tuple[Any, ...]]], *,
                     batch: float = 0.004, repeat: int = 5) -> list[float]:
    """Nanoseconds per call for each of ``calls``, timed in turns (one batch
    of each, ``repeat`` times over) so that a burst of load elsewhere on the
    machine hits them alike; the best batch of each counts."""
    gc.collect()
    plans = [calibrate(func, args, batch) for func, args in calls]
    best = [per_call for _, per_call in plans]
    for _ in range(repeat):
        for i, ((func, args), (loops, _)) in enumerate(zip(calls, plans)):
            best[i] = min(best[i], _loop(func, args, loops) / loops)
    return [b * 1e9 for b in best]


# -- the quick table ----------------------------------------------------------------


@dataclass
class Row:
    group: str
    name: str
    role: str
    ns: Optional[float] = None
    status: str = ""          # "" when timed; else why not
    preflight: bool = False   # corsfast answers these itself: compare totals


def _progress(quiet: bool, text: str) -> None:
    if not quiet:
        print(text, file=sys.stderr, flush=True)


def _prepare(entry: Entry, s: Scenario, group: str) -> tuple[Row, Optional[Runner]]:
    """Build and check one entry; a row that says why when it is not timed."""
    row = Row(group, entry.name, entry.role, preflight=s.preflight)
    missing = entry.missing()
    if missing:
        row.status = "not installed"
        return row, None
    try:
        runner = entry.build(s)
        problem = check(entry, s, runner)
    except Unsupported as exc:
        row.status = f"n/a: {exc}"
        return row, None
    except Exception as exc:  # a peer that breaks is reported, not fatal
        row.status = f"error: {type(exc).__name__}: {exc}"[:160]
        return row, None
    if problem:
        row.status = f"WRONG: {problem}"
        return row, None
    return row, runner


def _run_group(entries: Sequence[Entry], s: Scenario, group: str,
               rows: list[Row], batch: float, repeat: int) -> None:
    prepared = [_prepare(e, s, group) for e in entries]
    rows.extend(row for row, _ in prepared)
    timed = [(row, runner) for row, runner in prepared if runner is not None]
    figures = measure_together([(r.func, r.args) for _, r in timed],
                               batch=batch, repeat=repeat)
    for (row, _), ns in zip(timed, figures):
        row.ns = ns


def collect(scenarios: Sequence[Scenario], *, levels: Sequence[str] = ("engine", "middleware"),
            families: Optional[Sequence[str]] = None, batch: float = 0.004,
            repeat: int = 7, quiet: bool = False) -> list[Row]:
    rows: list[Row] = []
    fams = [f for f in FAMILIES if families is None or f.key in families]
    for s in scenarios:
        if "engine" in levels:
            _progress(quiet, f"engine: {s.title}")
            _run_group(ENGINE_ENTRIES, s, f"engine: {s.title}", rows, batch, repeat)
        if "middleware" in levels:
            for fam in fams:
                _progress(quiet, f"{fam.title}: {s.title}")
                _run_group(fam.entries, s, f"{fam.title}: {s.title}", rows,
                           batch, repeat)
    return rows


def _fmt_ns(ns: float) -> str:
    if ns >= 1e6:
        return f"{ns / 1e6:,.2f} ms"
    if ns >= 1e4:
        return f"{ns / 1e3:,.1f} us"
    return f"{ns:,.0f} ns"


def overhead(row: Row, bare: Optional[Row]) -> Optional[float]:
    """Wrapped minus bare, in ns (negative when the middleware answers
    itself and spares the app)."""
    if row.ns is None or bare is None or bare.ns is None or row.role == "bare":
        return None
    return row.ns - bare.ns


def format_table(rows: list[Row]) -> str:
    """Plain-text tables, one per group. Engine groups: ns per call and the
    ratio to the no-op floor. Middleware groups: time per request, overhead
    over the bare app, and the ratio of overheads to corsfast's (of whole
    requests for preflights, which corsfast answers without the app)."""
    out: list[str] = []
    groups: dict[str, list[Row]] = {}
    for r in rows:
        groups.setdefault(r.group, []).append(r)
    for group, members in groups.items():
        engine = group.startswith("engine:")
        by_role = {r.role: r for r in members if r.ns is not None}
        base = by_role.get("floor" if engine else "bare")
        ours = by_role.get("corsfast")
        out.append(f"\n{group}")
        if engine:
            out.append(f"  {'library':<30} {'ns/call':>12} {'x floor':>9} {'x corsfast':>11}")
        else:
            out.append(f"  {'library':<30} {'per request':>12} {'overhead':>12} {'x corsfast':>11}")
        for r in members:
            if r.ns is None:
                out.append(f"  {r.name:<30} {r.status}")
                continue
            ratio = "-"
            if engine:
                second = f"{r.ns / base.ns:.2f}x" if base and base.ns else "-"
                if ours and ours.ns and r.role != "floor":
                    ratio = f"{r.ns / ours.ns:.1f}x"
                out.append(f"  {r.name:<30} {_fmt_ns(r.ns):>12} {second:>9} {ratio:>11}")
                continue
            extra = overhead(r, base)
            second = "-" if extra is None else ("-" if extra < 0 else "") + _fmt_ns(abs(extra))
            if ours is not None and r.role not in ("bare",):
                if r.preflight:
                    ratio = f"{r.ns / ours.ns:.1f}x total" if ours.ns else "-"
                else:
                    ours_extra = overhead(ours, base)
                    if extra is not None and ours_extra and ours_extra > 0:
                        ratio = f"{max(extra, 0.0) / ours_extra:.1f}x"
            out.append(f"  {r.name:<30} {_fmt_ns(r.ns):>12} {second:>12} {ratio:>11}")
    return "\n".join(out).lstrip("\n")


def environment() -> str:
    import corsfast
    return (f"corsfast {corsfast.__version__} ({corsfast.ENGINE} engine), "
            f"{platform.python_implementation()} {platform.python_version()}, "
            f"{platform.system()} {platform.machine()}")


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(
        prog="corsfast bench",
        description="Time corsfast against the CORS libraries installed here "
                    "(in process, one run; compare ratios, not absolute "
                    "numbers). Progress goes to stderr, the table to stdout.")
    parser.add_argument("--scenario", action="append", metavar="KEY",
                        choices=[s.key for s in SCENARIOS],
                        help="run only this scenario (repeatable); default: "
                             + ", ".join(QUICK))
    parser.add_argument("--full", action="store_true",
                        help="every scenario, 100,000 origins included (slower)")
    parser.add_argument("--level", choices=("engine", "middleware", "both"),
                        default="both")
    parser.add_argument("--quiet", "-q", action="store_true",
                        help="no progress on stderr")
    args = parser.parse_args(argv)

    if args.scenario:
        keys = args.scenario
    elif args.full:
        keys = [s.key for s in SCENARIOS]
    else:
        keys = list(QUICK)
    scenarios = [s for s in SCENARIOS if s.key in keys]
    levels = ("engine", "middleware") if args.level == "both" else (args.level,)

    peers = {"starlette": "starlette", "asgi-cors": "asgi_cors",
             "wsgicors": "wsgicors", "flask-cors": "flask_cors",
             "django-cors-headers": "corsheaders", "falcon": "falcon",
             "litestar": "litestar"}
    missing = [n for n, m in peers.items() if importlib.util.find_spec(m) is None]
    _progress(args.quiet, environment())
    if missing:
        _progress(args.quiet, "not installed, skipped: " + ", ".join(missing))
    started = time.perf_counter()
    rows = collect(scenarios, levels=levels, quiet=args.quiet)
    print(environment())
    if missing:
        print("skipped (not installed): " + ", ".join(missing))
    print(format_table(rows))
    _progress(args.quiet, f"done in {time.perf_counter() - started:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
