"""corsfast.wsgi.CORSMiddleware under real WSGI servers, over loopback sockets.

gunicorn runs as a subprocess on 127.0.0.1 (a free port, bounded waits,
always killed); wsgiref's server runs in a thread. Both serve the app from
``APP_SOURCE`` so the same checks run against each.
"""

from __future__ import annotations

import http.client
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any, Iterator, Optional

import pytest

ROOT = Path(__file__).resolve().parent.parent
ORIGIN = "https://app.example.com"
TIMEOUT = 5.0

APP_SOURCE = '''
from corsfast.wsgi import CORSMiddleware


def inner(environ, start_response):
    path = environ["PATH_INFO"]
    if path == "/boom":
        raise RuntimeError("boom before start_response")
    if path == "/midway":
        def body():
            yield b"partial"
            raise RuntimeError("boom mid-body")
        start_response("200 OK", [("Content-Type", "text/plain")])
        return body()
    start_response("200 OK", [("Content-Type", "text/plain"),
                              ("Vary", "Accept-Encoding"),
                              ("Access-Control-Allow-Origin", "*")])
    return [b"hello " + environ["REQUEST_METHOD"].encode()]


app = CORSMiddleware(inner, allow_origins=["https://app.example.com"],
                     allow_methods=["GET", "PUT"], allow_headers=["x-token"],
                     allow_credentials=True, max_age=600)
'''


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for_port(port: int, proc: Optional[subprocess.Popen[bytes]] = None) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"server exited early with {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"nothing listening on 127.0.0.1:{port}")


class Server:
    def __init__(self, port: int, log: Any) -> None:
        self.port = port
        self.log = log  # callable returning the server's log text so far

    def request(self, method: str, path: str, **headers: str) -> tuple[int, dict[str, str], bytes]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=TIMEOUT)
        try:
            conn.request(method, path, headers={k.replace("_", "-"): v
                                                for k, v in headers.items()})
            resp = conn.getresponse()
            status = resp.status
            got = {k.lower(): v for k, v in resp.getheaders()}
            try:
                body = resp.read()
            except http.client.IncompleteRead as exc:
                body = exc.partial
            return status, got, body
        finally:
            conn.close()


@pytest.fixture(scope="module")
def app_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("wsgi_app")
    (path / "cors_app.py").write_text(APP_SOURCE)
    return path


@pytest.fixture(scope="module")
def gunicorn(app_dir: Path) -> Iterator[Server]:
    port = free_port()
    log_path = app_dir / "gunicorn.log"
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), str(app_dir)]))
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{port}",
             "--workers", "1", "--timeout", "10", "--graceful-timeout", "2",
             "cors_app:app"],
            cwd=app_dir, env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            wait_for_port(port, proc)
            yield Server(port, lambda: log_path.read_text(errors="replace"))
        finally:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)


@pytest.fixture(scope="module")
def wsgiref_server(app_dir: Path) -> Iterator[Server]:
    import importlib.util
    import io
    from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

    spec = importlib.util.spec_from_file_location("cors_app_wsgiref", app_dir / "cors_app.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    errors = io.StringIO()

    class Quiet(WSGIRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

        def get_stderr(self) -> Any:
            return errors

    server = make_server("127.0.0.1", 0, module.app, server_class=WSGIServer,
                         handler_class=Quiet)
    server.timeout = TIMEOUT
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              daemon=True)
    thread.start()
    try:
        yield Server(server.server_port, errors.getvalue)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.fixture(params=["gunicorn", "wsgiref"])
def server(request: pytest.FixtureRequest) -> Server:
    return request.getfixturevalue(request.param if request.param == "gunicorn"
                                   else "wsgiref_server")


def test_allowed_preflight(server: Server) -> None:
    status, headers, body = server.request(
        "OPTIONS", "/items", Origin=ORIGIN, Access_Control_Request_Method="PUT",
        Access_Control_Request_Headers="X-Token")
    assert status == 204 and body == b""
    assert headers["access-control-allow-origin"] == ORIGIN
    assert headers["access-control-allow-credentials"] == "true"
    assert headers["access-control-allow-methods"] == "GET, PUT"
    assert headers["access-control-allow-headers"] == "x-token"
    assert headers["access-control-max-age"] == "600"


def test_refused_preflight(server: Server) -> None:
    status, headers, body = server.request(
        "OPTIONS", "/items", Origin="https://evil.example", Access_Control_Request_Method="PUT")
    assert status == 403 and body == b""
    assert not [k for k in headers if k.startswith("access-control-")]
    assert headers["vary"].startswith("origin, access-control-request-method")


def test_actual_request(server: Server) -> None:
    status, headers, body = server.request("GET", "/items", Origin=ORIGIN)
    assert status == 200 and body == b"hello GET"
    assert headers["access-control-allow-origin"] == ORIGIN
    assert headers["vary"] == "Accept-Encoding, origin"
    status, headers, body = server.request("GET", "/items", Origin="https://evil.example")
    assert status == 200 and body == b"hello GET"
    assert "access-control-allow-origin" not in headers


def test_error_before_start_response_is_a_500_with_cors_and_is_logged(server: Server) -> None:
    status, headers, body = server.request("GET", "/boom", Origin=ORIGIN)
    assert status == 500 and body == b"Internal Server Error"
    assert headers["access-control-allow-origin"] == ORIGIN
    assert headers["access-control-allow-credentials"] == "true"
    deadline = time.monotonic() + TIMEOUT
    while "boom before start_response" not in server.log() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert "boom before start_response" in server.log()


def test_error_mid_body_sends_nothing_twice(server: Server) -> None:
    status, headers, body = server.request("GET", "/midway", Origin=ORIGIN)
    assert status == 200
    assert headers["access-control-allow-origin"] == ORIGIN
    assert body == b"partial"


@pytest.mark.parametrize("origin", ["https://app.example.com, https://app.example.com",
                                    "https://app.exämple.com".encode().decode("latin-1"),
                                    "x" * 4000])
def test_bad_origins_over_the_wire(server: Server, origin: str) -> None:
    status, headers, body = server.request("GET", "/items", Origin=origin)
    assert status == 200 and body == b"hello GET"
    assert "access-control-allow-origin" not in headers
    status, _, _ = server.request("OPTIONS", "/items", Origin=origin,
                                  Access_Control_Request_Method="PUT")
    assert status == 403


def test_duplicated_origin_lines_are_refused(server: Server) -> None:
    raw = (f"OPTIONS /items HTTP/1.1\r\nHost: 127.0.0.1\r\nOrigin: {ORIGIN}\r\n"
           f"Origin: {ORIGIN}\r\nAccess-Control-Request-Method: PUT\r\n"
           "Connection: close\r\n\r\n").encode("ascii")
    with socket.create_connection(("127.0.0.1", server.port), timeout=TIMEOUT) as sock:
        sock.sendall(raw)
        data = b""
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
    status_line, _, rest = data.partition(b"\r\n")
    assert b" 403 " in status_line
    assert b"access-control-allow-origin" not in rest.lower()
