"""Origin resolvers on the real middleware (docs/spec.md "Live policies
(for gateways)"): asked only about an origin the policy refuses, behind
their caches, never about a malformed one, and counted once per request."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest
from test_live import asgi_request, wsgi_request

from corsfast import OriginResolver, Policy, Router, SyncOriginResolver
from corsfast import asgi as asgi_mod
from corsfast import wsgi as wsgi_mod

OWN = "https://app.example.com"
TENANT = "https://tenant-1.example.net"
STRANGER = "https://stranger.example.org"
POLICY = Policy(allow_origins=[OWN], allow_methods=["GET", "PUT"], allow_credentials=True)


class Tenants:
    """A tenants' table: counts the questions it is asked."""

    def __init__(self, *origins: str) -> None:
        self.origins = set(origins)
        self.asked: list[str] = []

    async def async_fn(self, origin: str) -> bool:
        self.asked.append(origin)
        await asyncio.sleep(0.01)
        return origin in self.origins

    def sync_fn(self, origin: str) -> bool:
        self.asked.append(origin)
        return origin in self.origins


def _build(kind: str, tenants: Tenants, policy: Any = POLICY, **options: Any) -> Any:
    if kind == "asgi":
        async def app(scope: Any, receive: Any, send: Any) -> None:
            await send({"type": "http.response.start", "status": 200, "headers": []})
            await send({"type": "http.response.body", "body": b"ok"})

        options.setdefault("allow_origin_resolver", tenants.async_fn)
        return asgi_mod.CORSMiddleware(app, policy, **options), asgi_request

    def wsgi_app(environ: Any, start_response: Any) -> Any:
        start_response("200 OK", [])
        return [b"ok"]

    return wsgi_mod.CORSMiddleware(wsgi_app, policy, allow_origin_resolver=tenants.sync_fn,
                                   **options), wsgi_request


@pytest.fixture(params=["asgi", "wsgi"])
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def test_a_tenant_origin_is_resolved_once_then_cached(kind: str) -> None:
    tenants = Tenants(TENANT)
    mw, request = _build(kind, tenants)
    for _ in range(3):
        status, headers, _ = request(mw, "GET", TENANT)
        assert status == 200
        assert headers["access-control-allow-origin"] == TENANT
        assert headers["access-control-allow-credentials"] == "true"
    assert tenants.asked == [TENANT]
    # The policy's own origin never asks; a stranger asks once, then is
    # refused from the negative cache.
    assert request(mw, "GET", OWN)[1]["access-control-allow-origin"] == OWN
    for _ in range(2):
        assert "access-control-allow-origin" not in request(mw, "GET", STRANGER)[1]
    assert tenants.asked == [TENANT, STRANGER]
    assert mw.stats()["actual"] == {"ALLOWED": 4, "ORIGIN_NOT_ALLOWED": 2}


def test_preflights_are_resolved_too(kind: str) -> None:
    tenants = Tenants(TENANT)
    mw, request = _build(kind, tenants)
    status, headers, _ = request(mw, "OPTIONS", TENANT,
                                 access_control_request_method="PUT")
    assert status == 204 and headers["access-control-allow-origin"] == TENANT
    status, headers, _ = request(mw, "OPTIONS", STRANGER,
                                 access_control_request_method="PUT")
    assert status == 403 and "access-control-allow-origin" not in headers
    assert mw.stats()["preflight"] == {"ALLOWED": 1, "ORIGIN_NOT_ALLOWED": 1}


@pytest.mark.parametrize("origin", ["not an origin", "https://a.example.com/path",
                                    "https://\x1b[31m.example", "null"])
def test_malformed_origins_never_reach_the_resolver(kind: str, origin: str) -> None:
    tenants = Tenants(origin)
    mw, request = _build(kind, tenants)
    request(mw, "GET", origin)
    assert tenants.asked == []


def test_a_resolver_that_fails_refuses_and_logs(kind: str,
                                                caplog: pytest.LogCaptureFixture) -> None:
    async def broken_async(origin: str) -> bool:
        raise RuntimeError("database down")

    def broken_sync(origin: str) -> bool:
        raise RuntimeError("database down")

    tenants = Tenants()
    tenants.async_fn = broken_async  # type: ignore[method-assign]
    tenants.sync_fn = broken_sync  # type: ignore[method-assign]
    mw, request = _build(kind, tenants)
    with caplog.at_level(logging.WARNING, logger="corsfast"):
        status, headers, body = request(mw, "GET", TENANT)
    assert status == 200 and body == b"ok"  # the request still reaches the app
    assert "access-control-allow-origin" not in headers
    assert any("database down" in r.getMessage() for r in caplog.records)


def test_a_hanging_resolver_is_cut_off_by_its_timeout() -> None:
    async def hang(origin: str) -> bool:
        await asyncio.sleep(60)
        return True

    async def app(scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    mw = asgi_mod.CORSMiddleware(app, POLICY,
                                 allow_origin_resolver=OriginResolver(hang, timeout=0.2))
    loop = asyncio.new_event_loop()
    try:
        started = loop.time()
        status, headers, _ = asgi_request_in(loop, mw, TENANT)
        assert loop.time() - started < 5
    finally:
        loop.close()
    assert status == 200 and "access-control-allow-origin" not in headers


def asgi_request_in(loop: asyncio.AbstractEventLoop, mw: Any, origin: str) -> Any:
    sent: list[Any] = []

    async def receive() -> Any:
        return {"type": "http.request", "body": b""}

    async def send(message: Any) -> None:
        sent.append(message)

    scope = {"type": "http", "method": "GET", "path": "/",
             "headers": [(b"origin", origin.encode())]}
    loop.run_until_complete(mw(scope, receive, send))
    return (sent[0]["status"], {k.decode(): v.decode() for k, v in sent[0]["headers"]},
            sent[1]["body"])


def test_concurrent_requests_share_one_call() -> None:
    tenants = Tenants(*(f"https://t{i}.example.net" for i in range(20)))
    # A timeout far above any stall of a loaded machine: this is about
    # single-flight, not about cutting slow calls off.
    mw, _ = _build("asgi", tenants,
                   allow_origin_resolver=OriginResolver(tenants.async_fn, timeout=60))
    answers: list[Any] = []

    async def one(origin: str) -> None:
        sent: list[Any] = []

        async def receive() -> Any:
            return {"type": "http.request", "body": b""}

        async def send(message: Any) -> None:
            sent.append(message)

        scope = {"type": "http", "method": "GET", "path": "/",
                 "headers": [(b"origin", origin.encode())]}
        await mw(scope, receive, send)
        answers.append(dict(sent[0]["headers"]).get(b"access-control-allow-origin"))

    async def main() -> None:
        await asyncio.gather(*(one(f"https://t{i % 20}.example.net") for i in range(400)))

    asyncio.run(main())
    assert len(tenants.asked) == 20
    assert sorted(set(answers)) == sorted(f"https://t{i}.example.net".encode()
                                          for i in range(20))
    assert mw.stats()["actual"] == {"ALLOWED": 400}


def test_routers_and_reconfigure_keep_the_resolver(kind: str) -> None:
    tenants = Tenants(TENANT)
    mw, request = _build(kind, tenants, Router({"/api": POLICY}))
    assert request(mw, "GET", TENANT, "/api/x")[1]["access-control-allow-origin"] == TENANT
    assert "access-control-allow-origin" not in request(mw, "GET", TENANT, "/other")[1]
    assert mw.stats()["routes"]["/api"]["actual"] == {"ALLOWED": 1}
    mw.reconfigure(Policy(allow_origins=[OWN]))
    headers = request(mw, "GET", TENANT, "/anywhere")[1]
    assert headers["access-control-allow-origin"] == TENANT  # cached verdict, new policy
    assert "access-control-allow-credentials" not in headers
    assert tenants.asked == [TENANT]


def test_wrong_kinds_of_resolver_are_refused() -> None:
    async def fn(origin: str) -> bool:
        return True

    with pytest.raises(TypeError):
        wsgi_mod.CORSMiddleware(lambda e, s: [], POLICY, allow_origin_resolver=fn)
    with pytest.raises(TypeError):
        asgi_mod.CORSMiddleware(lambda s, r, x: None, POLICY,
                                allow_origin_resolver=lambda origin: True)
    assert isinstance(wsgi_mod.CORSMiddleware(lambda e, s: [], POLICY,
                                              allow_origin_resolver=lambda o: True).resolver,
                      SyncOriginResolver)
