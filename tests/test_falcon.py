"""corsfast.contrib.falcon with falcon.testing.TestClient, WSGI and ASGI apps."""

from __future__ import annotations

from typing import Any

import falcon
import falcon.asgi
import pytest
from falcon import testing
from header_cases import WRITE_OVER_CASES

from corsfast import Policy, Router
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
        resp.set_header("Access-Control-Allow-Origin", "*")

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
        resp.set_header("Access-Control-Allow-Origin", "*")

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
    assert cors_names(refused) == set()  # the resource's own '*' is gone
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
    # Untouched: the resource's own header stays, nothing is merged.
    assert other.headers["access-control-allow-origin"] == "*"
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
    for name, value in want.items():
        assert got.get(name) == value, name
    assert "access-control-max-age" not in got
