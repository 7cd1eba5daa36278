"""docs/spec.md "Public API" and "Request rules", on both engines (ids
cython/python)."""

from __future__ import annotations

import re
from types import ModuleType
from typing import Any

import pytest
from grammar import well_formed

from corsfast import Policy, Reason

APP = "https://app.example.com"
PREFLIGHT_VARY = ("vary", "origin, access-control-request-method, "
                  "access-control-request-headers")

BASIC = Policy(
    allow_origins=[APP, "https://*.example.org", "http://localhost:*", "null"],
    allow_methods=["GET", "POST", "PUT"],
    allow_headers=["content-type", "x-token"],
    expose_headers=["x-total"],
    max_age=600,
)
CREDS = Policy(allow_origins=[APP], allow_methods="*", allow_headers="*",
               allow_credentials=True)
STAR = Policy(allow_origins="*", allow_methods="*", allow_headers="*",
              expose_headers=["x-total"])


def check(engine: ModuleType, policy: Policy, *args: Any, **kwargs: Any) -> Any:
    return engine.check_request(policy, *args, **kwargs)


def names(decision: Any) -> list[str]:
    return [name for name, _ in decision.headers]


def header(decision: Any, name: str) -> str | None:
    values = [v for n, v in decision.headers if n == name]
    assert len(values) <= 1, f"{name} appears {len(values)} times"
    return values[0] if values else None


# -- 4.1 no Origin --------------------------------------------------------------


def test_no_origin_is_not_cors_and_varies(engine: ModuleType) -> None:
    d = check(engine, BASIC, "GET", None)
    assert (d.allowed, d.preflight, d.reason, d.status) == (True, False, Reason.NOT_CORS, None)
    assert d.headers == (("vary", "origin"),)


def test_no_origin_on_static_star_is_star_plus_expose(engine: ModuleType) -> None:
    d = check(engine, STAR, "GET", None)
    assert d.reason is Reason.NOT_CORS
    assert d.headers == (("access-control-allow-origin", "*"),
                         ("access-control-expose-headers", "x-total"))


def test_options_with_acrm_but_no_origin_is_not_cors(engine: ModuleType) -> None:
    d = check(engine, BASIC, "OPTIONS", None, "PUT")
    assert d.reason is Reason.NOT_CORS and not d.preflight


# -- 4.2 what a preflight is ----------------------------------------------------


def test_options_without_acrm_is_an_actual_request(engine: ModuleType) -> None:
    d = check(engine, BASIC, "OPTIONS", APP)
    assert not d.preflight and d.allowed and d.status is None
    assert header(d, "access-control-allow-origin") == APP
    assert header(d, "access-control-allow-methods") is None


def test_acrm_on_other_methods_is_not_a_preflight(engine: ModuleType) -> None:
    d = check(engine, BASIC, "GET", APP, "PUT")
    assert not d.preflight and d.status is None


def test_lowercase_options_is_not_a_preflight(engine: ModuleType) -> None:
    assert not check(engine, BASIC, "options", APP, "PUT").preflight


# -- 4.3 byte-for-byte origin comparison --------------------------------------------


@pytest.mark.parametrize(
    "origin",
    [
        "HTTPS://APP.EXAMPLE.COM",
        "https://APP.example.com",
        "https://app.example.com:443",
        "https://app.example.com/",
        "https://app.example.com.evil.com",
        "https://evilexample.com",
        "https://app.example.com%60.evil.com",
        "http://app.example.com",
        "https://app.example.co",
        "https://pp.example.com",
        "Null",
        "https://example.org",
        "https://evilexample.org",
        "https://a_b.example.org",
        "https://a%60.example.org",
        "https://A.example.org",
        "https://.example.org",
        "https://a..example.org",
        "http://localhost",
        "http://localhost:0",
        "http://localhost:080",
        "http://localhost:65536",
        "http://localhost:80",
        "http://localhost:8000/",
        "https://localhost:8000",
    ],
)
def test_lookalike_origins_are_refused(engine: ModuleType, origin: str) -> None:
    # Not a serialized origin (a path, uppercase, '%'): malformed, before any
    # table is read; well-formed but not listed: not allowed.
    reason = (Reason.ORIGIN_NOT_ALLOWED if well_formed(origin)
              else Reason.MALFORMED_REQUEST)
    d = check(engine, BASIC, "GET", origin)
    assert not d.allowed and d.reason is reason
    assert d.headers == (("vary", "origin"),)
    p = check(engine, BASIC, "OPTIONS", origin, "GET")
    assert not p.allowed and p.reason is reason and p.status == 403


@pytest.mark.parametrize(
    "origin",
    [
        "",
        "https://app.example.com\r\nx: y",
        "https://app.example.com\n",
        "https://app.example.com\x00",
        "https://app .example.com",
        "https://app.example.com, https://evil.com",
        "https://app.example.com\x7f",
        "https://app.exämple.com",
        "https://app.example.com\u2028",
        "https://" + "a" * 1017,
        "\t",
    ],
)
def test_malformed_origins_are_refused_without_echo(engine: ModuleType, origin: str) -> None:
    for policy in (BASIC, STAR, CREDS):
        d = check(engine, policy, "GET", origin)
        assert not d.allowed and d.reason is Reason.MALFORMED_REQUEST
        assert d.headers == (("vary", "origin"),)
        p = check(engine, policy, "OPTIONS", origin, "GET")
        assert p.reason is Reason.MALFORMED_REQUEST and p.status == 403
        assert all(not n.startswith("access-control-") for n in names(p))


def test_origin_length_bound(engine: ModuleType) -> None:
    host = "a" * (1024 - len("https://") - len(".example.org")) + ".example.org"
    origin = "https://" + host
    assert len(origin) == 1024
    assert check(engine, BASIC, "GET", origin).allowed
    longer = "https://a" + host
    assert check(engine, BASIC, "GET", longer).reason is Reason.MALFORMED_REQUEST


def test_exact_pattern_anyport_and_null_matches(engine: ModuleType) -> None:
    for origin in (APP, "https://a.example.org", "https://a.b-c.example.org",
                   "http://localhost:3000", "http://localhost:65535", "null"):
        d = check(engine, BASIC, "GET", origin)
        assert d.allowed and d.reason is Reason.ALLOWED, origin
        assert header(d, "access-control-allow-origin") == origin


def test_null_is_only_allowed_when_listed(engine: ModuleType) -> None:
    policy = Policy(allow_origins=[APP])
    assert check(engine, policy, "GET", "null").reason is Reason.ORIGIN_NOT_ALLOWED


def test_pattern_with_port(engine: ModuleType) -> None:
    policy = Policy(allow_origins=["https://*.example.com:8443", "https://*.example.net:*"])
    assert check(engine, policy, "GET", "https://a.example.com:8443").allowed
    assert not check(engine, policy, "GET", "https://a.example.com").allowed
    assert not check(engine, policy, "GET", "https://a.example.com:8444").allowed
    assert check(engine, policy, "GET", "https://a.example.net:1").allowed
    assert not check(engine, policy, "GET", "https://a.example.net").allowed
    assert not check(engine, policy, "GET", "https://a.example.net:443").allowed
    assert not check(engine, policy, "GET", "https://example.net:8443").allowed


def test_ipv6_any_port(engine: ModuleType) -> None:
    policy = Policy(allow_origins=["http://[::1]:*", "http://[2001:db8::1]"])
    assert check(engine, policy, "GET", "http://[::1]:8080").allowed
    assert not check(engine, policy, "GET", "http://[::1]").allowed
    assert not check(engine, policy, "GET", "http://[::1]x:80").allowed
    assert check(engine, policy, "GET", "http://[2001:db8::1]").allowed


def test_regex_is_full_match(engine: ModuleType) -> None:
    policy = Policy(allow_origin_regex=r"https://[a-z]+\.example\.com")
    assert check(engine, policy, "GET", "https://app.example.com").allowed
    assert not check(engine, policy, "GET", "https://app.example.com.evil.net").allowed
    assert not check(engine, policy, "GET", "xhttps://app.example.com").allowed
    compiled = Policy(allow_origin_regex=re.compile(r"https://x\.example\.com"))
    assert check(engine, compiled, "GET", "https://x.example.com").allowed


def test_predicate_and_its_failures(engine: ModuleType) -> None:
    seen: list[str] = []

    def predicate(origin: str) -> bool:
        seen.append(origin)
        if origin.endswith(".boom"):
            raise RuntimeError("predicate failed")
        return origin.endswith(".trusted.net")

    policy = Policy(allow_origin_predicate=predicate)
    assert check(engine, policy, "GET", "https://a.trusted.net").allowed
    assert check(engine, policy, "GET", "https://a.trusted.net").allowed
    assert seen.count("https://a.trusted.net") == 1, "results are cached"
    assert check(engine, policy, "GET", "https://x.boom").reason is Reason.ORIGIN_NOT_ALLOWED
    forged = "https://x\r\n.trusted.net"
    assert check(engine, policy, "GET", forged).reason is Reason.MALFORMED_REQUEST
    assert "https://x\r\n.trusted.net" not in seen, "malformed origins never reach it"


def test_dynamic_cache_is_bounded() -> None:
    policy = Policy(allow_origin_predicate=lambda o: True)
    matcher = policy._tables.dynamic
    assert matcher is not None
    for i in range(matcher.maxsize + 500):
        policy.check("GET", f"https://h{i}.example.com")
    assert matcher.cache_len() <= matcher.maxsize


# -- 4.4 Access-Control-Request-Method ----------------------------------------------


@pytest.mark.parametrize("method", ["GET", "HEAD", "POST", "PUT"])
def test_allowed_methods(engine: ModuleType, method: str) -> None:
    assert check(engine, BASIC, "OPTIONS", APP, method).allowed


@pytest.mark.parametrize("method, reason", [
    ("DELETE", Reason.METHOD_NOT_ALLOWED),
    ("put", Reason.METHOD_NOT_ALLOWED),  # case-sensitive
    ("get", Reason.METHOD_NOT_ALLOWED),
    ("", Reason.MALFORMED_REQUEST),
    ("PU T", Reason.MALFORMED_REQUEST),
    ("PUT\r\n", Reason.MALFORMED_REQUEST),
    ("PÜT", Reason.MALFORMED_REQUEST),
    ("X" * 65, Reason.MALFORMED_REQUEST),  # longer than any method: never echoed
])
def test_refused_methods(engine: ModuleType, method: str, reason: Reason) -> None:
    d = check(engine, BASIC, "OPTIONS", APP, method)
    assert (d.allowed, d.preflight, d.reason, d.status) == (False, True, reason, 403)


def test_method_length_bound(engine: ModuleType) -> None:
    d = check(engine, CREDS, "OPTIONS", APP, "M" * 64)
    assert d.allowed and header(d, "access-control-allow-methods") == "M" * 64
    for method in ("M" * 65, b"M" * 65, "M" * 100_000):
        d = check(engine, CREDS, "OPTIONS", APP, method)
        assert d.reason is Reason.MALFORMED_REQUEST and d.status == 403


def test_wildcard_methods(engine: ModuleType) -> None:
    for method in ("DELETE", "PROPFIND", "purge"):
        assert check(engine, STAR, "OPTIONS", APP, method).allowed
    for method in ("CONNECT", "trace", "TRACK"):
        assert check(engine, STAR, "OPTIONS", APP, method).reason is Reason.METHOD_NOT_ALLOWED


# -- 4.5 Access-Control-Request-Headers -----------------------------------------------


@pytest.mark.parametrize("value", [
    "content-type", "Content-Type, X-Token", " x-token ,content-type ",
    "x-token,,content-type", ",", "", "x-token,\t, content-type,",
])
def test_allowed_request_headers(engine: ModuleType, value: str) -> None:
    d = check(engine, BASIC, "OPTIONS", APP, "PUT", value)
    assert d.allowed, d
    requested = any(part.strip(" \t") for part in value.split(","))
    expected = "content-type, x-token" if requested else None
    assert header(d, "access-control-allow-headers") == expected


@pytest.mark.parametrize("value, reason", [
    ("x-other", Reason.HEADERS_NOT_ALLOWED),
    ("content-type, x-other", Reason.HEADERS_NOT_ALLOWED),
    ("authorization", Reason.HEADERS_NOT_ALLOWED),
    ("x token", Reason.MALFORMED_REQUEST),
    ("x-token\r\nset-cookie: a", Reason.MALFORMED_REQUEST),
    ("x-tökén", Reason.MALFORMED_REQUEST),
    ("x-token;", Reason.MALFORMED_REQUEST),
    ("x-other, x token", Reason.MALFORMED_REQUEST),  # malformed wins
    (",".join(["x-token"] * 65), Reason.MALFORMED_REQUEST),
    ("x-token," + " " * 4090, Reason.MALFORMED_REQUEST),
])
def test_refused_request_headers(engine: ModuleType, value: str, reason: Reason) -> None:
    d = check(engine, BASIC, "OPTIONS", APP, "PUT", value)
    assert (d.allowed, d.reason, d.status) == (False, reason, 403)


def test_request_header_bounds(engine: ModuleType) -> None:
    assert check(engine, BASIC, "OPTIONS", APP, "PUT", ",".join(["x-token"] * 64)).allowed
    padded = "x-token" + "," * (4096 - 7)
    assert len(padded) == 4096
    assert check(engine, BASIC, "OPTIONS", APP, "PUT", padded).allowed
    over = check(engine, BASIC, "OPTIONS", APP, "PUT", padded + ",")
    assert over.reason is Reason.MALFORMED_REQUEST


def test_wildcard_headers_exclude_authorization_and_forbidden(engine: ModuleType) -> None:
    for value in ("x-anything", "content-type, x-a, x-b"):
        assert check(engine, STAR, "OPTIONS", APP, "PUT", value).allowed
    for value in ("authorization", "x-a, cookie", "sec-fetch-mode", "proxy-x"):
        refused = check(engine, STAR, "OPTIONS", APP, "PUT", value)
        assert refused.reason is Reason.HEADERS_NOT_ALLOWED
    with_auth = Policy(allow_origins="*", allow_headers=["*", "authorization"])
    d = check(engine, with_auth, "OPTIONS", APP, "GET", "authorization, x-a")
    assert d.allowed
    assert header(d, "access-control-allow-headers") == "*, authorization"


# -- 4.6 Access-Control-Request-Private-Network ----------------------------------------


def test_private_network(engine: ModuleType) -> None:
    d = check(engine, BASIC, "OPTIONS", APP, "GET", None, "true")
    assert d.reason is Reason.PRIVATE_NETWORK_NOT_ALLOWED and d.status == 403
    for other in ("TRUE", "false", "", "1", None):
        assert check(engine, BASIC, "OPTIONS", APP, "GET", None, other).allowed
    pna = Policy(allow_origins=[APP], allow_private_network=True)
    d = check(engine, pna, "OPTIONS", APP, "GET", None, "true")
    assert d.allowed
    assert header(d, "access-control-allow-private-network") == "true"
    assert header(d, "vary") == PREFLIGHT_VARY[1] + ", access-control-request-private-network"
    d = check(engine, pna, "OPTIONS", APP, "GET")
    assert header(d, "access-control-allow-private-network") is None


# -- 4.7 allowed preflight -------------------------------------------------------------


def test_allowed_preflight_headers(engine: ModuleType) -> None:
    d = check(engine, BASIC, "OPTIONS", "https://a.example.org", "PUT", "x-token")
    assert (d.allowed, d.preflight, d.reason, d.status) == (True, True, Reason.ALLOWED, 204)
    assert d.headers == (
        ("access-control-allow-origin", "https://a.example.org"),
        ("access-control-allow-methods", "GET, POST, PUT"),
        ("access-control-allow-headers", "content-type, x-token"),
        ("access-control-max-age", "600"),
        PREFLIGHT_VARY,
    )


def test_preflight_status_200(engine: ModuleType) -> None:
    policy = Policy(allow_origins=[APP], preflight_status=200)
    assert check(engine, policy, "OPTIONS", APP, "GET").status == 200


def test_credentialed_wildcards_echo_validated_values(engine: ModuleType) -> None:
    d = check(engine, CREDS, "OPTIONS", APP, "PROPFIND", "X-A,  x-b")
    assert d.allowed
    assert header(d, "access-control-allow-origin") == APP
    assert header(d, "access-control-allow-credentials") == "true"
    assert header(d, "access-control-allow-methods") == "PROPFIND"
    assert header(d, "access-control-allow-headers") == "x-a, x-b"
    assert "*" not in "".join(v for _, v in d.headers)


def test_static_star_preflight(engine: ModuleType) -> None:
    d = check(engine, STAR, "OPTIONS", "https://anyone.test", "DELETE", "x-a")
    assert d.allowed
    assert header(d, "access-control-allow-origin") == "*"
    assert header(d, "access-control-allow-methods") == "*"
    assert header(d, "access-control-allow-headers") == "*"
    assert header(d, "access-control-allow-credentials") is None
    assert header(d, "vary") == PREFLIGHT_VARY[1]
    assert check(engine, STAR, "OPTIONS", "null", "GET").allowed


# -- 4.8 refused preflight ---------------------------------------------------------------


def test_refused_preflight_carries_only_vary(engine: ModuleType) -> None:
    for args in (("https://evil.test", "GET"), (APP, "DELETE"), (APP, "GET", "x-no"),
                 (APP, "GET", None, "true"), (APP, "")):
        d = check(engine, BASIC, "OPTIONS", *args)
        assert not d.allowed and d.preflight and d.status == 403
        assert d.headers == (PREFLIGHT_VARY,)


# -- 4.9 actual requests -------------------------------------------------------------------


def test_actual_request_allowed(engine: ModuleType) -> None:
    d = check(engine, BASIC, "POST", APP)
    assert (d.allowed, d.preflight, d.reason, d.status) == (True, False, Reason.ALLOWED, None)
    assert d.headers == (("access-control-allow-origin", APP),
                         ("access-control-expose-headers", "x-total"),
                         ("vary", "origin"))
    assert check(engine, BASIC, "POST", APP) == d  # cached, same answer


def test_actual_request_with_credentials(engine: ModuleType) -> None:
    d = check(engine, CREDS, "GET", APP)
    assert d.headers == (("access-control-allow-origin", APP),
                         ("access-control-allow-credentials", "true"),
                         ("vary", "origin"))


def test_actual_request_on_static_star(engine: ModuleType) -> None:
    d = check(engine, STAR, "GET", "https://anyone.test")
    assert d.allowed
    assert d.headers == (("access-control-allow-origin", "*"),
                         ("access-control-expose-headers", "x-total"))


def test_expose_star(engine: ModuleType) -> None:
    policy = Policy(allow_origins=[APP], expose_headers="*")
    assert header(check(engine, policy, "GET", APP), "access-control-expose-headers") == "*"


# -- 4.10 invariants, over many decisions ------------------------------------------------


def test_response_invariants(engine: ModuleType) -> None:
    policies = (BASIC, CREDS, STAR)
    origins = (None, APP, "null", "https://evil.test", "", "https://a.example.org")
    for policy in policies:
        for origin in origins:
            for args in (("GET",), ("OPTIONS", "PUT", "x-token"), ("OPTIONS", "GET")):
                d = check(engine, policy, args[0], origin, *args[1:])
                acao = [v for n, v in d.headers if n == "access-control-allow-origin"]
                acac = [v for n, v in d.headers if n == "access-control-allow-credentials"]
                assert len(acao) <= 1
                assert acac in ([], ["true"])
                assert not (acao == ["*"] and acac)
                assert all(n == n.lower() for n in names(d))
                if not d.allowed:
                    assert acao == []


# -- API shape ---------------------------------------------------------------------------


def test_decision_is_immutable_and_comparable(engine: ModuleType) -> None:
    d = check(engine, BASIC, "GET", APP)
    with pytest.raises(AttributeError):
        d.allowed = False
    assert d == engine.Decision(True, False, Reason.ALLOWED, None, d.headers)
    assert hash(d) == hash(engine.Decision(True, False, Reason.ALLOWED, None, d.headers))
    assert "Reason.ALLOWED" in repr(d)
    assert d.raw_headers == tuple((n.encode(), v.encode()) for n, v in d.headers)
    import pickle

    assert pickle.loads(pickle.dumps(d)) == d


def test_bytes_arguments(engine: ModuleType) -> None:
    d = check(engine, BASIC, b"OPTIONS", APP.encode(), b"PUT", b"X-Token", b"true")
    assert d.reason is Reason.PRIVATE_NETWORK_NOT_ALLOWED
    d = check(engine, BASIC, b"OPTIONS", bytearray(APP.encode()), b"PUT", b"X-Token")
    assert d.allowed and header(d, "access-control-allow-origin") == APP
    d = check(engine, BASIC, "GET", "https://app.ex\xe4mple.com".encode("latin-1"))
    assert d.reason is Reason.MALFORMED_REQUEST


def test_odd_types_never_raise(engine: ModuleType) -> None:
    class Sub(str):
        def __hash__(self) -> int:
            raise RuntimeError("no")

    assert check(engine, BASIC, "GET", Sub(APP)).allowed
    assert check(engine, BASIC, "GET", 42).reason is Reason.MALFORMED_REQUEST
    assert check(engine, BASIC, 42, APP, "PUT").preflight is False
    assert check(engine, BASIC, "OPTIONS", APP, 42).reason is Reason.MALFORMED_REQUEST
    assert check(engine, BASIC, "OPTIONS", APP, "PUT", 42).reason is Reason.MALFORMED_REQUEST
    assert check(engine, BASIC, "OPTIONS", APP, "PUT", None, 42).allowed


def test_reason_explanations() -> None:
    for reason in Reason:
        text = reason.explain()
        assert text and "\n" not in text
    assert {r.name for r in Reason} == {
        "ALLOWED", "NOT_CORS", "ORIGIN_NOT_ALLOWED", "METHOD_NOT_ALLOWED",
        "HEADERS_NOT_ALLOWED", "PRIVATE_NETWORK_NOT_ALLOWED", "MALFORMED_REQUEST"}


def test_policy_check_is_check_request() -> None:
    import corsfast

    assert BASIC.check("GET", APP) == corsfast.check_request(BASIC, "GET", APP)
