"""The README's FastAPI and Flask quick starts work as printed.

Each snippet is read out of README.md at test time (never a copy kept here),
written to ``app.py`` and served the way the README says to run it: uvicorn
for FastAPI, gunicorn for Flask, on loopback. A browser-style JSON client with
a bearer token then gets its preflight allowed and its POST answered with the
allowed origin, and a preflight from an origin the snippet does not trust gets
no CORS headers. The servers inherit the environment, so under
CORSFAST_NO_EXTENSIONS=1 they run the pure-Python engine, like the rest of the
suite.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Optional

import pytest
from browser_support import free_port, stop

import corsfast

README = Path(__file__).resolve().parent.parent / "README.md"
ORIGIN = "https://app.example.com"
EVIL = "https://evil.example"
PATH = "/api/items"
START_TIMEOUT = 20.0

HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
FENCE = re.compile(r"^(`{3,}|~{3,})\s*([\w+-]*)")


@dataclass(frozen=True)
class QuickStart:
    """How one framework's quick start is found in the README and served."""

    name: str
    heading: str  # a word in the section's heading
    imports: str  # the corsfast module the snippet must use
    run: str  # the command the README's prose gives
    modules: tuple[str, ...]  # what must be importable to run it
    argv: tuple[str, ...]  # after ``python -m``; {port} is filled in


QUICK_STARTS = [
    QuickStart("fastapi", "FastAPI", "corsfast.asgi", "uvicorn app:app",
               ("fastapi", "uvicorn"),
               ("uvicorn", "app:app", "--host", "127.0.0.1", "--port", "{port}",
                "--log-level", "warning")),
    QuickStart("flask", "Flask", "corsfast.contrib.flask", "gunicorn app:app",
               ("flask", "gunicorn"),
               ("gunicorn", "-b", "127.0.0.1:{port}", "-w", "1", "app:app")),
]


# -- the README ------------------------------------------------------------------


def sections(text: str) -> list[tuple[str, str, list[tuple[str, str]]]]:
    """The README cut at its headings: (heading, prose, [(language, code)]).

    A section runs to the next heading of any level; lines inside fences are
    never headings (a shell comment is not a title)."""
    found: list[tuple[str, list[str], list[tuple[str, str]]]] = [("", [], [])]
    fence: Optional[str] = None
    lang = ""
    code: list[str] = []
    for line in text.splitlines():
        if fence is not None:
            if line.strip().startswith(fence) and not line.strip().strip(fence[0]):
                found[-1][2].append((lang, "\n".join(code) + "\n"))
                fence = None
            else:
                code.append(line)
            continue
        opening = FENCE.match(line)
        if opening:
            fence, lang, code = opening.group(1), opening.group(2).lower(), []
            continue
        heading = HEADING.match(line)
        if heading:
            found.append((heading.group(2), [], []))
        else:
            found[-1][1].append(line)
    if fence is not None:
        raise AssertionError(f"README.md: a {fence}{lang} fence is never closed")
    return [(title, "\n".join(prose), blocks) for title, prose, blocks in found]


def snippet(quick: QuickStart) -> str:
    """The python block under the README heading that names ``quick.heading``,
    checked for what the requests below rely on."""
    text = README.read_text(encoding="utf-8")
    matches = [s for s in sections(text)
               if re.search(rf"\b{re.escape(quick.heading)}\b", s[0], re.I)]
    if len(matches) != 1:
        pytest.fail(f"README.md: expected one heading naming {quick.heading!r}, "
                    f"found {[m[0] for m in matches]}")
    title, prose, blocks = matches[0]
    python = [code for lang, code in blocks if lang in ("python", "py")]
    if len(python) != 1:
        pytest.fail(f"README.md, section {title!r}: expected one ```python block, "
                    f"found {len(python)}")
    code = python[0]
    # Drift in any of these is a README change for this test to follow.
    expected = {
        f"imports from {quick.imports}": rf"^from {re.escape(quick.imports)} import ",
        f"an `app` served as {quick.run!r}": r"^app\s*=",
        f"allows {ORIGIN}": rf"""\[\s*["']{re.escape(ORIGIN)}["']\s*\]""",
        "allows POST": r"""["']POST["']""",
        "allows content-type": r"""["']content-type["']""",
        "allows authorization": r"""["']authorization["']""",
        f"a POST route at {PATH}": (rf"""^@app\.(post\(\s*["']{re.escape(PATH)}["']"""
                                    rf"""|route\(\s*["']{re.escape(PATH)}["'].*POST)"""),
    }
    missing = [what for what, pattern in expected.items()
               if not re.search(pattern, code, re.M | re.I)]
    if missing:
        pytest.fail(f"README.md, section {title!r}: the snippet no longer "
                    f"{'; '.join(missing)}:\n{code}")
    if f"`{quick.run}`" not in prose:
        pytest.fail(f"README.md, section {title!r}: the prose no longer says to run "
                    f"`{quick.run}`")
    return code


# -- the server ------------------------------------------------------------------


def server_env() -> dict[str, str]:
    """This environment (CORSFAST_NO_EXTENSIONS included), with the corsfast
    this session imported first on the path."""
    env = dict(os.environ)
    here = str(Path(corsfast.__file__).resolve().parent.parent)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (here, env.get("PYTHONPATH")) if p)
    return env


def wait_for(port: int, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"the server exited with {process.returncode} before answering:\n"
                        f"{log.read_text(errors='replace')}")
        # Any HTTP answer will do: gunicorn's master listens before the worker
        # has imported the app, so an open port alone proves too little.
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
        try:
            conn.request("GET", "/")
            conn.getresponse().read()
            return
        except (OSError, http.client.HTTPException):
            time.sleep(0.05)
        finally:
            conn.close()
    pytest.fail(f"no HTTP answer on 127.0.0.1:{port} after {START_TIMEOUT:.0f} s:\n"
                f"{log.read_text(errors='replace')}")


@pytest.fixture(scope="module", params=QUICK_STARTS, ids=[q.name for q in QUICK_STARTS])
def server(request: pytest.FixtureRequest,
           tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    """The port of a real server running the README's snippet as ``app.py``."""
    quick: QuickStart = request.param
    for module in quick.modules:
        pytest.importorskip(module)
    code = snippet(quick)
    tmp_path = tmp_path_factory.mktemp(quick.name)
    (tmp_path / "app.py").write_text(code, encoding="utf-8")
    env = server_env()
    # The server must run the engine this session tests.
    engine = subprocess.run([sys.executable, "-c", "import corsfast; print(corsfast.ENGINE)"],
                            cwd=tmp_path, env=env, capture_output=True, text=True, check=True)
    assert engine.stdout.strip() == corsfast.ENGINE, engine
    port = free_port()
    argv = [arg.format(port=port) for arg in quick.argv]
    log = tmp_path / "server.log"
    with open(log, "wb") as out:
        process = subprocess.Popen([sys.executable, "-m", *argv], cwd=tmp_path, env=env,
                                   stdin=subprocess.DEVNULL, stdout=out,
                                   stderr=subprocess.STDOUT)
    try:
        wait_for(port, process, log)
        yield port
    finally:
        stop(process)


# -- the client ------------------------------------------------------------------


def send(port: int, method: str, headers: dict[str, str],
         body: Optional[bytes] = None) -> tuple[int, dict[str, str], bytes]:
    """One request on a connection of its own; header names come back lowercased."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request(method, PATH, body=body, headers=headers)
        response = conn.getresponse()
        got = {name.lower(): value for name, value in response.getheaders()}
        return response.status, got, response.read()
    finally:
        conn.close()


def tokens(value: Optional[str]) -> set[str]:
    """A comma-separated header value as a set of lowercased names."""
    return {item.strip().lower() for item in (value or "").split(",") if item.strip()}


def test_the_preflight_is_allowed(server: int) -> None:
    status, headers, _ = send(server, "OPTIONS", {
        "Origin": ORIGIN,
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type, authorization",
    })
    assert status in (200, 204), (status, headers)
    assert headers.get("access-control-allow-origin") == ORIGIN, headers
    assert "post" in tokens(headers.get("access-control-allow-methods")), headers
    allowed = tokens(headers.get("access-control-allow-headers"))
    assert {"content-type", "authorization"} <= allowed, headers


def test_the_json_post_with_a_bearer_token_is_answered(server: int) -> None:
    item = {"name": "pen", "count": 2}
    status, headers, body = send(server, "POST", {
        "Origin": ORIGIN,
        "Content-Type": "application/json",
        "Authorization": "Bearer token",
    }, json.dumps(item).encode())
    assert status == 200, (status, headers, body)
    assert headers.get("access-control-allow-origin") == ORIGIN, headers
    assert json.loads(body) == item  # the route ran and echoed the item


def test_an_untrusted_origin_gets_no_cors_headers(server: int) -> None:
    status, headers, _ = send(server, "OPTIONS", {
        "Origin": EVIL,
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type, authorization",
    })
    assert "access-control-allow-origin" not in headers, (status, headers)
    assert not [h for h in headers if h.startswith("access-control-")], (status, headers)
