"""End to end in headless Chromium: a page on one origin calls an API on
another, the API behind corsfast on a real server.

The page (http://127.0.0.1:P1, served by uvicorn) runs the scenarios in
JavaScript and writes the outcomes into the DOM; chromedriver reads them
back and each scenario is asserted here. The API (http://localhost:P2: a
port of its own, so another origin, on the same loopback address) is one
of the matrix ``SERVERS``:

- ``asgi``: tests/browser_app.py:api, corsfast.asgi.CORSMiddleware with
  per-path policies, under uvicorn: every scenario;
- ``aiohttp``: tests/browser_aiohttp.py, corsfast.contrib.aiohttp's
  aiohttp-cors API, under aiohttp's own server, and
- ``quart``: tests/browser_quart.py, corsfast.contrib.quart's ``cors``,
  under uvicorn: the ``COMMON`` scenarios (a simple GET, a JSON POST after
  its preflight, a refused origin, credentials, an exposed and a hidden
  header, and a 500 the page still reads).

Each server's page runs in a browser of its own, with a new profile.
Everything stays on loopback.

Without Debian's chromium and chromedriver on PATH the module is skipped
with one reason, unless CI is set: then each test fails at set-up with it.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
import time
from typing import Any, Callable, Iterator, Optional, TypeVar

import httpx
import pytest
from browser_support import LOOPBACK, free_port, serve, stop

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")
MISSING = "chromium not installed: apt-get install chromium chromium-driver"
if not (CHROMIUM and CHROMEDRIVER) and not os.environ.get("CI"):
    # a mark, not a module-level pytest.skip: the tests are still collected,
    # so -rs folds them into one line and the run exits 0 (not 5, "no tests")
    pytestmark = pytest.mark.skip(reason=MISSING)
FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
    "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--disable-quic", "--disable-extensions",
    "--disable-default-apps", "--mute-audio", "--no-default-browser-check",
]
PAGE_TIMEOUT = 60.0
DONE_SCRIPT = """
const out = document.getElementById("results");
return out && out.getAttribute("data-done") === "yes" ? out.textContent : null;
"""


def run_page(url: str) -> dict[str, Any]:
    """Load ``url`` in headless Chromium through chromedriver's WebDriver
    HTTP API and return the page's results once it says it is done.

    (Chromium's --dump-dom with a virtual time budget does not wait for
    websockets, so the page is driven in real time instead.)
    """
    if not (CHROMIUM and CHROMEDRIVER):
        pytest.fail(MISSING, pytrace=False)
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="corsfast-chromium-") as profile:
        driver = subprocess.Popen(
            [CHROMEDRIVER, f"--port={port}", "--allowed-ips=127.0.0.1"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            stdin=subprocess.DEVNULL)
        try:
            return _drive(port, url, profile)
        finally:
            stop(driver)


def _drive(port: int, url: str, profile: str) -> dict[str, Any]:
    deadline = time.monotonic() + PAGE_TIMEOUT
    base = f"http://{LOOPBACK}:{port}"
    with httpx.Client(base_url=base, timeout=30.0) as wd:
        while True:  # wait for chromedriver to listen
            try:
                wd.get("/status")
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "chromedriver did not start"
                time.sleep(0.1)
        options = {"binary": CHROMIUM, "args": [*FLAGS, f"--user-data-dir={profile}"]}
        created = wd.post("/session", json={"capabilities": {"alwaysMatch": {
            "browserName": "chrome", "goog:chromeOptions": options}}})
        session = created.json()["value"]["sessionId"]
        try:
            wd.post(f"/session/{session}/url", json={"url": url}).raise_for_status()
            while time.monotonic() < deadline:
                done = wd.post(f"/session/{session}/execute/sync",
                               json={"script": DONE_SCRIPT, "args": []})
                value = done.json()["value"]
                if value:
                    return dict(json.loads(value))
                time.sleep(0.2)
            raise AssertionError(f"the page did not finish within {PAGE_TIMEOUT}s")
        finally:
            wd.delete(f"/session/{session}")


COMMON = ("simple_get", "json_post", "origin_refused", "credentials",
          "exposed_and_hidden", "error_500")
# name: (server, target, the scenarios its page runs; None: every one)
SERVERS: dict[str, tuple[str, str, Optional[tuple[str, ...]]]] = {
    "asgi": ("uvicorn", "browser_app:api", None),
    "aiohttp": ("aiohttp", "browser_aiohttp:make_api", COMMON),
    "quart": ("uvicorn", "browser_quart:app", COMMON),
}
Test = TypeVar("Test", bound=Callable[..., None])


def every_server(test: Test) -> Test:
    """Run ``test`` against every server of the matrix; a test without this
    runs against ``asgi`` only. (An attribute, not a pytest mark: a marked
    test would make the skip above one line per test.)"""
    setattr(test, "servers", tuple(SERVERS))  # noqa: B010
    return test


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    servers = getattr(metafunc.function, "servers", ("asgi",))
    metafunc.parametrize("results", servers, indirect=True, scope="module")


class Outcomes(dict[str, Any]):
    """The page's outcome of each scenario; the server that answered, the
    page's origin and the API's address (still served while tests run)."""

    def __init__(self, server: str, outcomes: dict[str, Any], page: str, api: str) -> None:
        super().__init__(outcomes)
        self.server, self.page, self.api = server, page, api


@pytest.fixture(scope="module")
def results(request: pytest.FixtureRequest) -> Iterator[Outcomes]:
    if not (CHROMIUM and CHROMEDRIVER):  # only reached with CI set
        pytest.fail(MISSING, pytrace=False)
    server = str(request.param)
    kind, target, scenarios = SERVERS[server]
    page_port, api_port = free_port(), free_port()
    page_origin = f"http://{LOOPBACK}:{page_port}"
    api_origin = f"http://localhost:{api_port}"
    env = {"CORSFAST_TEST_PAGE_ORIGIN": page_origin,
           "CORSFAST_TEST_API_ORIGIN": api_origin}
    if scenarios is not None:
        env["CORSFAST_TEST_SCENARIOS"] = ",".join(scenarios)
    with serve(kind, target, env=env, port=api_port), \
            serve("uvicorn", "browser_app:page", env=env, port=page_port):
        outcomes = run_page(page_origin + "/")
        if scenarios is not None:  # the page ran those, and only those
            assert sorted(outcomes) == sorted(scenarios), outcomes
        yield Outcomes(server, outcomes, page_origin, f"http://{LOOPBACK}:{api_port}")


def ok(results: dict[str, Any], name: str) -> dict[str, Any]:
    outcome = results[name]
    assert outcome["ok"], f"{name}: {outcome}"
    return dict(outcome)


def refused(results: dict[str, Any], name: str) -> None:
    outcome = results[name]
    assert not outcome["ok"], f"{name} should have been blocked: {outcome}"
    assert "TypeError" in outcome["error"] or "refused" in outcome["error"], outcome


@every_server
def test_simple_get(results: dict[str, Any]) -> None:
    r = ok(results, "simple_get")
    assert r["status"] == 200 and json.loads(r["text"])["method"] == "GET"


@every_server
def test_json_post_after_preflight(results: dict[str, Any]) -> None:
    r = ok(results, "json_post")
    sent = json.loads(r["text"])
    assert (sent["method"], sent["path"], sent["body"]) == ("POST", "/api/items", '{"n": 1}')


def test_put_allowed(results: dict[str, Any]) -> None:
    assert json.loads(ok(results, "put_allowed")["text"])["method"] == "PUT"


def test_delete_refused(results: dict[str, Any]) -> None:
    refused(results, "delete_refused")


def test_custom_header_allowed(results: dict[str, Any]) -> None:
    assert ok(results, "custom_header_allowed")["status"] == 200


def test_custom_header_refused(results: dict[str, Any]) -> None:
    refused(results, "custom_header_refused")


@every_server
def test_credentials(results: dict[str, Any]) -> None:
    assert ok(results, "credentials")["status"] == 200


@every_server
def test_exposed_and_hidden_headers(results: dict[str, Any]) -> None:
    r = ok(results, "exposed_and_hidden")
    assert r["visible"] == "shown"
    assert r["hidden"] is None


@every_server
def test_error_500_reaches_the_page(results: Outcomes) -> None:
    # The body is the middleware's own 500, or the framework's error page.
    r = ok(results, "error_500")
    assert r["status"] == 500 and "Internal Server Error" in r["text"]
    if results.server == "asgi":
        assert r["text"] == "Internal Server Error"


def test_wildcard_without_credentials(results: dict[str, Any]) -> None:
    assert ok(results, "wildcard")["visible"] == "shown"
    assert ok(results, "wildcard_custom_header")["status"] == 200


def test_wildcard_with_credentials_is_blocked(results: dict[str, Any]) -> None:
    refused(results, "wildcard_with_credentials")


@every_server
def test_refused_origin_is_blocked(results: Outcomes) -> None:
    refused(results, "origin_refused")
    # What the browser withheld is the handler's answer without CORS
    # headers (its own allow-origin removed), not a route that is missing.
    answer = httpx.get(results.api + "/denied/hello", headers={"Origin": results.page})
    assert answer.status_code == 200, answer
    assert json.loads(answer.text)["origins"] == [results.page]
    assert "access-control-allow-origin" not in answer.headers, answer.headers


def test_path_without_policy_is_blocked(results: dict[str, Any]) -> None:
    # the application's own (wrong) allow-origin passes through untouched
    refused(results, "no_policy")


def test_websocket_origin_check(results: dict[str, Any]) -> None:
    assert ok(results, "websocket_allowed")["message"] == "hello"
    refused(results, "websocket_refused")
