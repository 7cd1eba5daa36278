"""Every middleware and drop-in logs a refusal with its fix, when asked.

Each case runs the adapter through its framework's own test client with a
policy that allows ``https://foo.example`` and ``content-type``, sends a
preflight asking for ``x-token`` and a request from an origin it does not
allow, and reads the ``corsfast`` logger's lines. Django also replaces its
bare "Forbidden" line for a refused preflight with the reason and fix.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Callable

import falcon
import falcon.asgi
import pytest
import test_django as dj  # configures Django for this process
from falcon import testing
from flask import Flask
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route
from starlette.testclient import TestClient
from werkzeug.test import Client as WerkzeugClient

import corsfast.asgi
import corsfast.wsgi
from corsfast import Policy
from corsfast.contrib import falcon as cf
from corsfast.contrib import flask as cfl
from corsfast.contrib import starlette as cs

FOO = "https://foo.example"
EVIL = "https://evil.example"
HEADER_FIX = "fix: not allowed: x-token; add them to allow_headers (now: "
PREFLIGHT = {"Origin": FOO, "Access-Control-Request-Method": "POST",
             "Access-Control-Request-Headers": "x-token"}

# One request through an adapter: method and headers, to /api.
Send = Callable[[str, dict[str, str]], None]

# Falcon's ASGI test client needs a current loop (see conftest).
pytestmark = pytest.mark.usefixtures("current_event_loop")


def policy() -> Policy:
    return Policy(allow_origins=[FOO], allow_methods=["GET", "POST"],
                  allow_headers=["content-type"])


def _plain_wsgi(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"ok"]


async def _plain_asgi(scope: dict[str, Any], receive: Any, send: Any) -> None:
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"text/plain")]})
    await send({"type": "http.response.body", "body": b"ok"})


def _werkzeug(app: Any) -> Send:
    client = WerkzeugClient(app)

    def send(method: str, headers: dict[str, str]) -> None:
        client.open("/api", method=method, headers=headers)
    return send


def _starlette_client(app: Any) -> Send:
    client = TestClient(app)

    def send(method: str, headers: dict[str, str]) -> None:
        client.request(method, "/api", headers=headers)
    return send


def asgi_middleware(log: bool) -> Send:
    return _starlette_client(corsfast.asgi.CORSMiddleware(_plain_asgi, policy(),
                                                          log_refusals=log))


def wsgi_middleware(log: bool) -> Send:
    return _werkzeug(corsfast.wsgi.CORSMiddleware(_plain_wsgi, policy(), log_refusals=log))


def starlette_dropin(log: bool) -> Send:
    app = Starlette(routes=[Route("/api", lambda request: PlainTextResponse("ok"))])
    app.add_middleware(cs.CORSMiddleware, allow_origins=[FOO], allow_methods=["GET", "POST"],
                       allow_headers=["content-type"], log_refusals=log)
    return _starlette_client(app)


def _flask_app() -> Flask:
    app = Flask(__name__)
    app.add_url_rule("/api", "api", lambda: "ok", methods=["GET", "POST"])
    return app


def flask_extension(log: bool) -> Send:
    app = _flask_app()
    cfl.CORS(app, origins=[FOO], allow_headers=["content-type"], log_refusals=log)
    return _werkzeug(app)


def flask_extension_config(log: bool) -> Send:
    app = _flask_app()
    app.config["CORS_LOG_REFUSALS"] = log
    cfl.CORS(app, origins=[FOO], allow_headers=["content-type"])
    return _werkzeug(app)


def flask_blueprint(log: bool) -> Send:
    from flask import Blueprint
    app = Flask(__name__)
    blueprint = Blueprint("api", __name__)
    blueprint.add_url_rule("/api", "api", lambda: "ok", methods=["GET", "POST"])
    cfl.CORS(blueprint, origins=[FOO], allow_headers=["content-type"], log_refusals=log)
    app.register_blueprint(blueprint)
    return _werkzeug(app)


def flask_decorator(log: bool) -> Send:
    app = Flask(__name__)

    @app.route("/api", methods=["GET", "POST", "OPTIONS"])
    @cfl.cross_origin(origins=[FOO], allow_headers=["content-type"], log_refusals=log)
    def api() -> str:
        return "ok"
    return _werkzeug(app)


class _Resource:
    def on_get(self, req: Any, resp: Any) -> None:
        resp.text = "ok"

    on_post = on_get


class _AsyncResource:
    async def on_get(self, req: Any, resp: Any) -> None:
        resp.text = "ok"

    on_post = on_get


def _falcon(app: Any, resource: Any) -> Send:
    app.add_route("/api", resource)
    client = testing.TestClient(app)

    def send(method: str, headers: dict[str, str]) -> None:
        client.simulate_request(method, "/api", headers=headers)
    return send


def falcon_wsgi(log: bool) -> Send:
    return _falcon(falcon.App(middleware=[cf.CORSMiddleware(policy(), log_refusals=log)]),
                   _Resource())


def falcon_asgi(log: bool) -> Send:
    return _falcon(falcon.asgi.App(middleware=[cf.CORSMiddleware(policy(), log_refusals=log)]),
                   _AsyncResource())


ADAPTERS = [asgi_middleware, wsgi_middleware, starlette_dropin, flask_extension,
            flask_extension_config, flask_blueprint, flask_decorator, falcon_wsgi, falcon_asgi]


@pytest.fixture
def corsfast_logs(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.INFO, logger="corsfast")
    return caplog


def _lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "corsfast"]


# flask-cors answers a preflight for headers it does not allow with the
# allowed ones (the browser then refuses); the Flask drop-in keeps that, so
# there the engine's decision is not a refusal and nothing is logged.
HEADER_REFUSERS = [a for a in ADAPTERS if not a.__name__.startswith("flask")]


@pytest.mark.parametrize("adapter", HEADER_REFUSERS, ids=lambda a: a.__name__)
def test_a_refused_preflight_is_logged_with_the_header_to_add(
        adapter: Callable[[bool], Send], corsfast_logs: pytest.LogCaptureFixture) -> None:
    adapter(True)("OPTIONS", PREFLIGHT)
    lines = _lines(corsfast_logs)
    assert len(lines) == 1, lines
    assert "CORS preflight refused (HEADERS_NOT_ALLOWED)" in lines[0]
    assert HEADER_FIX in lines[0]


@pytest.mark.parametrize("adapter", ADAPTERS, ids=lambda a: a.__name__)
def test_a_refused_origin_is_logged_with_its_fix(
        adapter: Callable[[bool], Send], corsfast_logs: pytest.LogCaptureFixture) -> None:
    adapter(True)("GET", {"Origin": EVIL})
    lines = _lines(corsfast_logs)
    assert len(lines) == 1, lines
    assert "CORS request refused (ORIGIN_NOT_ALLOWED): origin=https://evil.example" in lines[0]
    assert lines[0].endswith("; if it should be trusted, add it to allow_origins")


@pytest.mark.parametrize("adapter", ADAPTERS, ids=lambda a: a.__name__)
def test_a_preflight_from_a_refused_origin_is_logged(
        adapter: Callable[[bool], Send], corsfast_logs: pytest.LogCaptureFixture) -> None:
    adapter(True)("OPTIONS", {**PREFLIGHT, "Origin": EVIL})
    lines = _lines(corsfast_logs)
    assert len(lines) == 1, lines
    assert lines[0].startswith("CORS preflight refused (ORIGIN_NOT_ALLOWED): "
                               "origin=https://evil.example method=OPTIONS")
    assert lines[0].endswith("; if it should be trusted, add it to allow_origins")


@pytest.mark.parametrize("adapter", ADAPTERS, ids=lambda a: a.__name__)
def test_nothing_is_logged_unless_asked(adapter: Callable[[bool], Send],
                                        corsfast_logs: pytest.LogCaptureFixture) -> None:
    send = adapter(False)
    send("OPTIONS", PREFLIGHT)
    send("OPTIONS", {**PREFLIGHT, "Origin": EVIL})
    send("GET", {"Origin": EVIL})
    assert _lines(corsfast_logs) == []


# -- Django ---------------------------------------------------------------------------


def _django_preflight() -> Any:
    return dj.client().options("/api/items", headers=PREFLIGHT)


def test_django_logs_a_refused_preflight_with_reason_and_setting_to_change(
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="django.request")
    with dj.override_settings(CORS_ALLOWED_ORIGINS=[FOO], CORS_ALLOW_HEADERS=["content-type"]):
        assert _django_preflight().status_code == 200  # as django-cors-headers answers it
    lines = [r.getMessage() for r in caplog.records if r.name == "django.request"]
    assert len(lines) == 1, lines  # this line, not Django's bare "Forbidden: ..."
    assert lines[0].startswith("CORS preflight refused (HEADERS_NOT_ALLOWED): "
                               "origin=https://foo.example path=/api/items")
    assert lines[0].endswith("fix: not allowed: x-token; add them to CORS_ALLOW_HEADERS "
                             "(now: content-type)")


def test_django_refusal_logs_follow_the_setting(corsfast_logs: pytest.LogCaptureFixture) -> None:
    with dj.override_settings(CORS_ALLOWED_ORIGINS=[FOO], CORS_ALLOW_HEADERS=["content-type"]):
        _django_preflight()
        dj.client().get("/api/items", headers={"Origin": EVIL})
    assert _lines(corsfast_logs) == []
    with dj.override_settings(CORS_ALLOWED_ORIGINS=[FOO], CORS_ALLOW_HEADERS=["content-type"],
                              CORS_LOG_REFUSALS=True):
        _django_preflight()
        dj.client().get("/api/items", headers={"Origin": EVIL})
    lines = _lines(corsfast_logs)
    assert len(lines) == 2, lines
    assert lines[0].endswith("fix: not allowed: x-token; add them to CORS_ALLOW_HEADERS "
                             "(now: content-type)")
    assert "CORS request refused (ORIGIN_NOT_ALLOWED)" in lines[1]
    assert lines[1].endswith("; if it should be trusted, add it to CORS_ALLOWED_ORIGINS")


def test_django_async_logs_refusals(corsfast_logs: pytest.LogCaptureFixture) -> None:
    async def run() -> Any:
        return await dj.AsyncClient().options("/api/items", headers=PREFLIGHT)

    with dj.override_settings(CORS_ALLOWED_ORIGINS=[FOO], CORS_ALLOW_HEADERS=["content-type"],
                              CORS_LOG_REFUSALS=True):
        assert asyncio.run(run()).status_code == 200  # as django-cors-headers answers it
    assert _lines(corsfast_logs)[0].endswith("add them to CORS_ALLOW_HEADERS (now: content-type)")


def test_django_log_refusals_must_be_a_bool() -> None:
    with dj.override_settings(CORS_LOG_REFUSALS="yes"):
        with pytest.raises(dj.ImproperlyConfigured,
                           match="CORS_LOG_REFUSALS should be True or False"):
            dj.CorsMiddleware(lambda request: dj.HttpResponse())
