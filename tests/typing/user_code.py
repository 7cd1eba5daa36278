"""Code a user of corsfast might write, checked with ``mypy --strict``.

tests/test_typing.py type-checks this file in a subprocess and also runs
``main()``. Every ``assert_type`` pins what a type checker must infer from
the public API: a public name that decays to ``Any`` fails the check.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, MutableMapping
from typing import TYPE_CHECKING, Any, Callable

from flask import Flask

import corsfast
import corsfast.asgi
import corsfast.wsgi
from corsfast import ConfigError, Decision, Policy, Reason, Router, check_request
from corsfast.contrib.flask import CORS, cross_origin

if TYPE_CHECKING:
    from typing_extensions import assert_type
else:

    def assert_type(value, _type):
        return value


def build_policy() -> Policy:
    return Policy(
        allow_origins=("https://app.example.com", "https://*.example.com"),
        allow_origin_regex=re.compile(r"https://[a-z]+\.example\.org"),
        allow_origin_predicate=lambda origin: origin.endswith(".example.net"),
        allow_methods=("GET", "HEAD", "POST", "PUT"),
        allow_headers=["content-type", "x-token"],
        expose_headers="*",
        allow_credentials=False,
        max_age=600,
        allow_private_network=True,
        preflight_status=204,
    )


def describe(decision: Decision) -> str:
    assert_type(decision.allowed, bool)
    assert_type(decision.preflight, bool)
    assert_type(decision.reason, Reason)
    status: int | None = decision.status
    lines = [f"{decision.reason.name}: {decision.reason.explain()}"]
    if status is not None:
        lines.append(f"status {status + 0}")
    for name, value in decision.headers:
        lines.append(f"{name.lower()}: {value.strip()}")
    for raw_name, raw_value in decision.raw_headers:
        lines.append((raw_name + b": " + raw_value).decode("latin-1"))
    return "\n".join(lines)


def asgi_headers(decision: Decision) -> list[tuple[bytes, bytes]]:
    return list(decision.raw_headers)


def preflight(
    policy: Policy, origin: str, method: str, headers: str | None
) -> Decision:
    decision = check_request(
        policy,
        "OPTIONS",
        origin,
        request_method=method,
        request_headers=headers,
        request_private_network=None,
    )
    assert_type(decision, Decision)
    return decision


def from_asgi(policy: Policy, scope_headers: Iterable[tuple[bytes, bytes]]) -> Decision:
    found = dict(scope_headers)
    return check_request(
        policy,
        b"OPTIONS",
        found.get(b"origin"),
        found.get(b"access-control-request-method"),
        found.get(b"access-control-request-headers"),
        found.get(b"access-control-request-private-network"),
    )


def same_as_check(policy: Policy) -> bool:
    by_method = policy.check("GET", "https://app.example.com")
    assert_type(by_method, Decision)
    return by_method == check_request(policy, "GET", "https://app.example.com")


def config_problems() -> list[str]:
    try:
        Policy(allow_origins=["https://app.example.com/"])
    except ConfigError as exc:
        assert_type(exc.errors, list[str])
        assert isinstance(exc, ValueError)
        return exc.errors
    return []


def route(path: str) -> Policy | None:
    router = Router({"/api": build_policy(), "/": Policy(allow_origins="*")})
    return router.lookup(path)


def flask_app() -> Flask:
    app = Flask(__name__)
    CORS(app, origins=["https://app.example.com", re.compile(r"https://.*\.example\.org")],
         supports_credentials=True, max_age=600)
    CORS().init_app(app, resources={r"/api/*": {"origins": "https://app.example.com"}},
                    methods=["GET", "POST"], expose_headers=None)

    @app.route("/public")
    @cross_origin(origins="*", allow_headers=["content-type"], automatic_options=False)
    def public() -> str:
        return "hello"

    return app


async def asgi_app(
    scope: MutableMapping[str, Any],
    receive: Callable[[], Any],
    send: Callable[[MutableMapping[str, Any]], Any],
) -> None:
    await send({"type": "http.response.start", "status": 204, "headers": []})
    await send({"type": "http.response.body", "body": b""})


def wsgi_app(
    environ: dict[str, Any], start_response: Callable[..., Any]
) -> Iterable[bytes]:
    start_response("204 No Content", [])
    return [b""]


def middleware() -> tuple[corsfast.asgi.CORSMiddleware, corsfast.wsgi.CORSMiddleware]:
    asgi = corsfast.asgi.CORSMiddleware(
        asgi_app, allow_origins=["https://app.example.com"], allow_credentials=True,
        max_age=None, check_websocket=True)
    wsgi = corsfast.wsgi.CORSMiddleware(
        wsgi_app, allow_origins="https://app.example.com", allow_methods=("GET", "PUT"),
        allow_origin_regex=re.compile(r"https://[a-z]+\.example\.org"),
        allow_credentials=True, preflight_status=200, block_refused=True)
    return asgi, wsgi


def main() -> None:
    assert_type(corsfast.ENGINE, str)
    assert corsfast.ENGINE in ("cython", "python")
    assert_type(corsfast.__version__, str)

    policy = build_policy()
    ok = preflight(policy, "https://app.example.com", "PUT", "content-type")
    assert ok.allowed and ok.preflight and ok.reason is Reason.ALLOWED
    assert ok.status == 204
    assert describe(ok)
    assert asgi_headers(ok)

    refused = preflight(policy, "https://evil.example", "PUT", None)
    assert not refused.allowed and refused.status == 403

    raw = from_asgi(policy, [(b"origin", b"https://a.example.com"),
                             (b"access-control-request-method", b"GET")])
    assert raw.allowed

    assert same_as_check(policy)
    assert config_problems()
    assert route("/api/users") is not None
    assert flask_app().test_client().get(
        "/public", headers={"Origin": "https://a.example"}
    ).headers["Access-Control-Allow-Origin"] == "https://a.example"
    asgi, wsgi = middleware()
    assert isinstance(asgi.policy, Policy) and asgi.policy.allow_credentials
    assert isinstance(wsgi.policy, Policy) and wsgi.policy.preflight_status == 200


if __name__ == "__main__":
    main()
