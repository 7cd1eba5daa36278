"""corsfast.contrib.flask through Flask's own test client."""

from __future__ import annotations

import re
import warnings
from datetime import timedelta
from types import ModuleType
from typing import Any

import flask
import pytest

import corsfast.contrib.flask as cf
import corsfast.wsgi
from corsfast import ConfigError, _adapters_py
from corsfast.contrib.flask import CORS, cross_origin

FOO = "http://foo.com"
BAR = "http://bar.com"


@pytest.fixture(autouse=True)
def _engine_under_test(engine: ModuleType, monkeypatch: pytest.MonkeyPatch) -> None:
    """The decorator and hook use check_request; the extension runs the WSGI
    middleware, on the engine under test's per-request pieces."""
    pieces = engine if engine.ENGINE_NAME == "cython" else _adapters_py
    monkeypatch.setattr(cf, "check_request", engine.check_request)
    monkeypatch.setattr(cf, "wsgi_decide", pieces.wsgi_decide)
    monkeypatch.setattr(corsfast.wsgi.CORSMiddleware, "__call__", pieces.WsgiCore.__call__)


def make_app(**config: Any) -> Any:
    app = flask.Flask(__name__)
    app.config.update(config)

    @app.route("/api/items", methods=["GET", "POST", "PUT"])
    def items() -> str:
        return "items"

    @app.route("/apix")
    def apix() -> str:
        return "apix"

    @app.route("/other")
    def other() -> str:
        return "other"

    @app.route("/api/boom")
    def boom() -> str:
        raise RuntimeError("boom")

    @app.route("/api/missing")
    def missing() -> str:
        flask.abort(404)

    @app.route("/api/vary")
    def vary() -> Any:
        return flask.Response("v", headers={"Vary": "Accept-Encoding",
                                            "Access-Control-Allow-Origin": "*"})

    return app


def get(app: Any, path: str, method: str = "GET", **headers: str) -> Any:
    return app.test_client().open(path, method=method, headers=headers)


def preflight(app: Any, path: str, origin: str, method: str = "PUT", **headers: str) -> Any:
    return get(app, path, "OPTIONS", Origin=origin,
               **{"Access-Control-Request-Method": method}, **headers)


# -- the extension ---------------------------------------------------------------


def test_defaults_reflect_any_origin_and_star_without_origin() -> None:
    app = make_app()
    CORS(app)
    resp = get(app, "/api/items", Origin=FOO)
    assert resp.status_code == 200
    assert resp.headers["Access-Control-Allow-Origin"] == FOO
    assert resp.headers["Vary"] == "origin"
    assert "Access-Control-Allow-Credentials" not in resp.headers
    resp = get(app, "/api/items")
    assert resp.headers["Access-Control-Allow-Origin"] == "*"


def test_default_allow_headers_star_still_allows_authorization() -> None:
    app = make_app()
    CORS(app)
    resp = preflight(app, "/api/items", FOO,
                     **{"Access-Control-Request-Headers": "Authorization, X-Custom"})
    assert resp.status_code == 200
    allowed = {h.strip() for h in resp.headers["Access-Control-Allow-Headers"].split(",")}
    assert {"*", "authorization"} <= allowed
    methods = resp.headers["Access-Control-Allow-Methods"]
    assert all(m in methods for m in cf.ALL_METHODS)


def test_resources_with_per_resource_origins() -> None:
    app = make_app()
    CORS(app, resources={r"/api/*": {"origins": [FOO]}})
    assert get(app, "/api/items", Origin=FOO).headers["Access-Control-Allow-Origin"] == FOO
    refused = get(app, "/api/items", Origin=BAR)
    assert refused.status_code == 200
    assert "Access-Control-Allow-Origin" not in refused.headers
    assert refused.headers["Vary"] == "origin"
    untouched = get(app, "/other", Origin=FOO)
    assert "Access-Control-Allow-Origin" not in untouched.headers
    assert "Vary" not in untouched.headers


def test_resource_regex_ends_on_a_segment_boundary() -> None:
    # flask-cors matches r"/api/*" with re.match, so it also covers "/apix".
    app = make_app()
    CORS(app, resources=r"/api/*", origins=[FOO])
    assert "Access-Control-Allow-Origin" in get(app, "/api/items", Origin=FOO).headers
    assert "Access-Control-Allow-Origin" not in get(app, "/apix", Origin=FOO).headers


def test_resource_paths_are_not_unquoted_twice() -> None:
    # "%252F" reaches Flask as the literal "%2F"; flask-cors would unquote it
    # once more into "/", and a resource for "/api/..." would match.
    app = make_app()

    @app.route("/files/<path:name>")
    def files(name: str) -> str:
        return name

    CORS(app, resources={r"/files/a/b": {"origins": [FOO]}})
    assert get(app, "/files/a/b", Origin=FOO).headers.get("Access-Control-Allow-Origin") == FOO
    resp = get(app, "/files/a%252Fb", Origin=FOO)
    assert resp.status_code == 200 and resp.get_data() == b"a%2Fb"
    assert "Access-Control-Allow-Origin" not in resp.headers


def test_origin_regex_must_match_the_whole_origin() -> None:
    app = make_app()
    CORS(app, origins=[r"https?://.*\.example\.com"])
    ok = get(app, "/api/items", Origin="https://a.example.com")
    assert ok.headers["Access-Control-Allow-Origin"] == "https://a.example.com"
    # re.match (flask-cors) accepts this origin: the regex matches its start.
    evil = get(app, "/api/items", Origin="https://a.example.com.evil.net")
    assert "Access-Control-Allow-Origin" not in evil.headers


def test_literal_origins_are_exact_and_compiled_regexes_keep_their_flags() -> None:
    app = make_app()
    CORS(app, origins=["HTTP://FOO.COM", re.compile(r"http://example\d+\.com")])
    assert get(app, "/api/items", Origin=FOO).headers["Access-Control-Allow-Origin"] == FOO
    assert get(app, "/api/items", Origin="http://example7.com").headers[
        "Access-Control-Allow-Origin"] == "http://example7.com"
    assert "Access-Control-Allow-Origin" not in get(
        app, "/api/items", Origin="http://EXAMPLE7.com").headers
    assert "Access-Control-Allow-Origin" not in get(
        app, "/api/items", Origin="http://foo.com.evil").headers


def test_refused_preflight_is_403_allowed_is_200() -> None:
    app = make_app()
    CORS(app, origins=[FOO], methods=["GET", "PUT"], max_age=timedelta(minutes=10),
         supports_credentials=True, expose_headers=["X-Total"])
    ok = preflight(app, "/api/items", FOO)
    assert ok.status_code == 200
    assert ok.headers["Access-Control-Allow-Methods"] == "GET, PUT"
    assert ok.headers["Access-Control-Max-Age"] == "600"
    assert ok.headers["Access-Control-Allow-Credentials"] == "true"
    for bad in (preflight(app, "/api/items", BAR), preflight(app, "/api/items", FOO, "DELETE")):
        assert bad.status_code == 403
        assert not [k for k, _ in bad.headers if k.lower().startswith("access-control-")]
    actual = get(app, "/api/items", Origin=FOO)
    assert actual.headers["Access-Control-Expose-Headers"] == "x-total"
    assert actual.headers["Access-Control-Allow-Credentials"] == "true"


def test_app_cors_headers_replaced_and_vary_merged() -> None:
    app = make_app()
    CORS(app, origins=[FOO])
    resp = get(app, "/api/vary", Origin=FOO)
    assert resp.headers.getlist("Access-Control-Allow-Origin") == [FOO]
    assert resp.headers["Vary"] == "Accept-Encoding, origin"
    refused = get(app, "/api/vary", Origin=BAR)
    assert "Access-Control-Allow-Origin" not in refused.headers


def test_error_responses_keep_cors_headers() -> None:
    app = make_app()
    CORS(app, origins=[FOO])
    resp = get(app, "/api/boom", Origin=FOO)
    assert resp.status_code == 500
    assert resp.headers["Access-Control-Allow-Origin"] == FOO
    resp = get(app, "/api/missing", Origin=FOO)
    assert resp.status_code == 404
    assert resp.headers["Access-Control-Allow-Origin"] == FOO


def test_app_config_is_read() -> None:
    app = make_app(CORS_ORIGINS=[BAR], CORS_SUPPORTS_CREDENTIALS=True)
    CORS(app)
    resp = get(app, "/api/items", Origin=BAR)
    assert resp.headers["Access-Control-Allow-Origin"] == BAR
    assert resp.headers["Access-Control-Allow-Credentials"] == "true"
    assert "Access-Control-Allow-Origin" not in get(app, "/api/items", Origin=FOO).headers


def test_init_app_later_and_blueprints() -> None:
    bp = flask.Blueprint("bp", __name__)

    @bp.route("/bp/ping")
    def ping() -> str:
        return "pong"

    cors = CORS(origins=[FOO])
    cors.init_app(bp)
    app = make_app()
    app.register_blueprint(bp)
    assert get(app, "/bp/ping", Origin=FOO).headers["Access-Control-Allow-Origin"] == FOO
    assert "Access-Control-Allow-Origin" not in get(app, "/other", Origin=FOO).headers


def test_send_wildcard_and_always_send() -> None:
    app = make_app()
    CORS(app, send_wildcard=True, always_send=False)
    assert get(app, "/api/items", Origin=FOO).headers["Access-Control-Allow-Origin"] == "*"
    assert "Access-Control-Allow-Origin" not in get(app, "/api/items").headers


def test_star_with_credentials_reflects_and_warns_once() -> None:
    cf._warned.clear()
    app = make_app()
    with pytest.warns(UserWarning, match="reflects every origin with credentials"):
        CORS(app, supports_credentials=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        CORS(make_app(), supports_credentials=True)  # once only
    resp = get(app, "/api/items", Origin="https://anyone.example")
    assert resp.headers["Access-Control-Allow-Origin"] == "https://anyone.example"
    assert resp.headers["Access-Control-Allow-Credentials"] == "true"


def test_star_with_credentials_and_send_wildcard_is_an_error() -> None:
    with pytest.raises(ValueError):
        CORS(make_app(), supports_credentials=True, send_wildcard=True)


def test_vary_header_false_drops_vary_and_warns() -> None:
    cf._warned.clear()
    app = make_app()
    with pytest.warns(UserWarning, match="vary_header=False"):
        CORS(app, origins=[FOO], vary_header=False)
    resp = get(app, "/api/items", Origin=FOO)
    assert resp.headers["Access-Control-Allow-Origin"] == FOO
    assert "Vary" not in resp.headers


@pytest.mark.parametrize("options, match", [
    ({"allow_headers": [r"X-COMPANY-.*"]}, "list the names"),
    ({"origins": ["https://foo.com/"]}, "trailing slash"),
    ({"max_age": "ten minutes"}, "max_age"),
    ({"methods": ["TRACE"]}, "forbidden method"),
])
def test_options_corsfast_cannot_honour_fail_at_setup(options: dict[str, Any],
                                                      match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        CORS(make_app(), **options)
    with pytest.raises(ConfigError, match=match):
        cross_origin(**options)(lambda: "x")


def test_bad_resources_value_is_a_value_error() -> None:
    with pytest.raises(ValueError):
        CORS(make_app(), resources=5)


def test_malformed_cors_headers_never_make_a_500() -> None:
    app = make_app()
    CORS(app, origins=[FOO])
    for origin in ["", "http://foo.com, http://foo.com", "http://fóo.com", "x" * 5000]:
        resp = get(app, "/api/items", Origin=origin)
        assert resp.status_code == 200
        assert "Access-Control-Allow-Origin" not in resp.headers
        assert preflight(app, "/api/items", origin).status_code == 403
    bad = preflight(app, "/api/items", FOO, **{"Access-Control-Request-Headers": "a b, c"})
    assert bad.status_code == 403


# -- the decorator ---------------------------------------------------------------------


def make_decorated_app() -> Any:
    app = flask.Flask(__name__)

    @app.route("/open")
    @cross_origin()
    def open_view() -> str:
        return "open"

    @app.route("/foo-only", methods=["GET", "PUT"])
    @cross_origin(origins=FOO, methods=["PUT"], allow_headers=["X-Token"])
    def foo_only() -> str:
        return "foo"

    @app.route("/manual", methods=["GET", "OPTIONS"])
    @cross_origin(origins=FOO, automatic_options=False)
    def manual() -> str:
        return "manual:" + flask.request.method

    return app


def test_decorator_answers_preflights_itself() -> None:
    app = make_decorated_app()
    resp = preflight(app, "/foo-only", FOO, **{"Access-Control-Request-Headers": "x-token"})
    assert resp.status_code == 200
    assert resp.get_data() == b""
    assert resp.headers["Access-Control-Allow-Origin"] == FOO
    assert resp.headers["Access-Control-Allow-Headers"] == "x-token"
    assert "OPTIONS" in resp.headers["Allow"]
    assert preflight(app, "/foo-only", BAR).status_code == 403


def test_decorator_actual_requests() -> None:
    app = make_decorated_app()
    assert get(app, "/open", Origin=BAR).headers["Access-Control-Allow-Origin"] == BAR
    assert get(app, "/open").headers["Access-Control-Allow-Origin"] == "*"
    assert "Access-Control-Allow-Origin" not in get(app, "/foo-only", Origin=BAR).headers
    resp = get(app, "/manual", "OPTIONS", Origin=FOO)
    assert resp.get_data() == b"manual:OPTIONS"
    assert resp.headers["Access-Control-Allow-Origin"] == FOO


def test_decorator_wins_over_the_extension() -> None:
    app = make_decorated_app()
    CORS(app, origins=[BAR])
    # /foo-only's decorator refuses BAR; the extension must not add it back.
    resp = get(app, "/foo-only", Origin=BAR)
    assert "Access-Control-Allow-Origin" not in resp.headers
    assert get(app, "/foo-only", Origin=FOO).headers["Access-Control-Allow-Origin"] == FOO


# -- how the extension is installed ----------------------------------------------------


def test_extension_wraps_wsgi_app_and_blueprints_use_a_hook() -> None:
    app = make_app()
    CORS(app, origins=[FOO])
    assert isinstance(app.wsgi_app, corsfast.wsgi.CORSMiddleware)
    assert not app.after_request_funcs
    bp = flask.Blueprint("bp2", __name__)
    CORS(bp, origins=[FOO])
    assert bp.after_request_funcs[None]


def test_always_send_false_leaves_requests_without_origin_alone() -> None:
    app = make_app()
    CORS(app, origins=[FOO], always_send=False)
    assert get(app, "/api/items", Origin=FOO).headers["Access-Control-Allow-Origin"] == FOO
    resp = get(app, "/api/vary")
    assert resp.headers["Access-Control-Allow-Origin"] == "*"  # the view's own
    assert resp.headers["Vary"] == "Accept-Encoding"


def test_decorated_view_preflight_wins_over_the_extension() -> None:
    app = make_decorated_app()

    @app.route("/plain", methods=["GET", "PUT"])
    def plain() -> str:
        return "plain"

    CORS(app, origins=[BAR])
    ok = preflight(app, "/foo-only", FOO, **{"Access-Control-Request-Headers": "x-token"})
    assert ok.status_code == 200
    assert ok.headers["Access-Control-Allow-Origin"] == FOO
    assert ok.headers["Access-Control-Allow-Headers"] == "x-token"
    assert preflight(app, "/foo-only", BAR).status_code == 403
    # An undecorated route is the extension's.
    assert preflight(app, "/plain", BAR).status_code == 200
    assert preflight(app, "/plain", FOO).status_code == 403


def test_resources_are_matched_on_the_decoded_path_and_remembered() -> None:
    app = make_app()

    @app.route("/caf\u00e9")
    def cafe() -> str:
        return "cafe"

    CORS(app, resources={"/caf\u00e9": {"origins": [FOO]}, r"/api/.*": {"origins": [BAR]}})
    router = app.wsgi_app.policy
    assert get(app, "/caf%C3%A9", Origin=FOO).headers["Access-Control-Allow-Origin"] == FOO
    assert get(app, "/api/items", Origin=BAR).headers["Access-Control-Allow-Origin"] == BAR
    assert "Access-Control-Allow-Origin" not in get(app, "/other", Origin=FOO).headers
    assert set(router) == {"/caf\u00c3\u00a9", "/api/items", "/other"}
    for i in range(cf._PATH_CACHE_SIZE + 10):
        router.lookup(f"/api/{i}")
    assert len(router) == cf._PATH_CACHE_SIZE
    assert get(app, "/api/items", Origin=BAR).headers["Access-Control-Allow-Origin"] == BAR


def test_propagated_exceptions_still_get_a_cors_500() -> None:
    app = make_app()
    app.config["PROPAGATE_EXCEPTIONS"] = True
    CORS(app, origins=[FOO])
    captured: dict[str, Any] = {}

    def start_response(status: str, headers: Any, exc_info: Any = None) -> Any:
        captured.update(status=status, headers=dict(headers))
        return lambda data: None

    environ = {"REQUEST_METHOD": "GET", "PATH_INFO": "/api/boom", "SERVER_NAME": "x",
               "SERVER_PORT": "80", "wsgi.url_scheme": "http", "HTTP_ORIGIN": FOO}
    with pytest.raises(RuntimeError):
        app(environ, start_response)
    assert captured["status"].startswith("500")
    assert captured["headers"]["access-control-allow-origin"] == FOO
