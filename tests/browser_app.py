"""ASGI apps served by real servers in the server and browser tests.

``api``: a plain ASGI app behind corsfast.asgi.CORSMiddleware with
per-path policies. ``page``: one HTML page whose script runs the
cross-origin scenarios against an API (``api``, or the framework apps of
tests/browser_aiohttp.py and tests/browser_quart.py, which answer with
``describe`` and ``APP_HEADERS`` too) and writes the outcome into the DOM.
Both read the environment:

- CORSFAST_TEST_PAGE_ORIGIN  the origin the page is served from
- CORSFAST_TEST_API_ORIGIN   the origin of the API (used by ``page``)
- CORSFAST_TEST_SCENARIOS    the scenarios ``page`` runs, comma-separated
                             (unset: every one)

Loaded by uvicorn and granian from this directory (not a test module).
"""

from __future__ import annotations

import json
import os
from typing import Any, Optional

from corsfast import Policy, Router
from corsfast.asgi import CORSMiddleware

PAGE_ORIGIN = os.environ.get("CORSFAST_TEST_PAGE_ORIGIN", "http://127.0.0.1:9")
API_ORIGIN = os.environ.get("CORSFAST_TEST_API_ORIGIN", "http://localhost:9")
SCENARIOS = os.environ.get("CORSFAST_TEST_SCENARIOS")
BOOM = "corsfast test endpoint failed on purpose"
# What every API's handler answers with besides its JSON: one header to
# expose, one to keep hidden, a Vary of its own, and a CORS header that the
# middleware or drop-in replaces (an application's own never reaches the
# client).
APP_HEADERS = (
    ("x-visible", "shown"),
    ("x-hidden", "secret"),
    ("vary", "accept-encoding"),
    ("access-control-allow-origin", "https://wrong.example"),
)


# -- the API ------------------------------------------------------------------------


def describe(method: str, path: str, origins: list[str], body: bytes) -> bytes:
    """The JSON an API answers with: what it was asked."""
    return json.dumps({
        "method": method, "path": path, "origins": origins,
        "body": body.decode("utf-8", "replace"),
    }).encode()


async def _lifespan(receive: Any, send: Any) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


async def _websocket(receive: Any, send: Any) -> None:
    message = await receive()
    if message["type"] != "websocket.connect":
        return
    await send({"type": "websocket.accept"})
    await send({"type": "websocket.send", "text": "hello"})
    await send({"type": "websocket.close", "code": 1000})


async def endpoint(scope: Any, receive: Any, send: Any) -> None:
    """Answers every path with JSON describing the request."""
    if scope["type"] == "lifespan":
        await _lifespan(receive, send)
        return
    if scope["type"] == "websocket":
        await _websocket(receive, send)
        return
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    path = scope["path"]
    if path.endswith("/boom"):
        raise RuntimeError(BOOM)
    origins = [v.decode("latin-1") for k, v in scope["headers"] if k == b"origin"]
    payload = describe(scope["method"], path, origins, body)
    await send({"type": "http.response.start", "status": 200, "headers": [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(payload)).encode()),
        *((k.encode(), v.encode()) for k, v in APP_HEADERS),
    ]})
    await send({"type": "http.response.body", "body": payload})


def build_api(page_origin: str) -> CORSMiddleware:
    listed = Policy(
        allow_origins=[page_origin],
        allow_methods=["GET", "POST", "PUT"],
        allow_headers=["content-type", "x-allowed"],
        expose_headers=["x-visible"],
        allow_credentials=True,
        max_age=0,
    )
    routes = Router({
        "/api": listed,
        "/open": Policy(allow_origins="*", expose_headers=["x-visible"],
                        allow_methods="*", allow_headers="*"),
        "/ws": Policy(allow_origins=[page_origin]),
        "/ws-denied": Policy(allow_origins=["https://elsewhere.example"]),
        "/denied": Policy(allow_origins=["https://elsewhere.example"]),
    })
    return CORSMiddleware(endpoint, routes, check_websocket=True)


api = build_api(PAGE_ORIGIN)


# -- the page -------------------------------------------------------------------------

SCRIPT = r"""
const API = %(api)s;
const ONLY = %(only)s;
const WS = API.replace(/^http/, "ws");

async function attempt(run) {
  const timer = new Promise((_, reject) =>
    setTimeout(() => reject(new Error("timeout")), 4000));
  try {
    return Object.assign({ok: true}, await Promise.race([run(), timer]));
  } catch (e) {
    return {ok: false, error: String(e)};
  }
}

async function call(path, init) {
  const res = await fetch(API + path, init);
  const text = await res.text();
  return {status: res.status, visible: res.headers.get("x-visible"),
          hidden: res.headers.get("x-hidden"), text: text};
}

function socket(path) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(WS + path);
    ws.onmessage = (event) => { resolve({message: event.data}); ws.close(); };
    ws.onerror = () => reject(new Error("websocket refused"));
  });
}

const scenarios = {
  simple_get: () => call("/api/hello"),
  json_post: () => call("/api/items", {method: "POST",
      headers: {"content-type": "application/json"}, body: '{"n": 1}'}),
  put_allowed: () => call("/api/items/1", {method: "PUT", body: "x"}),
  delete_refused: () => call("/api/items/1", {method: "DELETE"}),
  custom_header_allowed: () => call("/api/hello", {headers: {"x-allowed": "1"}}),
  custom_header_refused: () => call("/api/hello", {headers: {"x-forbidden": "1"}}),
  credentials: () => call("/api/hello", {credentials: "include"}),
  exposed_and_hidden: () => call("/api/hello"),
  error_500: () => call("/api/boom"),
  wildcard: () => call("/open/hello"),
  wildcard_custom_header: () => call("/open/hello", {method: "PATCH",
      headers: {"x-anything": "1"}}),
  wildcard_with_credentials: () => call("/open/hello", {credentials: "include"}),
  origin_refused: () => call("/denied/hello"),
  no_policy: () => call("/plain/hello"),
  websocket_allowed: () => socket("/ws"),
  websocket_refused: () => socket("/ws-denied"),
};

(async () => {
  const results = {};
  for (const [name, run] of Object.entries(scenarios)) {
    if (ONLY === null || ONLY.includes(name)) {
      results[name] = await attempt(run);
    }
  }
  const out = document.getElementById("results");
  out.textContent = JSON.stringify(results);
  out.setAttribute("data-done", "yes");
})();
"""


def page_html(api_origin: str, scenarios: Optional[str] = None) -> bytes:
    """The page; ``scenarios`` (comma-separated) limits what it runs."""
    only = None if scenarios is None else scenarios.split(",")
    script = SCRIPT % {"api": json.dumps(api_origin), "only": json.dumps(only)}
    return (
        "<!doctype html><html><head><meta charset='utf-8'><title>corsfast</title>"
        "</head><body><pre id='results' data-done='no'></pre>"
        f"<script>{script}</script></body></html>"
    ).encode()


async def page(scope: Any, receive: Any, send: Any) -> None:
    if scope["type"] == "lifespan":
        await _lifespan(receive, send)
        return
    if scope["type"] != "http":
        return
    if scope["path"] == "/":
        body, status, kind = page_html(API_ORIGIN, SCENARIOS), 200, b"text/html; charset=utf-8"
    else:
        body, status, kind = b"not found", 404, b"text/plain"
    await send({"type": "http.response.start", "status": status, "headers": [
        (b"content-type", kind), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})
