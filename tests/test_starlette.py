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
            # Deviation: the text names the first refused check only.
            text = text.split(",")[0]
        elif status != 200 or method != "OPTIONS" or "Origin" not in headers \
                or "Access-Control-Request-Method" not in headers:
            if "access-control-allow-origin" not in cors:
                # Deviation: a refused actual request only gets vary.
                cors = {k: v for k, v in cors.items() if k == "vary"}
        elif "Access-Control-Request-Headers" not in headers:
            # Deviation: the allowed-headers list is sent when headers are
            # asked for, not on every preflight.
            cors.pop("access-control-allow-headers", None)
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


def test_drop_in_star_headers_keep_authorization() -> None:
    # Starlette's "*" mirrors whatever is asked, Authorization included; a
    # bare "*" would not cover Authorization, so the drop-in lists it.
    c = client(DropIn, allow_origins=[APP], allow_headers=["*"])
    r = c.options("/", headers={"Origin": APP, "Access-Control-Request-Method": "GET",
                                "Access-Control-Request-Headers": "authorization, x-any"})
    assert r.status_code == 200
    names = {v.strip().lower() for v in r.headers["access-control-allow-headers"].split(",")}
    assert {"*", "authorization"} <= names


def test_drop_in_wildcard_with_credentials_warns_and_reflects() -> None:
    with pytest.warns(WildcardCredentialsWarning, match="reflects every origin"):
        mw = DropIn(bare_asgi, allow_origins=["*"], allow_credentials=True)
    assert mw.policy.allow_origin_predicate is not None
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


def test_drop_in_post_needs_no_permission() -> None:
    # Deviation: GET, HEAD and POST are always allowed on a preflight, as
    # browsers never need permission for them (Starlette refuses POST
    # unless listed, which breaks JSON POSTs with its defaults).
    c = client(DropIn, allow_origins=[APP])
    r = c.options("/", headers={"Origin": APP, "Access-Control-Request-Method": "POST",
                                "Access-Control-Request-Headers": "content-type"})
    assert (r.status_code, r.text) == (200, "OK")


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
