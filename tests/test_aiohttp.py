"""corsfast.contrib.aiohttp: real aiohttp apps under aiohttp's own server
on 127.0.0.1 (aiohttp.test_utils.TestServer), spoken to with raw HTTP/1.1
bytes where the request must be exact (repeated, non-ASCII, oversized
headers). Answers are checked against the engine fixture's decision, so
each case runs on both engines."""

from __future__ import annotations

import asyncio
import logging
import warnings
from types import ModuleType
from typing import Any, Awaitable, Callable, ClassVar, Optional

import pytest

web = pytest.importorskip("aiohttp.web")
from aiohttp import WSMsgType  # noqa: E402
from aiohttp.test_utils import TestClient, TestServer  # noqa: E402

from corsfast import ConfigError, Policy, Router  # noqa: E402
from corsfast.contrib import aiohttp as aiohttp_cors  # noqa: E402
from corsfast.contrib.aiohttp import (  # noqa: E402
    AIOHTTP_CORS,
    CorsViewMixin,
    ResourceOptions,
    WildcardCredentialsWarning,
    cors_middleware,
    custom_cors,
)

ORIGIN = "https://app.example.com"
EVIL = "https://evil.example"
KW: dict[str, Any] = dict(allow_origins=[ORIGIN], allow_methods=["GET", "PUT"],
                          allow_headers=["x-token"], expose_headers=["x-total"],
                          allow_credentials=True, max_age=600)
calls: list[str] = []

Response = tuple[int, dict[str, list[str]], bytes]


# -- apps and a raw client -------------------------------------------------------------


async def items(request: web.Request) -> web.StreamResponse:
    calls.append(request.method)
    return web.Response(text="ok", headers={"Vary": "Accept-Encoding", "X-Total": "3"})


async def missing(request: web.Request) -> web.StreamResponse:
    raise web.HTTPNotFound(text="nope")


async def boom(request: web.Request) -> web.StreamResponse:
    raise RuntimeError("boom")


async def stream(request: web.Request) -> web.StreamResponse:
    response = web.StreamResponse(headers={"Content-Type": "text/plain"})
    await response.prepare(request)  # headers go out here
    await response.write(b"one ")
    await response.write(b"two")
    await response.write_eof()
    return response


async def socket(request: web.Request) -> web.StreamResponse:
    ws = web.WebSocketResponse()
    await ws.prepare(request)
    await ws.send_str("hello")
    await ws.close()
    return ws


def generic_app(cors: Any, install: bool = True) -> web.Application:
    app = web.Application()
    if install:
        cors.install(app)
    else:
        app.middlewares.append(cors)
    app.router.add_get("/api/items", items)
    app.router.add_put("/api/items", items)
    app.router.add_get("/api/missing", missing)
    app.router.add_get("/api/boom", boom)
    app.router.add_get("/api/stream", stream)
    app.router.add_get("/ws", socket)
    return app


def serve(app: web.Application, talk: Callable[[TestServer], Awaitable[Any]]) -> Any:
    async def main() -> Any:
        async with TestServer(app, host="127.0.0.1") as server:
            return await talk(server)
    return asyncio.run(main())


async def raw(server: TestServer, method: str, path: str,
              headers: list[tuple[bytes, bytes]]) -> Response:
    """One request as exact bytes; the answer's status, headers (names
    lowercased, every line kept) and body."""
    reader, writer = await asyncio.open_connection(server.host, server.port)
    lines = [f"{method} {path} HTTP/1.1".encode(), b"Host: 127.0.0.1",
             b"Connection: close"] + [name + b": " + value for name, value in headers]
    writer.write(b"\r\n".join(lines) + b"\r\n\r\n")
    data = await reader.read()
    writer.close()
    head, _, body = data.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    found: dict[str, list[str]] = {}
    for line in header_lines:
        name, _, value = line.partition(":")
        found.setdefault(name.lower(), []).append(value.strip())
    return int(status_line.split()[1]), found, body


def asks(app: web.Application, *requests: tuple[Any, ...]) -> list[Response]:
    """Each (method, path, *headers) in turn, on one server (an app runs
    on one event loop only)."""
    async def talk(server: TestServer) -> list[Response]:
        out = []
        for method, path, *headers in requests:
            encoded = [(n.encode(), v if isinstance(v, bytes) else v.encode())
                       for n, v in headers]
            out.append(await raw(server, method, path, encoded))
        return out
    return serve(app, talk)  # type: ignore[no-any-return]


def ask(app: web.Application, method: str, path: str, *headers: tuple[str, Any]) -> Response:
    return asks(app, (method, path, *headers))[0]


def cors_of(headers: dict[str, list[str]]) -> dict[str, list[str]]:
    return {k: v for k, v in headers.items() if k.startswith("access-control-") or k == "vary"}


def expected(decision: Any, app_vary: Optional[str] = None) -> dict[str, list[str]]:
    """What a decision's headers look like on the wire (vary merged after
    the handler's own)."""
    out: dict[str, list[str]] = {}
    for name, value in decision.headers:
        if name == "vary" and app_vary:
            value = f"{app_vary}, {value}"
        out.setdefault(name, []).append(value)
    if app_vary and "vary" not in out:
        out["vary"] = [app_vary]
    return out


@pytest.fixture(autouse=True)
def _reset() -> None:
    calls.clear()


# -- the middleware ----------------------------------------------------------------------


def test_allowed_actual_request(engine: ModuleType) -> None:
    policy = Policy(**KW)
    status, headers, body = ask(generic_app(cors_middleware(policy)), "GET", "/api/items",
                                ("Origin", ORIGIN))
    assert (status, body) == (200, b"ok")
    assert cors_of(headers) == expected(engine.check_request(policy, "GET", ORIGIN),
                                        "Accept-Encoding")
    assert headers["access-control-allow-origin"] == [ORIGIN]
    assert headers["vary"] == ["Accept-Encoding, origin"]


def test_preflight_answered_without_an_options_route(engine: ModuleType) -> None:
    policy = Policy(**KW)
    asked = ("PUT", "x-token")
    status, headers, body = ask(
        generic_app(cors_middleware(policy)), "OPTIONS", "/api/items", ("Origin", ORIGIN),
        ("Access-Control-Request-Method", asked[0]),
        ("Access-Control-Request-Headers", asked[1]))
    decision = engine.check_request(policy, "OPTIONS", ORIGIN, *asked)
    assert (status, body) == (decision.status, b"") == (204, b"")
    assert cors_of(headers) == expected(decision)
    assert calls == []


def test_refused_preflight_never_reaches_the_handler(engine: ModuleType) -> None:
    policy = Policy(**KW)
    status, headers, _ = ask(generic_app(cors_middleware(policy)), "OPTIONS", "/api/items",
                             ("Origin", ORIGIN), ("Access-Control-Request-Method", "DELETE"))
    decision = engine.check_request(policy, "OPTIONS", ORIGIN, "DELETE")
    assert status == 403 and not decision.allowed
    assert cors_of(headers) == expected(decision)
    assert not any(k.startswith("access-control-") for k in headers)
    assert calls == []


@pytest.mark.parametrize("path, status", [
    ("/api/missing", 404),   # a raised web.HTTPException
    ("/nowhere", 404),       # no route at all
    ("/api/stream", 200),    # a StreamResponse the handler prepared itself
])
def test_every_response_carries_the_answer(path: str, status: int) -> None:
    got, headers, _ = ask(generic_app(cors_middleware(**KW)), "GET", path, ("Origin", ORIGIN))
    assert got == status
    assert headers["access-control-allow-origin"] == [ORIGIN]
    assert headers["access-control-allow-credentials"] == ["true"]
    assert headers["vary"] == ["origin"]


def test_a_raising_handler_gets_a_500_with_cors_headers_and_is_logged(
        caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.ERROR, logger="aiohttp.server"):
        status, headers, _ = ask(generic_app(cors_middleware(**KW)), "GET", "/api/boom",
                                 ("Origin", ORIGIN))
    assert status == 500
    assert headers["access-control-allow-origin"] == [ORIGIN]
    assert any(r.exc_info and isinstance(r.exc_info[1], RuntimeError) for r in caplog.records)


def test_refused_origin_reaches_the_handler_without_cors_headers() -> None:
    status, headers, _ = ask(generic_app(cors_middleware(**KW)), "GET", "/api/items",
                             ("Origin", EVIL))
    assert status == 200 and calls == ["GET"]
    assert cors_of(headers) == {"vary": ["Accept-Encoding, origin"]}


def test_handler_cors_headers_are_replaced() -> None:
    async def own(request: web.Request) -> web.StreamResponse:
        return web.Response(headers={"Access-Control-Allow-Origin": "*",
                                     "Access-Control-Allow-Credentials": "false"})
    app = web.Application()
    cors_middleware(**KW).install(app)
    app.router.add_get("/", own)
    _, headers, _ = ask(app, "GET", "/", ("Origin", ORIGIN))
    assert headers["access-control-allow-origin"] == [ORIGIN]
    assert headers["access-control-allow-credentials"] == ["true"]


def test_block_refused() -> None:
    app = generic_app(cors_middleware(block_refused=True, **KW))
    refused, allowed = asks(app, ("GET", "/api/items", ("Origin", EVIL)),
                            ("GET", "/api/items", ("Origin", ORIGIN)))
    assert (refused[0], allowed[0]) == (403, 200)
    assert calls == ["GET"]


def test_preflight_passthrough() -> None:
    async def options(request: web.Request) -> web.StreamResponse:
        calls.append("OPTIONS")
        return web.Response(status=200, text="mine")
    app = generic_app(cors_middleware(preflight_passthrough=True, **KW))
    app.router.add_route("OPTIONS", "/api/items", options)
    status, headers, body = ask(app, "OPTIONS", "/api/items", ("Origin", ORIGIN),
                                ("Access-Control-Request-Method", "PUT"))
    assert (status, body, calls) == (200, b"mine", ["OPTIONS"])
    assert headers["access-control-allow-methods"] == ["GET, PUT"]


def test_router_picks_by_path() -> None:
    router = Router({"/api": Policy(**KW)})
    api, other = asks(generic_app(cors_middleware(router)),
                      ("GET", "/api/items", ("Origin", ORIGIN)), ("GET", "/nowhere"))
    assert "access-control-allow-origin" in api[1]
    assert not cors_of(other[1])


def test_websocket_handshake_checked_when_asked() -> None:
    async def talk(server: TestServer, origin: str) -> Any:
        async with TestClient(server) as client:
            try:
                ws = await client.ws_connect("/ws", origin=origin)
            except Exception as exc:  # the handshake was refused
                return getattr(exc, "status", exc)
            message = await ws.receive()
            await ws.close()
            return message.data if message.type is WSMsgType.TEXT else message.type

    for check, origin, outcome in ((True, EVIL, 403), (True, ORIGIN, "hello"),
                                   (False, EVIL, "hello")):
        app = generic_app(cors_middleware(check_websocket=check, **KW))
        assert serve(app, lambda s, o=origin: talk(s, o)) == outcome


def test_unwired_middleware_warns_and_still_answers() -> None:
    cors = cors_middleware(**KW)
    app = generic_app(cors, install=False)
    with pytest.warns(RuntimeWarning, match="on_response_prepare"):
        (status, headers, _), missed = asks(app, ("GET", "/api/items", ("Origin", ORIGIN)),
                                            ("GET", "/api/missing", ("Origin", ORIGIN)))
    assert status == 200 and headers["access-control-allow-origin"] == [ORIGIN]
    assert missed[0] == 404 and missed[1]["access-control-allow-origin"] == [ORIGIN]


def test_log_refusals(caplog: pytest.LogCaptureFixture) -> None:
    app = generic_app(cors_middleware(log_refusals=True, **KW))
    with caplog.at_level(logging.INFO, logger="corsfast"):
        ask(app, "OPTIONS", "/api/items", ("Origin", ORIGIN),
            ("Access-Control-Request-Method", "PUT"),
            ("Access-Control-Request-Headers", "x-evil"))
    assert any("x-evil" in r.getMessage() for r in caplog.records)


def test_policy_and_kwargs_are_exclusive() -> None:
    with pytest.raises(TypeError):
        cors_middleware(Policy(**KW), allow_origins=[ORIGIN])
    with pytest.raises(ConfigError):
        cors_middleware(allow_origins=["https://app.example.com/"])


# -- bad input: never a 500, preflights refused by the engine, actual requests served --


BAD = [
    pytest.param([("Origin", ORIGIN), ("Origin", ORIGIN)], id="repeated-origin"),
    pytest.param([("Origin", "https://\xe9.example".encode())], id="non-ascii-origin"),
    pytest.param([("Origin", b"https://app.example.com\xff")], id="invalid-utf8-origin"),
    pytest.param([("Origin", "x" * 3000)], id="oversized-origin"),
    pytest.param([("Origin", "https://app.example.com, https://evil.example")], id="list-origin"),
    pytest.param([("Origin", "")], id="empty-origin"),
]
BAD_PREFLIGHT = BAD + [
    pytest.param([("Origin", ORIGIN), ("Access-Control-Request-Method", "PUT"),
                  ("Access-Control-Request-Method", "GET")], id="repeated-acrm"),
    pytest.param([("Origin", ORIGIN), ("Access-Control-Request-Method", "P\xfcT".encode())],
                 id="non-ascii-acrm"),
    pytest.param([("Origin", ORIGIN), ("Access-Control-Request-Method", "PUT"),
                  ("Access-Control-Request-Headers", "x-token, " * 600)], id="oversized-acrh"),
    pytest.param([("Origin", ORIGIN), ("Access-Control-Request-Method", "PUT"),
                  ("Access-Control-Request-Headers", "x-token, bad name")], id="bad-acrh"),
    pytest.param([("Origin", ORIGIN), ("Access-Control-Request-Method", "PUT"),
                  ("Access-Control-Request-Headers", "x-t\xf6ken".encode())],
                 id="non-ascii-acrh"),
]


def _joined(headers: list[tuple[str, Any]], name: str) -> Optional[str]:
    """What the engine is given for ``name``: the lines joined, as sent
    (aiohttp decodes header bytes as UTF-8, with surrogateescape)."""
    values = [v.decode("utf-8", "surrogateescape") if isinstance(v, bytes) else v
              for n, v in headers if n == name]
    return ", ".join(values) if values else None


@pytest.mark.parametrize("headers", BAD)
@pytest.mark.parametrize("kind", ["middleware", "aiohttp-cors"])
def test_bad_actual_request_still_reaches_the_handler(
        engine: ModuleType, headers: list[tuple[str, Any]], kind: str) -> None:
    policy = Policy(**KW)
    app = generic_app(cors_middleware(policy)) if kind == "middleware" else cors_app()
    status, got, body = ask(app, "GET", "/api/items", *headers)
    assert status == 200 and body == b"ok" and calls == ["GET"]
    if kind == "middleware":
        decision = engine.check_request(policy, "GET", _joined(headers, "Origin"))
        assert not decision.allowed
        assert cors_of(got) == expected(decision, "Accept-Encoding")
    assert "access-control-allow-origin" not in got


@pytest.mark.parametrize("headers", BAD_PREFLIGHT)
@pytest.mark.parametrize("kind", ["middleware", "aiohttp-cors"])
def test_bad_preflight_gets_the_engines_refusal(
        engine: ModuleType, headers: list[tuple[str, Any]], kind: str) -> None:
    if not any(n == "Access-Control-Request-Method" for n, _ in headers):
        headers = [*headers, ("Access-Control-Request-Method", "PUT")]
    policy = Policy(**KW)
    app = generic_app(cors_middleware(policy)) if kind == "middleware" else cors_app()
    status, got, _ = ask(app, "OPTIONS", "/api/items", *headers)
    decision = engine.check_request(
        policy, "OPTIONS", *(_joined(headers, n) for n in (
            "Origin", "Access-Control-Request-Method", "Access-Control-Request-Headers")))
    assert status == 403 and not decision.allowed
    assert not any(k.startswith("access-control-") for k in got)
    if kind == "middleware":
        assert cors_of(got) == expected(decision)
    assert calls == []


# -- aiohttp-cors's API --------------------------------------------------------------------


def cors_app(**defaults: Any) -> web.Application:
    app = web.Application()
    cors = aiohttp_cors.setup(app, defaults=defaults.pop("defaults", None))
    resource = cors.add(app.router.add_resource("/api/items"))
    options = defaults or dict(allow_credentials=True, expose_headers=("X-Total",),
                               allow_headers=("X-Token",), max_age=600)
    cors.add(resource.add_route("GET", items), {ORIGIN: ResourceOptions(**options)})
    cors.add(resource.add_route("PUT", items))
    cors.add(app.router.add_get("/api/boom", boom), {ORIGIN: ResourceOptions()})
    cors.add(app.router.add_get("/api/stream", stream), {ORIGIN: ResourceOptions()})
    app.router.add_get("/private", items)
    return app


def test_cors_add_answers_actual_requests() -> None:
    status, headers, _ = ask(cors_app(), "GET", "/api/items", ("Origin", ORIGIN))
    assert status == 200
    assert headers["access-control-allow-origin"] == [ORIGIN]
    assert headers["access-control-allow-credentials"] == ["true"]
    assert headers["access-control-expose-headers"] == ["X-Total"]
    assert headers["vary"] == ["Accept-Encoding, origin"]
    assert not cors_of(ask(cors_app(), "GET", "/private", ("Origin", ORIGIN))[1]).get(
        "access-control-allow-origin")


def test_cors_add_preflights_per_method() -> None:
    (status, headers, body), put, bare = asks(
        cors_app(),
        ("OPTIONS", "/api/items", ("Origin", ORIGIN), ("Access-Control-Request-Method", "GET"),
         ("Access-Control-Request-Headers", "x-token")),
        ("OPTIONS", "/api/items", ("Origin", ORIGIN), ("Access-Control-Request-Method", "PUT")),
        ("OPTIONS", "/api/items"))
    assert (status, body) == (200, b"")
    assert headers["access-control-allow-methods"] == ["GET"]
    assert headers["access-control-allow-headers"] == ["x-token"]
    assert headers["access-control-max-age"] == ["600"]
    # PUT has no options of its own and the defaults list no origin.
    status, headers, body = put
    assert status == 403 and b"not allowed" in body and ORIGIN.encode() not in body
    assert bare[0] == 403  # no Origin, as aiohttp-cors answers


def test_cors_errors_and_streams_keep_their_headers() -> None:
    for path, status in (("/api/boom", 500), ("/api/stream", 200)):
        got, headers, _ = ask(cors_app(), "GET", path, ("Origin", ORIGIN))
        assert got == status and headers["access-control-allow-origin"] == [ORIGIN]


def test_star_with_credentials_reflects_and_warns() -> None:
    star = {"*": ResourceOptions(allow_credentials=True, expose_headers="*", allow_headers="*")}
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        from corsfast.contrib import _aiohttp_cors
        _aiohttp_cors._warned.clear()
        app = cors_app(defaults=star)
    assert any(issubclass(w.category, WildcardCredentialsWarning) for w in seen)
    boomed, put, preflight, malformed = asks(
        app, ("GET", "/api/boom", ("Origin", EVIL)), ("PUT", "/api/items", ("Origin", EVIL)),
        ("OPTIONS", "/api/items", ("Origin", EVIL), ("Access-Control-Request-Method", "PUT"),
         ("Access-Control-Request-Headers", "Authorization, X-Anything")),
        ("GET", "/api/items", ("Origin", "evil")))
    assert boomed[1]["access-control-allow-origin"] == [EVIL]
    assert put[1]["access-control-allow-credentials"] == ["true"]
    # expose_headers="*" lists the response's own headers (not safelisted ones).
    exposed = put[1]["access-control-expose-headers"][0].split(", ")
    assert exposed[:2] == ["Vary", "X-Total"] and "Content-Type" not in exposed
    assert preflight[1]["access-control-allow-headers"] == ["Authorization, X-Anything"]
    # A malformed origin is never reflected, and still reaches the handler.
    assert malformed[0] == 200 and "access-control-allow-origin" not in malformed[1]


def test_views() -> None:
    class View(web.View, CorsViewMixin):
        cors_config: ClassVar[dict[str, Any]] = {
            ORIGIN: ResourceOptions(allow_headers=("X-Token",))}

        async def get(self) -> web.StreamResponse:
            return web.Response(text="ok")

        @custom_cors({EVIL: ResourceOptions()})
        async def put(self) -> web.StreamResponse:
            return web.Response(text="ok")

    app = web.Application()
    cors = aiohttp_cors.setup(app)
    cors.add(app.router.add_route("*", "/view", View))
    get, put, get_evil, delete, post = asks(
        app, ("GET", "/view", ("Origin", ORIGIN)),
        ("OPTIONS", "/view", ("Origin", EVIL), ("Access-Control-Request-Method", "PUT")),
        ("OPTIONS", "/view", ("Origin", EVIL), ("Access-Control-Request-Method", "GET")),
        ("OPTIONS", "/view", ("Origin", ORIGIN), ("Access-Control-Request-Method", "DELETE")),
        ("POST", "/view", ("Origin", ORIGIN)))
    assert get[1]["access-control-allow-origin"] == [ORIGIN]
    assert (put[0], get_evil[0], delete[0], post[0]) == (200, 403, 403, 405)


def test_setup_checks() -> None:
    async def handler(request: web.Request) -> web.StreamResponse:
        return web.Response()
    app = web.Application()
    cors = aiohttp_cors.setup(app)
    assert app[aiohttp_cors.APP_CONFIG_KEY] is cors
    with pytest.raises(ValueError, match="already has OPTIONS handler"):
        cors.add(app.router.add_route("OPTIONS", "/o", handler).resource)
    with pytest.raises(ValueError, match="'\\*' handler"):
        cors.add(app.router.add_route("*", "/any", handler))
    with pytest.raises(ValueError):
        ResourceOptions(allow_methods="GET")
    with pytest.raises(ConfigError):  # an entry no browser sends
        cors.add(app.router.add_get("/x", handler), {"www.example.com": ResourceOptions()})
    resource = cors.add(app.router.add_resource("/r"))
    with pytest.raises(ValueError, match="already configured"):
        cors.add(resource)
    assert AIOHTTP_CORS.differences()["expose_response_headers"] is True
