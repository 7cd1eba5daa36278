"""corsfast.wsgi.CORSMiddleware, called in-process.

``serve`` below plays the server's side of PEP 3333 (buffered headers,
``write``, ``exc_info`` replacement, ``close``) so each test can see exactly
what would reach the wire. Real servers run in test_servers_wsgi.py.
The suite runs once per engine (CI sets CORSFAST_NO_EXTENSIONS=1 for the twin).
"""

from __future__ import annotations

import io
import sys
from typing import Any, Callable, Iterable, Optional

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import corsfast.wsgi
from corsfast import ConfigError, Policy, Router
from corsfast.wsgi import CORSMiddleware

ORIGIN = "https://app.example.com"
POLICY_KW = dict(allow_origins=[ORIGIN], allow_methods=["GET", "PUT"],
                 allow_headers=["x-token"], expose_headers=["x-total"],
                 allow_credentials=True, max_age=600)


# -- a strict stand-in for the server side of PEP 3333 -------------------------


class Response:
    def __init__(self) -> None:
        self.status: Optional[str] = None
        self.headers: list[tuple[str, str]] = []
        self.body = b""
        self.headers_sent = False
        self.start_calls = 0
        self.closed = False
        self.error: Optional[BaseException] = None

    def start_response(self, status: str, headers: list[tuple[str, str]],
                       exc_info: Any = None) -> Callable[[bytes], None]:
        self.start_calls += 1
        if exc_info is not None:
            if self.headers_sent:
                raise exc_info[1].with_traceback(exc_info[2])
        elif self.status is not None:
            raise AssertionError("start_response called twice without exc_info")
        assert isinstance(status, str) and isinstance(headers, list)
        for name, value in headers:
            assert isinstance(name, str) and isinstance(value, str)
        self.status, self.headers = status, headers
        return self.write

    def write(self, data: bytes) -> None:
        assert self.status is not None, "body before start_response"
        self.headers_sent = True
        self.body += data

    @property
    def code(self) -> int:
        assert self.status is not None
        return int(self.status.split()[0])

    def get(self, name: str) -> Optional[str]:
        values = self.getall(name)
        assert len(values) <= 1, f"{name} sent {len(values)} times: {values}"
        return values[0] if values else None

    def getall(self, name: str) -> list[str]:
        return [v for k, v in self.headers if k.lower() == name.lower()]

    def cors_names(self) -> set[str]:
        return {k.lower() for k, _ in self.headers
                if k.lower().startswith("access-control-")}


def environ_for(method: str = "GET", path: str = "/", **headers: str) -> dict[str, Any]:
    env: dict[str, Any] = {
        "REQUEST_METHOD": method, "PATH_INFO": path, "SCRIPT_NAME": "",
        "QUERY_STRING": "", "SERVER_NAME": "testserver", "SERVER_PORT": "80",
        "SERVER_PROTOCOL": "HTTP/1.1", "wsgi.version": (1, 0),
        "wsgi.url_scheme": "http", "wsgi.input": io.BytesIO(),
        "wsgi.errors": io.StringIO(), "wsgi.multithread": False,
        "wsgi.multiprocess": False, "wsgi.run_once": False,
    }
    for key, value in headers.items():
        env["HTTP_" + key.upper()] = value
    return env


def serve(app: Any, environ: dict[str, Any]) -> Response:
    resp = Response()
    try:
        result = app(environ, resp.start_response)
        try:
            for chunk in result:
                if chunk:
                    resp.write(chunk)
        finally:
            close = getattr(result, "close", None)
            if close is not None:
                close()
                resp.closed = True
    except Exception as exc:  # a server logs it; the test inspects it
        resp.error = exc
    return resp


class App:
    """A WSGI app that records calls and answers with fixed headers."""

    def __init__(self, headers: Iterable[tuple[str, str]] = (),
                 status: str = "200 OK", body: Iterable[bytes] = (b"hello",)) -> None:
        self.headers = list(headers)
        self.status = status
        self.body = list(body)
        self.calls = 0

    def __call__(self, environ: dict[str, Any], start_response: Any) -> list[bytes]:
        self.calls += 1
        start_response(self.status, list(self.headers))
        return list(self.body)


def preflight(path: str = "/", **extra: str) -> dict[str, Any]:
    headers = {"origin": ORIGIN, "access_control_request_method": "PUT"}
    headers.update(extra)
    return environ_for("OPTIONS", path, **headers)


# -- construction --------------------------------------------------------------


def test_policy_object_and_kwargs_together_is_a_type_error() -> None:
    with pytest.raises(TypeError,
                       match=r"Policy arguments \(allow_origins\); pass one or the other"):
        CORSMiddleware(App(), Policy(allow_origins=[ORIGIN]), allow_origins=[ORIGIN])


def test_policy_of_the_wrong_type_is_a_type_error() -> None:
    with pytest.raises(TypeError, match=r"corsfast\.Policy or corsfast\.Router"):
        CORSMiddleware(App(), {"allow_origins": [ORIGIN]})  # type: ignore[arg-type]


def test_bad_policy_kwargs_raise_config_error() -> None:
    with pytest.raises(ConfigError, match="trailing slash"):
        CORSMiddleware(App(), allow_origins=["https://app.example.com/"])


def test_kwargs_build_the_policy() -> None:
    mw = CORSMiddleware(App(), **POLICY_KW)
    assert isinstance(mw.policy, Policy)
    assert mw.policy.allow_origins == (ORIGIN,)


# -- preflights ------------------------------------------------------------------


def test_allowed_preflight_is_answered_without_the_app() -> None:
    app = App()
    resp = serve(CORSMiddleware(app, **POLICY_KW),
                 preflight(access_control_request_headers="X-Token"))
    assert app.calls == 0
    assert resp.status == "204 No Content"
    assert resp.body == b""
    assert resp.get("access-control-allow-origin") == ORIGIN
    assert resp.get("access-control-allow-credentials") == "true"
    assert resp.get("access-control-allow-methods") == "GET, PUT"
    assert resp.get("access-control-allow-headers") == "x-token"
    assert resp.get("access-control-max-age") == "600"
    assert resp.get("vary") == ("origin, access-control-request-method, "
                                "access-control-request-headers")
    assert resp.get("content-length") is None  # never on a 204


def test_preflight_status_200_has_an_empty_length() -> None:
    resp = serve(CORSMiddleware(App(), allow_origins=[ORIGIN], allow_methods=["PUT"],
                                preflight_status=200), preflight())
    assert resp.status == "200 OK"
    assert resp.get("content-length") == "0"


@pytest.mark.parametrize("extra", [
    {"origin": "https://evil.example"},
    {"access_control_request_method": "DELETE"},
    {"access_control_request_headers": "x-other"},
    {"access_control_request_private_network": "true"},
])
def test_refused_preflight_is_403_without_cors_headers(extra: dict[str, str]) -> None:
    app = App()
    resp = serve(CORSMiddleware(app, **POLICY_KW), preflight(**extra))
    assert app.calls == 0
    assert resp.status == "403 Forbidden"
    assert resp.cors_names() == set()
    assert resp.get("vary").startswith("origin, access-control-request-method")
    assert resp.get("content-length") == "0"


def test_options_without_request_method_belongs_to_the_app() -> None:
    app = App(headers=[("Allow", "GET, OPTIONS")])
    resp = serve(CORSMiddleware(app, **POLICY_KW), environ_for("OPTIONS", origin=ORIGIN))
    assert app.calls == 1
    assert resp.code == 200 and resp.body == b"hello"
    assert resp.get("allow") == "GET, OPTIONS"
    assert resp.get("access-control-allow-origin") == ORIGIN
    assert resp.get("access-control-allow-methods") is None


def test_preflight_passthrough_lets_the_app_answer() -> None:
    app = App(status="200 OK", headers=[("Vary", "Accept-Encoding")])
    mw = CORSMiddleware(app, preflight_passthrough=True, **POLICY_KW)
    resp = serve(mw, preflight())
    assert app.calls == 1
    assert resp.status == "200 OK" and resp.body == b"hello"
    assert resp.get("access-control-allow-methods") == "GET, PUT"
    assert resp.get("vary") == ("Accept-Encoding, origin, access-control-request-method, "
                                "access-control-request-headers")
    refused = serve(mw, preflight(origin="https://evil.example"))
    assert app.calls == 2
    assert refused.status == "200 OK"
    assert refused.cors_names() == set()


# -- actual requests -----------------------------------------------------------------


def test_allowed_actual_request_gets_cors_headers_and_keeps_the_apps() -> None:
    app = App(headers=[("Content-Type", "text/plain"), ("Set-Cookie", "a=1"),
                       ("Set-Cookie", "b=2")])
    resp = serve(CORSMiddleware(app, **POLICY_KW), environ_for(origin=ORIGIN))
    assert app.calls == 1 and resp.code == 200 and resp.body == b"hello"
    assert resp.get("content-type") == "text/plain"
    assert resp.getall("set-cookie") == ["a=1", "b=2"]
    assert resp.get("access-control-allow-origin") == ORIGIN
    assert resp.get("access-control-allow-credentials") == "true"
    assert resp.get("access-control-expose-headers") == "x-total"
    assert resp.get("vary") == "origin"


def test_the_apps_cors_headers_are_replaced() -> None:
    app = App(headers=[("Access-Control-Allow-Origin", "*"),
                       ("ACCESS-CONTROL-ALLOW-CREDENTIALS", "false"),
                       ("Access-Control-Max-Age", "99999"),
                       ("X-Other", "kept")])
    mw = CORSMiddleware(app, allow_origins=[ORIGIN], allow_credentials=True)
    allowed = serve(mw, environ_for(origin=ORIGIN))
    assert allowed.get("access-control-allow-origin") == ORIGIN
    assert allowed.get("access-control-allow-credentials") == "true"
    assert allowed.get("access-control-max-age") is None
    assert allowed.get("x-other") == "kept"
    refused = serve(mw, environ_for(origin="https://evil.example"))
    assert refused.cors_names() == set()
    assert refused.get("x-other") == "kept"


@pytest.mark.parametrize("app_vary, expected", [
    ([("Vary", "Accept-Encoding")], "Accept-Encoding, origin"),
    ([("vary", "Origin, Cookie")], "Origin, Cookie"),
    ([("Vary", "Accept"), ("Vary", "cookie")], "Accept, cookie, origin"),
    ([("Vary", "*")], "*"),
    ([("Vary", "accept, *")], "*"),
])
def test_vary_is_merged_token_by_token(app_vary: list[tuple[str, str]],
                                       expected: str) -> None:
    resp = serve(CORSMiddleware(App(headers=app_vary), **POLICY_KW),
                 environ_for(origin=ORIGIN))
    assert resp.get("vary") == expected


def test_refused_actual_request_still_runs_the_app() -> None:
    app = App()
    resp = serve(CORSMiddleware(app, **POLICY_KW), environ_for(origin="https://evil.example"))
    assert app.calls == 1 and resp.code == 200 and resp.body == b"hello"
    assert resp.cors_names() == set()
    assert resp.get("vary") == "origin"


def test_no_origin_gets_vary_or_static_star() -> None:
    resp = serve(CORSMiddleware(App(), **POLICY_KW), environ_for())
    assert resp.cors_names() == set() and resp.get("vary") == "origin"
    star = serve(CORSMiddleware(App(), allow_origins="*"), environ_for())
    assert star.get("access-control-allow-origin") == "*"
    assert star.get("vary") is None


def test_app_headers_list_is_not_mutated() -> None:
    shared = [("Content-Type", "text/plain")]

    def app(environ: Any, start_response: Any) -> list[bytes]:
        start_response("200 OK", shared)
        return [b"x"]

    mw = CORSMiddleware(app, **POLICY_KW)
    for _ in range(3):
        assert serve(mw, environ_for(origin=ORIGIN)).get("access-control-allow-origin") == ORIGIN
    assert shared == [("Content-Type", "text/plain")]


# -- block_refused ------------------------------------------------------------------


@pytest.mark.parametrize("origin", ["https://evil.example", "https://a.com, https://b.com",
                                    "", "null"])
def test_block_refused_answers_403_without_the_app(origin: str) -> None:
    app = App()
    resp = serve(CORSMiddleware(app, block_refused=True, **POLICY_KW),
                 environ_for("POST", origin=origin))
    assert app.calls == 0
    assert resp.status == "403 Forbidden" and resp.body == b""
    assert resp.cors_names() == set()
    assert resp.get("vary") == "origin"


def test_block_refused_lets_allowed_and_non_cors_requests_through() -> None:
    app = App()
    mw = CORSMiddleware(app, block_refused=True, **POLICY_KW)
    assert serve(mw, environ_for("POST", origin=ORIGIN)).code == 200
    assert serve(mw, environ_for("POST")).code == 200
    assert app.calls == 2


# -- routing -----------------------------------------------------------------------------


def make_router() -> Router:
    return Router({
        "/api": Policy(allow_origins=[ORIGIN], allow_methods=["PUT"]),
        "/public": Policy(allow_origins="*"),
    })


def test_router_picks_the_policy_by_path() -> None:
    app = App()
    mw = CORSMiddleware(app, make_router())
    assert serve(mw, environ_for(path="/api/users", origin=ORIGIN)).get(
        "access-control-allow-origin") == ORIGIN
    assert serve(mw, environ_for(path="/public/x", origin=ORIGIN)).get(
        "access-control-allow-origin") == "*"
    pf = serve(mw, preflight("/api/users"))
    assert pf.status == "204 No Content" and app.calls == 2


def test_router_leaves_unrouted_paths_untouched() -> None:
    app = App(headers=[("Access-Control-Allow-Origin", "https://app-set.example")])
    mw = CORSMiddleware(app, make_router())
    resp = serve(mw, environ_for(path="/apix", origin=ORIGIN))
    assert resp.headers == [("Access-Control-Allow-Origin", "https://app-set.example")]
    pf = serve(mw, preflight("/other"))
    assert app.calls == 2 and pf.status == "200 OK"
    assert pf.headers == [("Access-Control-Allow-Origin", "https://app-set.example")]


def test_router_never_unquotes_path_info_again() -> None:
    # The server already decoded the path once: "%61pi" is a literal segment
    # and must not become "api".
    app = App()
    mw = CORSMiddleware(app, make_router())
    resp = serve(mw, environ_for(path="/%61pi/users", origin=ORIGIN))
    assert resp.headers == [] and app.calls == 1
    resp = serve(mw, environ_for(path="/API/users", origin=ORIGIN))
    assert resp.headers == []


class PathTable:
    """A router of one's own: anything with lookup(path) -> Policy | None."""

    def __init__(self, table: dict[str, Policy]) -> None:
        self.table = table
        self.seen: list[str] = []

    def lookup(self, path: str) -> Optional[Policy]:
        self.seen.append(path)
        return self.table.get(path)


def test_any_object_with_lookup_is_a_router() -> None:
    app = App()
    router = PathTable({"/exact": Policy(allow_origins=[ORIGIN], allow_methods=["PUT"])})
    mw = CORSMiddleware(app, router)
    assert mw.policy is router
    assert serve(mw, environ_for(path="/exact", origin=ORIGIN)).get(
        "access-control-allow-origin") == ORIGIN
    assert serve(mw, environ_for(path="/exact/more", origin=ORIGIN)).headers == []
    assert serve(mw, preflight("/exact")).status == "204 No Content"
    assert router.seen == ["/exact", "/exact/more", "/exact"] and app.calls == 2


def test_past_middleware_leaves_a_response_alone() -> None:
    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        if environ["PATH_INFO"] == "/own":
            start_response = corsfast.wsgi.past_middleware(start_response)
        start_response("200 OK", [("Access-Control-Allow-Origin", "*")])
        return [b"x"]

    mw = CORSMiddleware(app, **POLICY_KW)
    own = serve(mw, environ_for(path="/own", origin=ORIGIN))
    assert own.headers == [("Access-Control-Allow-Origin", "*")]
    other = serve(mw, environ_for(path="/other", origin=ORIGIN))
    assert other.get("access-control-allow-origin") == ORIGIN
    plain = Response()
    assert corsfast.wsgi.past_middleware(plain.start_response) == plain.start_response


# -- errors keep CORS --------------------------------------------------------------------


class Boom(Exception):
    pass


def test_raise_before_start_response_sends_500_with_cors_then_reraises() -> None:
    def app(environ: Any, start_response: Any) -> list[bytes]:
        raise Boom("before start_response")

    resp = serve(CORSMiddleware(app, **POLICY_KW), environ_for(origin=ORIGIN))
    assert isinstance(resp.error, Boom)
    assert resp.status == "500 Internal Server Error"
    assert resp.headers_sent and resp.body == b"Internal Server Error"
    assert resp.get("content-length") == str(len(resp.body))
    assert resp.get("access-control-allow-origin") == ORIGIN
    assert resp.get("access-control-allow-credentials") == "true"
    assert resp.get("vary") == "origin"


def test_raise_after_start_response_replaces_the_status() -> None:
    def app(environ: Any, start_response: Any) -> list[bytes]:
        start_response("200 OK", [("Content-Type", "application/json")])
        raise Boom("after start_response")

    resp = serve(CORSMiddleware(app, **POLICY_KW), environ_for(origin=ORIGIN))
    assert isinstance(resp.error, Boom)
    assert resp.code == 500 and resp.get("content-type").startswith("text/plain")
    assert resp.get("access-control-allow-origin") == ORIGIN


def test_generator_raising_before_its_first_chunk_gets_a_500() -> None:
    def app(environ: Any, start_response: Any) -> Iterable[bytes]:
        start_response("200 OK", [("Content-Type", "text/plain")])
        raise Boom("in the body")
        yield b"never"  # pragma: no cover

    resp = serve(CORSMiddleware(app, **POLICY_KW), environ_for(origin=ORIGIN))
    assert isinstance(resp.error, Boom)
    assert resp.code == 500 and resp.get("access-control-allow-origin") == ORIGIN
    assert resp.closed


def test_raise_after_the_body_started_sends_nothing_twice() -> None:
    def app(environ: Any, start_response: Any) -> Iterable[bytes]:
        start_response("200 OK", [("Content-Type", "text/plain")])
        yield b""
        yield b"partial"
        raise Boom("mid-body")

    resp = serve(CORSMiddleware(app, **POLICY_KW), environ_for(origin=ORIGIN))
    assert isinstance(resp.error, Boom)
    assert resp.status == "200 OK" and resp.start_calls == 1
    assert resp.body == b"partial"
    assert resp.get("access-control-allow-origin") == ORIGIN
    assert resp.closed


def test_app_that_already_wrote_gets_its_exception_back() -> None:
    def app(environ: Any, start_response: Any) -> list[bytes]:
        write = start_response("200 OK", [])
        write(b"streamed")
        raise Boom("after write")

    resp = serve(CORSMiddleware(app, **POLICY_KW), environ_for(origin=ORIGIN))
    assert isinstance(resp.error, Boom)
    assert resp.status == "200 OK" and resp.body == b"streamed"


def test_app_using_exc_info_itself_keeps_cors_headers() -> None:
    def app(environ: Any, start_response: Any) -> list[bytes]:
        start_response("200 OK", [("Content-Type", "text/html")])
        try:
            raise Boom("handled by the app")
        except Boom:
            start_response("503 Service Unavailable", [("Retry-After", "5")],
                           sys.exc_info())
        return [b"later"]

    resp = serve(CORSMiddleware(app, **POLICY_KW), environ_for(origin=ORIGIN))
    assert resp.error is None
    assert resp.code == 503 and resp.body == b"later"
    assert resp.get("retry-after") == "5"
    assert resp.get("access-control-allow-origin") == ORIGIN


def test_close_is_passed_on_even_when_never_iterated() -> None:
    closed = []

    class Body:
        def __iter__(self) -> Any:
            return iter([b"a", b"b"])

        def close(self) -> None:
            closed.append(True)

    def app(environ: Any, start_response: Any) -> Body:
        start_response("200 OK", [])
        return Body()

    result = CORSMiddleware(app, **POLICY_KW)(environ_for(origin=ORIGIN), Response().start_response)
    result.close()  # type: ignore[attr-defined]
    assert closed == [True]
    resp = serve(CORSMiddleware(app, **POLICY_KW), environ_for(origin=ORIGIN))
    assert resp.body == b"ab" and closed == [True, True]


def test_file_wrapper_result_is_returned_as_is() -> None:
    from wsgiref.util import FileWrapper

    def app(environ: Any, start_response: Any) -> Any:
        start_response("200 OK", [])
        return environ["wsgi.file_wrapper"](io.BytesIO(b"file body"))

    env = environ_for(origin=ORIGIN)
    env["wsgi.file_wrapper"] = FileWrapper
    resp = Response()
    result = CORSMiddleware(app, **POLICY_KW)(env, resp.start_response)
    assert type(result) is FileWrapper
    assert resp.get("access-control-allow-origin") == ORIGIN


# -- bad input never raises and never makes a 500 ---------------------------------------

BAD_VALUES = [
    "", " ", "https://app.example.com, https://app.example.com", ORIGIN + "\r\nX: y",
    ORIGIN + "\x00", "https://app.exämple.com", "\udcff", "https://" + "a" * 5000,
    "null", "HTTPS://APP.EXAMPLE.COM", ORIGIN + "/", "*",
]


@pytest.mark.parametrize("origin", BAD_VALUES)
def test_malformed_origin_runs_the_app_and_refuses_preflights(origin: str) -> None:
    app = App()
    mw = CORSMiddleware(app, **POLICY_KW)
    actual = serve(mw, environ_for("POST", origin=origin))
    assert actual.error is None and actual.code == 200 and app.calls == 1
    assert actual.cors_names() == set()
    pf = serve(mw, preflight(origin=origin))
    assert pf.error is None and pf.status == "403 Forbidden" and app.calls == 1


@pytest.mark.parametrize("field", ["access_control_request_method",
                                   "access_control_request_headers",
                                   "access_control_request_private_network"])
@pytest.mark.parametrize("value", ["", "PUT, PUT", "x-token,, ,x-token" * 400,
                                   "ü", "a\x00b", ",".join(["x-token"] * 100), "\udcff"])
def test_malformed_request_headers_never_raise(field: str, value: str) -> None:
    app = App()
    resp = serve(CORSMiddleware(app, **POLICY_KW), preflight(**{field: value}))
    assert resp.error is None
    if field == "access_control_request_private_network":
        assert resp.code == 204  # any value but "true" counts as absent
    elif field == "access_control_request_headers" and value == "":
        assert resp.code == 204  # an empty list asks for nothing
    else:
        assert resp.status == "403 Forbidden" and resp.cors_names() == set()
    assert app.calls == 0


latin1_text = st.text(st.characters(max_codepoint=255), max_size=1200)


@settings(max_examples=150, deadline=None)
@given(method=st.sampled_from(["GET", "POST", "OPTIONS", "PUT", "options", ""]),
       origin=st.one_of(st.none(), latin1_text, st.just(ORIGIN)),
       acrm=st.one_of(st.none(), latin1_text, st.just("PUT")),
       acrh=st.one_of(st.none(), latin1_text),
       acrpn=st.one_of(st.none(), latin1_text, st.just("true")))
def test_any_request_headers_never_raise_or_500(method: str, origin: Optional[str],
                                                acrm: Optional[str], acrh: Optional[str],
                                                acrpn: Optional[str]) -> None:
    env = environ_for(method)
    for key, value in (("HTTP_ORIGIN", origin), ("HTTP_ACCESS_CONTROL_REQUEST_METHOD", acrm),
                       ("HTTP_ACCESS_CONTROL_REQUEST_HEADERS", acrh),
                       ("HTTP_ACCESS_CONTROL_REQUEST_PRIVATE_NETWORK", acrpn)):
        if value is not None:
            env[key] = value
    app = App()
    resp = serve(CORSMiddleware(app, **POLICY_KW), env)
    assert resp.error is None
    preflight_shaped = method == "OPTIONS" and origin is not None and acrm is not None
    if preflight_shaped:
        assert app.calls == 0 and resp.code in (204, 403)
        if resp.code == 403:
            assert resp.cors_names() == set()
    else:
        assert app.calls == 1 and resp.code == 200
    allowed_origin = resp.get("access-control-allow-origin")
    assert allowed_origin in (None, ORIGIN)


def test_refusals_are_logged_escaped_only_when_asked(
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level("INFO", logger="corsfast")
    forged = "https://evil.example.net\r\nINFO fake line"

    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        start_response("200 OK", [("content-type", "text/plain")])
        return [b"ok"]

    def call(mw: Any, **extra: str) -> None:
        env = {"REQUEST_METHOD": "GET", "PATH_INFO": "/x", **extra}
        list(mw(env, lambda status, headers, exc_info=None: None))

    call(corsfast.wsgi.CORSMiddleware(app, allow_origins=[ORIGIN]),
         HTTP_ORIGIN=forged)
    assert not caplog.records, "logging is opt-in"
    loud = corsfast.wsgi.CORSMiddleware(app, allow_origins=[ORIGIN], log_refusals=True)
    call(loud, HTTP_ORIGIN=forged)
    call(loud, HTTP_ORIGIN=ORIGIN)  # allowed: not logged
    messages = [r.getMessage() for r in caplog.records]
    assert len(messages) == 1, messages
    assert "\r" not in messages[0] and "\n" not in messages[0]
    assert "MALFORMED_REQUEST" in messages[0] and "path=/x" in messages[0]


@pytest.mark.parametrize("status,line,length", [
    (204, "204 No Content", False),
    (200, "200 OK", True),
    (403, "403 Forbidden", True),
    (299, "299 CORS", True),
])
def test_answers_made_here(status: int, line: str, length: bool) -> None:
    started: list[Any] = []
    ours = (("access-control-allow-origin", "https://a.example"),)
    body = corsfast.wsgi.answer(lambda *args: started.append(args), status, ours)
    assert list(body) == []
    assert started == [(line, [*ours, *([("content-length", "0")] if length else [])])]


@pytest.mark.parametrize("call", ["positional", "keyword", "exc_info_keyword"])
def test_start_response_hook_takes_pep_3333_calls(call: str) -> None:
    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        headers = [("Content-Type", "text/plain")]
        if call == "positional":
            start_response("200 OK", headers)
        elif call == "keyword":
            start_response(status="200 OK", headers=headers)
        else:
            start_response("200 OK", headers, exc_info=None)
        return [b"x"]

    r = serve(CORSMiddleware(app, **POLICY_KW), environ_for(origin=ORIGIN))
    assert r.status == "200 OK"
    assert r.get("access-control-allow-origin") == ORIGIN
    assert r.get("content-type") == "text/plain"


def test_start_response_hook_rejects_a_bad_call() -> None:
    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        with pytest.raises(TypeError):
            start_response("200 OK")
        with pytest.raises(TypeError):
            start_response("200 OK", [], None, "extra")
        start_response("204 No Content", [])
        return []

    r = serve(CORSMiddleware(app, **POLICY_KW), environ_for(origin=ORIGIN))
    assert r.status == "204 No Content"
