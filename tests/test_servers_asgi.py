"""corsfast.asgi.CORSMiddleware under real uvicorn and granian on loopback.

Each server runs tests/browser_app.py:api in a subprocess (uvicorn picks
the interface itself, which proves ASGI 3 auto-detection; granian runs its
asgi interface). Requests go over real sockets with bounded timeouts.
"""

from __future__ import annotations

import socket
from typing import Iterator

import httpx
import pytest
from browser_app import BOOM
from browser_support import LOOPBACK, Server, serve

PAGE = "https://app.example.com"
TIMEOUT = httpx.Timeout(5.0)


@pytest.fixture(scope="module", params=["uvicorn", "granian"])
def server(request: pytest.FixtureRequest) -> Iterator[Server]:
    with serve(request.param, "browser_app:api",
               env={"CORSFAST_TEST_PAGE_ORIGIN": PAGE}) as running:
        yield running


@pytest.fixture
def http(server: Server) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=f"http://{LOOPBACK}:{server.port}",
                      timeout=TIMEOUT) as client:
        yield client


def test_allowed_request_gets_cors_and_replaces_the_apps(http: httpx.Client) -> None:
    r = http.get("/api/hello", headers={"Origin": PAGE})
    assert r.status_code == 200
    assert r.headers.get_list("access-control-allow-origin") == [PAGE]
    assert r.headers["access-control-allow-credentials"] == "true"
    assert r.headers["access-control-expose-headers"] == "x-visible"
    assert r.headers.get_list("vary") == ["accept-encoding, origin"]
    assert r.json()["origins"] == [PAGE]


def test_preflight_answered_by_the_middleware(http: httpx.Client) -> None:
    r = http.options("/api/items", headers={
        "Origin": PAGE, "Access-Control-Request-Method": "PUT",
        "Access-Control-Request-Headers": "Content-Type, X-Allowed"})
    assert r.status_code == 204 and r.content == b""
    assert r.headers["access-control-allow-origin"] == PAGE
    assert r.headers["access-control-allow-methods"] == "GET, POST, PUT"
    assert r.headers["access-control-allow-headers"] == "content-type, x-allowed"
    assert r.headers["access-control-max-age"] == "0"


def test_refused_preflight_is_403(http: httpx.Client) -> None:
    r = http.options("/api/items", headers={
        "Origin": PAGE, "Access-Control-Request-Method": "DELETE"})
    assert r.status_code == 403
    assert not [k for k in r.headers if k.startswith("access-control-")]


def test_error_keeps_cors_and_reaches_the_server_log(
        http: httpx.Client, server: Server) -> None:
    r = http.get("/api/boom", headers={"Origin": PAGE})
    assert r.status_code == 500
    assert r.headers["access-control-allow-origin"] == PAGE
    assert r.headers["access-control-allow-credentials"] == "true"
    assert BOOM in server.wait_for_log(BOOM)
    # The server survived and still answers. A server may close the
    # connection whose application failed (uvicorn does, at times), so ask
    # on a new one.
    with httpx.Client(base_url=http.base_url, timeout=http.timeout) as fresh:
        assert fresh.get("/api/hello").status_code == 200


def test_path_without_policy_is_untouched(http: httpx.Client) -> None:
    r = http.get("/plain/x", headers={"Origin": PAGE})
    assert r.headers.get_list("access-control-allow-origin") == ["https://wrong.example"]
    assert r.headers["vary"] == "accept-encoding"


def test_duplicated_origin_is_malformed_but_the_app_runs(http: httpx.Client) -> None:
    r = http.get("/api/hello", headers=[("Origin", PAGE), ("Origin", PAGE)])
    assert r.status_code == 200
    assert r.json()["origins"] == [PAGE, PAGE]
    assert "access-control-allow-origin" not in r.headers
    r = http.options("/api/items", headers=[
        ("Origin", PAGE), ("Origin", PAGE), ("Access-Control-Request-Method", "PUT")])
    assert r.status_code == 403


@pytest.mark.parametrize("origin", [
    b"https://\xff\xfe.example", b"https://app.example.com" + b"x" * 3000,
    b"https://app.example.com, https://app.example.com",
])
def test_bad_origin_bytes_never_fail(http: httpx.Client, origin: bytes) -> None:
    r = http.get("/api/hello", headers=[(b"Origin", origin)])
    assert r.status_code == 200
    assert "access-control-allow-origin" not in r.headers
    r = http.options("/api/hello", headers=[
        (b"Origin", origin), (b"Access-Control-Request-Method", b"PUT")])
    assert r.status_code == 403


def handshake_status(server: Server, path: str, origin: str | None) -> int:
    lines = [f"GET {path} HTTP/1.1", f"Host: {LOOPBACK}:{server.port}",
             "Upgrade: websocket", "Connection: Upgrade",
             "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==",
             "Sec-WebSocket-Version: 13"]
    if origin is not None:
        lines.append(f"Origin: {origin}")
    with socket.create_connection((LOOPBACK, server.port), timeout=5) as sock:
        sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        data = b""
        while b"\r\n" not in data:
            chunk = sock.recv(1024)
            if not chunk:
                break
            data += chunk
    return int(data.split(b" ", 2)[1])


@pytest.mark.parametrize("path,origin,status", [
    ("/ws", PAGE, 101),
    ("/ws", None, 101),
    ("/ws", "https://evil.example", 403),
    ("/ws-denied", PAGE, 403),
])
def test_websocket_origin_check(server: Server, path: str, origin: str | None,
                                status: int) -> None:
    assert handshake_status(server, path, origin) == status
