"""Both engines give identical decisions for random and hostile input, and
neither ever raises on request data (SPEC 1, 2)."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from corsfast import Policy, _engine, _engine_py

POLICIES = [
    Policy(allow_origins=["https://app.example.com", "https://*.example.org",
                          "http://localhost:*", "https://*.example.net:*", "null"],
           allow_methods=["GET", "PUT", "PROPFIND"],
           allow_headers=["content-type", "x-token"],
           expose_headers=["x-total"], max_age=60),
    Policy(allow_origins=["https://app.example.com"], allow_methods="*",
           allow_headers="*", allow_credentials=True, allow_private_network=True),
    Policy(allow_origins="*", allow_methods="*", allow_headers=["*", "authorization"],
           expose_headers="*", preflight_status=200),
    Policy(allow_origin_regex=r"https://[a-z0-9-]+\.regex\.test(:[0-9]+)?",
           allow_origin_predicate=lambda o: o.endswith(".pred.test"),
           allow_credentials=True),
    # The private drop-in arguments (Starlette's rules), on a wildcard origin
    # and on a list with credentials.
    Policy(allow_origins="*", allow_methods=["GET", "PUT", "PROPFIND"],
           allow_headers=["*", "authorization"], expose_headers=["x-total"],
           _always_allowed_methods=(), _echo_request_headers=True,
           _wildcard_vary=True,
           _spelling={("vary", "origin"): ("vary", "Origin")}),
    Policy(allow_origins=["https://app.example.com", "https://*.example.org", "null"],
           allow_methods=["PUT"], allow_headers=["content-type", "x-token"],
           allow_credentials=True, allow_private_network=True,
           _always_allowed_methods=("GET",), _echo_request_headers=True),
]

HOSTILE = ["", "\r\n", "\x00", "\x0b", " ", ",", "\u2028", "\xff", "é", "*",
           "null", "https://app.example.com", "https://a.example.org",
           "OPTIONS", "true", "x-token", "a" * 100_000, "x-token," * 12_000]
FRAGMENTS = ["https://", "http://", "app", ".example.org", ".example.com",
             ".example.net", ":", "8080", "0", "443", "[", "]", "::1", "localhost",
             ".", "-", "_", "%60", "/", ".regex.test", ".pred.test", "\r\n", "\x00",
             "X", "é", ","]

texts = st.one_of(
    st.text(max_size=64),
    st.sampled_from(HOSTILE),
    st.lists(st.sampled_from(FRAGMENTS), max_size=8).map("".join),
    st.binary(max_size=64).map(lambda b: b.decode("latin-1")),
)
values = st.one_of(st.none(), texts, texts.map(lambda s: s.encode("utf-8")),
                   st.binary(max_size=48))
methods = st.one_of(st.sampled_from(["OPTIONS", "GET", "POST", "options", b"OPTIONS"]), texts)


def _both(policy: Policy, args: tuple[Any, ...]) -> tuple[Any, Any]:
    engines = [module.check_request for module in _engine.LOADED]
    results = [check(policy, *args) for check in engines]
    return results[0], results[-1]


def _assert_invariants(decision: Any) -> None:
    acao = [v for n, v in decision.headers if n == "access-control-allow-origin"]
    acac = [v for n, v in decision.headers if n == "access-control-allow-credentials"]
    assert len(acao) <= 1 and acac in ([], ["true"])
    assert not (acao == ["*"] and acac)
    for name, value in decision.headers:
        assert value.isascii() and value.isprintable(), (name, value)
    if not decision.allowed:
        assert not any(n.startswith("access-control-") for n, _ in decision.headers)


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(range(len(POLICIES))), methods, values, values, values, values)
def test_engines_agree(index: int, method: Any, origin: Any, acrm: Any, acrh: Any,
                       acrpn: Any) -> None:
    policy = POLICIES[index]
    first, last = _both(policy, (method, origin, acrm, acrh, acrpn))
    assert first == last
    assert (first.allowed, first.preflight, first.reason, first.status, first.headers) == (
        last.allowed, last.preflight, last.reason, last.status, last.headers)
    _assert_invariants(first)
    twin = _engine_py.check_request(policy, method, origin, acrm, acrh, acrpn)
    assert twin == first


@settings(max_examples=400, deadline=None)
@given(st.sampled_from(range(len(POLICIES))),
       st.lists(st.sampled_from(FRAGMENTS), min_size=1, max_size=10).map("".join))
def test_engines_agree_on_origin_shapes(index: int, origin: str) -> None:
    policy = POLICIES[index]
    for args in (("GET", origin), ("OPTIONS", origin, "PUT", "x-token", "true")):
        first, last = _both(policy, args)
        assert first == last
        _assert_invariants(first)
        for name, value in first.headers:
            if name == "access-control-allow-origin" and value != "*":
                assert value == origin  # echoed only because it matched
