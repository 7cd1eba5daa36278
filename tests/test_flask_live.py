"""Live policies and observability on corsfast.contrib.flask through
Flask's test client (docs/spec.md "Live policies (for gateways)",
"Observability"): the ``CORS`` extension's ``reconfigure``, ``stats``,
``on_refusal``, ``debug`` and ``shadow``; ``@cross_origin`` views keep
their own options."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

import corsfast
from corsfast import Policy, Router
from corsfast.contrib.flask import CORS, cross_origin

A = "https://a.example.com"
B = "https://b.example.com"
PB = Policy(allow_origins=[B], allow_methods=["GET", "PUT"], expose_headers=["x-two"])


def make_app(**options: Any) -> tuple[Flask, CORS]:
    app = Flask(__name__)

    @app.route("/items", methods=["GET", "PUT"])
    def items() -> str:
        return "ok"

    @app.route("/api/items")
    def api_items() -> str:
        return "api"

    @app.route("/own")
    @cross_origin(origins=[A])
    def own() -> str:
        return "own"

    return app, CORS(app, **options)


def get(app: Flask, origin: Any, path: str = "/items") -> Any:
    headers = {} if origin is None else {"Origin": origin}
    return app.test_client().get(path, headers=headers)


def preflight(app: Flask, origin: str, path: str = "/items", headers: str = "") -> Any:
    asked = {"Origin": origin, "Access-Control-Request-Method": "PUT"}
    if headers:
        asked["Access-Control-Request-Headers"] = headers
    return app.test_client().options(path, headers=asked)


def acao(response: Any) -> Any:
    return response.headers.get("Access-Control-Allow-Origin")


def test_reconfigure_replaces_the_flask_cors_options() -> None:
    app, cors = make_app(origins=[A])
    assert acao(get(app, A)) == A and acao(get(app, B)) is None
    assert get(app, None).headers.get("Vary") == "Origin"
    cors.reconfigure(PB)
    assert cors.policy is PB
    assert acao(get(app, A)) is None
    response = get(app, B)
    assert acao(response) == B and response.headers["Access-Control-Expose-Headers"] == "x-two"
    assert acao(preflight(app, B)) == B
    # The view decorator keeps its own options.
    assert acao(get(app, A, "/own")) == A and acao(get(app, B, "/own")) is None
    cors.reconfigure(Router({"/api": PB}))
    assert acao(get(app, B, "/api/items")) == B
    assert acao(get(app, B, "/items")) is None


def test_reconfigure_reaches_requests_without_origin() -> None:
    # Without Origin, flask-cors answers '*': a second middleware does that.
    app, cors = make_app()
    assert acao(get(app, None)) == "*"
    cors.reconfigure(PB)
    assert acao(get(app, None)) is None
    assert cors.stats()["actual"] == {"NOT_CORS": 2}


def test_a_bad_argument_changes_nothing() -> None:
    app, cors = make_app(origins=[A])
    before = cors.policy
    with pytest.raises(TypeError):
        cors.reconfigure([A])  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        cors.reconfigure(PB, shadow=[A])
    assert cors.policy is before
    assert acao(get(app, A)) == A and acao(get(app, B)) is None


def test_stats_count_each_request_once() -> None:
    app, cors = make_app(origins=[A])
    get(app, A)
    get(app, B)
    preflight(app, A)
    get(app, A, "/own")  # decided by the extension's middleware too
    assert cors.stats() == {"preflight": {"ALLOWED": 1},
                            "actual": {"ALLOWED": 2, "ORIGIN_NOT_ALLOWED": 1},
                            "websocket": {}}
    cors.reconfigure(PB)
    get(app, B)
    assert cors.stats()["actual"]["ALLOWED"] == 3


def test_on_refusal_gets_escaped_values(caplog: pytest.LogCaptureFixture) -> None:
    calls: list[Any] = []
    app, _ = make_app(origins=[A], log_refusals=True,
                      on_refusal=lambda d, info: calls.append(info))
    get(app, A)
    assert calls == []
    with caplog.at_level(logging.INFO, logger="corsfast"):
        get(app, "https://evil.example\x7f")
    (info,) = calls
    assert info["kind"] == "actual" and info["reason"] == "MALFORMED_REQUEST"
    assert info["origin"] == "https://evil.example\\x7f" and info["path"] == "/items"
    (record,) = [r for r in caplog.records if r.name == "corsfast"]
    assert "\x7f" not in record.getMessage()


def test_debug_names_the_fix_in_a_refused_preflight() -> None:
    app, _ = make_app(origins=[A], debug=True)
    response = preflight(app, B)
    assert response.mimetype == "text/plain"
    assert b"ORIGIN_NOT_ALLOWED" in response.data and b"Fix:" in response.data
    quiet, _ = make_app(origins=[A])
    assert b"ORIGIN_NOT_ALLOWED" not in preflight(quiet, B).data
    assert acao(preflight(app, A)) == A
    assert get(app, A).data == b"ok"


def test_shadow_reports_disagreements() -> None:
    seen: list[Any] = []
    app, cors = make_app(origins=[A], shadow=Policy(allow_origins=[B]),
                         on_shadow=seen.append)
    get(app, A)
    (info,) = seen
    assert info["reason"] == "ALLOWED" and info["shadow_reason"] == "ORIGIN_NOT_ALLOWED"
    assert info["origin"] == A
    cors.reconfigure(Policy(allow_origins=[A]), shadow=None)
    get(app, A)
    assert len(seen) == 1


def test_watch_puts_a_policy_file_in_force_on_the_extension(tmp_path: Path) -> None:
    path = tmp_path / "cors.json"
    path.write_text(f'{{"allow_origins": ["{A}"]}}', encoding="utf-8")
    app, cors = make_app(origins=[B])
    with corsfast.watch(path, cors, interval=60, sighup=False) as handle:
        assert acao(get(app, A)) == A and acao(get(app, B)) is None
        path.write_text(f'{{"allow_origins": ["{B}"]}}', encoding="utf-8")
        assert handle.reload() is True
        assert acao(get(app, B)) == B and cors.policy == Policy(allow_origins=[B])
