"""Live policies and observability on the ASGI and WSGI middleware
(docs/spec.md "Live policies (for gateways)", "Observability"):
``reconfigure``, ``stats``, ``on_refusal``, ``debug`` and ``shadow``."""

from __future__ import annotations

import asyncio
import logging
import threading
from typing import Any, Optional

import pytest

from corsfast import Policy, Router
from corsfast import asgi as asgi_mod
from corsfast import wsgi as wsgi_mod

A = "https://a.example.com"
B = "https://b.example.com"
PA = Policy(allow_origins=[A], allow_methods=["GET", "PUT"], expose_headers=["x-one"])
PB = Policy(allow_origins=[B], allow_methods=["GET", "PUT"], expose_headers=["x-two"],
            max_age=600)


# -- driving the real middleware ----------------------------------------------------


async def _asgi_app(scope: Any, receive: Any, send: Any) -> None:
    if scope["type"] == "websocket":
        await receive()
        await send({"type": "websocket.accept"})
        return
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"text/plain")]})
    await send({"type": "http.response.body", "body": b"ok"})


def _scope(method: str, origin: Optional[str], path: str = "/", **extra: str) -> Any:
    headers = [] if origin is None else [(b"origin", origin.encode("latin-1"))]
    headers += [(k.replace("_", "-").encode(), v.encode()) for k, v in extra.items()]
    return {"type": "http", "method": method, "path": path, "headers": headers}


def asgi_request(mw: Any, method: str, origin: Optional[str], path: str = "/",
                 **extra: str) -> tuple[int, dict[str, str], bytes]:
    sent: list[Any] = []

    async def receive() -> Any:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Any) -> None:
        sent.append(message)

    asyncio.run(mw(_scope(method, origin, path, **extra), receive, send))
    start = sent[0]
    headers = {k.decode(): v.decode() for k, v in start["headers"]}
    body = b"".join(m.get("body", b"") for m in sent[1:])
    return start["status"], headers, body


def _wsgi_app(environ: Any, start_response: Any) -> Any:
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"ok"]


def wsgi_request(mw: Any, method: str, origin: Optional[str], path: str = "/",
                 **extra: str) -> tuple[int, dict[str, str], bytes]:
    environ: dict[str, Any] = {"REQUEST_METHOD": method, "PATH_INFO": path}
    if origin is not None:
        environ["HTTP_ORIGIN"] = origin
    for key, value in extra.items():
        environ["HTTP_" + key.upper()] = value
    started: list[Any] = []
    body = b"".join(mw(environ, lambda status, headers, exc=None: started.append(
        (status, headers))))
    status, headers = started[0]
    return int(status.split()[0]), {k.lower(): v for k, v in headers}, body


KINDS = {"asgi": (asgi_mod.CORSMiddleware, _asgi_app, asgi_request),
         "wsgi": (wsgi_mod.CORSMiddleware, _wsgi_app, wsgi_request)}


@pytest.fixture(params=sorted(KINDS))
def kind(request: pytest.FixtureRequest) -> Any:
    return KINDS[request.param]


def _preflight(request: Any, mw: Any, origin: str, headers: str = "",
               path: str = "/") -> Any:
    extra = {"access_control_request_method": "PUT"}
    if headers:
        extra["access_control_request_headers"] = headers
    return request(mw, "OPTIONS", origin, path, **extra)


# -- reconfigure ---------------------------------------------------------------------


def test_reconfigure_swaps_the_policy(kind: Any) -> None:
    cls, app, request = kind
    mw = cls(app, PA)
    assert request(mw, "GET", A)[1]["access-control-allow-origin"] == A
    mw.reconfigure(PB)
    assert mw.policy is PB
    assert "access-control-allow-origin" not in request(mw, "GET", A)[1]
    status, headers, _ = _preflight(request, mw, B)
    assert status == 204 and headers["access-control-max-age"] == "600"
    router = Router({"/api": PA})
    mw.reconfigure(router)
    assert mw.policy is router
    assert request(mw, "GET", A, "/api/x")[1]["access-control-allow-origin"] == A
    assert "access-control-allow-origin" not in request(mw, "GET", A, "/other")[1]


def test_reconfigure_refuses_what_is_not_a_policy(kind: Any) -> None:
    cls, app, request = kind
    mw = cls(app, PA)
    with pytest.raises(TypeError, match="policy must be"):
        mw.reconfigure({"allow_origins": [B]})
    assert mw.policy is PA  # nothing changed
    assert request(mw, "GET", A)[1]["access-control-allow-origin"] == A


def test_threads_see_one_policy_or_the_other(kind: Any) -> None:
    """Requests on several threads while another swaps policies: every
    answer is PA's whole or PB's whole, and nothing raises."""
    cls, app, request = kind
    both = Policy(allow_origins=[A], expose_headers=["x-one"])
    other = Policy(allow_origins=[A], expose_headers=["x-two"], allow_credentials=True)
    mw = cls(app, both)
    expected = [{k: v for k, v in request(cls(app, p), "GET", A)[1].items()
                 if k.startswith("access-control-")} for p in (both, other)]
    assert expected[0] != expected[1]
    stop = threading.Event()
    errors: list[Any] = []
    seen: set[int] = set()

    def swapper() -> None:
        while not stop.is_set():
            mw.reconfigure(other)
            mw.reconfigure(both)

    def worker() -> None:
        try:
            for _ in range(300):
                got = {k: v for k, v in request(mw, "GET", A)[1].items()
                       if k.startswith("access-control-")}
                if got not in expected:
                    errors.append(got)
                seen.add(expected.index(got) if got in expected else -1)
        except Exception as exc:  # pragma: no cover - the failure is reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(3)]
    swap = threading.Thread(target=swapper)
    swap.start()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    stop.set()
    swap.join()
    assert errors == []
    assert seen <= {0, 1}


# -- stats ------------------------------------------------------------------------------


def test_stats_count_by_kind_and_reason(kind: Any) -> None:
    cls, app, request = kind
    mw = cls(app, PA)
    assert mw.stats() == {"preflight": {}, "actual": {}, "websocket": {}}
    request(mw, "GET", A)
    request(mw, "GET", A)
    request(mw, "GET", B)
    request(mw, "GET", None)
    request(mw, "GET", "not an origin")
    _preflight(request, mw, A)
    _preflight(request, mw, A, "x-token")
    assert mw.stats() == {
        "preflight": {"ALLOWED": 1, "HEADERS_NOT_ALLOWED": 1},
        "actual": {"ALLOWED": 2, "ORIGIN_NOT_ALLOWED": 1, "NOT_CORS": 1,
                   "MALFORMED_REQUEST": 1},
        "websocket": {},
    }
    mw.reconfigure(PB)  # counts carry over a reconfigure: they never go down
    request(mw, "GET", B)
    assert mw.stats()["actual"]["ALLOWED"] == 3


def test_stats_per_route(kind: Any) -> None:
    cls, app, request = kind
    mw = cls(app, Router({"/api": PA, "/": PB}))
    request(mw, "GET", A, "/api/users")
    request(mw, "GET", B, "/api/users")
    request(mw, "GET", B, "/home")
    stats = mw.stats()
    assert stats["routes"] == {
        "/api": {"preflight": {}, "actual": {"ALLOWED": 1, "ORIGIN_NOT_ALLOWED": 1},
                 "websocket": {}},
        "/": {"preflight": {}, "actual": {"ALLOWED": 1}, "websocket": {}},
    }
    assert stats["actual"] == {"ALLOWED": 2, "ORIGIN_NOT_ALLOWED": 1}
    # A route kept across a reconfigure keeps its counts; a new one starts at zero.
    mw.reconfigure(Router({"/api": PB, "/v2": PA}))
    request(mw, "GET", B, "/api")
    routes = mw.stats()["routes"]
    assert routes["/api"]["actual"] == {"ALLOWED": 2, "ORIGIN_NOT_ALLOWED": 1}
    assert routes["/v2"]["actual"] == {} and "/" not in routes


async def _connect() -> Any:
    return {"type": "websocket.connect"}


async def _discard(message: Any) -> None:
    pass


def test_stats_count_websocket_handshakes() -> None:
    mw = asgi_mod.CORSMiddleware(_asgi_app, PA, check_websocket=True)
    for origin in (A, B):
        scope = {"type": "websocket", "path": "/ws",
                 "headers": [(b"origin", origin.encode())]}
        asyncio.run(mw(scope, _connect, _discard))
    assert mw.stats()["websocket"] == {"ALLOWED": 1, "ORIGIN_NOT_ALLOWED": 1}
    assert mw.stats()["actual"] == {}


def test_stats_stay_bounded_with_many_origins(kind: Any) -> None:
    cls, app, request = kind
    mw = cls(app, Policy(allow_origins=["https://*.example.com"]))
    for i in range(500):
        request(mw, "GET", f"https://h{i}.example.com")
        request(mw, "GET", f"https://h{i}.attacker.net")
    assert mw.stats()["actual"] == {"ALLOWED": 500, "ORIGIN_NOT_ALLOWED": 500}


# -- on_refusal and log_refusals ---------------------------------------------------------


def test_on_refusal_gets_escaped_values_and_the_fix(kind: Any,
                                                    caplog: pytest.LogCaptureFixture) -> None:
    cls, app, request = kind
    calls: list[Any] = []
    mw = cls(app, PA, on_refusal=lambda d, info: calls.append((d, info)), log_refusals=True)
    request(mw, "GET", A)
    assert calls == []  # allowed: not reported
    with caplog.at_level(logging.INFO, logger="corsfast"):
        _preflight(request, mw, A, "x-token", path="/p\r\nx")
    (decision, info), = calls
    assert decision.reason.name == "HEADERS_NOT_ALLOWED"
    assert info["kind"] == "preflight" and info["reason"] == "HEADERS_NOT_ALLOWED"
    assert info["origin"] == A and info["method"] == "OPTIONS"
    assert "\r" not in info["path"] and "\n" not in info["path"]
    assert "x-token" in info["fix"] and "allow_headers" in info["fix"]
    record, = [r for r in caplog.records if r.name == "corsfast"]
    assert record.cors_fix == info["fix"]
    assert "\n" not in record.getMessage()


def test_a_failing_hook_does_not_fail_the_request(kind: Any,
                                                  caplog: pytest.LogCaptureFixture) -> None:
    cls, app, request = kind

    def hook(decision: Any, info: Any) -> None:
        raise RuntimeError("hook broke")

    mw = cls(app, PA, on_refusal=hook)
    with caplog.at_level(logging.ERROR, logger="corsfast"):
        status, _, body = request(mw, "GET", B)
    assert status == 200 and body == b"ok"
    assert any("on_refusal" in r.getMessage() for r in caplog.records)


# -- debug --------------------------------------------------------------------------------


def test_debug_names_the_fix_in_a_refused_preflight(kind: Any) -> None:
    cls, app, request = kind
    quiet = cls(app, PA)
    assert _preflight(request, quiet, A, "x-token")[2] == b""
    mw = cls(app, PA, debug=True)
    status, headers, body = _preflight(request, mw, A, "x-token\x1b[31m")
    assert status == 403
    text = body.decode("ascii")
    assert "MALFORMED_REQUEST" in text or "HEADERS_NOT_ALLOWED" in text
    assert "\x1b" not in text
    status, headers, body = _preflight(request, mw, A, "x-token")
    assert status == 403 and headers["content-type"].startswith("text/plain")
    assert int(headers["content-length"]) == len(body)
    assert b"HEADERS_NOT_ALLOWED" in body and b"allow_headers" in body
    # Allowed preflights and actual requests are answered as without debug.
    assert _preflight(request, mw, A) == _preflight(request, quiet, A)
    assert request(mw, "GET", B) == request(quiet, "GET", B)


# -- shadow -------------------------------------------------------------------------------


def test_shadow_reports_disagreements(kind: Any, caplog: pytest.LogCaptureFixture) -> None:
    cls, app, request = kind
    seen: list[Any] = []
    strict = Policy(allow_origins=[A], allow_methods=["GET"])
    mw = cls(app, PA, shadow=strict, on_shadow=seen.append)
    request(mw, "GET", A)  # both allow
    request(mw, "GET", B)  # both refuse
    assert seen == []
    with caplog.at_level(logging.INFO, logger="corsfast"):
        status, _, _ = _preflight(request, mw, A, path="/x\ny")
    assert status == 204  # the enforced policy decides
    (info,) = seen
    assert info["reason"] == "ALLOWED" and info["shadow_reason"] == "METHOD_NOT_ALLOWED"
    assert info["origin"] == A and "\n" not in info["path"]
    assert any("shadow" in r.getMessage() for r in caplog.records)
    mw.reconfigure(PA)  # the shadow stays unless replaced
    _preflight(request, mw, A)
    assert len(seen) == 2
    mw.reconfigure(PA, shadow=None)
    _preflight(request, mw, A)
    assert len(seen) == 2


def test_shadow_router_without_a_route(kind: Any) -> None:
    cls, app, request = kind
    seen: list[Any] = []
    mw = cls(app, PA, shadow=Router({"/api": PA}), on_shadow=seen.append)
    request(mw, "GET", A, "/api")
    assert seen == []
    request(mw, "GET", A, "/elsewhere")
    assert [i["shadow_reason"] for i in seen] == ["NO_POLICY"]
