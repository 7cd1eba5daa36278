"""corsfast.contrib.falcon with falcon.testing.TestClient, WSGI and ASGI apps."""

from __future__ import annotations

from typing import Any

import falcon
import falcon.asgi
import pytest
from falcon import testing
from header_cases import WRITE_OVER_CASES

from corsfast import ConfigError, Policy, Router
from corsfast.contrib.falcon import CORSMiddleware

ORIGIN = "https://app.example.com"
EVIL = "https://evil.example"
KW = dict(allow_origins=[ORIGIN], allow_methods=["GET", "PUT"], allow_headers=["x-token"],
          expose_headers=["x-total"], allow_credentials=True, max_age=600)


class Items:
    calls = 0

    def on_get(self, req: Any, resp: Any) -> None:
        Items.calls += 1
        resp.media = {"ok": True}
        resp.set_header("Vary", "Accept-Encoding")

    def on_put(self, req: Any, resp: Any) -> None:
        Items.calls += 1
        resp.media = {"put": True}


class Boom:
    def on_get(self, req: Any, resp: Any) -> None:
        raise RuntimeError("boom")


class AsyncItems:
    calls = 0

    async def on_get(self, req: Any, resp: Any) -> None:
        AsyncItems.calls += 1
        resp.media = {"ok": True}
        resp.set_header("Vary", "Accept-Encoding")

    async def on_put(self, req: Any, resp: Any) -> None:
        AsyncItems.calls += 1
        resp.media = {"put": True}


class AsyncBoom:
    async def on_get(self, req: Any, resp: Any) -> None:
        raise RuntimeError("boom")


pytestmark = pytest.mark.usefixtures("current_event_loop")


def make_client(kind: str, middleware: CORSMiddleware) -> testing.TestClient:
    if kind == "wsgi":
        app: Any = falcon.App(middleware=[middleware])
        app.add_route("/api/items", Items())
        app.add_route("/api/boom", Boom())
        app.add_route("/other", Items())
    else:
        app = falcon.asgi.App(middleware=[middleware])
        app.add_route("/api/items", AsyncItems())
        app.add_route("/api/boom", AsyncBoom())
        app.add_route("/other", AsyncItems())
    return testing.TestClient(app)


def calls(kind: str) -> int:
    return Items.calls if kind == "wsgi" else AsyncItems.calls


kinds = pytest.mark.parametrize("kind", ["wsgi", "asgi"])


def cors_names(result: Any) -> set[str]:
    return {k.lower() for k in result.headers if k.lower().startswith("access-control-")}


@kinds
def test_allowed_preflight_is_answered_before_routing(kind: str) -> None:
    client = make_client(kind, CORSMiddleware(**KW))
    before = calls(kind)
    result = client.simulate_options("/api/items", headers={
        "Origin": ORIGIN, "Access-Control-Request-Method": "PUT",
        "Access-Control-Request-Headers": "X-Token"})
    assert calls(kind) == before
    assert result.status_code == 204 and result.content == b""
    assert result.headers["access-control-allow-origin"] == ORIGIN
    assert result.headers["access-control-allow-methods"] == "GET, PUT"
    assert result.headers["access-control-allow-headers"] == "x-token"
    assert result.headers["access-control-max-age"] == "600"
    assert result.headers["vary"].startswith("origin, access-control-request-method")
    # A path with no route still gets its preflight answered.
    assert client.simulate_options("/nowhere", headers={
        "Origin": ORIGIN, "Access-Control-Request-Method": "PUT"}).status_code == 204


@kinds
def test_refused_preflight_is_403(kind: str) -> None:
    client = make_client(kind, CORSMiddleware(**KW))
    for headers in ({"Origin": EVIL, "Access-Control-Request-Method": "PUT"},
                    {"Origin": ORIGIN, "Access-Control-Request-Method": "DELETE"},
                    {"Origin": ORIGIN, "Access-Control-Request-Method": "PUT",
                     "Access-Control-Request-Headers": "x-other"}):
        result = client.simulate_options("/api/items", headers=headers)
        assert result.status_code == 403
        assert cors_names(result) == set()


@kinds
def test_actual_request_headers_replace_and_merge(kind: str) -> None:
    client = make_client(kind, CORSMiddleware(**KW))
    result = client.simulate_get("/api/items", headers={"Origin": ORIGIN})
    assert result.status_code == 200 and result.json == {"ok": True}
    assert result.headers["access-control-allow-origin"] == ORIGIN
    assert result.headers["access-control-allow-credentials"] == "true"
    assert result.headers["access-control-expose-headers"] == "x-total"
    assert result.headers["vary"] == "Accept-Encoding, origin"
    refused = client.simulate_get("/api/items", headers={"Origin": EVIL})
    assert refused.status_code == 200 and refused.json == {"ok": True}
    assert cors_names(refused) == set()
    no_origin = client.simulate_get("/api/items")
    assert cors_names(no_origin) == set() and "origin" in no_origin.headers["vary"]


@kinds
def test_errors_keep_cors_headers(kind: str) -> None:
    client = make_client(kind, CORSMiddleware(**KW))
    boom = client.simulate_get("/api/boom", headers={"Origin": ORIGIN})
    assert boom.status_code == 500
    assert boom.headers["access-control-allow-origin"] == ORIGIN
    missing = client.simulate_get("/nowhere", headers={"Origin": ORIGIN})
    assert missing.status_code == 404
    assert missing.headers["access-control-allow-origin"] == ORIGIN


@kinds
def test_block_refused_and_passthrough(kind: str) -> None:
    client = make_client(kind, CORSMiddleware(Policy(**KW), block_refused=True))
    before = calls(kind)
    result = client.simulate_put("/api/items", headers={"Origin": EVIL})
    assert result.status_code == 403 and calls(kind) == before
    assert client.simulate_put("/api/items", headers={"Origin": ORIGIN}).status_code == 200
    assert calls(kind) == before + 1

    passthrough = make_client(kind, CORSMiddleware(Policy(**KW), preflight_passthrough=True))
    pf = passthrough.simulate_options("/api/items", headers={
        "Origin": ORIGIN, "Access-Control-Request-Method": "PUT"})
    # Falcon's own OPTIONS responder answers; the CORS headers are added.
    assert pf.status_code == 200 and "PUT" in pf.headers["allow"]
    assert pf.headers["access-control-allow-methods"] == "GET, PUT"


@kinds
def test_router_and_unrouted_paths(kind: str) -> None:
    router = Router({"/api": Policy(**KW)})
    client = make_client(kind, CORSMiddleware(router))
    assert client.simulate_get("/api/items", headers={"Origin": ORIGIN}).headers[
        "access-control-allow-origin"] == ORIGIN
    other = client.simulate_get("/other", headers={"Origin": ORIGIN})
    # Untouched: nothing is added or merged.
    assert cors_names(other) == set()
    assert other.headers["vary"] == "Accept-Encoding"


@kinds
@pytest.mark.parametrize("origin", ["", f"{ORIGIN}, {ORIGIN}", "https://äpp.example.com",
                                    "https://" + "a" * 3000])
def test_malformed_origins(kind: str, origin: str) -> None:
    client = make_client(kind, CORSMiddleware(**KW))
    result = client.simulate_get("/api/items", headers={"Origin": origin})
    assert result.status_code == 200 and cors_names(result) == set()
    pf = client.simulate_options("/api/items", headers={
        "Origin": origin, "Access-Control-Request-Method": "PUT"})
    assert pf.status_code == 403


def test_constructor_errors() -> None:
    with pytest.raises(TypeError, match="pass one or the other"):
        CORSMiddleware(Policy(**KW), allow_origins=[ORIGIN])
    with pytest.raises(TypeError, match=r"corsfast\.Policy or corsfast\.Router"):
        CORSMiddleware("https://app.example.com")  # type: ignore[arg-type]


# -- writing over the resource's headers, through Falcon's API ------------------------


@pytest.mark.parametrize("existing,expected", WRITE_OVER_CASES)
def test_a_resource_s_cors_headers_are_replaced(existing: list[tuple[str, str]],
                                                expected: dict[str, str]) -> None:
    class Own:
        def on_get(self, req: Any, resp: Any) -> None:
            for name, value in existing:
                resp.set_header(name, value)

    app = falcon.App(middleware=[CORSMiddleware(**KW)])
    app.add_route("/own", Own())
    r = testing.TestClient(app).simulate_get("/own", headers={"Origin": ORIGIN})
    got = {k.lower(): v for k, v in r.headers.items()}
    want = {"access-control-allow-origin": ORIGIN, "access-control-allow-credentials": "true",
            "access-control-expose-headers": "x-total", "vary": "origin", **expected}
    if any(name.lower() == "access-control-allow-origin" for name, _ in existing):
        # The resource's own allow-origin stands, as in Falcon, and gets no
        # credentials from the policy.
        want["access-control-allow-origin"] = "*"
        del want["access-control-allow-credentials"]
        assert "access-control-allow-credentials" not in got
    for name, value in want.items():
        assert got.get(name) == value, name
    assert "access-control-max-age" not in got


# -- route-aware preflights, as Falcon's cors_enable=True answers them ---------------


class Three:
    def on_get(self, req: Any, resp: Any) -> None:
        resp.media = {"ok": True}

    def on_put(self, req: Any, resp: Any) -> None:
        resp.media = {"put": True}

    def on_delete(self, req: Any, resp: Any) -> None:
        resp.set_header("Access-Control-Allow-Origin", "https://own.example")


class OwnOptions:
    def __init__(self, allow: Any) -> None:
        self.allow = allow

    def on_options(self, req: Any, resp: Any) -> None:
        if self.allow:
            resp.set_header("Allow", self.allow)


def route_client(kind: str, middleware: CORSMiddleware) -> testing.TestClient:
    app: Any = falcon.App(middleware=[middleware]) if kind == "wsgi" else \
        falcon.asgi.App(middleware=[middleware])
    if kind == "wsgi":
        app.add_route("/three", Three())
        app.add_route("/none", OwnOptions(None))
        app.add_route("/own", OwnOptions("GET, PATCH"))
        app.add_route("/bad", OwnOptions("CONNECT"))
    else:
        class AsyncThree:
            async def on_get(self, req: Any, resp: Any) -> None:
                resp.media = {"ok": True}

            async def on_put(self, req: Any, resp: Any) -> None:
                resp.media = {"put": True}

            async def on_delete(self, req: Any, resp: Any) -> None:
                resp.set_header("Access-Control-Allow-Origin", "https://own.example")

        class AsyncOwn:
            def __init__(self, allow: Any) -> None:
                self.allow = allow

            async def on_options(self, req: Any, resp: Any) -> None:
                if self.allow:
                    resp.set_header("Allow", self.allow)

        app.add_route("/three", AsyncThree())
        app.add_route("/none", AsyncOwn(None))
        app.add_route("/own", AsyncOwn("GET, PATCH"))
        app.add_route("/bad", AsyncOwn("CONNECT"))
    return testing.TestClient(app)


def ask(client: testing.TestClient, path_: str, method: str = "PUT",
        origin: str = ORIGIN, **extra: str) -> Any:
    return client.simulate_options(path_, headers={
        "Origin": origin, "Access-Control-Request-Method": method, **extra})


@kinds
def test_cors_enable_preset_takes_methods_from_the_route(kind: str) -> None:
    client = route_client(kind, CORSMiddleware(allow_origins="*"))
    pf = ask(client, "/three", "PUT",
             **{"Access-Control-Request-Headers": "Content-Type, Authorization"})
    assert pf.status_code == 204 and pf.content == b""
    assert pf.headers["access-control-allow-origin"] == "*"
    assert pf.headers["access-control-allow-methods"] == "DELETE, GET, PUT"
    assert pf.headers["access-control-allow-headers"] == "Content-Type, Authorization"
    assert pf.headers["access-control-max-age"] == "86400"
    assert "allow" not in {k.lower() for k in pf.headers}
    assert ask(client, "/three", "DELETE").headers["access-control-allow-headers"] == "*"
    assert ask(client, "/own", "PATCH").headers["access-control-allow-methods"] == "GET, PATCH"
    for refused in (ask(client, "/three", "PATCH"), ask(client, "/none", "GET"),
                    ask(client, "/bad", "GET")):
        assert refused.status_code == 403 and cors_names(refused) == set()
    missing = ask(client, "/nowhere", "GET")
    assert missing.status_code == 404 and cors_names(missing) == set()
    bad = ask(client, "/three", "PUT", **{"Access-Control-Request-Headers": "a b"})
    assert bad.status_code == 403 and cors_names(bad) == set()
    actual = client.simulate_get("/three", headers={"Origin": ORIGIN})
    assert actual.headers["access-control-allow-origin"] == "*"
    assert "origin" in actual.headers["vary"]
    assert cors_names(client.simulate_get("/three")) == set()


@kinds
def test_a_resource_s_own_allow_origin_stands(kind: str) -> None:
    client = route_client(kind, CORSMiddleware(allow_origins=[ORIGIN], allow_credentials=True))
    own = client.simulate_delete("/three", headers={"Origin": ORIGIN})
    assert own.headers["access-control-allow-origin"] == "https://own.example"
    assert "access-control-allow-credentials" not in own.headers
    theirs = client.simulate_get("/three", headers={"Origin": ORIGIN})
    assert theirs.headers["access-control-allow-origin"] == ORIGIN
    assert theirs.headers["access-control-allow-credentials"] == "true"


@kinds
@pytest.mark.parametrize("given", [[ORIGIN], ORIGIN])
def test_credentials_for_some_origins(kind: str, given: Any) -> None:
    client = route_client(kind, CORSMiddleware(allow_credentials=given))
    mine = client.simulate_get("/three", headers={"Origin": ORIGIN})
    assert mine.headers["access-control-allow-origin"] == ORIGIN
    assert mine.headers["access-control-allow-credentials"] == "true"
    other = client.simulate_get("/three", headers={"Origin": EVIL})
    assert other.headers["access-control-allow-origin"] == "*"
    assert "access-control-allow-credentials" not in other.headers
    assert "origin" in other.headers["vary"]
    pf = ask(client, "/three", "PUT")
    assert pf.headers["access-control-allow-credentials"] == "true"
    listed = route_client(kind, CORSMiddleware(allow_origins=[ORIGIN, EVIL],
                                               allow_credentials="*"))
    assert listed.simulate_get("/three", headers={"Origin": EVIL}).headers[
        "access-control-allow-credentials"] == "true"


def test_falcon_style_errors() -> None:
    with pytest.raises(ConfigError, match="any site could read responses as the user"):
        CORSMiddleware(allow_credentials="*")
    with pytest.raises(ConfigError, match="passed to allow_origins inside a list"):
        CORSMiddleware(allow_origins=["*"])
    with pytest.raises(ConfigError, match="passed to allow_credentials inside a list"):
        CORSMiddleware(allow_credentials=["*"])


def test_a_bad_credentials_origin_is_named_as_allow_credentials() -> None:
    with pytest.raises(ConfigError) as raised:
        CORSMiddleware(allow_credentials=["https://ok.example", "foo"])
    (line,) = raised.value.errors
    assert line.startswith("allow_credentials[1] 'foo'") and "https://foo" in line
    with pytest.raises(ConfigError) as raised:
        CORSMiddleware(allow_credentials="foo")
    assert raised.value.errors[0].startswith("allow_credentials[0] 'foo'")
