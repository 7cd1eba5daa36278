"""corsfast under Starlette, through Starlette's own TestClient.

Covers the generic middleware in a Starlette stack (errors, websockets) and
the drop-in ``corsfast.contrib.starlette.CORSMiddleware``: its answers are
compared with Starlette's own middleware request by request, except where
docs/asgi.md lists a deviation, which is tested on its own.
"""

from __future__ import annotations

import warnings
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware as StarletteCORS
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.testclient import TestClient
from starlette.websockets import WebSocket, WebSocketDisconnect

from corsfast import ConfigError, Router
from corsfast.asgi import CORSMiddleware
from corsfast.contrib.starlette import CORSMiddleware as DropIn
from corsfast.contrib.starlette import WildcardCredentialsWarning

APP = "https://app.example.com"
EVIL = "https://evil.example.net"


async def homepage(request: Request) -> Response:
    return PlainTextResponse("home", headers={"vary": "Accept-Encoding",
                                              "x-secret": "s", "x-id": "7"})


async def bare_asgi(scope: Any, receive: Any, send: Any) -> None:
    await PlainTextResponse("bare")(scope, receive, send)


async def broken(request: Request) -> Response:
    raise RuntimeError("endpoint failed")


async def echo_ws(websocket: WebSocket) -> None:
    await websocket.accept()
    await websocket.send_text("hello")
    await websocket.close()


ROUTES = [
    Route("/", homepage, methods=["GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"]),
    Route("/broken", broken),
    WebSocketRoute("/ws", echo_ws),
]


def client(middleware: Any, raise_server_exceptions: bool = True, **kwargs: Any) -> TestClient:
    app = Starlette(routes=ROUTES, middleware=[Middleware(middleware, **kwargs)])
    return TestClient(app, raise_server_exceptions=raise_server_exceptions)


# -- the generic middleware in a Starlette stack ----------------------------------


def test_generic_middleware_in_starlette() -> None:
    c = client(CORSMiddleware, allow_origins=[APP], allow_methods=["PUT"],
               expose_headers=["x-id"])
    r = c.get("/", headers={"Origin": APP})
    assert r.status_code == 200 and r.text == "home"
    assert r.headers["access-control-allow-origin"] == APP
    assert r.headers["access-control-expose-headers"] == "x-id"
    assert r.headers["vary"] == "Accept-Encoding, origin"
    r = c.options("/", headers={"Origin": APP, "Access-Control-Request-Method": "PUT"})
    assert r.status_code == 204 and r.content == b""
    assert r.headers["access-control-allow-methods"] == "PUT"


def test_generic_middleware_keeps_cors_on_a_500() -> None:
    c = client(CORSMiddleware, raise_server_exceptions=False, allow_origins=[APP],
               allow_credentials=True)
    r = c.get("/broken", headers={"Origin": APP})
    assert r.status_code == 500
    assert r.text == "Internal Server Error"
    assert r.headers["access-control-allow-origin"] == APP
    assert r.headers["access-control-allow-credentials"] == "true"


def test_generic_middleware_reraises_for_the_server() -> None:
    c = client(CORSMiddleware, allow_origins=[APP])
    with pytest.raises(RuntimeError, match="endpoint failed"):
        c.get("/broken", headers={"Origin": APP})


def test_generic_middleware_checks_websocket_origins() -> None:
    c = client(CORSMiddleware, allow_origins=[APP], check_websocket=True)
    with c.websocket_connect("/ws", headers={"Origin": APP}) as ws:
        assert ws.receive_text() == "hello"
    with pytest.raises(WebSocketDisconnect) as refused:
        with c.websocket_connect("/ws", headers={"Origin": EVIL}):
            pass  # pragma: no cover - the handshake is refused
    assert refused.value.code == 1008


def test_generic_middleware_with_a_router() -> None:
    from corsfast import Policy

    routes = Router({"/broken": Policy(allow_origins=[APP])})
    c = client(CORSMiddleware, raise_server_exceptions=False, policy=routes)
    assert c.get("/broken", headers={"Origin": APP}).headers[
        "access-control-allow-origin"] == APP
    r = c.get("/", headers={"Origin": APP})
    assert "access-control-allow-origin" not in r.headers
    assert r.headers["vary"] == "Accept-Encoding"


# -- the drop-in: same answers as Starlette's own ---------------------------------

CONFIGS: list[dict[str, Any]] = [
    {"allow_origins": [APP]},
    {"allow_origins": [APP], "allow_methods": ["GET", "PUT", "DELETE"],
     "allow_headers": ["X-Token", "Content-Type"], "expose_headers": ["X-Id"],
     "allow_credentials": True, "max_age": 30},
    {"allow_origins": [APP, "null"], "allow_methods": ["*"],
     "allow_private_network": True},
    {"allow_origin_regex": r"https://[a-z]+\.example\.com", "allow_credentials": True,
     "allow_methods": ["PUT"], "allow_headers": ["x-token"]},
    {"allow_origins": ["*"], "allow_methods": ["*"], "allow_headers": ["*"],
     "expose_headers": ["X-Id"]},
]

REQUESTS: list[tuple[str, dict[str, str]]] = [
    ("GET", {}),
    ("GET", {"Origin": APP}),
    ("GET", {"Origin": EVIL}),
    ("GET", {"Origin": "null"}),
    ("OPTIONS", {"Origin": APP}),
    ("OPTIONS", {"Origin": APP, "Access-Control-Request-Method": "PUT"}),
    ("OPTIONS", {"Origin": APP, "Access-Control-Request-Method": "DELETE"}),
    ("OPTIONS", {"Origin": EVIL, "Access-Control-Request-Method": "PUT"}),
    ("OPTIONS", {"Origin": "null", "Access-Control-Request-Method": "PUT"}),
    ("OPTIONS", {"Origin": APP, "Access-Control-Request-Method": "PUT",
                 "Access-Control-Request-Headers": "X-Token"}),
    ("OPTIONS", {"Origin": APP, "Access-Control-Request-Method": "PUT",
                 "Access-Control-Request-Headers": "x-token,content-type"}),
    ("OPTIONS", {"Origin": APP, "Access-Control-Request-Method": "PUT",
                 "Access-Control-Request-Headers": "x-nope"}),
    ("OPTIONS", {"Origin": APP, "Access-Control-Request-Method": "PUT",
                 "Access-Control-Request-Private-Network": "true"}),
    ("PUT", {"Origin": APP}),
    ("DELETE", {"Origin": EVIL}),
]


def cors_view(response: Any) -> tuple[int, str, dict[str, str]]:
    headers = {k: v for k, v in response.headers.items()
               if k.startswith("access-control-") or k == "vary"}
    return response.status_code, response.text, headers


def listed(value: str) -> str:
    """A list header's elements, trimmed and joined with ", "."""
    return ", ".join(part.strip() for part in value.split(",") if part.strip())


@pytest.mark.parametrize("config", CONFIGS, ids=range(len(CONFIGS)))
def test_drop_in_answers_like_starlette(config: dict[str, Any]) -> None:
    theirs = client(StarletteCORS, **config)
    ours = client(DropIn, **config)
    for method, headers in REQUESTS:
        expected = cors_view(theirs.request(method, "/", headers=headers))
        got = cors_view(ours.request(method, "/", headers=headers))
        status, text, cors = expected
        if status == 400:
            # Deviation: a refused preflight carries no access-control-*
            # header (Starlette sends its allow lists along with the 400).
            cors = {k: v for k, v in cors.items() if k == "vary"}
        elif status != 200 or method != "OPTIONS" or "Origin" not in headers \
                or "Access-Control-Request-Method" not in headers:
            if "access-control-allow-origin" not in cors:
                # Deviation: a refused actual request only gets vary.
                cors = {k: v for k, v in cors.items() if k == "vary"}
        elif "Access-Control-Request-Headers" not in headers:
            # Deviation: the allowed-headers list is sent when headers are
            # asked for, not on every preflight.
            cors.pop("access-control-allow-headers", None)
        elif "*" in config.get("allow_headers", ()):
            # Deviation: the mirrored names are joined with ", " (Starlette
            # sends the request's value verbatim).
            cors["access-control-allow-headers"] = listed(
                cors["access-control-allow-headers"])
        assert got == (status, text, cors), (method, headers)


def test_drop_in_preflight_answers() -> None:
    c = client(DropIn, allow_origins=[APP], allow_methods=["PUT"])
    r = c.options("/", headers={"Origin": APP, "Access-Control-Request-Method": "PUT"})
    assert (r.status_code, r.text) == (200, "OK")
    assert r.headers["content-type"] == "text/plain; charset=utf-8"
    assert r.headers["access-control-max-age"] == "600"
    for asked, word in [({"Origin": EVIL}, "origin"),
                        ({"Access-Control-Request-Method": "PATCH"}, "method"),
                        ({"Access-Control-Request-Headers": "x-nope"}, "headers"),
                        ({"Access-Control-Request-Private-Network": "true"},
                         "private-network")]:
        headers = {"Origin": APP, "Access-Control-Request-Method": "PUT", **asked}
        r = c.options("/", headers=headers)
        assert (r.status_code, r.text) == (400, f"Disallowed CORS {word}")
        assert not any(k.startswith("access-control-") for k in r.headers)


def test_drop_in_safelisted_headers_always_allowed() -> None:
    c = client(DropIn, allow_origins=[APP], allow_headers=["X-Token"])
    r = c.options("/", headers={"Origin": APP, "Access-Control-Request-Method": "GET",
                                "Access-Control-Request-Headers":
                                    "accept, accept-language, content-language, "
                                    "content-type, x-token"})
    assert r.status_code == 200
    assert r.headers["access-control-allow-headers"] == (
        "Accept, Accept-Language, Content-Language, Content-Type, X-Token")


@pytest.mark.parametrize("credentials", [False, True])
def test_drop_in_star_headers_mirror_the_request(credentials: bool) -> None:
    # Starlette's "*" mirrors whatever is asked, as sent, Authorization
    # included, with or without credentials.
    config: dict[str, Any] = {"allow_origins": [APP], "allow_headers": ["*"],
              "allow_credentials": credentials}
    theirs, ours = client(StarletteCORS, **config), client(DropIn, **config)
    for asked in ["Authorization, X-Any", "X-Example", "content-type"]:
        headers = {"Origin": APP, "Access-Control-Request-Method": "GET",
                   "Access-Control-Request-Headers": asked}
        expected = theirs.options("/", headers=headers)
        r = ours.options("/", headers=headers)
        assert (r.status_code, r.text) == (expected.status_code, expected.text) == (200, "OK")
        assert r.headers["access-control-allow-headers"] == asked
        assert expected.headers["access-control-allow-headers"] == asked


def test_drop_in_star_headers_never_mirror_unvalidated_values() -> None:
    # Starlette mirrors the raw value whatever it holds; the drop-in echoes
    # only validated names: a non-token element is a malformed preflight.
    c = client(DropIn, allow_origins=[APP], allow_headers=["*"])
    for asked in ["x-a, x b", "x-a;x-b", "x-a, cookie"]:
        r = c.options("/", headers={"Origin": APP, "Access-Control-Request-Method": "GET",
                                    "Access-Control-Request-Headers": asked})
        assert r.status_code == 400, asked
        assert "access-control-allow-headers" not in r.headers
    # Empty elements and whitespace around names are tolerated and dropped.
    r = c.options("/", headers={"Origin": APP, "Access-Control-Request-Method": "GET",
                                "Access-Control-Request-Headers": " X-A ,, x-B"})
    assert r.headers["access-control-allow-headers"] == "X-A, x-B"


def test_drop_in_refusal_lists_every_failed_check() -> None:
    config: dict[str, Any] = {"allow_origins": [APP], "allow_headers": ["X-Example"]}
    theirs, ours = client(StarletteCORS, **config), client(DropIn, **config)
    for headers in [
        {"Origin": EVIL, "Access-Control-Request-Method": "POST",
         "Access-Control-Request-Headers": "X-Nope"},
        {"Origin": EVIL, "Access-Control-Request-Method": "GET",
         "Access-Control-Request-Headers": "X-Nope",
         "Access-Control-Request-Private-Network": "true"},
        {"Origin": APP, "Access-Control-Request-Method": "PUT",
         "Access-Control-Request-Private-Network": "true"},
        {"Origin": APP, "Access-Control-Request-Method": "GET",
         "Access-Control-Request-Headers": "X-Nope-1, X-Nope-2"},
        {"Origin": EVIL, "Access-Control-Request-Method": "GET"},
    ]:
        expected = theirs.options("/", headers=headers)
        r = ours.options("/", headers=headers)
        assert (r.status_code, r.text) == (expected.status_code, expected.text), headers
        assert r.status_code == 400
    # A malformed value is named "request".
    r = ours.options("/", headers={"Origin": EVIL, "Access-Control-Request-Method": "GET",
                                   "Access-Control-Request-Headers": "x y"})
    assert r.text == "Disallowed CORS origin, request"
    r = ours.options("/", headers={"Origin": "https://a b", "Access-Control-Request-Method": "PUT"})
    assert r.text == "Disallowed CORS request"


def test_drop_in_wildcard_origin_varies_like_starlette() -> None:
    config: dict[str, Any] = {"allow_origins": ["*"], "expose_headers": ["X-Id"]}
    theirs, ours = client(StarletteCORS, **config), client(DropIn, **config)
    for method, headers in [("GET", {}), ("GET", {"Origin": APP}),
                            ("OPTIONS", {"Access-Control-Request-Method": "GET"}),
                            ("PUT", {"Origin": "null"})]:
        expected = cors_view(theirs.request(method, "/", headers=headers))
        assert cors_view(ours.request(method, "/", headers=headers)) == expected, headers
    r = ours.get("/")
    assert "access-control-allow-origin" not in r.headers
    assert r.headers["vary"] == "Accept-Encoding, Origin"


def test_drop_in_wildcard_with_credentials_warns_and_reflects() -> None:
    with pytest.warns(WildcardCredentialsWarning, match="reflects every origin"):
        mw = DropIn(bare_asgi, allow_origins=["*"], allow_credentials=True)
    # The choice is the dialect's, by name, where the audit can see it.
    assert mw.policy.allow_origin_predicate is None
    assert mw.policy.dialect.reflect_any_origin_with_credentials
    assert "reflect_any_origin_with_credentials=True" in repr(mw.policy)
    with pytest.warns(WildcardCredentialsWarning):
        c = client(DropIn, allow_origins=["*"], allow_credentials=True)
        r = c.get("/", headers={"Origin": EVIL})
    assert r.headers["access-control-allow-origin"] == EVIL
    assert r.headers["access-control-allow-credentials"] == "true"
    assert r.headers["vary"] == "Accept-Encoding, Origin"


def test_drop_in_wildcard_without_credentials_does_not_warn() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        DropIn(bare_asgi, allow_origins=["*"])


def test_drop_in_regex_is_a_full_match() -> None:
    c = client(DropIn, allow_origin_regex=r"https://.*\.example\.org")
    assert c.get("/", headers={"Origin": "https://a.example.org"}).headers[
        "access-control-allow-origin"] == "https://a.example.org"
    r = c.get("/", headers={"Origin": "https://a.example.org.evil.com"})
    assert "access-control-allow-origin" not in r.headers


def test_drop_in_lone_string_origin_is_not_a_substring_match() -> None:
    # Starlette tests `origin in allow_origins`: on a str that is a
    # substring test, so "https://example.or" would pass.
    c = client(DropIn, allow_origins="https://example.org")
    assert c.get("/", headers={"Origin": "https://example.org"}).headers[
        "access-control-allow-origin"] == "https://example.org"
    r = c.get("/", headers={"Origin": "https://example.or"})
    assert "access-control-allow-origin" not in r.headers


def test_drop_in_preflight_methods_must_be_listed() -> None:
    # As in Starlette, a preflight's method must be in allow_methods, POST
    # and HEAD included (the generic middleware always allows GET, HEAD and
    # POST).
    c = client(DropIn, allow_origins=[APP])
    for method, expected in [("GET", (200, "OK")),
                             ("POST", (400, "Disallowed CORS method")),
                             ("HEAD", (400, "Disallowed CORS method"))]:
        r = c.options("/", headers={"Origin": APP, "Access-Control-Request-Method": method})
        assert (r.status_code, r.text) == expected, method
    c = client(DropIn, allow_origins=[APP], allow_methods=["POST"])
    r = c.options("/", headers={"Origin": APP, "Access-Control-Request-Method": "POST"})
    assert (r.status_code, r.text) == (200, "OK")
    r = c.options("/", headers={"Origin": APP, "Access-Control-Request-Method": "GET"})
    assert (r.status_code, r.text) == (400, "Disallowed CORS method")


def test_drop_in_large_max_age_is_capped_with_a_warning() -> None:
    with pytest.warns(UserWarning, match="sends 86400"):
        mw = DropIn(bare_asgi, allow_origins=[APP], max_age=7 * 86400)
    assert mw.policy.max_age == 86400


def test_drop_in_bad_origin_entry_fails_loudly() -> None:
    with pytest.raises(ConfigError, match="drop the trailing slash"):
        DropIn(bare_asgi, allow_origins=[APP + "/"])


def test_drop_in_error_response_keeps_cors() -> None:
    c = client(DropIn, raise_server_exceptions=False, allow_origins=[APP])
    r = c.get("/broken", headers={"Origin": APP})
    assert r.status_code == 500
    assert r.headers["access-control-allow-origin"] == APP


def test_drop_in_is_detected_as_asgi3() -> None:
    import asyncio
    import inspect
    import sys

    from uvicorn.config import Config

    mw = DropIn(bare_asgi, allow_origins=[APP])
    if sys.version_info < (3, 14):  # deprecated from 3.14, where inspect's is used
        assert asyncio.iscoroutinefunction(mw.__call__)
    if hasattr(inspect, "markcoroutinefunction"):
        assert inspect.iscoroutinefunction(mw.__call__)
    config = Config(mw, interface="auto")
    config.load()
    assert config.interface == "asgi3"


def test_drop_in_refusal_names_every_failed_check_from_the_decision() -> None:
    # The engine lists every failed check (the STARLETTE dialect asks it
    # to); preflight_response only turns them into Starlette's words.
    mw = DropIn(bare_asgi, allow_origins=[APP])
    decision = mw.policy.check("OPTIONS", EVIL, "POST", "x-nope")
    assert mw.preflight_response(decision)[2] == b"Disallowed CORS origin, method, headers"
    decision = mw.policy.check("OPTIONS", EVIL, "GET")
    assert mw.preflight_response(decision)[2] == b"Disallowed CORS origin"
    allowed = mw.policy.check("OPTIONS", APP, "GET")
    assert mw.preflight_response(allowed)[:1] == (200,)


def test_drop_in_subclass_hook_still_answers_preflights() -> None:
    class Quiet(DropIn):
        def preflight_response(self, decision: Any) -> Any:
            return 418 if not decision.allowed else 200, [], b""

    c = client(Quiet, allow_origins=[APP])
    r = c.options("/", headers={"Origin": EVIL, "Access-Control-Request-Method": "PUT"})
    assert (r.status_code, r.text) == (418, "")
