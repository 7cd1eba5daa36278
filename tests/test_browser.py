"""End to end in headless Chromium: a page on one origin calls an API on
another through corsfast.asgi.CORSMiddleware.

The page (http://127.0.0.1:P1, served by uvicorn) runs every scenario in
JavaScript and writes the outcomes into the DOM; chromedriver reads them
back and each scenario is asserted here. The API (http://localhost:P2, uvicorn) is
tests/browser_app.py:api. Everything stays on loopback.

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
from typing import Any, Iterator

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


@pytest.fixture(scope="module")
def results() -> Iterator[dict[str, Any]]:
    if not (CHROMIUM and CHROMEDRIVER):  # only reached with CI set
        pytest.fail(MISSING, pytrace=False)
    page_port, api_port = free_port(), free_port()
    page_origin = f"http://{LOOPBACK}:{page_port}"
    api_origin = f"http://localhost:{api_port}"
    env = {"CORSFAST_TEST_PAGE_ORIGIN": page_origin,
           "CORSFAST_TEST_API_ORIGIN": api_origin}
    with serve("uvicorn", "browser_app:api", env=env, port=api_port), \
            serve("uvicorn", "browser_app:page", env=env, port=page_port):
        yield run_page(page_origin + "/")


def ok(results: dict[str, Any], name: str) -> dict[str, Any]:
    outcome = results[name]
    assert outcome["ok"], f"{name}: {outcome}"
    return dict(outcome)


def refused(results: dict[str, Any], name: str) -> None:
    outcome = results[name]
    assert not outcome["ok"], f"{name} should have been blocked: {outcome}"
    assert "TypeError" in outcome["error"] or "refused" in outcome["error"], outcome


def test_simple_get(results: dict[str, Any]) -> None:
    r = ok(results, "simple_get")
    assert r["status"] == 200 and json.loads(r["text"])["method"] == "GET"


def test_json_post_after_preflight(results: dict[str, Any]) -> None:
    r = ok(results, "json_post")
    assert json.loads(r["text"]) ["body"] == '{"n": 1}'


def test_put_allowed(results: dict[str, Any]) -> None:
    assert json.loads(ok(results, "put_allowed")["text"])["method"] == "PUT"


def test_delete_refused(results: dict[str, Any]) -> None:
    refused(results, "delete_refused")


def test_custom_header_allowed(results: dict[str, Any]) -> None:
    assert ok(results, "custom_header_allowed")["status"] == 200


def test_custom_header_refused(results: dict[str, Any]) -> None:
    refused(results, "custom_header_refused")


def test_credentials(results: dict[str, Any]) -> None:
    assert ok(results, "credentials")["status"] == 200


def test_exposed_and_hidden_headers(results: dict[str, Any]) -> None:
    r = ok(results, "exposed_and_hidden")
    assert r["visible"] == "shown"
    assert r["hidden"] is None


def test_error_500_reaches_the_page(results: dict[str, Any]) -> None:
    r = ok(results, "error_500")
    assert r["status"] == 500 and r["text"] == "Internal Server Error"


def test_wildcard_without_credentials(results: dict[str, Any]) -> None:
    assert ok(results, "wildcard")["visible"] == "shown"
    assert ok(results, "wildcard_custom_header")["status"] == 200


def test_wildcard_with_credentials_is_blocked(results: dict[str, Any]) -> None:
    refused(results, "wildcard_with_credentials")


def test_refused_origin_is_blocked(results: dict[str, Any]) -> None:
    refused(results, "origin_refused")


def test_path_without_policy_is_blocked(results: dict[str, Any]) -> None:
    # the application's own (wrong) allow-origin passes through untouched
    refused(results, "no_policy")


def test_websocket_origin_check(results: dict[str, Any]) -> None:
    assert ok(results, "websocket_allowed")["message"] == "hello"
    refused(results, "websocket_refused")
