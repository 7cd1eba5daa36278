"""corsfast.asgi.CORSMiddleware driven through the ASGI protocol itself.

Each test builds a scope, runs the middleware on an event loop with a hard
timeout, and reads back exactly what reached the server's ``send``. The
suite runs once per engine (CI sets CORSFAST_NO_EXTENSIONS=1 for the twin).
"""

from __future__ import annotations

import asyncio
import inspect
import sys
from dataclasses import dataclass, field
from types import MappingProxyType, ModuleType
from typing import Any, Optional

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from corsfast import ConfigError, Policy, Router
from corsfast.asgi import CORSMiddleware

APP = "https://app.example.com"
EVIL = "https://evil.example.net"
PREFLIGHT_VARY = "origin, access-control-request-method, access-control-request-headers"


# -- a minimal ASGI harness -------------------------------------------------------


@dataclass
class Result:
    messages: list[dict[str, Any]]

    @property
    def start(self) -> dict[str, Any]:
        starts = [m for m in self.messages if m["type"] == "http.response.start"]
        assert len(starts) == 1, self.messages
        return starts[0]

    @property
    def status(self) -> int:
        return int(self.start["status"])

    @property
    def header_list(self) -> list[tuple[str, str]]:
        return [(bytes(k).decode("latin-1"), bytes(v).decode("latin-1"))
                for k, v in self.start.get("headers", [])]

    def all(self, name: str) -> list[str]:
        return [v for k, v in self.header_list if k.lower() == name]

    def get(self, name: str) -> Optional[str]:
        values = self.all(name)
        assert len(values) <= 1, f"{name} sent {len(values)} times: {values}"
        return values[0] if values else None

    def cors_names(self) -> set[str]:
        return {k for k, _ in self.header_list if k.startswith("access-control-")}

    @property
    def body(self) -> bytes:
        return b"".join(m.get("body", b"") for m in self.messages
                        if m["type"] == "http.response.body")


@dataclass
class App:
    """An ASGI app that records its calls and answers as told."""

    status: int = 200
    headers: list[tuple[bytes, bytes]] = field(default_factory=list)
    body: bytes = b"app body"
    fail: Optional[str] = None  # "before" or "after" the response starts
    calls: list[dict[str, Any]] = field(default_factory=list)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        self.calls.append(scope)
        if self.fail == "before":
            raise RuntimeError("boom before start")
        await send({"type": "http.response.start", "status": self.status,
                    "headers": list(self.headers)})
        if self.fail == "after":
            raise RuntimeError("boom after start")
        await send({"type": "http.response.body", "body": self.body})


class Channel:
    """The server's side of one ASGI request: what was sent, and a receive
    that gives an empty body."""

    def __init__(self) -> None:
        self.messages: list[dict[str, Any]] = []

    async def send(self, message: dict[str, Any]) -> None:
        self.messages.append(message)

    async def receive(self) -> dict[str, Any]:
        return {"type": "http.request", "body": b""}


def http_scope(method: str = "GET", path: str = "/", headers: Any = ()) -> dict[str, Any]:
    raw = [(k.encode("latin-1") if isinstance(k, str) else k,
            v.encode("latin-1") if isinstance(v, str) else v) for k, v in headers]
    return {
        "type": "http", "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1", "method": method, "scheme": "http",
        "path": path, "raw_path": path.encode("latin-1"), "query_string": b"",
        "root_path": "", "headers": raw, "client": ("127.0.0.1", 5000),
        "server": ("127.0.0.1", 8000),
    }


def drive(asgi: Any, scope: dict[str, Any],
          incoming: Optional[list[dict[str, Any]]] = None) -> Result:
    messages: list[dict[str, Any]] = []
    queue = list(incoming or [{"type": "http.request", "body": b"", "more_body": False}])

    async def receive() -> dict[str, Any]:
        if queue:
            return queue.pop(0)
        await asyncio.sleep(3600)  # nothing more will come
        raise AssertionError("unreachable")

    async def send(message: dict[str, Any]) -> None:
        messages.append(message)

    asyncio.run(asyncio.wait_for(asgi(scope, receive, send), timeout=5))
    return Result(messages)


def request(mw: Any, method: str = "GET", path: str = "/", **headers: str) -> Result:
    pairs = [(k.replace("_", "-"), v) for k, v in headers.items()]
    return drive(mw, http_scope(method, path, pairs))


def preflight(mw: Any, origin: str = APP, method: str = "PUT", path: str = "/",
              **extra: str) -> Result:
    return request(mw, "OPTIONS", path, origin=origin,
                   access_control_request_method=method, **extra)


def policy(**kwargs: Any) -> Policy:
    args: dict[str, Any] = {"allow_origins": [APP], "allow_methods": ["GET", "PUT"],
                            "allow_headers": ["x-token"]}
    args.update(kwargs)
    return Policy(**args)


# -- construction ---------------------------------------------------------------


def test_kwargs_build_a_policy() -> None:
    mw = CORSMiddleware(App(), allow_origins=[APP], max_age=60)
    assert isinstance(mw.policy, Policy)
    assert mw.policy.allow_origins == (APP,)
    assert mw.policy.max_age == 60


def test_policy_and_kwargs_together_is_a_type_error() -> None:
    with pytest.raises(TypeError,
                       match=r"allow_credentials, allow_origins\); pass one or the other"):
        CORSMiddleware(App(), policy(), allow_origins=[APP], allow_credentials=True)


def test_policy_of_the_wrong_type_is_a_type_error() -> None:
    with pytest.raises(TypeError, match=r"corsfast\.Policy or corsfast\.Router, got dict"):
        CORSMiddleware(App(), {"allow_origins": [APP]})  # type: ignore[arg-type]


def test_bad_kwargs_raise_config_error() -> None:
    with pytest.raises(ConfigError, match="drop the trailing slash"):
        CORSMiddleware(App(), allow_origins=[APP + "/"])


def test_uvicorn_detects_asgi3() -> None:
    from uvicorn.config import Config

    config = Config(CORSMiddleware(App(), allow_origins=[APP]), interface="auto")
    config.load()
    assert config.interface == "asgi3"


# -- actual requests --------------------------------------------------------------


def test_allowed_actual_request_gets_cors_headers() -> None:
    app = App(headers=[(b"content-type", b"text/plain")])
    r = request(CORSMiddleware(app, policy(expose_headers=["x-id"],
                                           allow_credentials=True)), origin=APP)
    assert r.status == 200 and r.body == b"app body"
    assert r.get("access-control-allow-origin") == APP
    assert r.get("access-control-allow-credentials") == "true"
    assert r.get("access-control-expose-headers") == "x-id"
    assert r.get("vary") == "origin"
    assert r.get("content-type") == "text/plain"
    assert len(app.calls) == 1


def test_refused_origin_still_runs_the_app_with_vary_only() -> None:
    app = App()
    r = request(CORSMiddleware(app, policy()), origin=EVIL)
    assert r.status == 200 and r.body == b"app body" and len(app.calls) == 1
    assert r.cors_names() == set()
    assert r.get("vary") == "origin"


def test_no_origin_gets_vary_for_a_listed_policy() -> None:
    r = request(CORSMiddleware(App(), policy()))
    assert r.cors_names() == set()
    assert r.get("vary") == "origin"


def test_no_origin_with_static_star_gets_star() -> None:
    r = request(CORSMiddleware(App(), allow_origins="*"))
    assert r.get("access-control-allow-origin") == "*"
    assert r.get("vary") is None


def test_options_without_request_method_belongs_to_the_app() -> None:
    app = App(status=207)
    r = request(CORSMiddleware(app, policy()), "OPTIONS", origin=APP)
    assert r.status == 207 and len(app.calls) == 1
    assert r.get("access-control-allow-origin") == APP


def test_app_cors_headers_are_replaced() -> None:
    app = App(headers=[(b"access-control-allow-origin", b"*"),
                       (b"Access-Control-Allow-Credentials", b"false"),
                       (b"access-control-max-age", b"5"),
                       (b"x-kept", b"1")])
    r = request(CORSMiddleware(app, policy()), origin=APP)
    assert r.all("access-control-allow-origin") == [APP]
    assert r.all("access-control-allow-credentials") == []
    assert r.all("access-control-max-age") == []
    assert r.get("x-kept") == "1"


def test_app_cors_headers_are_dropped_for_a_refused_origin() -> None:
    app = App(headers=[(b"access-control-allow-origin", b"*")])
    r = request(CORSMiddleware(app, policy()), origin=EVIL)
    assert r.cors_names() == set()


def test_vary_is_merged_token_by_token() -> None:
    app = App(headers=[(b"vary", b"Accept-Encoding"), (b"x", b"y"),
                       (b"Vary", b"accept-language, Origin")])
    r = request(CORSMiddleware(app, policy()), origin=APP)
    assert r.all("vary") == ["Accept-Encoding, accept-language, Origin"]


def test_vary_star_stays_star() -> None:
    app = App(headers=[(b"vary", b"*")])
    r = request(CORSMiddleware(app, policy()), origin=APP)
    assert r.all("vary") == ["*"]


def test_app_vary_untouched_when_policy_sends_none() -> None:
    app = App(headers=[(b"vary", b"accept"), (b"vary", b"cookie")])
    r = request(CORSMiddleware(app, allow_origins="*"), origin=APP)
    assert r.all("vary") == ["accept", "cookie"]


def test_send_hook_never_changes_the_app_header_list(adapters: ModuleType) -> None:
    theirs = [(b"vary", b"accept"), (b"access-control-allow-origin", b"*")]
    message = {"type": "http.response.start", "status": 200, "headers": theirs}
    before = list(theirs)
    sent: list[Any] = []
    hook = adapters.SendHook(sent.append, ((b"vary", b"origin"),))
    assert not hook.started
    hook(message)
    assert hook.started
    assert theirs == before  # the application's list is never changed
    # The message is the application's: what goes out is a copy.
    assert sent[0] is not message and message["headers"] is theirs
    assert message == {"type": "http.response.start", "status": 200, "headers": theirs}
    assert sent[0]["headers"] == [(b"vary", b"accept, origin")]
    assert sent[0]["status"] == 200
    hook({"type": "http.response.body", "body": b"x"})
    assert sent[1] == {"type": "http.response.body", "body": b"x"}


def test_send_hook_copies_a_start_message_it_cannot_change(adapters: ModuleType) -> None:
    theirs = [(b"content-type", b"text/plain")]
    message = MappingProxyType(
        {"type": "http.response.start", "status": 201, "headers": theirs})
    sent: list[Any] = []
    hook = adapters.SendHook(sent.append, ((b"access-control-allow-origin", b"*"),))
    hook(message)
    assert type(sent[0]) is dict and message["headers"] is theirs
    assert sent[0]["status"] == 201
    assert sent[0]["headers"] == [(b"content-type", b"text/plain"),
                                  (b"access-control-allow-origin", b"*")]


def test_app_reusing_its_start_message_gets_fresh_headers() -> None:
    start = {"type": "http.response.start", "status": 200,
             "headers": [(b"vary", b"accept")]}

    async def reusing(scope: Any, receive: Any, send: Any) -> None:
        await send(start)
        await send({"type": "http.response.body", "body": b""})

    mw = CORSMiddleware(reusing, policy())
    first = request(mw, origin=APP)
    second = request(mw, origin=EVIL)
    assert first.get("access-control-allow-origin") == APP
    assert second.cors_names() == set()
    assert second.all("vary") == ["accept, origin"]


# -- preflights --------------------------------------------------------------------


def test_allowed_preflight_is_answered_by_the_middleware() -> None:
    app = App()
    r = preflight(CORSMiddleware(app, policy(max_age=600)),
                  access_control_request_headers="X-Token")
    assert app.calls == []
    assert r.status == 204 and r.body == b""
    assert r.get("content-length") is None  # never on a 204
    assert r.get("access-control-allow-origin") == APP
    assert r.get("access-control-allow-methods") == "GET, PUT"
    assert r.get("access-control-allow-headers") == "x-token"
    assert r.get("access-control-max-age") == "600"
    assert r.get("vary") == PREFLIGHT_VARY


def test_preflight_status_200_carries_an_empty_length() -> None:
    r = preflight(CORSMiddleware(App(), policy(preflight_status=200)))
    assert r.status == 200 and r.get("content-length") == "0" and r.body == b""


@pytest.mark.parametrize("kwargs", [
    {"origin": EVIL},
    {"method": "DELETE"},
    {"access_control_request_headers": "x-other"},
    {"access_control_request_private_network": "true"},
])
def test_refused_preflight_is_403_without_cors_headers(kwargs: dict[str, str]) -> None:
    app = App()
    r = preflight(CORSMiddleware(app, policy()), **kwargs)
    assert app.calls == []
    assert r.status == 403 and r.body == b""
    assert r.cors_names() == set()
    assert r.get("vary") == PREFLIGHT_VARY


def test_preflight_passthrough_hands_the_preflight_to_the_app() -> None:
    app = App(status=200, headers=[(b"access-control-allow-origin", b"*")],
              body=b"mine")
    r = preflight(CORSMiddleware(app, policy(), preflight_passthrough=True))
    assert len(app.calls) == 1
    assert r.status == 200 and r.body == b"mine"
    assert r.all("access-control-allow-origin") == [APP]
    assert r.get("access-control-allow-methods") == "GET, PUT"
    assert r.get("vary") == PREFLIGHT_VARY


def test_refused_preflight_passthrough_strips_the_apps_cors_headers() -> None:
    app = App(headers=[(b"access-control-allow-origin", b"*")])
    r = preflight(CORSMiddleware(app, policy(), preflight_passthrough=True), origin=EVIL)
    assert len(app.calls) == 1 and r.cors_names() == set()


# -- block_refused ---------------------------------------------------------------


def test_block_refused_answers_403_without_the_app() -> None:
    app = App()
    mw = CORSMiddleware(app, policy(), block_refused=True)
    r = request(mw, "POST", origin=EVIL)
    assert app.calls == [] and r.status == 403 and r.body == b""
    assert r.cors_names() == set() and r.get("vary") == "origin"
    assert r.get("content-length") == "0"


@pytest.mark.parametrize("headers", [{"origin": APP}, {}])
def test_block_refused_lets_allowed_and_non_cors_requests_through(
        headers: dict[str, str]) -> None:
    app = App()
    r = request(CORSMiddleware(app, policy(), block_refused=True), "POST", **headers)
    assert len(app.calls) == 1 and r.status == 200


def test_block_refused_covers_options_without_request_method() -> None:
    app = App()
    r = request(CORSMiddleware(app, policy(), block_refused=True), "OPTIONS", origin=EVIL)
    assert app.calls == [] and r.status == 403


def test_block_refused_leaves_refused_preflights_to_passthrough() -> None:
    app = App()
    mw = CORSMiddleware(app, policy(), block_refused=True, preflight_passthrough=True)
    r = preflight(mw, origin=EVIL)
    assert len(app.calls) == 1 and r.status == 200 and r.cors_names() == set()


def test_block_refused_blocks_a_malformed_origin() -> None:
    app = App()
    r = request(CORSMiddleware(app, policy(), block_refused=True), origin="https://a b")
    assert app.calls == [] and r.status == 403


# -- errors -----------------------------------------------------------------------


def test_error_before_start_sends_500_with_cors_and_reraises() -> None:
    server = Channel()
    mw = CORSMiddleware(App(fail="before"), policy(allow_credentials=True))
    scope = http_scope("GET", "/", [("origin", APP)])
    with pytest.raises(RuntimeError, match="boom before start"):
        asyncio.run(asyncio.wait_for(mw(scope, server.receive, server.send), 5))
    r = Result(server.messages)
    assert r.status == 500 and r.body == b"Internal Server Error"
    assert r.get("access-control-allow-origin") == APP
    assert r.get("access-control-allow-credentials") == "true"
    assert r.get("content-length") == str(len(r.body))


def test_error_after_start_sends_nothing_more() -> None:
    server = Channel()
    mw = CORSMiddleware(App(fail="after"), policy())
    scope = http_scope("GET", "/", [("origin", APP)])
    with pytest.raises(RuntimeError, match="boom after start"):
        asyncio.run(asyncio.wait_for(mw(scope, server.receive, server.send), 5))
    assert [m["type"] for m in server.messages] == ["http.response.start"]
    assert Result(server.messages).get("access-control-allow-origin") == APP


def test_error_when_the_client_is_gone_keeps_the_original_error() -> None:
    async def send(message: dict[str, Any]) -> None:
        raise OSError("client disconnected")

    async def receive() -> dict[str, Any]:
        return {"type": "http.disconnect"}

    mw = CORSMiddleware(App(fail="before"), policy())
    scope = http_scope("GET", "/", [("origin", APP)])
    with pytest.raises(RuntimeError, match="boom before start"):
        asyncio.run(asyncio.wait_for(mw(scope, receive, send), 5))


# -- other scopes -----------------------------------------------------------------


def test_lifespan_passes_through_untouched() -> None:
    seen: list[Any] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        seen.append(scope)
        message = await receive()
        assert message["type"] == "lifespan.startup"
        await send({"type": "lifespan.startup.complete"})

    scope = {"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}}
    r = drive(CORSMiddleware(app, policy(), check_websocket=True,
                             block_refused=True), scope,
              [{"type": "lifespan.startup"}])
    assert seen == [scope]
    assert r.messages == [{"type": "lifespan.startup.complete"}]


def ws_scope(**headers: str) -> dict[str, Any]:
    scope = http_scope("GET", "/ws", list(headers.items()))
    scope.update(type="websocket", scheme="ws", subprotocols=[])
    del scope["method"]
    return scope


async def ws_app(scope: Any, receive: Any, send: Any) -> None:
    assert (await receive())["type"] == "websocket.connect"
    await send({"type": "websocket.accept"})
    await send({"type": "websocket.close", "code": 1000})


@pytest.mark.parametrize("headers,accepted", [
    ({"origin": APP}, True),
    ({}, True),  # not a browser: no Origin, nothing to check
    ({"origin": EVIL}, False),
    ({"origin": "null"}, False),
])
def test_websocket_origin_check(headers: dict[str, str], accepted: bool) -> None:
    mw = CORSMiddleware(ws_app, policy(), check_websocket=True)
    r = drive(mw, ws_scope(**headers), [{"type": "websocket.connect"}])
    kinds = [m["type"] for m in r.messages]
    if accepted:
        assert kinds == ["websocket.accept", "websocket.close"]
    else:
        assert r.messages == [{"type": "websocket.close", "code": 1008}]


def test_websocket_unchecked_by_default() -> None:
    mw = CORSMiddleware(ws_app, policy())
    r = drive(mw, ws_scope(origin=EVIL), [{"type": "websocket.connect"}])
    assert [m["type"] for m in r.messages] == ["websocket.accept", "websocket.close"]


# -- per-path policies ----------------------------------------------------------------


def router() -> Router:
    return Router({"/api": policy(), "/public": Policy(allow_origins="*")})


def test_router_picks_the_policy_by_path() -> None:
    mw = CORSMiddleware(App(), router())
    assert request(mw, path="/api/users", origin=APP).get(
        "access-control-allow-origin") == APP
    assert request(mw, path="/api/users", origin=EVIL).cors_names() == set()
    assert request(mw, path="/public/x", origin=EVIL).get(
        "access-control-allow-origin") == "*"
    assert preflight(mw, path="/api").status == 204


@pytest.mark.parametrize("path", ["/other", "/apix", "/ap%69/users", "/API/users"])
def test_paths_without_a_policy_pass_through_untouched(path: str) -> None:
    app = App(headers=[(b"access-control-allow-origin", b"*"), (b"vary", b"accept")])
    mw = CORSMiddleware(app, router(), block_refused=True)
    r = preflight(mw, origin=EVIL, path=path)
    assert len(app.calls) == 1
    assert r.header_list == [("access-control-allow-origin", "*"), ("vary", "accept")]


def test_websocket_check_follows_the_router() -> None:
    mw = CORSMiddleware(ws_app, Router({"/ws": policy()}), check_websocket=True)
    refused = drive(mw, ws_scope(origin=EVIL), [{"type": "websocket.connect"}])
    assert refused.messages == [{"type": "websocket.close", "code": 1008}]
    scope = ws_scope(origin=EVIL)
    scope["path"] = "/elsewhere"
    passed = drive(mw, scope, [{"type": "websocket.connect"}])
    assert passed.messages[0] == {"type": "websocket.accept"}


# -- bad input -------------------------------------------------------------------------


def test_duplicated_origin_is_malformed() -> None:
    app = App()
    mw = CORSMiddleware(app, policy())
    r = drive(mw, http_scope("GET", "/", [("origin", APP), ("origin", APP)]))
    assert r.status == 200 and len(app.calls) == 1
    assert r.cors_names() == set() and r.get("vary") == "origin"
    r = drive(mw, http_scope("OPTIONS", "/", [
        ("origin", APP), ("origin", APP), ("access-control-request-method", "PUT")]))
    assert r.status == 403 and len(app.calls) == 1


def test_duplicated_request_method_is_malformed() -> None:
    r = drive(CORSMiddleware(App(), policy()), http_scope("OPTIONS", "/", [
        ("origin", APP), ("access-control-request-method", "PUT"),
        ("access-control-request-method", "PUT")]))
    assert r.status == 403


def test_repeated_request_headers_lines_are_joined() -> None:
    mw = CORSMiddleware(App(), policy(allow_headers=["x-a", "x-b"]))
    r = drive(mw, http_scope("OPTIONS", "/", [
        ("origin", APP), ("access-control-request-method", "PUT"),
        ("access-control-request-headers", "x-a"),
        ("access-control-request-headers", "x-b")]))
    assert r.status == 204
    r = drive(mw, http_scope("OPTIONS", "/", [
        ("origin", APP), ("access-control-request-method", "PUT"),
        ("access-control-request-headers", "x-a"),
        ("access-control-request-headers", "x-c")]))
    assert r.status == 403


@pytest.mark.parametrize("origin", [
    b"", b"https://app.example.com\r\nx: y", b"https://\xc3\xa9.example.com",
    b"https://app.example.com" + b"a" * 5000, b"\x00", b"https://app.example.com, " + APP.encode(),
])
def test_bad_origins_never_fail_the_request(origin: bytes) -> None:
    app = App()
    mw = CORSMiddleware(app, policy())
    r = drive(mw, http_scope("POST", "/", [(b"origin", origin)]))
    assert r.status == 200 and len(app.calls) == 1 and r.cors_names() == set()
    r = drive(mw, http_scope("OPTIONS", "/", [
        (b"origin", origin), (b"access-control-request-method", b"PUT")]))
    assert r.status == 403 and len(app.calls) == 1


@pytest.mark.parametrize("headers", [
    [("access-control-request-method", "")],
    [("access-control-request-method", "P UT")],
    [("access-control-request-method", "PUT"),
     ("access-control-request-headers", "x-token, " * 2000)],
    [("access-control-request-method", "PUT"),
     ("access-control-request-headers", "x-tok\xe9n")],
])
def test_bad_preflight_headers_get_403(headers: list[tuple[str, str]]) -> None:
    app = App()
    r = drive(CORSMiddleware(app, policy()),
              http_scope("OPTIONS", "/", [("origin", APP), *headers]))
    assert r.status == 403 and app.calls == [] and r.cors_names() == set()


_NAMES = st.sampled_from([b"origin", b"access-control-request-method",
                          b"access-control-request-headers",
                          b"access-control-request-private-network", b"x-other"])


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(method=st.sampled_from(["GET", "POST", "OPTIONS", "PUT"]),
       headers=st.lists(st.tuples(_NAMES, st.binary(max_size=80)), max_size=6))
def test_any_header_bytes_never_raise_or_500(method: str, headers: list[Any]) -> None:
    app = App()
    r = drive(CORSMiddleware(app, policy(allow_credentials=True)),
              http_scope(method, "/", headers))
    assert r.status in (200, 204, 403)
    if r.status != 200:  # answered by the middleware: a preflight
        assert method == "OPTIONS" and app.calls == []
    else:
        assert len(app.calls) == 1
    if r.status == 403:
        assert r.cors_names() == set()


# -- log_refusals ------------------------------------------------------------------


def test_refusals_are_logged_escaped_only_when_asked(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level("INFO", logger="corsfast")
    app = App()
    forged = "https://evil.example.net\r\nINFO fake line"
    quiet = CORSMiddleware(app, policy())
    scope = http_scope("GET", "/x", [(b"origin", forged.encode("latin-1"))])
    drive(quiet, scope)
    assert not caplog.records, "logging is opt-in"

    loud = CORSMiddleware(app, policy(), log_refusals=True)
    drive(loud, scope)
    request(loud, origin=APP)  # allowed: not logged
    request(loud, "OPTIONS", origin=EVIL, access_control_request_method="PUT")
    messages = [r.getMessage() for r in caplog.records]
    assert len(messages) == 2, messages
    assert "\r" not in messages[0] and "\n" not in messages[0]
    assert "\\r\\n" in messages[0] or "\\x0d\\x0a" in messages[0]
    assert "MALFORMED_REQUEST" in messages[0] and "path=/x" in messages[0]
    assert "preflight" in messages[1] and "ORIGIN_NOT_ALLOWED" in messages[1]
    assert [getattr(r, "cors_reason", None) for r in caplog.records] == [
        "MALFORMED_REQUEST", "ORIGIN_NOT_ALLOWED"]


# -- the awaitable a request runs as ---------------------------------------------------


def test_servers_see_a_coroutine_function() -> None:
    # uvicorn and granian pick ASGI 3 when app.__call__ is a coroutine
    # function (asyncio's test before Python 3.14, inspect's after).
    mw = CORSMiddleware(App(), policy())
    assert inspect.iscoroutinefunction(mw.__call__)
    assert inspect.iscoroutinefunction(CORSMiddleware.__call__)
    if sys.version_info < (3, 14):
        assert asyncio.iscoroutinefunction(mw.__call__)
    assert not inspect.iscoroutinefunction(lambda: None)  # the check can fail


def test_nothing_runs_until_the_request_is_awaited() -> None:
    app = App()
    server = Channel()
    call = CORSMiddleware(app, policy())(
        http_scope("GET", "/", [("origin", APP)]), server.receive, server.send)
    try:
        assert inspect.iscoroutine(call)
        assert app.calls == [] and server.messages == []  # lazy: not run yet
        assert inspect.getcoroutinestate(call) == inspect.CORO_CREATED
    finally:
        call.close()
    assert app.calls == []


def test_async_introspection_sees_through_the_middleware() -> None:
    """A suspended request shows the middleware's frame and, through
    cr_await, what it waits on: the application's own coroutine."""
    seen: dict[str, Any] = {}

    async def app(scope: Any, receive: Any, send: Any) -> None:
        await receive()

    async def server() -> None:
        await call

    call = CORSMiddleware(app, policy())(
        http_scope("GET", "/", [("origin", APP)]), _receive_later, Channel().send)
    outer = server()
    assert outer.send(None) == "waiting"
    seen["frame"] = call.cr_frame
    seen["awaiting"] = call.cr_await
    assert seen["frame"] is not None
    assert seen["frame"].f_code.co_name == "__call__"
    assert inspect.iscoroutine(seen["awaiting"])
    assert seen["awaiting"].cr_code is app.__code__
    outer.close()


def test_a_request_is_a_coroutine_a_task_can_run() -> None:
    messages: list[dict[str, Any]] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        await asyncio.sleep(0)  # suspends before and after starting
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await asyncio.sleep(0)
        await send({"type": "http.response.body", "body": b"ok"})

    async def send(message: dict[str, Any]) -> None:
        await asyncio.sleep(0)
        messages.append(message)

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b""}

    async def main() -> None:
        call = CORSMiddleware(app, policy())(
            http_scope("GET", "/", [("origin", APP)]), receive, send)
        assert asyncio.iscoroutine(call)
        await asyncio.wait_for(asyncio.ensure_future(call), 5)

    asyncio.run(main())
    r = Result(messages)
    assert r.status == 200 and r.body == b"ok"
    assert r.get("access-control-allow-origin") == APP


def test_cancelling_a_request_reaches_the_app_and_sends_nothing() -> None:
    server = Channel()
    seen: list[str] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            seen.append("cancelled")
            raise

    async def main() -> None:
        task = asyncio.ensure_future(CORSMiddleware(app, policy())(
            http_scope("GET", "/", [("origin", APP)]), server.receive, server.send))
        await asyncio.sleep(0.01)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(main())
    assert seen == ["cancelled"]
    assert server.messages == []  # a cancelled request gets no 500


def test_an_app_failing_after_a_suspension_still_gets_the_500() -> None:
    messages: list[dict[str, Any]] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        await asyncio.sleep(0)
        raise LookupError("late")

    async def send(message: dict[str, Any]) -> None:
        await asyncio.sleep(0)
        messages.append(message)

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b""}

    mw = CORSMiddleware(app, policy())
    with pytest.raises(LookupError, match="late"):
        asyncio.run(mw(http_scope("GET", "/", [("origin", APP)]), receive, send))
    r = Result(messages)
    assert r.status == 500
    assert r.get("access-control-allow-origin") == APP


class _AwaitableApp:
    """An ASGI app that is a class whose instances are awaitables (not
    coroutines): the middleware must await what the app returns."""

    def __init__(self, scope: Any, receive: Any, send: Any) -> None:
        self.send = send

    def __await__(self) -> Any:
        yield from asyncio.sleep(0).__await__()
        yield from self.send({"type": "http.response.start", "status": 202,
                              "headers": []}).__await__()
        yield from self.send({"type": "http.response.body", "body": b"a"}).__await__()


def test_an_app_returning_a_plain_awaitable() -> None:
    server = Channel()
    mw = CORSMiddleware(_AwaitableApp, policy())
    asyncio.run(mw(http_scope("GET", "/", [("origin", APP)]), server.receive, server.send))
    r = Result(server.messages)
    assert r.status == 202 and r.body == b"a"
    assert r.get("access-control-allow-origin") == APP


def test_an_app_failing_before_it_returns_an_awaitable() -> None:
    server = Channel()

    def app(scope: Any, receive: Any, send: Any) -> Any:
        raise KeyError("sync")

    async def main() -> None:
        await CORSMiddleware(app, policy())(
            http_scope("GET", "/", [("origin", APP)]), server.receive, server.send)

    with pytest.raises(KeyError, match="sync"):
        asyncio.run(main())
    r = Result(server.messages)
    assert r.status == 500
    assert r.get("access-control-allow-origin") == APP


class _Pending:
    def __await__(self) -> Any:
        yield "waiting"


async def _receive_later() -> Any:
    """A receive that suspends (the server has no body yet), yielding
    "waiting" to whoever drives the request."""
    return await _Pending()


def test_closing_a_suspended_request_closes_the_app() -> None:
    events: list[str] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        try:
            await receive()  # suspends: the server has no body yet
        finally:
            events.append("app closed")

    async def send(message: dict[str, Any]) -> None:
        events.append(message["type"])

    async def server() -> None:
        await CORSMiddleware(app, policy())(
            http_scope("GET", "/", [("origin", APP)]), _receive_later, send)

    outer = server()
    assert outer.send(None) == "waiting"  # what the app yielded reaches the loop
    outer.close()
    assert events == ["app closed"]  # closed, and no 500 for a closed request


def test_an_error_thrown_into_a_suspended_request_gets_the_500() -> None:
    messages: list[dict[str, Any]] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        await receive()

    async def send(message: dict[str, Any]) -> None:
        messages.append(message)

    async def server() -> None:
        await CORSMiddleware(app, policy())(
            http_scope("GET", "/", [("origin", APP)]), _receive_later, send)

    outer = server()
    assert outer.send(None) == "waiting"
    with pytest.raises(ValueError, match="thrown"):
        outer.throw(ValueError("thrown"))
    r = Result(messages)
    assert r.status == 500 and r.get("access-control-allow-origin") == APP
