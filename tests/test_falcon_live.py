"""Live policies and observability on corsfast.contrib.falcon, WSGI and ASGI
apps through Falcon's test client (docs/spec.md "Live policies (for
gateways)", "Observability"): ``reconfigure``, ``stats``, ``on_refusal``,
``debug``, ``shadow`` and ``corsfast.watch``."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import falcon
import falcon.asgi
import pytest
from falcon import testing

import corsfast
from corsfast import Policy, Router
from corsfast.contrib.falcon import CORSMiddleware

A = "https://a.example.com"
B = "https://b.example.com"
PB = Policy(allow_origins=[B], allow_methods=["GET", "PUT"], expose_headers=["x-two"])

pytestmark = pytest.mark.usefixtures("current_event_loop")
kinds = pytest.mark.parametrize("kind", ["wsgi", "asgi"])


class Items:
    def on_get(self, req: Any, resp: Any) -> None:
        resp.media = {"ok": True}

    def on_put(self, req: Any, resp: Any) -> None:
        resp.media = {"put": True}


class AsyncItems:
    async def on_get(self, req: Any, resp: Any) -> None:
        resp.media = {"ok": True}

    async def on_put(self, req: Any, resp: Any) -> None:
        resp.media = {"put": True}


class Swapping:
    """A route whose own OPTIONS responder reconfigures the middleware while
    a deferred preflight is between Falcon's two hooks."""

    def __init__(self, middleware: CORSMiddleware, to: Policy) -> None:
        self.middleware, self.to = middleware, to

    def on_options(self, req: Any, resp: Any) -> None:
        resp.set_header("Allow", "GET, PUT, OPTIONS")
        self.middleware.reconfigure(self.to)


class AsyncSwapping(Swapping):
    async def on_options(self, req: Any, resp: Any) -> None:  # type: ignore[override]
        resp.set_header("Allow", "GET, PUT, OPTIONS")
        self.middleware.reconfigure(self.to)


def client(kind: str, middleware: CORSMiddleware, swap_to: Any = None) -> testing.TestClient:
    app: Any = (falcon.App if kind == "wsgi" else falcon.asgi.App)(middleware=[middleware])
    app.add_route("/items", Items() if kind == "wsgi" else AsyncItems())
    app.add_route("/api/items", Items() if kind == "wsgi" else AsyncItems())
    if swap_to is not None:
        app.add_route("/swap", (Swapping if kind == "wsgi" else AsyncSwapping)(
            middleware, swap_to))
    return testing.TestClient(app)


def get(c: testing.TestClient, origin: str, path: str = "/items") -> Any:
    return c.simulate_get(path, headers={"Origin": origin})


def preflight(c: testing.TestClient, origin: str, path: str = "/items",
              headers: str = "") -> Any:
    asked = {"Origin": origin, "Access-Control-Request-Method": "PUT"}
    if headers:
        asked["Access-Control-Request-Headers"] = headers
    return c.simulate_options(path, headers=asked)


def acao(result: Any) -> Any:
    return result.headers.get("access-control-allow-origin")


# -- reconfigure ---------------------------------------------------------------------


@kinds
def test_reconfigure_replaces_falcons_options(kind: str) -> None:
    mw = CORSMiddleware(allow_origins=[A])  # route-aware, from Falcon's options
    c = client(kind, mw)
    assert mw.route_aware
    assert acao(get(c, A)) == A and acao(get(c, B)) is None
    assert acao(preflight(c, A)) == A
    mw.reconfigure(PB)
    assert mw.policy is PB and not mw.route_aware
    assert acao(get(c, A)) is None
    r = get(c, B)
    assert acao(r) == B and r.headers["access-control-expose-headers"] == "x-two"
    r = preflight(c, B)
    assert r.status_code == 204 and "PUT" in r.headers["access-control-allow-methods"]
    mw.reconfigure(Router({"/api": PB}))
    assert acao(get(c, B, "/api/items")) == B
    assert "access-control-allow-origin" not in get(c, B, "/items").headers


@kinds
def test_a_deferred_preflight_is_finished_with_the_state_it_started_with(kind: str) -> None:
    mw = CORSMiddleware(allow_origins=[A])
    c = client(kind, mw, swap_to=PB)
    r = preflight(c, A, "/swap")
    # Decided under the route-aware options the request started with,
    # although the responder swapped the policy in between.
    assert acao(r) == A
    assert r.headers["access-control-allow-methods"] == "GET, PUT, OPTIONS"
    assert mw.policy is PB
    assert acao(preflight(c, A, "/items")) is None  # the next request: PB
    assert mw.stats()["preflight"] == {"ALLOWED": 1, "ORIGIN_NOT_ALLOWED": 1}


@kinds
def test_a_bad_argument_changes_nothing(kind: str) -> None:
    mw = CORSMiddleware(allow_origins=[A], shadow=PB)
    c = client(kind, mw)
    before = mw.policy
    with pytest.raises(TypeError, match=r"corsfast\.Policy or corsfast\.Router"):
        mw.reconfigure({"allow_origins": [B]})  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="shadow"):
        mw.reconfigure(PB, shadow="strict")
    assert mw.policy is before and mw.route_aware
    assert acao(get(c, A)) == A and acao(get(c, B)) is None
    assert acao(preflight(c, A)) == A


# -- stats ----------------------------------------------------------------------------


@kinds
def test_stats_count_each_decision_once(kind: str) -> None:
    mw = CORSMiddleware(allow_origins=[A])
    c = client(kind, mw)
    assert mw.stats() == {"preflight": {}, "actual": {}, "websocket": {}}
    get(c, A)
    get(c, B)
    c.simulate_get("/items")
    preflight(c, A)  # deferred to process_response: still counted once
    preflight(c, B)
    assert mw.stats() == {
        "preflight": {"ALLOWED": 1, "ORIGIN_NOT_ALLOWED": 1},
        "actual": {"ALLOWED": 1, "ORIGIN_NOT_ALLOWED": 1, "NOT_CORS": 1},
        "websocket": {}}
    mw.reconfigure(Router({"/api": PB}))
    get(c, B, "/api/items")
    get(c, B, "/items")  # no route: not decided, not counted
    stats = mw.stats()
    assert stats["actual"]["ALLOWED"] == 2  # kept across the reconfigure
    assert stats["routes"] == {"/api": {"preflight": {}, "actual": {"ALLOWED": 1},
                                        "websocket": {}}}


# -- on_refusal, log_refusals, debug ---------------------------------------------------------


@kinds
def test_on_refusal_gets_escaped_values(kind: str, caplog: pytest.LogCaptureFixture) -> None:
    calls: list[Any] = []
    mw = CORSMiddleware(PB, on_refusal=lambda d, info: calls.append((d, info)),
                        log_refusals=True)
    c = client(kind, mw)
    get(c, B)
    assert calls == []
    with caplog.at_level(logging.INFO, logger="corsfast"):
        preflight(c, B, headers="x-token\x1b[31m")
        get(c, "https://evil.example\x7f")
    (first, info), (_, info2) = calls
    assert first.preflight and info["kind"] == "preflight" and info["origin"] == B
    assert info["reason"] == first.reason.name != "ALLOWED"
    assert info2["kind"] == "actual" and info2["reason"] == "MALFORMED_REQUEST"
    assert info2["origin"] == "https://evil.example\\x7f"
    assert "serialized origin" in info2["fix"] and "\x7f" not in info2["fix"]
    lines = [r.getMessage() for r in caplog.records if r.name == "corsfast"]
    assert len(lines) == 2 and not any("\x1b" in line or "\x7f" in line for line in lines)


@kinds
def test_debug_names_the_fix_in_a_refused_preflight(kind: str) -> None:
    quiet = client(kind, CORSMiddleware(PB))
    c = client(kind, CORSMiddleware(PB, debug=True))
    assert preflight(quiet, B, headers="x-token").content == b""
    r = preflight(c, B, headers="x-token")
    assert r.headers["content-type"].startswith("text/plain")
    assert b"HEADERS_NOT_ALLOWED" in r.content and b"allow_headers" in r.content
    # Route-aware preflights, decided in process_response, carry it too.
    r = preflight(client(kind, CORSMiddleware(allow_origins=[A], debug=True)), B)
    assert b"ORIGIN_NOT_ALLOWED" in r.content and b"Fix:" in r.content
    assert preflight(c, B).content == b""  # allowed: no body
    assert get(c, A).json == {"ok": True}  # actual requests: untouched


# -- shadow ---------------------------------------------------------------------------


@kinds
def test_shadow_reports_disagreements(kind: str) -> None:
    seen: list[Any] = []
    strict = Policy(allow_origins=[B], allow_methods=["GET"])
    mw = CORSMiddleware(PB, shadow=strict, on_shadow=seen.append)
    c = client(kind, mw)
    get(c, B)
    get(c, A)
    assert seen == []
    r = preflight(c, B, "/items?x=\n")
    assert r.status_code == 204  # the enforced policy decides
    (info,) = seen
    assert info["reason"] == "ALLOWED" and info["shadow_reason"] == "METHOD_NOT_ALLOWED"
    assert info["origin"] == B and info["path"] == "/items"
    mw.reconfigure(PB)  # the shadow stays
    preflight(c, B)
    assert len(seen) == 2
    mw.reconfigure(PB, shadow=None)
    preflight(c, B)
    assert len(seen) == 2


# -- corsfast.watch ------------------------------------------------------------------------


def test_watch_puts_a_policy_file_in_force_on_the_drop_in(tmp_path: Path) -> None:
    path = tmp_path / "cors.toml"
    path.write_text(f'allow_origins = ["{A}"]\n', encoding="utf-8")
    mw = CORSMiddleware(allow_origins=[B])
    c = client("wsgi", mw)
    with corsfast.watch(path, mw, interval=60, sighup=False) as handle:
        assert mw.policy == Policy(allow_origins=[A])
        assert acao(get(c, A)) == A and acao(get(c, B)) is None
        path.write_text(f'allow_origins = ["{B}"]\n', encoding="utf-8")
        assert handle.reload() is True
        assert acao(get(c, B)) == B and acao(get(c, A)) is None
        path.write_text("allow_origins = [", encoding="utf-8")  # broken
        assert handle.reload() is False
        assert acao(get(c, B)) == B
