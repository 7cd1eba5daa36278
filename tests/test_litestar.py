"""corsfast.contrib.litestar through raw ASGI calls, Litestar's test client and
uvicorn on loopback (the app is tests/litestar_app.py)."""

from __future__ import annotations

import asyncio
import logging
import warnings
from types import ModuleType
from typing import Any, Iterator, Optional

import httpx
import pytest
from browser_support import LOOPBACK, Server, serve
from litestar import Litestar, get, post
from litestar.config.cors import CORSConfig
from litestar.testing import TestClient
from litestar_app import (
    BOOM,
    OPTIONS,
    PAGE,
    PARTNER,
    PARTNER_POLICY,
    ROUTE_PAGE,
    ROUTE_POLICY,
    make_app,
)

from corsfast import ConfigError, Policy, PolicyWarning
from corsfast.asgi import CORSMiddleware as PlainCORSMiddleware
from corsfast.contrib.litestar import LITESTAR, CORSPlugin, policy_from_config

ALL_METHODS = ["DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT"]
SAFELISTED = ["Accept", "Accept-Language", "Content-Language", "Content-Type"]
PREFLIGHT_VARY = "origin, access-control-request-method, access-control-request-headers"


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

    def access_control(self) -> list[str]:
        return [k for k, _ in self.cors() if k.startswith("access-control-")]


def raw(app: Any, method: str, path: str, headers: list[tuple[bytes, bytes]]) -> Answer:
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
            await finished.wait()  # the client goes once the response is complete
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
        try:
            await asyncio.wait_for(app(scope, receive, send), 30)
        except Exception:
            # As a server does: what was sent stands; the test reads it.
            if not any(m["type"] == "http.response.start" for m in messages):
                raise

    asyncio.run(go())
    start = next(m for m in messages if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in messages if m["type"] == "http.response.body")
    return Answer(start["status"], [(k.decode("latin-1"), v.decode("latin-1"))
                                    for k, v in start["headers"]], body)


def call(app: Any, method: str, path: str, headers: Optional[dict[str, str]] = None) -> Answer:
    return raw(app, method, path, [(k.lower().encode(), v.encode())
                                   for k, v in (headers or {}).items()])


def preflight(app: Any, path: str, origin: str, method: str = "PUT",
              request_headers: Optional[str] = None) -> Answer:
    headers = {"Origin": origin, "Access-Control-Request-Method": method}
    if request_headers is not None:
        headers["Access-Control-Request-Headers"] = request_headers
    return call(app, "OPTIONS", path, headers)


@pytest.fixture(scope="module")
def app() -> Litestar:
    return make_app(**OPTIONS)


# -- the engine's answers, on both engines -------------------------------------------


def expected_policy() -> Policy:
    """What litestar_app's options translate to, written out by hand."""
    return Policy(allow_origins=[PAGE, "https://*.example.org"], allow_methods=ALL_METHODS,
                  allow_headers=[*SAFELISTED, "x-allowed"], expose_headers=["X-Visible"],
                  allow_credentials=True, max_age=600, dialect=LITESTAR)


CASES = [
    ("GET", None, None, None),
    ("GET", PAGE, None, None),
    ("GET", "https://shop.example.org", None, None),
    ("GET", "https://example.org", None, None),
    ("GET", "https://app.example.com.evil.test", None, None),
    ("GET", "null", None, None),
    ("GET", "", None, None),
    ("POST", PAGE, None, None),
    ("OPTIONS", PAGE, None, None),
    ("OPTIONS", PAGE, "PUT", None),
    ("OPTIONS", PAGE, "GET", "Content-Type, X-Allowed"),
    ("OPTIONS", PAGE, "PUT", "x-allowed, x-other"),
    ("OPTIONS", PAGE, "PUT", "x-allowed,,, bad header"),
    ("OPTIONS", PAGE, "CONNECT", None),
    ("OPTIONS", PAGE, "", None),
    ("OPTIONS", "https://evil.example", "PUT", "x-other"),
    ("OPTIONS", "https://a.b.example.org", "PATCH", "accept"),
]


@pytest.mark.parametrize("method,origin,acrm,acrh", CASES)
def test_the_answer_is_the_engines(engine: ModuleType, app: Litestar, method: str,
                                   origin: Optional[str], acrm: Optional[str],
                                   acrh: Optional[str]) -> None:
    headers = {k: v for k, v in (("Origin", origin), ("Access-Control-Request-Method", acrm),
                                 ("Access-Control-Request-Headers", acrh)) if v is not None}
    answer = call(app, method, "/api/items", headers)
    decision = engine.check_request(expected_policy(), method, origin, acrm, acrh)
    assert answer.cors() == sorted(decision.headers)
    if decision.preflight:
        assert answer.status == (204 if decision.allowed else 400)
        assert answer.body == (b"" if decision.allowed else b"Disallowed CORS " + b", ".join(
            {"method_not_allowed": b"method", "origin_not_allowed": b"Origin",
             "headers_not_allowed": b"headers", "malformed_request": b"request"}[r.value]
            for r in decision.reasons))
    else:
        assert answer.status == (204 if method == "OPTIONS" else 200)  # the app answered


def test_what_the_app_is_told_is_what_was_tested() -> None:
    assert policy_from_config(CORSConfig(**{k: v for k, v in OPTIONS.items()
                                            if k != "routes"})) == expected_policy()


# -- Litestar's fields and defaults ------------------------------------------------------


def test_defaults_are_litestars() -> None:
    app = make_app()
    r = call(app, "GET", "/api/items", {"Origin": "https://anyone.example"})
    assert r.cors() == [("access-control-allow-origin", "*")]
    r = preflight(app, "/api/items", "https://anyone.example", "DELETE", "X-A, authorization")
    assert r.status == 204
    assert r.get("access-control-allow-origin") == "*"
    assert r.get("access-control-allow-methods") == ", ".join(ALL_METHODS)
    assert r.get("access-control-allow-headers") == "X-A, authorization"  # echoed, as sent
    assert r.get("access-control-max-age") == "600"
    assert r.get("access-control-allow-credentials") is None


def test_a_cors_config_a_policy_and_fields_agree() -> None:
    fields: dict[str, Any] = dict(allow_origins=[PAGE], allow_methods=["GET", "PUT"],
                                  allow_headers=["X-Token"], expose_headers=["X-Id"],
                                  max_age=30, allow_credentials=True)
    apps = [make_app(**fields), make_app(config=CORSConfig(**fields)),
            make_app(config=policy_from_config(CORSConfig(**fields)))]
    for request in (("GET", {"Origin": PAGE}),
                    ("OPTIONS", {"Origin": PAGE, "Access-Control-Request-Method": "PUT",
                                 "Access-Control-Request-Headers": "x-token"})):
        answers = {(a.status, tuple(a.cors())) for a in
                   (call(app, request[0], "/api/items", request[1]) for app in apps)}
        assert len(answers) == 1, answers
    r = preflight(apps[0], "/api/items", PAGE, "PUT", "x-token")
    assert r.get("access-control-allow-methods") == "GET, PUT"
    # Litestar's spelling: its safelisted names as it writes them, sorted.
    assert r.get("access-control-allow-headers") == ", ".join([*SAFELISTED, "x-token"])
    assert r.get("access-control-max-age") == "30"


def test_every_method_must_be_listed_as_in_litestar() -> None:
    app = make_app(allow_origins=[PAGE], allow_methods=["PUT"])
    assert preflight(app, "/api/items", PAGE, "PUT").status == 204
    r = preflight(app, "/api/items", PAGE, "GET")
    assert (r.status, r.body, r.access_control()) == (400, b"Disallowed CORS method", [])


def test_a_corsfast_policy_keeps_corsfasts_rules() -> None:
    app = make_app(config=Policy(allow_origins=[PAGE], allow_methods=["PUT"]))
    r = preflight(app, "/api/items", PAGE, "GET")  # no permission needed for GET
    assert r.status == 204 and r.get("access-control-allow-origin") == PAGE
    r = call(app, "GET", "/api/items")
    assert r.cors() == [("vary", "origin")]


def test_max_age_above_a_day_is_capped() -> None:
    with pytest.warns(UserWarning, match="86400"):
        app = make_app(allow_origins=[PAGE], max_age=10**6)
    assert preflight(app, "/api/items", PAGE).get("access-control-max-age") == "86400"


# -- bad configuration -------------------------------------------------------------------


@pytest.mark.parametrize("entry,fix", [
    ("https://*good.example", r"allow_origin_regex=r'https://[a-z0-9-]+good\.example'"),
    ("https://example.*", r"allow_origin_regex=r'https://example\.[a-z0-9-]+'"),
    ("https://a.*.example.com", r"allow_origin_regex=r'https://a\.[a-z0-9-]+\.example\.com'"),
    ("*://example.com", r"allow_origin_regex=r'[a-z0-9-]+://example\.com'"),
])
def test_a_star_inside_an_origin_is_refused_with_the_fix(entry: str, fix: str) -> None:
    with pytest.raises(ConfigError) as caught:
        CORSPlugin(allow_origins=[PAGE, entry])
    message = str(caught.value)
    assert f"allow_origins[1] {entry!r}: Litestar reads '*' as any text" in message
    assert repr(entry.replace("*", "evil")) in message
    assert "'https://*.example.com'" in message and fix in message


def test_corsfasts_own_star_forms_are_taken() -> None:
    app = make_app(allow_origins=["https://*.good.example", "http://localhost:*"])
    for origin, allowed in (("https://very.good.example", True), ("https://good.example", False),
                            ("https://verygood.example", False), ("http://localhost:5173", True),
                            ("http://localhost", False)):
        r = call(app, "GET", "/api/items", {"Origin": origin})
        assert (r.get("access-control-allow-origin") == origin) is allowed, origin


def test_bad_arguments_fail_at_setup_with_a_fix() -> None:
    with pytest.raises(ConfigError, match="list the trusted origins"):
        CORSPlugin(allow_credentials=True)  # Litestar's default '*' origins
    with pytest.raises(ConfigError, match="drop the trailing slash"):
        CORSPlugin(allow_origins=["https://app.example.com/"])
    with pytest.raises(ConfigError, match="TRACE"):
        CORSPlugin(allow_origins=[PAGE], allow_methods=["TRACE"])
    with pytest.raises(ConfigError, match=r"routes\['/api'\]: expected a corsfast.Policy"):
        CORSPlugin(routes={"/api": {"allow_origins": [PAGE]}})  # type: ignore[dict-item]
    with pytest.raises(ConfigError, match="covers '/' already"):
        CORSPlugin(allow_origins=[PAGE], routes={"/": ROUTE_POLICY})
    with pytest.raises(TypeError, match="one or the other"):
        CORSPlugin(CORSConfig(), allow_origins=[PAGE])
    with pytest.raises(ConfigError, match="drop cors_config"):
        Litestar([], plugins=[CORSPlugin()], cors_config=CORSConfig())


def test_an_empty_origin_list_warns() -> None:
    with pytest.warns(PolicyWarning, match="allows no origin"):
        CORSPlugin(allow_origins=[])


def test_one_path_takes_one_policy() -> None:
    @get("/x", opt={"cors": ROUTE_POLICY})
    async def x_get() -> str:
        return "x"

    @post("/x", opt={"cors": PARTNER_POLICY})
    async def x_post() -> str:
        return "x"

    with pytest.raises(ConfigError, match="'/x': its handlers carry different"):
        Litestar([x_get, x_post], plugins=[CORSPlugin()], openapi_config=None)

    @get("/y", opt={"cors": "*"})
    async def y_get() -> str:
        return "y"

    with pytest.raises(ConfigError, match=r"expected a corsfast\.Policy"):
        Litestar([y_get], plugins=[CORSPlugin()], openapi_config=None)


def test_a_handler_on_two_paths_takes_each_paths_policy() -> None:
    @get(["/api/a", "/b"])
    async def both() -> str:
        return "both"

    app = Litestar([both], plugins=[CORSPlugin(allow_origins=[PAGE],
                                               routes={"/api": ROUTE_POLICY})],
                   openapi_config=None)
    assert call(app, "GET", "/api/a", {"Origin": ROUTE_PAGE}).get(
        "access-control-allow-origin") == ROUTE_PAGE
    assert call(app, "GET", "/b", {"Origin": PAGE}).get("access-control-allow-origin") == PAGE

    @post("/b", opt={"cors": PARTNER_POLICY})
    async def b_post() -> str:
        return "b"

    # Now /b's handlers share PARTNER_POLICY, which "both" would carry to /api/a.
    with pytest.raises(ConfigError, match=r"serves '/(b|api/a)' and"):
        Litestar([both, b_post], plugins=[CORSPlugin(allow_origins=[PAGE])],
                 openapi_config=None)


# -- credentials, exposure, refusals ------------------------------------------------------


def test_credentials_and_expose(app: Litestar) -> None:
    r = call(app, "GET", "/api/items", {"Origin": PAGE})
    assert r.status == 200 and r.body == b"items"
    assert r.cors() == [("access-control-allow-credentials", "true"),
                        ("access-control-allow-origin", PAGE),
                        ("access-control-expose-headers", "X-Visible"), ("vary", "origin")]
    r = preflight(app, "/api/items", PAGE, "PUT", "content-type")
    assert r.status == 204 and r.get("access-control-allow-credentials") == "true"
    assert r.get("access-control-expose-headers") is None  # exposure is for actual answers


def test_refused_requests(app: Litestar) -> None:
    r = call(app, "POST", "/api/items", {"Origin": "https://evil.example"})
    assert (r.status, r.body, r.cors()) == (200, b"added", [("vary", "origin")])  # it still ran
    r = preflight(app, "/api/items", "https://evil.example", "PATCH", "x-other")
    assert (r.status, r.body) == (400, b"Disallowed CORS Origin, headers")  # every check
    assert r.cors() == [("vary", PREFLIGHT_VARY)]
    r = preflight(app, "/api/items", PAGE, "PUT", "x-other")
    assert (r.status, r.body, r.access_control()) == (400, b"Disallowed CORS headers", [])


def test_the_apps_own_cors_headers_are_replaced_and_vary_merged(app: Litestar) -> None:
    r = call(app, "GET", "/api/vary", {"Origin": PAGE})
    assert r.all("access-control-allow-origin") == [PAGE]
    assert r.all("vary") == ["Accept-Encoding, origin"]
    r = call(app, "GET", "/api/vary", {"Origin": "https://evil.example"})
    assert r.all("access-control-allow-origin") == []


# -- errors keep their CORS headers -----------------------------------------------------------


def test_errors_keep_cors_headers(app: Litestar) -> None:
    r = call(app, "GET", "/api/boom", {"Origin": PAGE})
    assert r.status == 500 and r.get("access-control-allow-origin") == PAGE
    assert b"Internal Server Error" in r.body  # Litestar's own error answer
    # An app middleware after the plugin raises: Litestar's 401, with CORS.
    r = call(app, "GET", "/api/private", {"Origin": PAGE})
    assert r.status == 401 and b"no token" in r.body
    assert r.get("access-control-allow-origin") == PAGE
    assert r.get("access-control-allow-credentials") == "true"


def test_requests_the_router_refuses_get_no_cors_headers(app: Litestar) -> None:
    # Not found and method not allowed happen before app middleware
    # (docs/litestar.md): the plugin never sees them.
    assert call(app, "GET", "/nowhere", {"Origin": PAGE}).cors() == []
    r = call(app, "DELETE", "/api/items", {"Origin": PAGE})
    assert r.status == 405 and r.cors() == []
    assert preflight(app, "/nowhere", PAGE).status == 404
    # Wrapping the whole app instead answers them, before routing.
    wrapped = PlainCORSMiddleware(Litestar([], openapi_config=None), expected_policy())
    r = call(wrapped, "GET", "/nowhere", {"Origin": PAGE})
    assert r.status == 404 and r.get("access-control-allow-origin") == PAGE
    assert preflight(wrapped, "/nowhere", PAGE).status == 204


# -- per-route policies ------------------------------------------------------------------------


def test_opt_covers_the_handlers_path_and_its_preflight(app: Litestar) -> None:
    r = call(app, "GET", "/api/route", {"Origin": ROUTE_PAGE})
    assert r.get("access-control-allow-origin") == ROUTE_PAGE
    assert r.get("access-control-allow-credentials") is None  # ROUTE_POLICY has none
    assert call(app, "GET", "/api/route", {"Origin": PAGE}).cors() == [("vary", "origin")]
    # The PUT handler of the same path, and the path's preflight: the same policy.
    assert call(app, "PUT", "/api/route", {"Origin": ROUTE_PAGE}).get(
        "access-control-allow-origin") == ROUTE_PAGE
    r = preflight(app, "/api/route", ROUTE_PAGE, "PUT")
    assert r.status == 204 and r.get("access-control-allow-methods") == "PUT"
    assert preflight(app, "/api/route", PAGE, "PUT").status == 400


def test_opt_on_a_router_reaches_its_handlers(app: Litestar) -> None:
    assert call(app, "GET", "/team/board", {"Origin": ROUTE_PAGE}).get(
        "access-control-allow-origin") == ROUTE_PAGE
    assert preflight(app, "/team/board", ROUTE_PAGE, "PUT").status == 204


def test_routes_pick_a_policy_by_prefix(app: Litestar) -> None:
    r = call(app, "DELETE", "/partner/orders", {"Origin": PARTNER})
    assert r.status == 200 and r.get("access-control-allow-origin") == PARTNER
    assert call(app, "GET", "/partner/orders", {"Origin": PAGE}).cors() == [("vary", "origin")]
    r = preflight(app, "/partner/orders", PARTNER, "DELETE", "x-partner")
    assert r.status == 204 and r.get("access-control-allow-headers") == "x-partner"
    # opt beats routes=; the base policy covers the rest.
    assert call(app, "GET", "/partner/own", {"Origin": ROUTE_PAGE}).get(
        "access-control-allow-origin") == ROUTE_PAGE
    assert call(app, "GET", "/api/items", {"Origin": PARTNER}).cors() == [("vary", "origin")]


def test_a_mounted_app_is_looked_up_by_its_mount_path(app: Litestar) -> None:
    r = call(app, "GET", "/mounted/deep/path", {"Origin": PARTNER})
    assert r.body == b"mounted" and r.get("access-control-allow-origin") == PARTNER
    r = preflight(app, "/mounted/x", PARTNER, "DELETE")
    assert r.status == 204 and r.get("access-control-allow-origin") == PARTNER


def test_with_routes_only_other_paths_are_left_alone() -> None:
    app = make_app(routes={"/partner": PARTNER_POLICY})
    assert call(app, "GET", "/api/items", {"Origin": PAGE}).cors() == []
    assert preflight(app, "/api/items", PAGE).cors() == []  # Litestar's own OPTIONS answer
    assert call(app, "GET", "/partner/orders", {"Origin": PARTNER}).get(
        "access-control-allow-origin") == PARTNER


def test_handlers_registered_later_get_their_policy() -> None:
    app = make_app(allow_origins=[PAGE])
    late = Policy(allow_origins=["https://late.example"])

    @get("/late", opt={"cors": late})
    async def late_handler() -> str:
        return "late"

    app.register(late_handler)
    assert call(app, "GET", "/late", {"Origin": "https://late.example"}).get(
        "access-control-allow-origin") == "https://late.example"
    assert call(app, "GET", "/api/items", {"Origin": PAGE}).get(
        "access-control-allow-origin") == PAGE


def test_opt_takes_a_cors_config_too() -> None:
    @get("/c", opt={"cors": CORSConfig(allow_origins=[ROUTE_PAGE], allow_methods=["GET"],
                                       allow_headers=["x-known"])})
    async def c() -> str:
        return "c"

    app = Litestar([c], plugins=[CORSPlugin()], openapi_config=None)
    r = preflight(app, "/c", ROUTE_PAGE, "GET", "x-any")
    assert r.status == 400 and r.body == b"Disallowed CORS headers"
    assert preflight(app, "/c", ROUTE_PAGE, "GET", "content-type").status == 204


# -- what a request carries ------------------------------------------------------------------


BAD_ORIGINS = [b"", b"https://\xff\xfe.example", b"https://app.example.com" + b"x" * 3000,
               b"https://app.example.com, https://app.example.com", b"https://a b.example",
               b"https://app.example.com\x00", "https://\u00e9.example".encode()]


@pytest.mark.parametrize("origin", BAD_ORIGINS)
def test_bad_origin_bytes_never_fail(app: Litestar, origin: bytes) -> None:
    r = raw(app, "GET", "/api/items", [(b"origin", origin)])
    assert (r.status, r.body, r.cors()) == (200, b"items", [("vary", "origin")])
    r = raw(app, "OPTIONS", "/api/items", [(b"origin", origin),
                                           (b"access-control-request-method", b"PUT")])
    assert (r.status, r.body, r.access_control()) == (400, b"Disallowed CORS request", [])


@pytest.mark.parametrize("headers", [
    [(b"origin", PAGE.encode()), (b"origin", PAGE.encode()),  # duplicated
     (b"access-control-request-method", b"PUT")],
    [(b"origin", PAGE.encode()), (b"access-control-request-method", b"PUT"),
     (b"access-control-request-method", b"PUT")],
    [(b"origin", PAGE.encode()), (b"access-control-request-method", b"P\xffT")],
    [(b"origin", PAGE.encode()), (b"access-control-request-method", b"PUT"),
     (b"access-control-request-headers", b"x-allowed," * 600)],  # oversized
    [(b"origin", PAGE.encode()), (b"access-control-request-method", b"PUT"),
     (b"access-control-request-headers", "x-allowed\u00e9".encode())],  # non-ASCII
])
def test_malformed_preflights_get_the_engines_refusal(app: Litestar,
                                                      headers: list[tuple[bytes, bytes]]) -> None:
    r = raw(app, "OPTIONS", "/api/items", headers)
    assert (r.status, r.access_control()) == (400, [])
    r = raw(app, "GET", "/api/items", headers)
    assert r.status == 200 and r.body == b"items"


class Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def test_log_refusals() -> None:
    # Litestar's logging config replaces the root logger's handlers (pytest's
    # capture among them) and leaves INFO on: the record goes to its queue.
    app = make_app(allow_origins=[PAGE], log_refusals=True)
    logger = logging.getLogger("corsfast")
    handler = Records()
    logger.addHandler(handler)
    try:
        assert logger.isEnabledFor(logging.INFO)
        preflight(app, "/api/items", "https://evil.example\u00e9", "PUT")
        preflight(app, "/api/items", PAGE, "PUT")  # allowed: not logged
    finally:
        logger.removeHandler(handler)
    [record] = handler.records
    assert "MALFORMED_REQUEST" in record.getMessage()
    assert "\u00e9" not in record.getMessage()  # escaped


def test_litestars_test_client_sees_the_same() -> None:
    with TestClient(make_app(**OPTIONS)) as client:
        r = client.options("/api/items", headers={
            "Origin": PAGE, "Access-Control-Request-Method": "PUT",
            "Access-Control-Request-Headers": "X-Allowed"})
        assert r.status_code == 204 and r.headers["access-control-allow-origin"] == PAGE
        assert r.headers["access-control-allow-headers"] == ", ".join([*SAFELISTED, "x-allowed"])


def test_the_dialect_is_shown_and_audited() -> None:
    from corsfast._audit import audit

    with pytest.warns(PolicyWarning, match="plain-http"):
        policy = policy_from_config(CORSConfig(allow_origins=["http://shop.example"],
                                               allow_credentials=True))
    assert "litestar" in repr(policy)
    assert "high" in {f.severity for f in audit(policy)}  # plain-http with credentials
    assert LITESTAR.differences() and not LITESTAR.problems()


# -- under uvicorn ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        with serve("uvicorn", "litestar_app:app") as running:
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
        "Access-Control-Request-Headers": "Content-Type, X-Allowed"})
    assert r.status_code == 204
    assert r.headers["access-control-allow-methods"] == ", ".join(ALL_METHODS)
    assert r.headers["access-control-max-age"] == "600"
    r = http.options("/api/route", headers={"Origin": ROUTE_PAGE,
                                            "Access-Control-Request-Method": "PUT"})
    assert r.status_code == 204 and r.headers["access-control-allow-origin"] == ROUTE_PAGE


def test_served_refusals_and_bad_bytes(http: httpx.Client) -> None:
    r = http.options("/api/items", headers={"Origin": "https://evil.example",
                                            "Access-Control-Request-Method": "PUT"})
    assert r.status_code == 400 and r.text == "Disallowed CORS Origin"
    for origin in (b"https://app.example.com.evil.test", b"https://\xff.example", b"x" * 5000):
        r = http.get("/api/items", headers=[(b"Origin", origin)])
        assert r.status_code == 200 and "access-control-allow-origin" not in r.headers


def test_served_error_keeps_cors(http: httpx.Client) -> None:
    r = http.get("/api/boom", headers={"Origin": PAGE})
    assert r.status_code == 500
    assert r.headers["access-control-allow-origin"] == PAGE
    assert BOOM not in r.text  # Litestar's own 500 body, outside debug mode
    r = http.get("/api/private", headers={"Origin": PAGE})
    assert r.status_code == 401 and r.headers["access-control-allow-origin"] == PAGE
