"""Dialects (corsfast/_dialect.py): each field, validated by Policy,
compiled into the tables and read by both engines (ids cython/python)."""

from __future__ import annotations

import copy
import dataclasses
import pickle
from types import ModuleType
from typing import Any

import pytest

from corsfast import ConfigError, Policy, Reason
from corsfast._dialect import CORSFAST, Dialect

APP = "https://app.example.com"
CORSFAST_PREFLIGHT_VARY = ("origin, access-control-request-method, "
                           "access-control-request-headers")


def header(decision: Any, name: str) -> str | None:
    values = [v for n, v in decision.headers if n == name]
    assert len(values) <= 1, f"{name} appears {len(values)} times"
    return values[0] if values else None


def dialect(**fields: Any) -> Dialect:
    return Dialect("test", **fields)


# -- always_allowed_methods -------------------------------------------------------


def test_no_always_allowed_methods(engine: ModuleType) -> None:
    policy = Policy(allow_origins=[APP], allow_methods=["GET", "PUT"],
                    dialect=dialect(always_allowed_methods=()))
    for method in ("GET", "PUT"):
        assert engine.check_request(policy, "OPTIONS", APP, method).allowed
    for method in ("POST", "HEAD", "DELETE", b"POST"):
        d = engine.check_request(policy, "OPTIONS", APP, method)
        assert (d.allowed, d.reason, d.status) == (False, Reason.METHOD_NOT_ALLOWED, 403)
        assert engine.check_request(policy, "OPTIONS", APP, method) == d  # cached: same
    assert engine.check_request(policy, "POST", APP).allowed  # actual requests: unaffected
    # corsfast's own dialect: GET, HEAD and POST need no listing.
    own = Policy(allow_origins=[APP], allow_methods=["PUT"])
    assert engine.check_request(own, "OPTIONS", APP, "HEAD").allowed


# -- echo_request_headers and allowed_request_headers_only ----------------------------


ECHO = dialect(echo_request_headers=True)


def test_echoed_request_headers_keep_their_case(engine: ModuleType) -> None:
    policy = Policy(allow_origins=[APP], allow_headers=["*", "authorization"], dialect=ECHO)
    for value, expected in [("X-Example", "X-Example"),
                            ("Authorization, X-Any", "Authorization, X-Any"),
                            (" X-A ,,\tx-B,", "X-A, x-B"),
                            (b"Content-Type,X-Token", "Content-Type, X-Token")]:
        d = engine.check_request(policy, "OPTIONS", APP, "GET", value)
        assert d.allowed, value
        assert header(d, "access-control-allow-headers") == expected
    for nothing in (None, "", " , "):
        d = engine.check_request(policy, "OPTIONS", APP, "GET", nothing)
        assert d.allowed and header(d, "access-control-allow-headers") is None


def test_echo_never_echoes_what_was_not_validated(engine: ModuleType) -> None:
    policy = Policy(allow_origins=[APP], allow_headers=["*", "authorization"], dialect=ECHO)
    for value, reason in [("x-a, x b", Reason.MALFORMED_REQUEST),
                          ("X-A\r\nSet-Cookie: a", Reason.MALFORMED_REQUEST),
                          ("x-a,\x0bx-b", Reason.MALFORMED_REQUEST),
                          ("x-ä", Reason.MALFORMED_REQUEST),
                          (",".join(["x-a"] * 65), Reason.MALFORMED_REQUEST),
                          ("X-A, Cookie", Reason.HEADERS_NOT_ALLOWED),
                          ("Sec-Fetch-Mode", Reason.HEADERS_NOT_ALLOWED)]:
        d = engine.check_request(policy, "OPTIONS", APP, "GET", value)
        assert (d.allowed, d.reason, d.status) == (False, reason, 403), value
        assert not any(n.startswith("access-control-") for n, _ in d.headers)


def test_allowed_request_headers_only(engine: ModuleType) -> None:
    policy = Policy(allow_origins=[APP], allow_headers=["x-token", "Content-Type"],
                    dialect=dialect(echo_request_headers=True,
                                    allowed_request_headers_only=True))
    d = engine.check_request(policy, "OPTIONS", APP, "GET", "X-Other, x-token, content-type")
    assert d.allowed
    assert header(d, "access-control-allow-headers") == "content-type, x-token"  # sorted
    d = engine.check_request(policy, "OPTIONS", APP, "GET", "X-Other")
    assert d.allowed and header(d, "access-control-allow-headers") is None
    # The grammar is the engine's: a malformed value is still refused.
    d = engine.check_request(policy, "OPTIONS", APP, "GET", "x-token,\x0bx-b")
    assert d.reason is Reason.MALFORMED_REQUEST


# -- vary_with_static_star and the vary spellings ----------------------------------------


def test_vary_with_static_star(engine: ModuleType) -> None:
    policy = Policy(allow_origins="*", expose_headers=["x-total"],
                    dialect=dialect(vary_with_static_star=True))
    d = engine.check_request(policy, "GET", None)
    assert (d.allowed, d.reason, d.headers) == (True, Reason.NOT_CORS, (("vary", "origin"),))
    for origin in ("https://anyone.test", "null", b"https://anyone.test"):
        assert engine.check_request(policy, "PUT", origin).headers == (
            ("access-control-allow-origin", "*"),
            ("access-control-expose-headers", "x-total"), ("vary", "origin"))
    d = engine.check_request(policy, "OPTIONS", "https://anyone.test", "GET")
    assert header(d, "access-control-allow-origin") == "*"
    assert header(d, "vary") == CORSFAST_PREFLIGHT_VARY


def test_vary_spellings(engine: ModuleType) -> None:
    policy = Policy(allow_origins=[APP], dialect=dialect(
        vary_actual="Origin", vary_preflight="Origin, Access-Control-Request-Method"))
    assert header(engine.check_request(policy, "GET", APP), "vary") == "Origin"
    assert header(engine.check_request(policy, "GET", None), "vary") == "Origin"
    for origin in (APP, "https://evil.test"):
        d = engine.check_request(policy, "OPTIONS", origin, "GET")
        assert header(d, "vary") == "Origin, Access-Control-Request-Method"


# -- reflect_any_origin_with_credentials -----------------------------------------------


def test_star_with_credentials_needs_the_dialect_to_say_so(engine: ModuleType) -> None:
    with pytest.raises(ConfigError, match="wildcard origin with credentials"):
        Policy(allow_origins="*", allow_credentials=True)
    policy = Policy(allow_origins="*", allow_credentials=True,
                    dialect=dialect(reflect_any_origin_with_credentials=True))
    for origin in ("https://evil.test", "null", b"https://evil.test"):
        d = engine.check_request(policy, "GET", origin)
        text = origin.decode() if isinstance(origin, bytes) else origin
        assert d.headers == (("access-control-allow-origin", text),
                             ("access-control-allow-credentials", "true"),
                             ("vary", "origin"))
    # A malformed Origin is never echoed, "*" included.
    for bad in ("*", "https://a.test/x", "bad origin", "HTTPS://A.TEST"):
        d = engine.check_request(policy, "GET", bad)
        assert d.reason is Reason.MALFORMED_REQUEST and d.headers == (("vary", "origin"),)
    # Without credentials the same dialect keeps a static "*".
    open_policy = Policy(allow_origins="*",
                         dialect=dialect(reflect_any_origin_with_credentials=True))
    assert header(engine.check_request(open_policy, "GET", APP),
                  "access-control-allow-origin") == "*"


# -- names_as_given, expose_on_preflight, every_refusal_reason ------------------------------


def test_names_as_given(engine: ModuleType) -> None:
    policy = Policy(allow_origins=[APP], allow_headers=["X-Token", "Content-Type", "x-token"],
                    expose_headers=["X-Total"], dialect=dialect(names_as_given=True))
    assert policy.allow_headers == ("X-Token", "Content-Type")
    d = engine.check_request(policy, "OPTIONS", APP, "GET", "x-token")
    assert header(d, "access-control-allow-headers") == "X-Token, Content-Type"
    assert header(engine.check_request(policy, "GET", APP),
                  "access-control-expose-headers") == "X-Total"
    # Matching stays case-insensitive.
    assert engine.check_request(policy, "OPTIONS", APP, "GET", "CONTENT-TYPE").allowed


def test_expose_on_preflight(engine: ModuleType) -> None:
    policy = Policy(allow_origins=[APP], expose_headers=["x-total"],
                    dialect=dialect(expose_on_preflight=True))
    d = engine.check_request(policy, "OPTIONS", APP, "GET")
    assert header(d, "access-control-expose-headers") == "x-total"
    own = Policy(allow_origins=[APP], expose_headers=["x-total"])
    assert header(engine.check_request(own, "OPTIONS", APP, "GET"),
                  "access-control-expose-headers") is None


def test_every_refusal_reason(engine: ModuleType) -> None:
    policy = Policy(allow_origins=[APP], allow_methods=["GET"], allow_headers=["x-a"],
                    dialect=dialect(every_refusal_reason=True))
    d = engine.check_request(policy, "OPTIONS", "https://evil.test", "PUT", "x-b", "true")
    assert d.reason is Reason.ORIGIN_NOT_ALLOWED
    assert d.reasons == (Reason.ORIGIN_NOT_ALLOWED, Reason.METHOD_NOT_ALLOWED,
                         Reason.HEADERS_NOT_ALLOWED, Reason.PRIVATE_NETWORK_NOT_ALLOWED)
    d = engine.check_request(policy, "OPTIONS", APP, "GET\n", "x-a,\x00")
    assert d.reasons == (Reason.MALFORMED_REQUEST,)
    assert engine.check_request(policy, "OPTIONS", APP, "GET", "x-a").reasons == ()
    own = Policy(allow_origins=[APP])
    d = engine.check_request(own, "OPTIONS", "https://evil.test", "PUT", "x-b")
    assert d.reasons == (Reason.ORIGIN_NOT_ALLOWED,)


def test_a_refused_preflight_gets_the_dialects_status(engine: ModuleType) -> None:
    policy = Policy(allow_origins=[APP], dialect=dialect(refused_preflight_status=200))
    for origin, method in (("https://evil.test", "PUT"), (APP, "PROPFIND")):
        d = engine.check_request(policy, "OPTIONS", origin, method)
        assert (d.allowed, d.status) == (False, 200)
        assert not [n for n, _ in d.headers if n.startswith("access-control-")]
    ok = engine.check_request(policy, "OPTIONS", APP, "GET")
    assert (ok.allowed, ok.status) == (True, 204)
    assert engine.check_request(Policy(allow_origins=[APP]), "OPTIONS",
                                "https://evil.test", "PUT").status == 403


# -- validation, repr, value semantics -------------------------------------------------------


def test_bad_dialects_are_config_errors() -> None:
    with pytest.raises(ConfigError) as info:
        Policy(dialect=Dialect("bad", always_allowed_methods=("*",), vary_actual="accept",
                               vary_preflight="origin, not a token",
                               expose_on_preflight="yes"))  # type: ignore[arg-type]
    text = str(info.value)
    for words in ("cannot be '*'", "vary_actual 'accept' must name origin",
                  "must be a comma-separated list",
                  "expose_on_preflight must be True or False"):
        assert words in text, words
    with pytest.raises(ConfigError, match="needs echo_request_headers"):
        Policy(dialect=Dialect("bad", allowed_request_headers_only=True))
    for status in (204, 404, True, "200"):
        with pytest.raises(ConfigError, match="refused_preflight_status must be 403 or 200"):
            Policy(dialect=Dialect("bad", refused_preflight_status=status))  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="expected a corsfast Dialect"):
        Policy(dialect="starlette")  # type: ignore[arg-type]


def test_a_dialect_shows_in_repr_and_takes_part_in_equality() -> None:
    flavoured = Policy(allow_origins=[APP], dialect=dialect(vary_actual="Origin"))
    plain = Policy(allow_origins=[APP])
    assert "dialect=Dialect('test', vary_actual='Origin')" in repr(flavoured)
    assert "dialect" not in repr(plain)
    assert flavoured != plain and hash(flavoured) != hash(plain)
    assert plain.dialect is CORSFAST


def test_dialects_are_frozen_values() -> None:
    d = dialect(vary_actual="Origin")
    with pytest.raises(dataclasses.FrozenInstanceError):
        d.vary_actual = "origin"  # type: ignore[misc]
    assert d == dialect(vary_actual="Origin")
    assert d.differences() == {"vary_actual": "Origin"}
    policy = Policy(allow_origins=[APP], dialect=d)
    assert pickle.loads(pickle.dumps(policy)) == policy
    assert copy.deepcopy(policy) is policy
