"""corsfast.contrib.flask through Flask's own test client."""

from __future__ import annotations

import re
import warnings
from datetime import timedelta
from typing import Any

import flask
import pytest

import corsfast.contrib.flask as cf
from corsfast import ConfigError, check_request
from corsfast.contrib._flask_resources import PATH_CACHE_SIZE
from corsfast.contrib.flask import CORS, cross_origin
from corsfast.wsgi import CORSMiddleware

FOO = "https://foo.com"
BAR = "https://bar.com"


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
    assert resp.headers["Vary"] == "Origin"
    assert "Access-Control-Allow-Credentials" not in resp.headers
    resp = get(app, "/api/items")
    assert resp.headers["Access-Control-Allow-Origin"] == "*"


def test_default_allow_headers_star_echoes_requested_names_authorization_too() -> None:
    app = make_app()
    CORS(app)
    resp = preflight(app, "/api/items", FOO,
                     **{"Access-Control-Request-Headers": "X-Custom, Authorization"})
    assert resp.status_code == 200
    # As sent, sorted (flask-cors's answer); '*' alone would not cover
    # Authorization.
    assert resp.headers["Access-Control-Allow-Headers"] == "Authorization, X-Custom"
    assert resp.headers["Access-Control-Allow-Methods"] == ", ".join(sorted(cf.ALL_METHODS))
    assert resp.headers["Vary"] == "Origin"


def test_resources_with_per_resource_origins() -> None:
    app = make_app()
    CORS(app, resources={r"/api/*": {"origins": [FOO]}})
    assert get(app, "/api/items", Origin=FOO).headers["Access-Control-Allow-Origin"] == FOO
    refused = get(app, "/api/items", Origin=BAR)
    assert refused.status_code == 200
    assert "Access-Control-Allow-Origin" not in refused.headers
    assert refused.headers["Vary"] == "Origin"
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
    CORS(app, origins=["HTTPS://FOO.COM", re.compile(r"http://example\d+\.com")])
    assert get(app, "/api/items", Origin=FOO).headers["Access-Control-Allow-Origin"] == FOO
    assert get(app, "/api/items", Origin="http://example7.com").headers[
        "Access-Control-Allow-Origin"] == "http://example7.com"
    assert "Access-Control-Allow-Origin" not in get(
        app, "/api/items", Origin="http://EXAMPLE7.com").headers
    assert "Access-Control-Allow-Origin" not in get(
        app, "/api/items", Origin="https://foo.com.evil").headers


def test_preflights_keep_flasks_status_and_get_flask_cors_headers() -> None:
    app = make_app()
    CORS(app, origins=[FOO], methods=["PUT", "GET"], max_age=timedelta(minutes=10),
         supports_credentials=True, expose_headers=["X-Total"])
    ok = preflight(app, "/api/items", FOO)
    assert ok.status_code == 200
    assert "OPTIONS" in ok.headers["Allow"]  # Flask's automatic answer
    assert ok.headers["Access-Control-Allow-Origin"] == FOO
    assert ok.headers["Access-Control-Allow-Methods"] == "GET, PUT"  # sorted
    assert ok.headers["Access-Control-Max-Age"] == "600"
    assert ok.headers["Access-Control-Allow-Credentials"] == "true"
    assert ok.headers["Access-Control-Expose-Headers"] == "X-Total"  # as flask-cors
    assert ok.headers["Vary"] == "Origin"
    # A refused origin: Flask's answer, no CORS headers.
    refused = preflight(app, "/api/items", BAR)
    assert refused.status_code == 200
    assert not [k for k, _ in refused.headers if k.lower().startswith("access-control-")]
    assert refused.headers["Vary"] == "Origin"
    # A method not listed (GET, HEAD and POST must be listed too, as in
    # flask-cors): a refusal, Flask's status and no CORS header. (flask-cors
    # sends the actual request's headers here; the browser refuses both.)
    # Methods are compared as sent: browsers send standard ones uppercase.
    for method in ("DELETE", "POST", "put"):
        resp = preflight(app, "/api/items", FOO, method)
        assert resp.status_code == 200
        assert not [k for k, _ in resp.headers if k.lower().startswith("access-control-")]
        assert resp.headers["Vary"] == "Origin"
    actual = get(app, "/api/items", Origin=FOO)
    assert actual.headers["Access-Control-Expose-Headers"] == "X-Total"
    assert actual.headers["Access-Control-Allow-Credentials"] == "true"


def test_app_cors_headers_replaced_and_vary_merged() -> None:
    app = make_app()
    CORS(app, origins=[FOO])
    resp = get(app, "/api/vary", Origin=FOO)
    assert resp.headers.getlist("Access-Control-Allow-Origin") == [FOO]
    assert resp.headers["Vary"] == "Accept-Encoding, Origin"
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


def test_without_origin_listed_origins_answer_only_vary() -> None:
    # flask-cors sends its literal origins here, without Vary (several make
    # an invalid header); the answer depends on Origin, so: Vary.
    for origins in ([FOO], [FOO, BAR]):
        app = make_app()
        CORS(app, origins=origins, supports_credentials=True, expose_headers="X-Total")
        resp = get(app, "/api/items")
        assert "Access-Control-Allow-Origin" not in resp.headers
        assert "Access-Control-Allow-Credentials" not in resp.headers
        assert resp.headers["Vary"] == "Origin"
        assert get(app, "/api/items", Origin=FOO).headers["Access-Control-Allow-Origin"] == FOO


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
    ({"allow_headers": ["X-Foo, X-Bar"]}, "header name must be a token"),
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


@pytest.mark.parametrize("options, match", [
    ({"orgins": [FOO]}, "orgins: not a flask-cors option; did you mean 'origins'"),
    ({"allow_origins": [FOO]}, "allow_origins: not a flask-cors option; did you mean 'origins'"),
    ({"zzz": 1}, "zzz: not a flask-cors option; options are "),
])
def test_an_unknown_option_fails_at_setup_and_names_the_one_meant(
        options: dict[str, Any], match: str) -> None:
    # flask-cors ignores such a name, leaving every origin allowed.
    with pytest.raises(ConfigError, match=match):
        CORS(make_app(), **options)
    with pytest.raises(ConfigError, match=match):
        CORS(make_app(), resources={r"/api/*": options})
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
        refused = preflight(app, "/api/items", origin)
        assert refused.status_code == 200
        assert "Access-Control-Allow-Origin" not in refused.headers
    # A value that is not a list of tokens is malformed: nothing is echoed,
    # not even the names in it that are tokens (flask-cors would echo "c").
    for value in ("a b, c, x(y), d:e", "x-a,\x0bx-b"):
        bad = preflight(app, "/api/items", FOO, **{"Access-Control-Request-Headers": value})
        assert bad.status_code == 200
        assert not [k for k, _ in bad.headers if k.lower().startswith("access-control-")]
    for method in ("", "GET PUT", "G\u00c9T", "x" * 100):
        resp = preflight(app, "/api/items", FOO, method)
        assert resp.status_code == 200
        assert "Access-Control-Allow-Methods" not in resp.headers
    huge = preflight(app, "/api/items", FOO,
                     **{"Access-Control-Request-Headers": "x-a, " * 2000})
    assert huge.status_code == 200
    assert "Access-Control-Allow-Headers" not in huge.headers


def test_allow_headers_answers_the_allowed_subset_as_sent_sorted() -> None:
    app = make_app()
    CORS(app, origins=[FOO], allow_headers=["X-Example-Header-B", "x-example-header-a"])
    resp = preflight(app, "/api/items", FOO, **{
        "Access-Control-Request-Headers": "X-Not-Listed, X-EXAMPLE-header-b, X-Example-Header-A"})
    assert resp.status_code == 200
    assert resp.headers["Access-Control-Allow-Headers"] == "X-EXAMPLE-header-b, X-Example-Header-A"
    assert resp.headers["Access-Control-Allow-Methods"]  # still a preflight answer
    none = preflight(app, "/api/items", FOO, **{"Access-Control-Request-Headers": "X-Other"})
    assert none.headers["Access-Control-Allow-Origin"] == FOO
    assert "Access-Control-Allow-Headers" not in none.headers
    assert "Access-Control-Allow-Headers" not in preflight(app, "/api/items", FOO).headers


def test_allow_headers_regexes_match_the_whole_name() -> None:
    app = make_app()
    CORS(app, origins=[FOO], allow_headers=[r"X-COMPANY-.*", re.compile(r"X-Api-(Key|Token)")])

    def allowed(names: str) -> Any:
        resp = preflight(app, "/api/items", FOO, **{"Access-Control-Request-Headers": names})
        assert resp.status_code == 200
        return resp.headers.get("Access-Control-Allow-Headers")

    assert allowed("x-company-foo") == "x-company-foo"  # strings: any case
    assert allowed("X-Api-Token, X-Api-Key") == "X-Api-Key, X-Api-Token"
    # re.match (flask-cors) would admit these: the regex matches their start.
    assert allowed("X-Api-Keyboard") is None
    # Header names are case-insensitive: every pattern matches them so.
    assert allowed("x-api-key") == "x-api-key"
    assert allowed("Authorization") is None
    # Forbidden request headers are never allowed by a pattern.
    permissive = make_app()
    CORS(permissive, origins=[FOO], allow_headers=[r".*-.*"])
    resp = preflight(permissive, "/api/items", FOO,
                     **{"Access-Control-Request-Headers": "Proxy-Foo, X-Ok, Sec-Fetch-X"})
    assert resp.headers["Access-Control-Allow-Headers"] == "X-Ok"


def test_header_values_keep_flask_cors_spelling() -> None:
    cf._warned.clear()
    app = make_app()
    with pytest.warns(UserWarning, match="max_age=100000 is above what any browser"):
        CORS(app, resources={
            r"/api/items": {"expose_headers": ["X-My-Custom-Header", "X-Another-Custom-Header"],
                            "methods": ["put", "get"], "max_age": 100000},
            r"/other": {"expose_headers": "X-Total-Count,  X-B", "methods": "get, put"},
        }, origins=[FOO])
    resp = get(app, "/api/items", Origin=FOO)
    assert resp.headers["Access-Control-Expose-Headers"] == (
        "X-Another-Custom-Header, X-My-Custom-Header")
    resp = preflight(app, "/api/items", FOO)
    assert resp.headers["Access-Control-Allow-Methods"] == "GET, PUT"
    assert resp.headers["Access-Control-Max-Age"] == "86400"  # a day at most (warned)
    assert get(app, "/other", Origin=FOO).headers["Access-Control-Expose-Headers"] == (
        "X-Total-Count, X-B")
    assert preflight(app, "/other", FOO).headers["Access-Control-Allow-Methods"] == "GET, PUT"


def test_send_wildcard_answers_a_static_star() -> None:
    app = make_app()
    CORS(app, send_wildcard=True)
    resp = preflight(app, "/api/items", FOO)
    assert resp.headers["Access-Control-Allow-Origin"] == "*"
    assert resp.headers["Access-Control-Allow-Methods"]
    # A preflight's answer depends on what it asks, so it varies on Origin
    # even with "*" (flask-cors sends no Vary there); actual requests do not.
    assert resp.headers["Vary"] == "Origin"
    assert "Vary" not in get(app, "/api/items", Origin=FOO).headers


@pytest.mark.parametrize("allowed", [True, False])
def test_private_network_requests_are_answered_true_or_false(allowed: bool) -> None:
    app = make_app()
    CORS(app, origins=[FOO], allow_private_network=allowed)
    expected = "true" if allowed else "false"
    pna = {"Access-Control-Request-Private-Network": "true"}
    resp = preflight(app, "/api/items", FOO, **pna)
    assert resp.status_code == 200
    assert resp.headers["Access-Control-Allow-Methods"]
    assert resp.headers["Access-Control-Allow-Private-Network"] == expected
    assert "Access-Control-Allow-Private-Network" not in preflight(
        app, "/api/items", BAR, **pna).headers
    assert "Access-Control-Allow-Private-Network" not in preflight(
        app, "/api/items", FOO).headers
    # flask-cors answers it on any request from an allowed origin (the
    # FLASK dialect says so; the engine answers).
    actual = get(app, "/api/items", Origin=FOO, **pna)
    assert actual.headers["Access-Control-Allow-Origin"] == FOO
    assert actual.headers["Access-Control-Allow-Private-Network"] == expected
    assert "Access-Control-Allow-Private-Network" not in get(
        app, "/api/items", Origin=BAR, **pna).headers


def test_options_requests_outside_the_resources_are_left_alone() -> None:
    app = make_app()
    CORS(app, resources=r"/api/.*", origins=[FOO])
    resp = preflight(app, "/other", FOO)
    assert resp.status_code == 200
    assert "Access-Control-Allow-Origin" not in resp.headers and "Vary" not in resp.headers
    missing = preflight(app, "/api/nowhere", FOO)
    assert missing.status_code == 404
    assert missing.headers["Access-Control-Allow-Origin"] == FOO


def test_views_answering_options_themselves_get_flask_cors_answers() -> None:
    app = flask.Flask(__name__)

    @app.route("/before", methods=["GET", "OPTIONS"])
    def before() -> str:
        return "before:" + flask.request.method

    CORS(app, origins=[FOO], allow_headers=["X-B", "X-A"])
    bp = flask.Blueprint("later", __name__)

    @bp.route("/after", methods=["PUT", "OPTIONS"])
    def after() -> Any:
        return "after:" + flask.request.method, 202

    app.register_blueprint(bp)

    @app.route("/auto", methods=["PUT"])
    def auto() -> str:
        return "auto"

    request_headers = {"Access-Control-Request-Headers": "X-A, X-C"}
    for path, body, status in (("/before", b"before:OPTIONS", 200),
                               ("/after", b"after:OPTIONS", 202), ("/auto", b"", 200)):
        resp = preflight(app, path, FOO, **request_headers)
        assert (resp.status_code, resp.get_data()) == (status, body), path
        assert resp.headers["Access-Control-Allow-Headers"] == "X-A", path
        assert resp.headers.getlist("Access-Control-Allow-Origin") == [FOO], path
    assert get(app, "/before", Origin=FOO).get_data() == b"before:GET"
    assert get(app, "/before", Origin=FOO).headers["Access-Control-Allow-Origin"] == FOO


def test_options_answers_made_before_any_view_get_the_same_answer() -> None:
    # An OPTIONS response made before any view runs (a before_request
    # function) gets the engine's answer too: every response to a preflight
    # is written by the middleware.
    app: flask.Flask = make_app()

    @app.before_request
    def deny() -> Any:
        if flask.request.method == "OPTIONS":
            return "denied", 401
        return None

    CORS(app, origins=[FOO], allow_headers=["X-A", r"X-R-.*"])
    ok = preflight(app, "/api/items", FOO, **{"Access-Control-Request-Headers": "x-a"})
    assert ok.status_code == 401
    assert ok.headers["Access-Control-Allow-Headers"] == "x-a"
    for names, allowed in (("x-a, x-b", "x-a"), ("X-R-1", "X-R-1")):
        resp = preflight(app, "/api/items", FOO, **{"Access-Control-Request-Headers": names})
        assert resp.status_code == 401
        assert resp.headers["Access-Control-Allow-Headers"] == allowed


def _wsgi_headers(app: Any, environ: dict[str, Any]) -> dict[str, str]:
    captured: dict[str, Any] = {}

    def start_response(status: str, headers: Any, exc_info: Any = None) -> Any:
        captured["headers"] = headers
        return lambda data: None

    base = {"SERVER_NAME": "x", "SERVER_PORT": "80", "wsgi.url_scheme": "http",
            "SCRIPT_NAME": "", "QUERY_STRING": ""}
    body = app(dict(base, **environ), start_response)
    b"".join(body)
    getattr(body, "close", lambda: None)()
    return {name.lower(): value for name, value in captured["headers"]
            if name.lower().startswith("access-control-") or name.lower() == "vary"}


@pytest.mark.parametrize("options", [
    {},
    {"origins": [FOO], "supports_credentials": True, "expose_headers": ["X-B", "X-A"]},
    {"origins": [FOO, r"https://.*\.example\.com"], "always_send": False},
    {"send_wildcard": True, "expose_headers": "X-Total"},
    {"resources": {r"/api/.*": {"origins": [BAR]}, "/other": {"send_wildcard": True}}},
])
def test_the_extension_answers_as_its_policies_decide(options: dict[str, Any]) -> None:
    # The extension's middleware writes exactly the engine's decision for
    # the resource's policy (the one for requests without Origin when the
    # request has none); paths outside the resources are left alone.
    app = make_app()
    CORS(app, **options)
    specs = cf._resources(cf._merged(app, options)["resources"])
    rules = [(cf._path_matcher(key), cf._Rule(cf._merged(app, options, extra)))
             for key, extra in specs]
    for path in ("/api/items", "/other", "/apix"):
        for origin in (None, FOO, BAR, "https://a.example.com", "https://a.example.com.evil",
                       "", "null"):
            environ = {"REQUEST_METHOD": "GET", "PATH_INFO": path}
            if origin is not None:
                environ["HTTP_ORIGIN"] = origin
            got = _wsgi_headers(app, environ)
            rule = next((r for m, r in rules if m(path)), None)
            policy = None if rule is None else rule.policy_for(environ)
            expected = {} if policy is None else dict(
                check_request(policy, "GET", origin).headers)
            assert got == expected, (path, origin)


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
    refused = preflight(app, "/foo-only", BAR)
    assert refused.status_code == 200
    assert "Access-Control-Allow-Origin" not in refused.headers


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


def test_decorator_adds_vary_as_a_line_of_its_own() -> None:
    app = flask.Flask(__name__)

    @app.route("/vary")
    @cross_origin(origins=[FOO, BAR])
    def vary() -> Any:
        return flask.Response("", headers={"Vary": "Accept-Encoding"})

    @app.route("/has-origin")
    @cross_origin(origins=[FOO, BAR])
    def has_origin() -> Any:
        return flask.Response("", headers={"Vary": "origin, Cookie"})

    resp = get(app, "/vary", Origin=FOO)
    assert resp.headers.getlist("Vary") == ["Accept-Encoding", "Origin"]
    assert get(app, "/has-origin", Origin=FOO).headers.getlist("Vary") == ["origin, Cookie"]
    assert get(app, "/vary", Origin="http://baz.com").headers.getlist("Vary") == [
        "Accept-Encoding", "Origin"]


def test_decorator_private_network_and_header_regexes() -> None:
    app = flask.Flask(__name__)

    @app.route("/pna")
    @cross_origin(allow_private_network=True, allow_headers=[r"X-COMPANY-.*"])
    def pna() -> str:
        return "pna"

    resp = get(app, "/pna", Origin=FOO, **{"Access-Control-Request-Private-Network": "true"})
    assert resp.headers["Access-Control-Allow-Private-Network"] == "true"
    resp = preflight(app, "/pna", FOO, **{"Access-Control-Request-Headers": "X-COMPANY-FOO, X-No"})
    assert resp.headers["Access-Control-Allow-Headers"] == "X-COMPANY-FOO"


def test_decorator_preflight_is_its_own_answer_under_the_extension() -> None:
    app = flask.Flask(__name__)

    @app.route("/star", methods=["GET", "PUT"])
    @cross_origin(send_wildcard=True, allow_headers=["X-Token"])
    def star() -> str:
        return "star"

    CORS(app, origins=[BAR])
    resp = preflight(app, "/star", FOO, **{"Access-Control-Request-Headers": "X-Token"})
    assert resp.headers.getlist("Access-Control-Allow-Origin") == ["*"]
    assert resp.headers["Access-Control-Allow-Headers"] == "X-Token"
    assert resp.headers.getlist("Vary") == ["Origin"]  # written once, by the view


# -- how the extension is installed ----------------------------------------------------


def test_extension_wraps_wsgi_app_and_blueprints_use_a_hook() -> None:
    app = make_app()
    CORS(app, origins=[FOO])
    assert isinstance(app.wsgi_app, CORSMiddleware)
    assert not app.after_request_funcs
    # Nothing of Flask's own is wrapped: preflights pass through to Flask
    # and the middleware writes on its answer.
    for name in ("make_default_options_response", "handle_user_exception",
                 "handle_exception", "add_url_rule"):
        assert name not in vars(app), name
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
    assert "Access-Control-Allow-Origin" not in preflight(app, "/foo-only", BAR).headers
    # An undecorated route is the extension's.
    assert preflight(app, "/plain", BAR).headers["Access-Control-Allow-Origin"] == BAR
    refused = preflight(app, "/plain", FOO)
    assert refused.status_code == 200
    assert "Access-Control-Allow-Origin" not in refused.headers


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
    for i in range(PATH_CACHE_SIZE + 10):
        router.lookup(f"/api/{i}")
    assert len(router) == PATH_CACHE_SIZE
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
