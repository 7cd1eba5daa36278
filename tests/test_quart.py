"""corsfast.contrib.quart through Quart's test client, raw ASGI calls, and
uvicorn on loopback (the app is tests/quart_app.py)."""

from __future__ import annotations

import asyncio
import logging
import re
import warnings
from datetime import timedelta
from types import ModuleType
from typing import Any, Iterator, Optional

import httpx
import pytest
from browser_support import LOOPBACK, Server, serve
from quart import Blueprint, Quart, websocket
from quart_app import BOOM, PAGE, ROUTE_PAGE, SUBDOMAINS, make_app

from corsfast import ConfigError, Policy, PolicyWarning
from corsfast.contrib.quart import QUART, cors, route_cors, websocket_cors

QUART_METHODS = ["GET", "HEAD", "POST", "OPTIONS", "PUT", "PATCH", "DELETE"]
OPTIONS_KW = dict(allow_origin=[PAGE, SUBDOMAINS], allow_credentials=True,
                  allow_headers=["content-type", "x-allowed"],
                  expose_headers=["X-Visible"], max_age=600)
ATTACKER = "https://a.quart.com.attacker.net"


class Answer:
    def __init__(self, status: int, headers: list[tuple[str, str]], body: bytes) -> None:
        self.status, self.headers, self.body = status, headers, body

    def get(self, name: str) -> Optional[str]:
        values = self.all(name)
        assert len(values) <= 1, (name, values)
        return values[0] if values else None

    def all(self, name: str) -> list[str]:
        return [v for k, v in self.headers if k.lower() == name]

    def cors(self) -> list[tuple[str, str]]:
        return sorted((k.lower(), v) for k, v in self.headers
                      if k.lower().startswith("access-control-") or k.lower() == "vary")


def call(app: Quart, method: str, path: str, headers: Any = None) -> Answer:
    """One request through Quart's test client."""
    async def go() -> Answer:
        r = await app.test_client().open(path, method=method, headers=headers)
        return Answer(r.status_code, list(r.headers.items()), await r.get_data())
    return asyncio.run(go())


def raw(app: Quart, method: str, path: str, headers: list[tuple[bytes, bytes]]) -> Answer:
    """One request as an ASGI server makes it: raw byte headers, any bytes."""
    messages: list[dict[str, Any]] = []

    async def go() -> None:
        sent = False
        finished = asyncio.Event()

        async def receive() -> dict[str, Any]:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": b"", "more_body": False}
            # As a server does: the client goes once the response is complete.
            await finished.wait()
            return {"type": "http.disconnect"}

        async def send(message: dict[str, Any]) -> None:
            messages.append(message)
            if message["type"] == "http.response.body" and not message.get("more_body"):
                finished.set()

        scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
                 "method": method, "scheme": "http", "path": path,
                 "raw_path": path.encode(), "query_string": b"", "root_path": "",
                 "headers": [(b"host", b"localhost"), *headers],
                 "client": ("127.0.0.1", 5000), "server": ("127.0.0.1", 80)}
        await asyncio.wait_for(app(scope, receive, send), 30)

    asyncio.run(go())
    start = next(m for m in messages if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in messages if m["type"] == "http.response.body")
    return Answer(start["status"], [(k.decode("latin-1"), v.decode("latin-1"))
                                    for k, v in start["headers"]], body)


def preflight(app: Quart, path: str, origin: str, method: str = "PUT",
              request_headers: Optional[str] = None) -> Answer:
    headers = {"Origin": origin, "Access-Control-Request-Method": method}
    if request_headers is not None:
        headers["Access-Control-Request-Headers"] = request_headers
    return call(app, "OPTIONS", path, headers)


# -- the engine's answers, on both engines -------------------------------------------


def expected_policy() -> Policy:
    """What quart_app's options translate to, written out by hand."""
    return Policy(allow_origins=[PAGE], allow_origin_regex=SUBDOMAINS,
                  allow_methods=QUART_METHODS, allow_headers=["content-type", "x-allowed"],
                  expose_headers=["X-Visible"], allow_credentials=True, max_age=600,
                  preflight_status=200, dialect=QUART)


CASES = [
    ("GET", None, None, None),
    ("GET", PAGE, None, None),
    ("GET", "https://x.quart.com", None, None),
    ("GET", ATTACKER, None, None),
    ("GET", "https://evil.example", None, None),
    ("GET", "null", None, None),
    ("GET", "", None, None),
    ("OPTIONS", PAGE, None, None),
    ("OPTIONS", PAGE, "PUT", None),
    ("OPTIONS", PAGE, "PUT", "Content-Type, X-Allowed"),
    ("OPTIONS", PAGE, "PUT", "x-allowed, x-other"),
    ("OPTIONS", PAGE, "PUT", "x-allowed,,, bad header"),
    ("OPTIONS", PAGE, "CONNECT", None),
    ("OPTIONS", PAGE, "", None),
    ("OPTIONS", ATTACKER, "PUT", None),
    ("OPTIONS", "https://x.quart.com", "PATCH", "content-type"),
]


@pytest.mark.parametrize("method,origin,acrm,acrh", CASES)
def test_the_answer_is_the_engines(engine: ModuleType, method: str, origin: Optional[str],
                                   acrm: Optional[str], acrh: Optional[str]) -> None:
    headers = {k: v for k, v in (("Origin", origin), ("Access-Control-Request-Method", acrm),
                                 ("Access-Control-Request-Headers", acrh)) if v is not None}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PolicyWarning)
        answer = call(make_app(**OPTIONS_KW), method, "/api/items", headers)
        decision = engine.check_request(expected_policy(), method, origin, acrm, acrh)
    assert answer.status == 200  # Quart answers; the engine writes headers
    assert answer.cors() == sorted(decision.headers)
    if method == "GET":
        assert answer.body == b"items"


def test_defaults_are_quart_cors_defaults() -> None:
    app = make_app()
    r = call(app, "GET", "/api/items", {"Origin": "https://anyone.example"})
    assert r.get("access-control-allow-origin") == "*"
    assert r.get("access-control-expose-headers") is None  # not quart-cors's '""'
    r = call(app, "GET", "/api/items")
    assert r.cors() == [("vary", "Origin")]  # no Origin: no allow-origin
    r = preflight(app, "/api/items", "https://anyone.example", "DELETE", "X-A, x-b")
    assert r.get("access-control-allow-origin") == "*"
    assert r.get("access-control-allow-methods") == ", ".join(QUART_METHODS)
    assert r.get("access-control-allow-headers") == "X-A, x-b"
    assert r.get("access-control-max-age") is None


# -- origins ----------------------------------------------------------------------------


def test_a_pattern_must_match_the_whole_origin() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PolicyWarning)
        app = make_app(**OPTIONS_KW)
    good = call(app, "GET", "/api/items", {"Origin": "https://a.quart.com"})
    assert good.get("access-control-allow-origin") == "https://a.quart.com"
    for r in (call(app, "GET", "/api/items", {"Origin": ATTACKER}),
              preflight(app, "/api/items", ATTACKER)):
        assert r.cors() in ([("vary", "Origin")], [(
            "vary", "Origin, Access-Control-Request-Method, Access-Control-Request-Headers")])


def test_send_origin_wildcard_false_echoes_the_origin() -> None:
    app = make_app(send_origin_wildcard=False)
    r = call(app, "GET", "/api/items", {"Origin": PAGE})
    assert r.get("access-control-allow-origin") == PAGE and r.get("vary") == "Origin"
    app = make_app()
    app.config["QUART_CORS_SEND_ORIGIN_WILDCARD"] = False
    r = call(app, "GET", "/api/items", {"Origin": PAGE})
    assert r.get("access-control-allow-origin") == PAGE


def test_config_is_read_per_request_and_changes_take_effect() -> None:
    app = make_app()
    assert call(app, "GET", "/api/items", {"Origin": PAGE}).get(
        "access-control-allow-origin") == "*"
    app.config["QUART_CORS_ALLOW_ORIGIN"] = [PAGE]
    assert call(app, "GET", "/api/items", {"Origin": PAGE}).get(
        "access-control-allow-origin") == PAGE
    app.config["QUART_CORS_ALLOW_ORIGIN"] = [PAGE, "https://other.example"]
    assert call(app, "GET", "/api/items", {"Origin": "https://other.example"}).get(
        "access-control-allow-origin") == "https://other.example"
    # An argument wins over the config.
    app = make_app(allow_origin="https://arg.example")
    app.config["QUART_CORS_ALLOW_ORIGIN"] = [PAGE]
    assert call(app, "GET", "/api/items", {"Origin": PAGE}).get(
        "access-control-allow-origin") is None


# -- bad configuration -------------------------------------------------------------------


def test_bad_arguments_fail_at_setup_with_a_fix() -> None:
    with pytest.raises(ConfigError, match="list the trusted origins"):
        cors(Quart(__name__), allow_credentials=True, allow_origin="*")
    with pytest.raises(ConfigError, match="drop the trailing slash"):
        cors(Quart(__name__), allow_origin=["https://app.example.com/"])
    with pytest.raises(ConfigError, match="max_age"):
        route_cors(max_age="soon")
    with pytest.raises(ConfigError):
        route_cors(allow_methods=["TRACE"])


def test_credentials_with_a_star_from_config_is_a_500_as_in_quart_cors() -> None:
    app = make_app(allow_credentials=True)  # origins still to come from the config
    assert call(app, "GET", "/api/items", {"Origin": PAGE}).status == 500
    app.config["QUART_CORS_ALLOW_ORIGIN"] = [PAGE]
    r = call(app, "GET", "/api/items", {"Origin": PAGE})
    assert r.status == 200 and r.get("access-control-allow-credentials") == "true"


def test_max_age_forms_and_the_cap() -> None:
    for value, sent in ((timedelta(minutes=2), "120"), (7.9, "7"), ("30", "30")):
        app = make_app(max_age=value)
        assert preflight(app, "/api/items", PAGE).get("access-control-max-age") == sent
    with pytest.warns(UserWarning, match="86400"):
        app = make_app(max_age=10**6)
    assert preflight(app, "/api/items", PAGE).get("access-control-max-age") == "86400"


def test_an_empty_origin_list_warns() -> None:
    with pytest.warns(PolicyWarning, match="allows no origin"):
        cors(Quart(__name__), allow_origin=[])


# -- what a request carries ------------------------------------------------------------------


BAD_ORIGINS = [b"", b"https://\xff\xfe.example", b"https://app.example.com" + b"x" * 3000,
               b"https://app.example.com, https://app.example.com", b"https://a b.example",
               b"https://app.example.com\x00", "https://\u00e9.example".encode()]


@pytest.mark.parametrize("origin", BAD_ORIGINS)
def test_bad_origin_bytes_never_fail(origin: bytes) -> None:
    app = make_app(allow_origin=[PAGE])
    r = raw(app, "GET", "/api/items", [(b"origin", origin)])
    assert r.status == 200 and r.body == b"items"
    assert r.cors() == [("vary", "Origin")]
    r = raw(app, "OPTIONS", "/api/items", [(b"origin", origin),
                                           (b"access-control-request-method", b"PUT")])
    assert r.status == 200
    assert not [k for k, _ in r.cors() if k.startswith("access-control-")]


@pytest.mark.parametrize("headers", [
    [(b"origin", PAGE.encode()), (b"origin", PAGE.encode())],  # duplicated
    [(b"origin", PAGE.encode()), (b"access-control-request-method", b"PUT"),
     (b"access-control-request-method", b"PUT")],
    [(b"origin", PAGE.encode()), (b"access-control-request-method", b"P\xffT")],
    [(b"origin", PAGE.encode()), (b"access-control-request-method", b"PUT"),
     (b"access-control-request-headers", b"x-allowed," * 600)],
    [(b"origin", PAGE.encode()), (b"access-control-request-method", b"PUT"),
     (b"access-control-request-headers", b"x-allowed\xff")],
])
def test_malformed_preflights_get_the_engines_refusal(headers: list[tuple[bytes, bytes]]) -> None:
    app = make_app(allow_origin=[PAGE])
    r = raw(app, "OPTIONS", "/api/items", headers)
    assert r.status == 200
    assert not [k for k, _ in r.cors() if k.startswith("access-control-")]
    r = raw(app, "GET", "/api/items", headers)
    assert r.status == 200 and r.body == b"items"


def test_the_apps_own_cors_headers_are_replaced_and_vary_merged() -> None:
    app = make_app(allow_origin=[PAGE])
    r = call(app, "GET", "/api/vary", {"Origin": PAGE})
    assert r.all("access-control-allow-origin") == [PAGE]
    assert r.all("vary") == ["Accept-Encoding, Origin"]


# -- errors keep their CORS headers -----------------------------------------------------------


def test_errors_keep_cors_headers() -> None:
    app = make_app(allow_origin=[PAGE])
    for path, status in (("/api/boom", 500), ("/api/missing", 404), ("/nowhere", 404)):
        r = call(app, "GET", path, {"Origin": PAGE})
        assert r.status == status and r.get("access-control-allow-origin") == PAGE
    # A route_cors view that raises: its own policy answers (quart-cors sends none).
    r = call(app, "GET", "/api/route-boom", {"Origin": ROUTE_PAGE})
    assert r.status == 500 and r.get("access-control-allow-origin") == ROUTE_PAGE


# -- route_cors, blueprints, cors_exempt --------------------------------------------------------


def test_route_cors_overrides_the_app() -> None:
    app = make_app(allow_origin=[PAGE])
    assert call(app, "GET", "/api/route", {"Origin": ROUTE_PAGE}).get(
        "access-control-allow-origin") == ROUTE_PAGE
    assert call(app, "GET", "/api/route", {"Origin": PAGE}).get(
        "access-control-allow-origin") is None
    r = preflight(app, "/api/route", ROUTE_PAGE, "PUT")
    assert r.get("access-control-allow-methods") == "PUT"
    assert r.get("allow") is not None  # Quart's automatic OPTIONS answer


def test_route_cors_without_automatic_options() -> None:
    app = Quart(__name__)

    @app.route("/x", methods=["GET", "OPTIONS"])
    @route_cors(provide_automatic_options=False)
    async def x() -> str:
        return "mine"

    r = preflight(app, "/x", PAGE, "GET")
    assert r.body == b"mine" and r.get("access-control-allow-origin") == "*"


def test_blueprint_and_exempt() -> None:
    app = Quart(__name__)
    blueprint = cors(Blueprint("blue", __name__), allow_origin=["https://blue.example"])

    @blueprint.route("/blue")
    async def blue() -> str:
        return "blue"

    app.register_blueprint(blueprint)
    cors(app, allow_origin=[PAGE])
    assert call(app, "GET", "/blue", {"Origin": "https://blue.example"}).get(
        "access-control-allow-origin") == "https://blue.example"
    assert call(app, "GET", "/blue", {"Origin": PAGE}).get(
        "access-control-allow-origin") is None
    r = call(make_app(allow_origin=[PAGE]), "GET", "/api/exempt", {"Origin": PAGE})
    assert r.cors() == [] and r.body == b"exempt"


def test_log_refusals(caplog: pytest.LogCaptureFixture) -> None:
    app = make_app(allow_origin=[PAGE], log_refusals=True)
    with caplog.at_level(logging.INFO, logger="corsfast"):
        call(app, "OPTIONS", "/api/items", {"Origin": "https://evil.example\u00e9",
                                             "Access-Control-Request-Method": "PUT"})
    [record] = [r for r in caplog.records if r.name == "corsfast"]
    assert "MALFORMED_REQUEST" in record.getMessage()
    assert "\u00e9" not in record.getMessage()  # escaped


# -- websockets -------------------------------------------------------------------------------


def handshake(app: Quart, path: str, origin: Optional[str]) -> Any:
    """The first message, or the refusal's status."""
    from quart.testing import WebsocketResponseError

    async def go() -> Any:
        headers = {"Origin": origin} if origin is not None else {}
        try:
            async with app.test_client().websocket(path, headers=headers) as ws:
                return await ws.receive()
        except WebsocketResponseError as error:
            return error.response.status_code
    return asyncio.run(go())


@pytest.mark.parametrize("path,origin,expected", [
    ("/ws", PAGE, "hello"),
    ("/ws", "https://x.quart.com", "hello"),
    ("/ws", ATTACKER, 400),
    ("/ws", None, 400),  # quart-cors refuses a handshake without Origin
    ("/ws", "", 400),
    ("/ws-exempt", ATTACKER, "hello"),
])
def test_cors_checks_websockets(path: str, origin: Optional[str], expected: Any) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PolicyWarning)
        app = make_app(**OPTIONS_KW)
    assert handshake(app, path, origin) == expected


def test_websocket_cors_decorator() -> None:
    app = Quart(__name__)
    app.config["QUART_CORS_ALLOW_CREDENTIALS"] = True  # plays no part here

    @app.websocket("/ws")
    @websocket_cors(allow_origin=[PAGE])
    async def ws() -> None:
        await websocket.accept()
        await websocket.send("hi")

    @app.websocket("/any")
    @websocket_cors()
    async def any_origin() -> None:
        await websocket.accept()
        await websocket.send("hi")

    assert handshake(app, "/ws", PAGE) == "hi"
    assert handshake(app, "/ws", "https://evil.example") == 400
    assert handshake(app, "/any", "https://evil.example") == "hi"
    assert handshake(app, "/any", None) == 400


# -- under uvicorn ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    with serve("uvicorn", "quart_app:app") as running:
        yield running


@pytest.fixture
def http(server: Server) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=f"http://{LOOPBACK}:{server.port}",
                      timeout=httpx.Timeout(5.0)) as client:
        yield client


def test_served_allowed_and_preflight(http: httpx.Client) -> None:
    r = http.get("/api/items", headers={"Origin": PAGE})
    assert r.status_code == 200 and r.text == "items"
    assert r.headers.get_list("access-control-allow-origin") == [PAGE]
    assert r.headers["access-control-allow-credentials"] == "true"
    assert r.headers["access-control-expose-headers"] == "X-Visible"
    r = http.options("/api/items", headers={
        "Origin": PAGE, "Access-Control-Request-Method": "PUT",
        "Access-Control-Request-Headers": "Content-Type, X-Other"})
    assert r.status_code == 200
    assert r.headers["access-control-allow-headers"] == "Content-Type"
    assert r.headers["access-control-max-age"] == "600"


def test_served_attack_origin_and_bad_bytes(http: httpx.Client) -> None:
    for origin in (ATTACKER.encode(), b"https://\xff.example", b"x" * 5000):
        r = http.get("/api/items", headers=[(b"Origin", origin)])
        assert r.status_code == 200 and "access-control-allow-origin" not in r.headers


def test_served_error_keeps_cors(http: httpx.Client, server: Server) -> None:
    r = http.get("/api/boom", headers={"Origin": PAGE})
    assert r.status_code == 500
    assert r.headers["access-control-allow-origin"] == PAGE
    assert BOOM in server.wait_for_log(BOOM)


def test_served_websocket_origin_check(server: Server) -> None:
    from test_servers_asgi import handshake_status

    assert handshake_status(server, "/ws", PAGE) == 101
    assert handshake_status(server, "/ws", ATTACKER) == 400  # Quart's abort(400), as sent
    assert handshake_status(server, "/ws", None) == 400
    assert handshake_status(server, "/ws-exempt", ATTACKER) == 101


def test_quart_pattern_text_is_what_the_regex_holds() -> None:
    # The attack regex is quart-cors's README example, unchanged.
    assert SUBDOMAINS.match(ATTACKER) and not re.fullmatch(SUBDOMAINS, ATTACKER)


def test_the_dialect_is_shown_and_audited() -> None:
    from corsfast._audit import audit

    with pytest.warns(PolicyWarning, match="plain-http"):
        policy = Policy(allow_origins=["http://shop.example"], allow_credentials=True,
                        dialect=QUART)
    assert "quart-cors" in repr(policy)
    found = {f.code: f.severity for f in audit(policy)}
    assert found["loose-origin-syntax"] == "low"
    assert "high" in found.values()  # a plain-http origin with credentials
    assert QUART.differences() and not QUART.problems()
