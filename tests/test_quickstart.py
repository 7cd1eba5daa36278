"""The README's FastAPI and Flask quick starts, copied out of the README as
they stand and served by real servers on loopback (uvicorn, gunicorn),
answer a JSON client with a bearer token: its preflight, its POST, and a
refusal for an origin they do not trust."""

from __future__ import annotations

import http.client
import json
import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Iterator, Optional

import pytest

ROOT = Path(__file__).resolve().parent.parent
ORIGIN = "https://app.example.com"
PATH = "/api/items"


def readme_block(heading: str) -> str:
    """The first python block under the README heading that starts with ``heading``."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    heading_at = re.search(rf"^#+ {re.escape(heading)}", text, re.M)
    assert heading_at, f"no README section {heading!r}"
    block = re.compile(r"^```python\n(.*?)^```", re.M | re.S).search(text, heading_at.end())
    assert block, f"no python block under {heading!r}"
    code = block.group(1)
    # What the requests below rely on: drift here is a README change to review.
    assert f'"{ORIGIN}"' in code and f'"{PATH}"' in code and '"authorization"' in code
    return code


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for(port: int, process: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"the server exited: {process.communicate()[0]}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    pytest.fail("the server did not start listening")


def serve(tmp_path: Path, code: str, command: list[str]) -> Iterator[int]:
    (tmp_path / "app.py").write_text(code, encoding="utf-8")
    port = free_port()
    argv = [a.replace("PORT", str(port)) for a in command]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}  # this checkout, either engine
    process = subprocess.Popen([sys.executable, "-m", *argv], cwd=tmp_path, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               text=True)
    try:
        wait_for(port, process)
        yield port
    finally:
        process.terminate()
        try:
            process.communicate(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.communicate()


@pytest.fixture(params=["fastapi", "flask"])
def server(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[int]:
    if request.param == "fastapi":
        pytest.importorskip("fastapi")
        pytest.importorskip("uvicorn")
        code = readme_block("FastAPI")
        command = ["uvicorn", "app:app", "--host", "127.0.0.1", "--port", "PORT",
                   "--log-level", "warning"]
    else:
        pytest.importorskip("flask")
        pytest.importorskip("gunicorn")
        code = readme_block("Flask")
        command = ["gunicorn", "-b", "127.0.0.1:PORT", "-w", "1", "app:app"]
    yield from serve(tmp_path, code, command)


def send(port: int, method: str, headers: dict[str, str],
         body: Optional[bytes] = None) -> tuple[int, http.client.HTTPMessage, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request(method, PATH, body=body, headers=headers)
        resp = conn.getresponse()
        return resp.status, resp.headers, resp.read()
    finally:
        conn.close()


def names(value: Optional[str]) -> set[str]:
    return {n.strip().lower() for n in (value or "").split(",") if n.strip()}


def test_a_json_client_with_a_bearer_token_gets_through(server: int) -> None:
    status, headers, _ = send(server, "OPTIONS", {
        "Origin": ORIGIN, "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type, authorization"})
    assert status in (200, 204)
    assert headers["Access-Control-Allow-Origin"] == ORIGIN
    assert "post" in names(headers["Access-Control-Allow-Methods"])
    assert {"content-type", "authorization"} <= names(headers["Access-Control-Allow-Headers"])

    item = {"name": "pen"}
    status, headers, body = send(server, "POST", {
        "Origin": ORIGIN, "Content-Type": "application/json",
        "Authorization": "Bearer token"}, json.dumps(item).encode())
    assert status == 200 and json.loads(body) == item
    assert headers["Access-Control-Allow-Origin"] == ORIGIN


def test_an_untrusted_origin_gets_no_cors_headers(server: int) -> None:
    _, headers, _ = send(server, "OPTIONS", {
        "Origin": "https://evil.example", "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type"})
    assert "Access-Control-Allow-Origin" not in headers
    _, headers, _ = send(server, "POST", {
        "Origin": "https://app.example.com.evil.test", "Content-Type": "application/json"},
        b"{}")
    assert "Access-Control-Allow-Origin" not in headers
