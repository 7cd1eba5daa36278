"""``corsfast bench``: corsfast's engine and middleware beside the peers installed.

Peers that need no process-wide set-up only (Django is never configured
here): Starlette's ``CORSMiddleware`` and asgi-cors, wsgicors, flask-cors in
a Flask app, Litestar's CORS in a Litestar app. The repository's
``benchmarks/`` measure the rest with these helpers. Every call gets a
request of its own, as from a server (a new dict, header list, ``bytes`` and
``str``), built before its batch's clock starts; each answer is checked the
way a browser reads it before its time counts.

(About 630 lines: the runner and the request builders and answer checks
that benchmarks/ shares with it, so one piece of code serves both.)
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import importlib.machinery
import importlib.util
import io
import os
import platform
import re
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from functools import cache
from typing import Any, Callable, Optional, Sequence

import corsfast
import corsfast.asgi
import corsfast.wsgi
from corsfast import Policy, check_request

# -- scenarios and fresh requests -----------------------------------------------

ORIGIN = "https://app.example.com"
METHODS = ("GET", "POST", "PUT", "DELETE")
HEADERS = ("content-type", "x-token", "x-request-id")
MAX_AGE = 600
PATH = "/api/items"
# What a browser sends besides the CORS headers.
BROWSER = (("host", "api.example.com"),
           ("user-agent", "Mozilla/5.0 (X11; Linux x86_64) Chrome/126.0"),
           ("accept", "*/*"), ("accept-encoding", "gzip, deflate, br"),
           ("referer", "https://app.example.com/"), ("connection", "keep-alive"))


@dataclass(frozen=True)
class Scenario:
    key: str
    title: str
    method: str
    origin: Optional[str]
    expect: str                          # "allow", "refuse" or "not-cors"
    request_method: Optional[str] = None
    # repr=False: a repr (saved in pytest-benchmark's JSON) stays short
    request_headers: Optional[str] = field(default=None, repr=False)
    exact: tuple[str, ...] = field(default=(ORIGIN,), repr=False)   # exact origins
    patterns: tuple[str, ...] = ()       # and "scheme://*.base" entries

    @property
    def preflight(self) -> bool:
        return self.request_method is not None


SCENARIOS: tuple[Scenario, ...] = (
    Scenario("simple", "simple allowed", "GET", ORIGIN, "allow"),
    Scenario("preflight", "preflight allowed (three headers)", "OPTIONS", ORIGIN, "allow",
             "PUT", "content-type, x-token, x-request-id"),
    Scenario("refused", "refused origin", "GET", "https://evil.example.net", "refuse"),
    Scenario("no-origin", "no Origin header", "GET", None, "not-cors"),
)


def pattern_regex(pattern: str) -> str:
    """``https://*.example.com`` as a full-match regex: one or more
    ``[a-z0-9-]`` labels in front of the base."""
    scheme, rest = pattern.split("://*.", 1)
    return re.escape(scheme + "://") + r"(?:[a-z0-9-]+\.)+" + re.escape(rest)


def fresh(value: Any) -> Any:
    """A new object equal to ``value`` (``None`` stays ``None``)."""
    if value is None or isinstance(value, bytes):
        return value if value is None else bytes(bytearray(value))
    return value.encode("utf-8").decode("utf-8")


def header_pairs(s: Scenario) -> list[tuple[str, str]]:
    cors = [("origin", s.origin), ("access-control-request-method", s.request_method),
            ("access-control-request-headers", s.request_headers)]
    return [*BROWSER[:4], *((k, v) for k, v in cors if v is not None), *BROWSER[4:]]


def engine_args(policy: Any, s: Scenario) -> tuple[Any, ...]:
    """``check_request``'s arguments, every string a new object."""
    args: tuple[Any, ...] = (policy, fresh(s.method), fresh(s.origin))
    return args + (fresh(s.request_method), fresh(s.request_headers)) if s.preflight else args


def asgi_headers(s: Scenario) -> list[tuple[bytes, bytes]]:
    return [(k.encode("latin-1"), v.encode("latin-1")) for k, v in header_pairs(s)]


def asgi_scope(s: Scenario) -> dict[str, Any]:
    return {"type": "http", "asgi": {"version": "3.0", "spec_version": "2.3"},
            "http_version": "1.1", "method": fresh(s.method), "scheme": "http",
            "path": fresh(PATH), "raw_path": PATH.encode(), "root_path": "",
            "query_string": b"", "headers": asgi_headers(s), "server": ("127.0.0.1", 8000),
            "client": ("127.0.0.1", 50000), "state": {}}


def wsgi_environ(s: Scenario) -> dict[str, Any]:
    env: dict[str, Any] = {
        "REQUEST_METHOD": fresh(s.method), "SCRIPT_NAME": "", "PATH_INFO": fresh(PATH),
        "QUERY_STRING": "", "SERVER_NAME": "api.example.com", "SERVER_PORT": "8000",
        "SERVER_PROTOCOL": "HTTP/1.1", "REMOTE_ADDR": "127.0.0.1", "wsgi.version": (1, 0),
        "wsgi.url_scheme": "http", "wsgi.input": io.BytesIO(b""), "wsgi.errors": sys.stderr,
        "wsgi.multithread": False, "wsgi.multiprocess": False, "wsgi.run_once": False}
    for name, value in header_pairs(s):
        env["HTTP_" + name.upper().replace("-", "_")] = fresh(value)
    return env


# -- the browser's view of an answer ------------------------------------------------


@dataclass
class Answer:
    status: Optional[int]        # 200 for the app's own answer
    headers: list[tuple[str, str]]

    def tokens(self, name: str) -> list[str]:
        return [p.strip().lower() for k, v in self.headers if k.lower() == name
                for p in str(v).split(",") if p.strip()]


def verify(s: Scenario, a: Answer) -> Optional[str]:
    """None when a browser would read ``a`` as the scenario expects; else why
    not. A library that allows what the policy refuses is wrong too."""
    acao = [str(v) for k, v in a.headers if k.lower() == "access-control-allow-origin"]
    if len(acao) > 1:
        return f"{len(acao)} access-control-allow-origin lines"
    if not s.preflight and a.status != 200:
        return f"the app's response was replaced (status {a.status})"
    if s.expect == "not-cors":
        return None if acao in ([], ["*"]) else f"{acao[0]!r} allowed without an Origin"
    checks = [(acao[:1] in ([s.origin], ["*"]), "origin")]
    if s.preflight:
        methods, allowed = (a.tokens("access-control-allow-methods"),
                            a.tokens("access-control-allow-headers"))
        wanted = Answer(None, [("h", s.request_headers or "")]).tokens("h")
        checks += [(a.status is not None and 200 <= a.status < 300, f"status {a.status}"),
                   (s.request_method in ("GET", "HEAD", "POST") or "*" in methods
                    or (s.request_method or "").lower() in methods, "method"),
                   (all(n in allowed or ("*" in allowed and n != "authorization")
                        for n in wanted), "headers")]
    passes = all(ok for ok, _ in checks)
    if s.expect == "allow" and not passes:
        return "a browser would refuse it (" + ", ".join(w for ok, w in checks if not ok) + ")"
    return "a browser would accept what the policy refuses" if s.expect == "refuse" \
        and passes else None


# -- runners ---------------------------------------------------------------------


@dataclass
class Runner:
    """One timed thing: ``func(*make())``, ``make`` building a new request
    for every call; ``answer`` reads one answer to check (None: a floor)."""

    func: Callable[..., Any]
    make: Callable[[], tuple[Any, ...]]
    answer: Optional[Callable[[], Answer]]


@dataclass
class Entry:
    name: str
    build: Callable[[Scenario], Runner]
    needs: tuple[str, ...] = ()     # importable modules it needs
    role: str = "peer"              # "corsfast", "drop-in", "bare", "floor", "peer"

    def missing(self) -> list[str]:
        return [m for m in self.needs if importlib.util.find_spec(m) is None]


def check(entry: Entry, s: Scenario, runner: Runner) -> Optional[str]:
    """Why ``runner``'s answer is wrong for ``s``, or None. The bare app has
    no CORS to check: it must answer, with 200 unless it is a preflight."""
    a = runner.answer() if runner.answer else None
    if a is None or entry.role != "bare":
        return None if a is None else verify(s, a)
    return None if a.status == 200 or (s.preflight and a.status) else f"status {a.status}"


def engine_runner(func: Callable[..., Any], policy: Any, s: Scenario) -> Runner:
    def answer() -> Answer:
        d = func(*engine_args(policy, s))
        return Answer(d.status if d.preflight else 200, list(d.headers))
    return Runner(func, lambda: engine_args(policy, s), answer)


async def _receive() -> dict[str, Any]:
    return {"type": "http.request", "body": b"", "more_body": False}


async def _discard(message: Any) -> None:
    pass


async def serve(app: Any, scope: Any, send: Any = _discard) -> None:
    await app(scope, _receive, send)  # as a server's request task does


def by_hand(app: Any, scope: Any) -> None:
    """One ASGI request driven without an event loop (the app must not suspend)."""
    coro = serve(app, scope)
    try:
        coro.send(None)
    except StopIteration:
        return
    coro.close()
    raise RuntimeError("the app suspended; it needs an event loop")


def asgi_runner(app: Any, s: Scenario) -> Runner:
    def answer() -> Answer:
        sent: list[Any] = []

        async def send(m: Any) -> None:
            sent.append(m)
        asyncio.run(serve(app, asgi_scope(s), send))
        start: dict[str, Any] = next((m for m in sent if m["type"] == "http.response.start"),
                                     {})
        return Answer(start.get("status"), [(bytes(k).decode("latin-1"), bytes(v).decode(
            "latin-1")) for k, v in start.get("headers") or ()])
    by_hand(app, asgi_scope(s))
    return Runner(lambda scope: by_hand(app, scope), lambda: (asgi_scope(s),), answer)


def _ignore(status: str, headers: Any, exc_info: Any = None) -> Any:
    return None


def wsgi_call(app: Any, environ: Any, start_response: Any = _ignore) -> None:
    """One whole WSGI request: the body read to the end, ``close()`` called."""
    body = app(environ, start_response)
    try:
        for _ in body:
            pass
    finally:
        if hasattr(body, "close"):
            body.close()


def wsgi_runner(app: Any, s: Scenario) -> Runner:
    def answer() -> Answer:
        got: list[Any] = [None, []]

        def record(status: str, headers: Any, exc_info: Any = None) -> Any:
            got[:] = [int(status.split()[0]), list(headers)]
            return lambda data: None
        wsgi_call(app, wsgi_environ(s), record)
        return Answer(*got)
    return Runner(lambda environ: wsgi_call(app, environ), lambda: (wsgi_environ(s),), answer)


# -- corsfast and the peers that need no global set-up -----------------------------

TWIN = corsfast.ENGINE != "cython"


def label(what: str = "") -> str:
    """corsfast's row name; the twin's rows say so."""
    return " ".join(p for p in ("corsfast", what, "(python twin)" if TWIN else "") if p)


@cache
def corsfast_policy(s: Scenario) -> Policy:
    return Policy(allow_origins=s.exact + s.patterns, allow_methods=METHODS,
                  allow_headers=HEADERS, max_age=MAX_AGE)


def corsfast_asgi(app: Any, s: Scenario) -> Any:
    return corsfast.asgi.CORSMiddleware(app, policy=corsfast_policy(s))


def corsfast_wsgi(app: Any, s: Scenario) -> Any:
    return corsfast.wsgi.CORSMiddleware(app, policy=corsfast_policy(s))


def starlette_kwargs(s: Scenario) -> dict[str, Any]:
    """Starlette's arguments; a full-match regex for the patterns."""
    regex = "|".join(f"(?:{pattern_regex(p)})" for p in s.patterns) or None
    return dict(allow_methods=METHODS, allow_headers=HEADERS, max_age=MAX_AGE,
                allow_origins=list(s.exact), allow_origin_regex=regex)


def starlette_cors(app: Any, s: Scenario) -> Any:
    from starlette.middleware.cors import CORSMiddleware
    # A set where Starlette takes one: its most favourable configuration.
    return CORSMiddleware(app, **dict(starlette_kwargs(s), allow_origins=frozenset(s.exact)))


def asgi_cors_app(app: Any, s: Scenario) -> Any:
    import asgi_cors
    # max_age is left out: asgi-cors sends it as str, which servers reject.
    return asgi_cors.asgi_cors(app, hosts=list(s.exact), host_wildcards=list(s.patterns),
                               methods=list(METHODS), headers=list(HEADERS))


def wsgicors_app(app: Any, s: Scenario) -> Any:
    import wsgicors
    return wsgicors.CORS(app, origin=" ".join(s.exact + s.patterns), methods=", ".join(METHODS),
                         headers=", ".join(HEADERS), maxage=str(MAX_AGE))


def flask_cors_options(s: Scenario) -> dict[str, Any]:
    # always_send=False: by default flask-cors sends its allowed origins even
    # to requests without an Origin, which the no-Origin check refuses.
    return dict(origins=[*s.exact, *(f"^(?:{pattern_regex(p)})$" for p in s.patterns)],
                methods=list(METHODS), allow_headers=list(HEADERS), max_age=MAX_AGE,
                always_send=False)


def flask_app(s: Optional[Scenario] = None, cors: Any = None) -> Any:
    """A one-route Flask app; ``cors`` (flask-cors's ``CORS`` unless given,
    e.g. corsfast's drop-in) gets flask-cors's options for ``s``."""
    import flask
    app = flask.Flask("corsfast_bench")
    app.add_url_rule(PATH, "index", lambda: "ok", methods=list(METHODS))
    if s is not None:
        (cors or __import__("flask_cors").CORS)(app, **flask_cors_options(s))
    return app


@cache
def litestar_config(s: Scenario) -> Any:
    from litestar.config.cors import CORSConfig
    methods: Any = list(METHODS)  # Litestar types its methods as literals
    config = CORSConfig(allow_origins=[*s.exact, *s.patterns], allow_methods=methods,
                        allow_headers=list(HEADERS), max_age=MAX_AGE)
    _ = config.allowed_origins_regex  # compiled once, up front
    return config


def litestar_app(s: Optional[Scenario] = None) -> Any:
    import litestar
    from litestar.enums import MediaType

    async def index() -> str:
        return "ok"
    methods: Any = list(METHODS)
    handler = litestar.route(PATH, http_method=methods, media_type=MediaType.TEXT,
                             status_code=200)(index)
    return litestar.Litestar(route_handlers=[handler], openapi_config=None,
                             cors_config=litestar_config(s) if s else None)


async def bare_asgi(scope: Any, receive: Any, send: Any) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": [
        (b"content-type", b"text/plain; charset=utf-8"), (b"content-length", b"2")]})
    await send({"type": "http.response.body", "body": b"ok"})


def bare_wsgi(environ: Any, start_response: Any) -> list[bytes]:
    start_response("200 OK", [("Content-Type", "text/plain; charset=utf-8"),
                              ("Content-Length", "2")])
    return [b"ok"]


@dataclass
class Family:
    """One app measured bare, wrapped by corsfast, and with each peer that fits."""

    key: str
    title: str
    interface: str                  # "asgi" or "wsgi"
    entries: tuple[Entry, ...]


def family(key: str, title: str, interface: str, bare: Callable[[], Any],
           needs: tuple[str, ...], others: Sequence[tuple[Any, ...]]) -> Family:
    """``others``: (name, role, scenario -> app, more modules it needs)."""
    wrap = asgi_runner if interface == "asgi" else wsgi_runner
    ours = corsfast_asgi if interface == "asgi" else corsfast_wsgi

    def wrapped(make: Callable[[Scenario], Any]) -> Callable[[Scenario], Runner]:
        return lambda s: wrap(make(s), s)
    entries = [Entry("bare app", wrapped(lambda s: bare()), needs, "bare"),
               Entry(label(), wrapped(lambda s: ours(bare(), s)), needs, "corsfast")]
    entries += [Entry(name, wrapped(make), needs + extra, role)
                for name, role, make, extra in others]
    return Family(key, title, interface, tuple(entries))


ENGINE_ENTRY = Entry(label(), lambda s: engine_runner(check_request, corsfast_policy(s), s),
                     role="corsfast")
FAMILIES: tuple[Family, ...] = (
    family("asgi", "ASGI, plain app", "asgi", lambda: bare_asgi, (), [
        ("starlette", "peer", lambda s: starlette_cors(bare_asgi, s), ("starlette",)),
        ("asgi-cors", "peer", lambda s: asgi_cors_app(bare_asgi, s), ("asgi_cors",))]),
    family("wsgi", "WSGI, plain app", "wsgi", lambda: bare_wsgi, (), [
        ("wsgicors", "peer", lambda s: wsgicors_app(bare_wsgi, s), ("wsgicors",))]),
    family("flask", "Flask app", "wsgi", flask_app, ("flask",), [
        ("flask-cors", "peer", flask_app, ("flask_cors",))]),
    family("litestar", "Litestar app", "asgi", litestar_app, ("litestar",), [
        ("litestar", "peer", litestar_app, ())]),
)
PEERS = {"starlette": "starlette", "asgi-cors": "asgi_cors", "wsgicors": "wsgicors",
         "flask": "flask", "flask-cors": "flask_cors", "litestar": "litestar"}


# -- timing ----------------------------------------------------------------------


def time_batch(func: Callable[..., Any], batch: Sequence[tuple[Any, ...]]) -> float:
    """Seconds to handle ``batch`` (built beforehand), the cyclic GC off as
    timeit does: when a full collection lands is luck, not a library's cost."""
    gc_was_on = gc.isenabled()
    gc.disable()
    try:
        start = time.perf_counter()
        for args in batch:
            func(*args)
        return time.perf_counter() - start
    finally:
        if gc_was_on:
            gc.enable()


def batch_size(r: Runner, seconds: float, most: int = 50_000) -> int:
    """Calls that take about ``seconds``: at most ``most``, and at most about
    32 MB of requests (a 64 KiB header would fill the memory otherwise)."""
    most = min(most, max(1, (32 << 20) // sum(sys.getsizeof(a) for a in r.make())))
    n = 1
    while (took := time_batch(r.func, [r.make() for _ in range(n)])) < seconds and n < most:
        n = min(most, n * min(100, max(2, int(seconds / max(took, 1e-9) * 1.2))))
    return n


def rounds(runners: Sequence[Runner], seconds: float, repeat: int) -> list[list[float]]:
    """ns per call of each runner in each of ``repeat`` rounds of batches of
    about ``seconds``. A round times one batch of each in turn, so a burst of
    load elsewhere hits them all alike."""
    gc.collect()
    sizes = [batch_size(r, seconds) for r in runners]
    out: list[list[float]] = [[] for _ in runners]
    for _ in range(repeat):
        for times, r, n in zip(out, runners, sizes):
            batch = [r.make() for _ in range(n)]
            times.append(time_batch(r.func, batch) / n * 1e9)
            del batch  # freed before the next batch is built, off the clock
    return out


def paired(times: Sequence[float], base: Sequence[float]) -> float:
    """The median over rounds of ``times`` minus ``base`` in the same round."""
    return statistics.median(t - b for t, b in zip(times, base))


def noise(bare: Sequence[float], again: Sequence[float]) -> float:
    """How far one app timed twice per round differs from itself: the median
    gap over the rounds, or the median of the signed gaps if larger."""
    return max(statistics.median(abs(a - b) for a, b in zip(again, bare)),
               abs(paired(again, bare)))


# -- the tables --------------------------------------------------------------------


@dataclass
class Row:
    name: str
    role: str
    ns: Optional[float] = None        # the median round
    overhead: Optional[float] = None  # paired with the bare app's rounds
    status: str = ""                  # why it was not timed


def run_group(entries: Sequence[Entry], s: Scenario, seconds: float,
              repeat: int) -> tuple[list[Row], float]:
    """A row for each installed entry (timed, or why not) and the noise: with
    a bare app among them, it is timed once more, last."""
    rows, runners = [], []
    for e in (e for e in entries if not e.missing()):
        rows.append(Row(e.name, e.role))
        try:
            runner = e.build(s)
            problem = check(e, s, runner)
        except Exception as exc:  # a peer that breaks is reported, not fatal
            rows[-1].status = f"{type(exc).__name__}: {exc}"[:150]
            continue
        rows[-1].status = f"WRONG: {problem}" if problem else ""
        runners += [] if problem else [(rows[-1], runner)]
    bare = next((i for i, (row, _) in enumerate(runners) if row.role == "bare"), None)
    figures = rounds([r for _, r in runners] + ([runners[bare][1]] if bare is not None else []),
                     seconds, repeat)
    for (row, _), times in zip(runners, figures):
        row.ns = statistics.median(times)
        if bare is not None and row.role != "bare":
            row.overhead = paired(times, figures[bare])
    return rows, 0.0 if bare is None else noise(figures[bare], figures[-1])


def fmt_ns(ns: float) -> str:
    return (f"{ns / 1e6:,.2f} ms" if ns >= 1e6 else f"{ns / 1e3:,.1f} us" if ns >= 1e4
            else f"{ns:,.0f} ns")


def family_table(title: str, rows: Sequence[Row], floor: float, preflight: bool) -> str:
    """Per request, the overhead over the bare app ("within noise" when it is
    negative or below the noise), and each overhead over corsfast's; for a
    preflight, which corsfast answers without the app, whole requests."""
    ours = next((r for r in rows if r.role == "corsfast" and r.ns is not None), None)
    lines = [f"{title}  (noise: {fmt_ns(floor)})",
             f"  {'library':<28} {'per request':>12} {'overhead':>13} {'x corsfast':>11}"]
    for r in rows:
        if r.ns is None:
            lines.append(f"  {r.name:<28} {r.status}")
            continue
        extra = "-" if r.overhead is None else (
            fmt_ns(r.overhead) if r.overhead > floor else "within noise")
        ratio = "-"
        if ours is not None and ours.ns and r.role != "bare":
            if preflight:
                ratio = f"{r.ns / ours.ns:.1f}x total"
            elif ours.overhead is not None and ours.overhead > floor and r.overhead is not None:
                ratio = f"{max(r.overhead, 0.0) / ours.overhead:.1f}x"
        lines.append(f"  {r.name:<28} {fmt_ns(r.ns):>12} {extra:>13} {ratio:>11}")
    return "\n".join(lines)


# -- which engine ------------------------------------------------------------------


def engine_line() -> str:
    """The engine measured, and the files of the compiled corsfast modules
    loaded (the middleware's too: it is imported above)."""
    suffixes = tuple(importlib.machinery.EXTENSION_SUFFIXES)
    files = sorted({str(getattr(m, "__file__", None)) for n, m in list(sys.modules.items())
                    if n.startswith("corsfast.")
                    and str(getattr(m, "__file__", None)).endswith(suffixes)})
    where = ", ".join(files) or ("" if TWIN else "no compiled module loaded")
    return f"engine: {corsfast.ENGINE}" + (f" ({where})" if where else "")


def environment() -> str:
    return (f"corsfast {corsfast.__version__}, {platform.python_implementation()} "
            f"{platform.python_version()}, {platform.system()} {platform.machine()}")


def add_engine_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--engine", choices=("cython", "python"), default="cython",
                        help="the engine to measure (default: cython; python: the "
                             "pure-Python twin, run in a subprocess)")


def ensure_engine(wanted: str, command: Sequence[str], program: str) -> Optional[int]:
    """None when the live engine is ``wanted``. Asked for the twin while the
    compiled engine is live: run ``command`` again with
    ``CORSFAST_NO_EXTENSIONS=1`` and return its exit status. Asked for the
    compiled engine while it is not live: say so and return 2, so that no
    figure of the twin is ever labelled plain "corsfast"."""
    if wanted == corsfast.ENGINE:
        return None
    if wanted == "python" and os.environ.get("CORSFAST_NO_EXTENSIONS", "") in ("", "0"):
        env = dict(os.environ, CORSFAST_NO_EXTENSIONS="1",
                   PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
        return subprocess.run(list(command), env=env, check=False).returncode
    hint = "; pass --engine python to measure the pure-Python twin" if wanted == "cython" else ""
    print(f"{program}: the live engine is {corsfast.ENGINE!r}, not {wanted!r}{hint}",
          file=sys.stderr)
    return 2


def main(argv: Optional[Sequence[str]] = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = argparse.ArgumentParser(
        prog="corsfast bench",
        description="Time corsfast beside the CORS libraries installed here, in process "
                    "(compare ratios, not absolute numbers). Progress goes to stderr, "
                    "the tables to stdout.")
    parser.add_argument("--scenario", action="append", choices=[s.key for s in SCENARIOS],
                        help="only this scenario (repeatable)")
    parser.add_argument("--level", choices=("engine", "middleware", "both"), default="both")
    parser.add_argument("--quick", action="store_true",
                        help="shorter batches, fewer rounds: rougher figures")
    add_engine_option(parser)
    parser.add_argument("--quiet", "-q", action="store_true", help="no progress on stderr")
    args = parser.parse_args(argv)
    status = ensure_engine(args.engine, [sys.executable, "-m", "corsfast._bench", *argv],
                           "corsfast bench")
    if status is not None:
        return status
    seconds, repeat = (0.002, 3) if args.quick else (0.004, 7)
    scenarios = [s for s in SCENARIOS if not args.scenario or s.key in args.scenario]
    missing = [name for name, module in PEERS.items() if importlib.util.find_spec(module) is None]
    started = time.perf_counter()
    out = [engine_line(), f"{environment()}; {repeat} rounds of ~{seconds * 1e3:g} ms "
           "batches, every request built anew before its batch's clock starts"]
    out += ["not installed, left out: " + ", ".join(missing)] if missing else []
    groups = [(s, None) for s in scenarios if args.level != "middleware"] + [
        (s, f) for s in scenarios if args.level != "engine" for f in FAMILIES
        if not f.entries[0].missing()]
    for s, fam in groups:
        if not args.quiet:
            print(f"{fam.title if fam else 'engine'}: {s.title}", file=sys.stderr, flush=True)
        if fam is None:
            if s is scenarios[0]:
                out += ["", f"{label()} check_request, one decision:"]
            (row,), _ = run_group([ENGINE_ENTRY], s, seconds, repeat)
            out.append(f"  {s.title:<42} {fmt_ns(row.ns) if row.ns else row.status:>10}")
            continue
        rows, floor = run_group(fam.entries, s, seconds, repeat)
        out += ["", family_table(f"{fam.title}: {s.title}", rows, floor, s.preflight)]
    print("\n".join(out))
    if not args.quiet:
        print(f"done in {time.perf_counter() - started:.1f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
